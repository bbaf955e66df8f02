"""Friction incident detectors (docs/semantics.md), each a pure function of one session.

Every detector walks the session's events in (ts_ms, event_id) order once.
Incident ids are a hash of (type, org, product, session, first event id), so
reprocessing the same session reproduces the same ids.
"""

from __future__ import annotations

import hashlib
from typing import Callable, NamedTuple

import msgspec

from .model import Event, Incident, Session
from .tasks import TaskRunSpan

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS


class IncidentConfig(msgspec.Struct, frozen=True):
    rage_min_clicks: int = 3
    rage_max_interval_ms: int = 1000
    rage_excluded_label_hashes: frozenset[str] = frozenset()
    rage_excluded_element_types: frozenset[str] = frozenset()
    backtrack_max_dwell_ms: int = 20 * SECOND_MS
    abandon_after_ms: int = 15 * MINUTE_MS
    error_click_window_ms: int = 1000
    # A return to a screen seen at most this many arrivals ago (and at most
    # this long after leaving it) is a loop; A->B->A is the backtrack's shape.
    loop_max_navigations: int = 4
    loop_max_duration_ms: int = 5 * MINUTE_MS


def incident_id(incident_type: str, session: Session, first_event_id: str) -> str:
    raw = "\x1f".join((incident_type, session.org_id, session.product_id, session.session_id, first_event_id))
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def _incident(
    session: Session, kind: str, first: Event, last: Event, screen: Event, click_count: int = 0, task_name: str | None = None
) -> Incident:
    return Incident(
        incident_id=incident_id(kind, session, first.event_id),
        org_id=session.org_id,
        product_id=session.product_id,
        session_id=session.session_id,
        incident_type=kind,
        screen_id=screen.screen_id,
        route=screen.route,
        ts_ms=first.ts_ms,
        end_ts_ms=last.ts_ms,
        first_event_id=first.event_id,
        click_count=click_count,
        duration_ms=last.ts_ms - first.ts_ms,
        task_name=task_name,
    )


def _click_target(ev: Event, config: IncidentConfig) -> tuple[str, str, str] | None:
    """The element a click hit, or None when it cannot be identified or is excluded."""
    if ev.element_label_hash:
        if ev.element_label_hash in config.rage_excluded_label_hashes:
            return None
        if ev.element_type and ev.element_type in config.rage_excluded_element_types:
            return None
        return (ev.screen_id, "label", ev.element_label_hash)
    if ev.element_type:
        if ev.element_type in config.rage_excluded_element_types:
            return None
        return (ev.screen_id, "type", ev.element_type)
    return None


def detect_rage_clicks(session: Session, config: IncidentConfig) -> list[Incident]:
    out: list[Incident] = []
    burst: list[Event] = []
    burst_target = None

    def flush() -> None:
        if len(burst) >= config.rage_min_clicks:
            out.append(_incident(session, "rage_click", burst[0], burst[-1], burst[0], click_count=len(burst)))

    for ev in session.events:
        if ev.event_type != "click":
            continue
        target = _click_target(ev, config)
        if target is None:
            continue  # unidentifiable clicks neither count nor break a burst
        if burst and target == burst_target and ev.ts_ms - burst[-1].ts_ms <= config.rage_max_interval_ms:
            burst.append(ev)
            continue
        flush()
        burst, burst_target = [ev], target
    flush()
    return out


def _arrivals(session: Session) -> list[Event]:
    """The first navigation of each run of navigations to the same screen."""
    arrivals: list[Event] = []
    for ev in session.events:
        if ev.event_type == "navigation" and (not arrivals or arrivals[-1].screen_id != ev.screen_id):
            arrivals.append(ev)
    return arrivals


def detect_backtracks(session: Session, config: IncidentConfig) -> list[Incident]:
    arrivals = _arrivals(session)
    out: list[Incident] = []
    for i in range(2, len(arrivals)):
        back, bounced, ret = arrivals[i - 2], arrivals[i - 1], arrivals[i]
        if ret.screen_id == back.screen_id and ret.ts_ms - bounced.ts_ms <= config.backtrack_max_dwell_ms:
            out.append(_incident(session, "backtrack", bounced, ret, bounced))
    return out


