"""The domain records every part of frictionkit exchanges.

Timestamps are integer milliseconds since the Unix epoch, UTC (``*_ts_ms``);
durations are integer milliseconds (``*_ms``). Records are msgspec Structs
because they are created per event on the hot path and must be cheap.
"""

from __future__ import annotations

from typing import Any

import msgspec

SessionKey = tuple[str, str, str]  # (org_id, product_id, client session_id)

EVENT_TYPES = ("click", "scroll", "input_meta", "navigation", "focus_change", "custom")
DEVICE_TYPES = ("desktop", "mobile", "tablet")
TASK_OUTCOMES = ("completed", "failed", "abandoned")


class Event(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One accepted UI event, validated and normalised (see ``core.contract``).

    Encoded (in ``events.sessionized`` messages), optional fields left unset
    are omitted rather than written as null: a quarter fewer bytes for the
    broker, and less for every reader to parse (the aggregator 7 % faster);
    decoding gives them back as None."""

    event_id: str
    org_id: str
    product_id: str
    session_id: str
    user_hash: str
    ts_ms: int
    event_type: str
    screen_id: str
    route: str
    device_type: str
    app_name: str | None = None
    element_type: str | None = None
    element_label_hash: str | None = None
    error_code: str | None = None
    os: str | None = None
    browser: str | None = None
    latency_ms: float | None = None
    extra: dict[str, Any] | None = None
    received_at_ms: int | None = None
    agent_id: str | None = None
    sdk_version: str | None = None
    dead: bool | None = None  # click events: the agent saw nothing respond (docs/semantics.md)

    @property
    def key(self) -> SessionKey:
        return (self.org_id, self.product_id, self.session_id)


class Session(msgspec.Struct, frozen=True, gc=False):
    """A closed session: its events sorted by (ts_ms, event_id), duplicates removed.

    ``session_id`` is the client id for the first session of a key and
    ``<client id>#<n>`` for the n-th one; ``seq`` is that n (1-based).
    """

    org_id: str
    product_id: str
    client_session_id: str
    session_id: str
    seq: int
    events: list[Event]


class Incident(msgspec.Struct, frozen=True, gc=False):
    incident_id: str
    org_id: str
    product_id: str
    session_id: str
    incident_type: str
    screen_id: str
    route: str
    ts_ms: int  # first event of the incident
    end_ts_ms: int  # last event of the incident
    first_event_id: str
    click_count: int = 0  # rage_click: clicks in the burst; dead_click: 1
    duration_ms: int = 0  # end_ts_ms - ts_ms
    task_name: str | None = None  # abandoned_task


class SessionFacts(msgspec.Struct, frozen=True, gc=False):
    """One row of ``fact_sessions``."""

    org_id: str
    product_id: str
    session_id: str
    client_session_id: str
    user_hash: str
    start_ts_ms: int
    end_ts_ms: int
    duration_ms: int
    event_count: int
    click_count: int
    screen_views: int
    unique_screens: int
    rage_clicks: int
    backtracks: int
    context_switches: int
    tasks_started: int
    tasks_completed: int
    tasks_failed: int
    tasks_abandoned: int
    error_events: int
    error_clicks: int
    loops: int
    dead_clicks: int
    frustration_score: float
    efficiency_score: float
    entry_screen: str
    exit_screen: str
    device_type: str
    version: int
    # The rest of the session's segment (core.segment; device_type above):
    # its first event's values. Defaults keep older callers working.
    browser: str | None = None
    os: str | None = None
    app_name: str | None = None
    app_version: str | None = None


class SessionScreenFacts(msgspec.Struct, frozen=True, gc=False):
    """One row of ``fact_session_screens``: one screen within one session."""

    org_id: str
    product_id: str
    session_id: str
    screen_id: str
    route: str  # route of the first event seen on the screen
    session_start_ts_ms: int
    events: int
    views: int  # navigation events onto the screen
    dwell_ms: int  # summed over views
    clicks: int
    errors: int  # error events on the screen
    rage_clicks: int  # incidents attributed to the screen, by type
    backtracks: int
    abandoned_tasks: int
    error_clicks: int
    loops: int
    dead_clicks: int
    frustration_score: float  # the session's, denormalised for hotspot queries
    efficiency_score: float
    version: int


class TaskRun(msgspec.Struct, frozen=True, gc=False):
    """One task instance (a row of ``fact_task_runs``), the unit flows are built from.

    ``path`` is the raw screen sequence from the start marker to the end (every
    event's screen, consecutive repeats collapsed, no cleaning rules applied and
    no length cut); ``path_ts_ms[i]`` is when the user arrived on ``path[i]``.
    A session without task markers gives one run with ``task_name = None`` and
    ``outcome = "session"`` (entry to exit).
    """

    org_id: str
    product_id: str
    session_id: str
    task_name: str | None
    run_index: int  # 0-based order of the run within its session
    start_ts_ms: int
    end_ts_ms: int
    duration_ms: int
    outcome: str  # completed | failed | abandoned | session
    path: list[str]
    path_ts_ms: list[int]
    session_start_ts_ms: int
    frustration_score: float
    version: int


class TaskPathGroup(msgspec.Struct, frozen=True, gc=False):
    """The task runs of one query that share a task and a raw path, summed up.

    What top flows needs from a store: ranking takes only counts, and the
    per-run values are kept as lists so that the median, the exact (``fsum``)
    mean friction and merges of paths that clean alike come out exactly as
    from the runs themselves. Grouped by the store, so a log with many runs
    but few distinct paths crosses into Python as few records.
    """

    task_name: str | None
    path: list[str]  # raw, as in TaskRun.path
    runs: int
    completed: int  # runs with outcome "completed"
    dropped: int  # runs with outcome "abandoned" or "failed"
    durations_ms: list[int]  # one per run, in no particular order
    frustration_scores: list[float]  # one per run, in no particular order


class SessionResult(msgspec.Struct, frozen=True, gc=False):
    """Everything the processing core derives from one closed session."""

    session: SessionFacts
    incidents: list[Incident]
    screens: list[SessionScreenFacts]
    task_runs: list[TaskRun]
