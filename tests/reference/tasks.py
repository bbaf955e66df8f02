"""The reference model of task runs (the native core: rust/src/facts.rs). Task runs within one session: from a start marker to its complete, fail or
abandonment (task markers: docs/contract.md; abandoned_task: docs/semantics.md).

Decisions where the rules alone are ambiguous (see docs/semantics.md):
* a ``complete``/``fail`` marker with no open run of its task (never started,
  or already abandoned) is an orphan: it ends nothing and is not counted;
* a run is abandoned when no ``complete``/``fail`` of its task comes within
  ``abandon_after_ms`` of its start (inclusive), when a new start of the same
  task arrives first, or when the session ends first;
* the abandoned run ends (and is attributed) at the session's last event at or
  before start + ``abandon_after_ms``; for a restart, at the last event before
  the new start.
"""

from __future__ import annotations

import msgspec

from frictionkit.core.model import Event

START, COMPLETE, FAIL = "start", "complete", "fail"
_OUTCOME = {COMPLETE: "completed", FAIL: "failed"}


class TaskRunSpan(msgspec.Struct, frozen=True, gc=False):
    """A task run as indexes into the session's sorted events (both inclusive)."""

    task_name: str
    start_index: int
    end_index: int
    outcome: str  # completed | failed | abandoned


def task_marker(ev: Event) -> tuple[str, str] | None:
    """(task name, action) when the event is a task marker, else None."""
    if ev.event_type != "custom" or not ev.extra:
        return None
    name = ev.extra.get("task_name")
    if not isinstance(name, str) or not name:
        return None
    action = ev.extra.get("action")
    if action in (START, COMPLETE, FAIL):
        return name, action
    # Legacy agents put the action in the route.
    route = ev.route
    if "task_start" in route:
        return name, START
    if "task_complete" in route:
        return name, COMPLETE
    if "task_fail" in route:
        return name, FAIL
    return None


def _last_index_at_or_before(events: list[Event], lo: int, ts_ms: int) -> int:
    """The last index >= lo whose event is at or before ts_ms (events sorted)."""
    hi = len(events)
    while lo < hi:
        mid = (lo + hi) // 2
        if events[mid].ts_ms <= ts_ms:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


_NEVER = float("inf")


def find_task_runs(events: list[Event], abandon_after_ms: int) -> list[TaskRunSpan]:
    runs: list[TaskRunSpan] = []
    open_runs: dict[str, int] = {}  # task name -> start index

    def abandon(name: str, start: int, end: int) -> None:
        runs.append(TaskRunSpan(task_name=name, start_index=start, end_index=max(start, end), outcome="abandoned"))

    # The earliest abandonment deadline of the open runs (or earlier, once a
    # run it belonged to has ended): the open runs are only scanned when an
    # event passes it, not at every event while a task is open.
    next_deadline = _NEVER
    for i, ev in enumerate(events):
        if ev.ts_ms > next_deadline:
            for name, start in list(open_runs.items()):
                deadline = events[start].ts_ms + abandon_after_ms
                if ev.ts_ms > deadline:
                    del open_runs[name]
                    abandon(name, start, _last_index_at_or_before(events, start, deadline))
            next_deadline = min((events[start].ts_ms + abandon_after_ms for start in open_runs.values()),
                                default=_NEVER)
        marker = task_marker(ev)
        if marker is None:
            continue
        name, action = marker
        if action == START:
            if name in open_runs:
                abandon(name, open_runs.pop(name), i - 1)
            open_runs[name] = i
            next_deadline = min(next_deadline, ev.ts_ms + abandon_after_ms)
        elif name in open_runs:
            runs.append(TaskRunSpan(task_name=name, start_index=open_runs.pop(name), end_index=i, outcome=_OUTCOME[action]))
    for name, start in open_runs.items():
        deadline = events[start].ts_ms + abandon_after_ms
        abandon(name, start, _last_index_at_or_before(events, start, deadline))
    runs.sort(key=lambda r: (r.start_index, r.end_index))
    return runs
