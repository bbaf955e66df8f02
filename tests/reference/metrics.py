"""The reference model of the native core (rust/src/facts.rs): today's Python
session metrics and scores (docs/semantics.md), per-screen stats and task
runs of one closed session, and the fact tables' rows they give. Executable
semantics: tests/test_native_facts.py holds the native core to it on random
adversarial sessions. Not on the product path."""

from __future__ import annotations

import math

from frictionkit.core.incidents import INCIDENT_TYPES
from frictionkit.core.metrics import CoreConfig, ScoreConfig
from frictionkit.core.model import Event, Incident, Session, SessionFacts, SessionResult, SessionScreenFacts, TaskRun

from .incidents import detect_incidents
from .segment import session_segment
from .tables import result_tables  # noqa: F401 - the reference's rows, with process_session
from .tasks import TaskRunSpan, find_task_runs


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def frustration_score(
    *, rage_clicks: int, backtracks: int, error_events: int, tasks_abandoned: int, tasks_failed: int, config: ScoreConfig,
    loops: int = 0, dead_clicks: int = 0,
) -> float:
    r = (
        config.weight_rage_clicks * rage_clicks
        + config.weight_backtracks * backtracks
        + config.weight_error_events * error_events
        + config.weight_tasks_abandoned * tasks_abandoned
        + config.weight_tasks_failed * tasks_failed
        + config.weight_loops * loops
        + config.weight_dead_clicks * dead_clicks
    )
    return sigmoid(config.frustration_scale * (r - config.frustration_offset))


def efficiency_score(
    *, tasks_started: int, tasks_completed: int, click_count: int, backtracks: int, screen_views: int, config: ScoreConfig
) -> float:
    completion = tasks_completed / tasks_started if tasks_started else 0.5
    if tasks_completed:
        clicks_per_task = click_count / tasks_completed
        k = 1.0 if clicks_per_task == 0 else min(1.0, config.target_clicks_per_task / clicks_per_task)
    else:
        k = 0.0 if tasks_started else 0.5
    n = 1.0 - min(1.0, backtracks / screen_views) if screen_views else 1.0
    q = config.weight_completion * completion + config.weight_clicks * k + config.weight_navigation * n
    return sigmoid(config.efficiency_scale * (q - config.efficiency_offset))


def _collapsed_path(events: list[Event], start: int, end: int) -> tuple[list[str], list[int]]:
    path: list[str] = []
    arrivals: list[int] = []
    for ev in events[start : end + 1]:
        if not path or path[-1] != ev.screen_id:
            path.append(ev.screen_id)
            arrivals.append(ev.ts_ms)
    return path, arrivals


def _screen_stats(
    session: Session, incidents: list[Incident], frustration: float, efficiency: float, version: int
) -> list[SessionScreenFacts]:
    events = session.events
    start_ts = events[0].ts_ms
    end_ts = events[-1].ts_ms
    # screen -> [route, events, views, dwell_ms, clicks, errors]
    stats: dict[str, list] = {}
    last_view_screen: str | None = None
    last_view_ts = 0
    for ev in events:
        s = stats.get(ev.screen_id)
        if s is None:
            s = stats[ev.screen_id] = [ev.route, 0, 0, 0, 0, 0]
        s[1] += 1
        if ev.event_type == "navigation":
            # Dwell of a view lasts until the next navigation, whichever screen it goes to.
            if last_view_screen is not None:
                stats[last_view_screen][3] += ev.ts_ms - last_view_ts
            s[2] += 1
            last_view_screen, last_view_ts = ev.screen_id, ev.ts_ms
        elif ev.event_type == "click":
            s[4] += 1
        if ev.error_code:
            s[5] += 1
    if last_view_screen is not None:
        stats[last_view_screen][3] += end_ts - last_view_ts
    by_type: dict[tuple[str, str], int] = {}
    for inc in incidents:
        k = (inc.screen_id, inc.incident_type)
        by_type[k] = by_type.get(k, 0) + 1
    rows = []
    for screen_id in sorted(stats):
        route, n_events, views, dwell, clicks, errors = stats[screen_id]
        rows.append(
            SessionScreenFacts(
                org_id=session.org_id,
                product_id=session.product_id,
                session_id=session.session_id,
                screen_id=screen_id,
                route=route,
                session_start_ts_ms=start_ts,
                events=n_events,
                views=views,
                dwell_ms=dwell,
                clicks=clicks,
                errors=errors,
                rage_clicks=by_type.get((screen_id, "rage_click"), 0),
                backtracks=by_type.get((screen_id, "backtrack"), 0),
                abandoned_tasks=by_type.get((screen_id, "abandoned_task"), 0),
                error_clicks=by_type.get((screen_id, "error_click"), 0),
                loops=by_type.get((screen_id, "loop"), 0),
                dead_clicks=by_type.get((screen_id, "dead_click"), 0),
                frustration_score=frustration,
                efficiency_score=efficiency,
                version=version,
            )
        )
    return rows