def detect_loops(session: Session, config: IncidentConfig) -> list[Incident]:
    """Returns to a screen left at most ``loop_max_navigations`` arrivals and
    ``loop_max_duration_ms`` earlier, going through at least two other screens
    (A->B->A is a backtrack's shape, never a loop).

    Only the latest earlier visit of the screen is looked at, and loops do not
    overlap: once a loop closes, the next one must leave from its return or
    later, so going round A->B->C twice is two loops on A, not one per screen.
    """
    arrivals = _arrivals(session)
    out: list[Incident] = []
    last_seen: dict[str, int] = {}  # screen -> index of its latest arrival
    floor = 0  # earliest arrival a new loop may start from
    for i, ev in enumerate(arrivals):
        j = last_seen.get(ev.screen_id)
        last_seen[ev.screen_id] = i
        if j is None or j < floor or not 3 <= i - j <= config.loop_max_navigations:
            continue
        left = arrivals[j + 1]  # the navigation that left the screen: the loop's start
        if ev.ts_ms - left.ts_ms > config.loop_max_duration_ms:
            continue
        out.append(_incident(session, "loop", left, ev, arrivals[j]))
        floor = i
    return out


def detect_dead_clicks(session: Session) -> list[Incident]:
    """Clicks the browser agent marked dead (nothing responded to them; the
    rule runs in the agent, which alone can see the page, see docs/semantics.md)."""
    return [_incident(session, "dead_click", ev, ev, ev, click_count=1)
            for ev in session.events if ev.event_type == "click" and ev.dead]


def detect_abandoned_tasks(session: Session, runs: list[TaskRunSpan]) -> list[Incident]:
    out: list[Incident] = []
    for run in runs:
        if run.outcome == "abandoned":
            give_up = session.events[run.end_index]
            out.append(
                _incident(
                    session,
                    "abandoned_task",
                    session.events[run.start_index],
                    give_up,
                    give_up,
                    task_name=run.task_name,
                )
            )
    return out


def detect_error_clicks(session: Session, config: IncidentConfig) -> list[Incident]:
    events = session.events
    out: list[Incident] = []
    for i, ev in enumerate(events):
        if ev.event_type != "click":
            continue
        for later in events[i + 1 :]:
            if later.ts_ms - ev.ts_ms > config.error_click_window_ms:
                break
            if later.error_code and later.screen_id == ev.screen_id:
                out.append(_incident(session, "error_click", ev, later, ev))
                break
    return out


class IncidentKind(NamedTuple):
    """One incident type: its detector and where the insights show it.

    The keys name the type's counter in each payload; each is also, in
    snake case, the column the counter is read from (``sessionKey``
    ``rageClicks``: ``fact_sessions.rage_clicks`` and the overview's total;
    ``hotspotKey``: the screens query's column). tests/test_incident_registry.py
    fails when a registered type is missing from a view; docs/semantics.md,
    "Adding an incident type", lists the files a new type touches."""

    name: str  # incident_type in fact_incidents and on events.incidents
    detect: Callable[[Session, list[TaskRunSpan], IncidentConfig], list[Incident]]
    overview_key: str  # overview `incidents{}`
    session_key: str  # /v1/sessions items
    hotspot_key: str  # /v1/insights/hotspots items
    label: str  # CLI and dashboard wording, plural


# In the order every view lists them. The first four are the original types.
INCIDENT_KINDS: tuple[IncidentKind, ...] = (
    IncidentKind("rage_click", lambda s, runs, c: detect_rage_clicks(s, c),
                 "rageClick", "rageClicks", "rageClicks", "rage clicks"),
    IncidentKind("backtrack", lambda s, runs, c: detect_backtracks(s, c),
                 "backtrack", "backtracks", "backtracks", "backtracks"),
    IncidentKind("abandoned_task", lambda s, runs, c: detect_abandoned_tasks(s, runs),
                 "abandonedTask", "tasksAbandoned", "abandonedTasks", "abandoned tasks"),
    IncidentKind("error_click", lambda s, runs, c: detect_error_clicks(s, c),
                 "errorClick", "errorClicks", "errorClicks", "clicks on errors"),
    IncidentKind("loop", lambda s, runs, c: detect_loops(s, c), "loop", "loops", "loops", "loops"),
    IncidentKind("dead_click", lambda s, runs, c: detect_dead_clicks(s),
                 "deadClick", "deadClicks", "deadClicks", "dead clicks"),
)
INCIDENT_TYPES: tuple[str, ...] = tuple(kind.name for kind in INCIDENT_KINDS)


def snake(key: str) -> str:
    """``rageClicks`` -> ``rage_clicks``: a payload key's column."""
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def detect_incidents(session: Session, runs: list[TaskRunSpan], config: IncidentConfig) -> list[Incident]:
    out: list[Incident] = []
    for kind in INCIDENT_KINDS:
        out += kind.detect(session, runs, config)
    return out
