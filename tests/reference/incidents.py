"""The reference model of the incident detectors (docs/semantics.md): today's
Python rules, each a pure function of one session, which the native core
(rust/src/facts.rs) is held to by tests/test_native_facts.py.

Every detector walks the session's events in (ts_ms, event_id) order once.
Incident ids are a hash of (type, org, product, session, first event id), so
reprocessing the same session reproduces the same ids.
"""

from __future__ import annotations

import hashlib
from typing import Callable

from frictionkit.core.incidents import IncidentConfig
from frictionkit.core.model import Event, Incident, Session

from .tasks import TaskRunSpan

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


# The detectors in the registry's order (core.incidents.INCIDENT_KINDS).
DETECTORS: tuple[tuple[str, Callable[[Session, list[TaskRunSpan], IncidentConfig], list[Incident]]], ...] = (
    ("rage_click", lambda s, runs, c: detect_rage_clicks(s, c)),
    ("backtrack", lambda s, runs, c: detect_backtracks(s, c)),
    ("abandoned_task", lambda s, runs, c: detect_abandoned_tasks(s, runs)),
    ("error_click", lambda s, runs, c: detect_error_clicks(s, c)),
    ("loop", lambda s, runs, c: detect_loops(s, c)),
    ("dead_click", lambda s, runs, c: detect_dead_clicks(s)),
)


def detect_incidents(session: Session, runs: list[TaskRunSpan], config: IncidentConfig) -> list[Incident]:
    out: list[Incident] = []
    for _, detect in DETECTORS:
        out += detect(session, runs, config)
    return out