def _task_runs(session: Session, spans: list[TaskRunSpan], frustration: float, version: int) -> list[TaskRun]:
    events = session.events
    start_ts = events[0].ts_ms
    if not spans:
        spans_out = [(None, 0, len(events) - 1, "session")]
    else:
        spans_out = [(s.task_name, s.start_index, s.end_index, s.outcome) for s in spans]
    runs = []
    for index, (name, lo, hi, outcome) in enumerate(spans_out):
        path, arrivals = _collapsed_path(events, lo, hi)
        runs.append(
            TaskRun(
                org_id=session.org_id,
                product_id=session.product_id,
                session_id=session.session_id,
                task_name=name,
                run_index=index,
                start_ts_ms=events[lo].ts_ms,
                end_ts_ms=events[hi].ts_ms,
                duration_ms=events[hi].ts_ms - events[lo].ts_ms,
                outcome=outcome,
                path=path,
                path_ts_ms=arrivals,
                session_start_ts_ms=start_ts,
                frustration_score=frustration,
                version=version,
            )
        )
    return runs


def process_session(session: Session, config: CoreConfig = CoreConfig()) -> SessionResult:
    """All facts of one closed session. Deterministic: same events, same result."""
    events = session.events
    spans = find_task_runs(events, config.incidents.abandon_after_ms)
    incidents = detect_incidents(session, spans, config.incidents)
    counts = dict.fromkeys(INCIDENT_TYPES, 0)
    for inc in incidents:
        counts[inc.incident_type] += 1
    clicks = views = errors = switches = 0
    screens: set[str] = set()
    for ev in events:
        screens.add(ev.screen_id)
        kind = ev.event_type
        if kind == "click":
            clicks += 1
        elif kind == "navigation":
            views += 1
        elif kind == "focus_change" and not (ev.extra and ev.extra.get("state") == "focus"):
            switches += 1
        if ev.error_code:
            errors += 1
    started = len(spans)
    completed = sum(1 for s in spans if s.outcome == "completed")
    failed = sum(1 for s in spans if s.outcome == "failed")
    abandoned = counts["abandoned_task"]
    frustration = frustration_score(
        rage_clicks=counts["rage_click"],
        backtracks=counts["backtrack"],
        error_events=errors,
        tasks_abandoned=abandoned,
        tasks_failed=failed,
        config=config.scores,
        loops=counts["loop"],
        dead_clicks=counts["dead_click"],
    )
    efficiency = efficiency_score(
        tasks_started=started,
        tasks_completed=completed,
        click_count=clicks,
        backtracks=counts["backtrack"],
        screen_views=views,
        config=config.scores,
    )
    # Recomputing a session from more events must win over an older row.
    version = len(events)
    first, last = events[0], events[-1]
    facts = SessionFacts(
        org_id=session.org_id,
        product_id=session.product_id,
        session_id=session.session_id,
        client_session_id=session.client_session_id,
        user_hash=first.user_hash,
        start_ts_ms=first.ts_ms,
        end_ts_ms=last.ts_ms,
        duration_ms=last.ts_ms - first.ts_ms,
        event_count=len(events),
        click_count=clicks,
        screen_views=views,
        unique_screens=len(screens),
        rage_clicks=counts["rage_click"],
        backtracks=counts["backtrack"],
        context_switches=switches,
        tasks_started=started,
        tasks_completed=completed,
        tasks_failed=failed,
        tasks_abandoned=abandoned,
        error_events=errors,
        error_clicks=counts["error_click"],
        loops=counts["loop"],
        dead_clicks=counts["dead_click"],
        frustration_score=frustration,
        efficiency_score=efficiency,
        entry_screen=first.screen_id,
        exit_screen=last.screen_id,
        version=version,
        **session_segment(first),
    )
    return SessionResult(
        session=facts,
        incidents=incidents,
        screens=_screen_stats(session, incidents, frustration, efficiency, version),
        task_runs=_task_runs(session, spans, frustration, version),
    )
