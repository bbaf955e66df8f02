"""From a columnar log to cases: TaskRuns for the flow core, wire events for replay.

Each case becomes one session holding one task run. Within a case, events are
ordered by timestamp with ties kept in file order (a stable sort), the order
process-mining tools use; cases keep the order of their first event in the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from hashlib import blake2b
from itertools import groupby, islice
from operator import le
from typing import Any

import msgspec

from frictionkit.core.model import TaskRun
from frictionkit.importers.parsed_log import format_timestamp_ms

DEFAULT_TASK_NAME = "case"
_IMPORT_VERSION = 1
# Wire-format limits (SPEC §3) the log's own strings may exceed.
_MAX_ID_CHARS = 128
_MAX_SCREEN_CHARS = 256
_MAX_ROUTE_CHARS = 2048


class Case(msgspec.Struct, frozen=True, gc=False):
    case_id: str
    activities: list[str]
    timestamps_ms: list[int]


def _ordered_by_time(activities: list[str], timestamps_ms: list[int]) -> tuple[list[str], list[int]]:
    # Most logs are already in time order: a C-level check avoids the sort.
    if all(map(le, timestamps_ms, islice(timestamps_ms, 1, None))):
        return activities, timestamps_ms
    order = sorted(range(len(timestamps_ms)), key=timestamps_ms.__getitem__)  # stable: ties stay in file order
    return list(map(activities.__getitem__, order)), list(map(timestamps_ms.__getitem__, order))


def group_cases(case_ids: Sequence[str], activities: Sequence[str], timestamps_ms: Sequence[int]) -> list[Case]:
    """Parallel columns (file order) → cases with time-ordered events."""
    activities = list(activities)
    timestamps_ms = list(timestamps_ms)
    blocks = [(case_id, len(list(run))) for case_id, run in groupby(case_ids)]
    cases: list[Case] = []
    if len({case_id for case_id, _n in blocks}) == len(blocks):
        # Fast path, the usual layout: each case's events are contiguous.
        start = 0
        for case_id, length in blocks:
            end = start + length
            ordered = _ordered_by_time(activities[start:end], timestamps_ms[start:end])
            cases.append(Case(case_id, *ordered))
            start = end
        return cases
    positions_by_case: dict[str, list[int]] = {}
    for position, case_id in enumerate(case_ids):
        positions = positions_by_case.get(case_id)
        if positions is None:
            positions_by_case[case_id] = [position]
        else:
            positions.append(position)
    for case_id, positions in positions_by_case.items():
        ordered = _ordered_by_time(
            list(map(activities.__getitem__, positions)), list(map(timestamps_ms.__getitem__, positions))
        )
        cases.append(Case(case_id, *ordered))
    return cases


def cases_to_task_runs(
    cases: Sequence[Case], *, org_id: str, product_id: str, task_name: str = DEFAULT_TASK_NAME
) -> list[TaskRun]:
    """One completed run per case; the path keeps repeats (the flow core collapses
    them when configured to). Imported logs carry no UI signal, so friction is 0."""
    runs = []
    for case in cases:
        first_ts_ms, last_ts_ms = case.timestamps_ms[0], case.timestamps_ms[-1]
        runs.append(
            TaskRun(
                org_id,
                product_id,
                case.case_id,
                task_name,
                0,
                first_ts_ms,
                last_ts_ms,
                last_ts_ms - first_ts_ms,
                "completed",
                case.activities,
                case.timestamps_ms,
                first_ts_ms,
                0.0,
                _IMPORT_VERSION,
            )
        )
    return runs


def task_runs_from_columns(
    case_ids: Sequence[str],
    activities: Sequence[str],
    timestamps_ms: Sequence[int],
    *,
    org_id: str = "imported",
    product_id: str = "log",
    task_name: str = DEFAULT_TASK_NAME,
) -> list[TaskRun]:
    cases = group_cases(case_ids, activities, timestamps_ms)
    return cases_to_task_runs(cases, org_id=org_id, product_id=product_id, task_name=task_name)


def _short_hash(text: str, hex_chars: int = 16) -> str:
    return blake2b(text.encode(), digest_size=hex_chars // 2).hexdigest()


def _fit(value: str, max_chars: int) -> str:
    """Too-long values keep a readable head and a hash tail, so they stay distinct."""
    if len(value) <= max_chars:
        return value
    return f"{value[: max_chars - 17]}~{_short_hash(value)}"


def case_wire_events(
    case: Case, *, org_id: str, product_id: str, task_name: str = DEFAULT_TASK_NAME
) -> Iterator[dict[str, Any]]:
    """SPEC §3 events for one case: start marker, one navigation per activity, complete marker.

    ``eventId`` is ``<hash of org, product, case>-<position>``, zero-padded: the
    sessionizer orders events by (ts, eventId), so equal timestamps (common in
    these logs, and always true of a marker and its neighbour) keep case order.
    """
    session_id = _fit(case.case_id, _MAX_ID_CHARS)
    id_prefix = _short_hash(f"{org_id}\x1f{product_id}\x1f{case.case_id}")
    common = {
        "orgId": org_id,
        "productId": product_id,
        "sessionId": session_id,
        "userHash": _short_hash(case.case_id),
        "deviceType": "desktop",
    }
    screens = [_fit(activity, _MAX_SCREEN_CHARS) for activity in case.activities]
    stamps = [format_timestamp_ms(ts_ms) for ts_ms in case.timestamps_ms]

    def event(position: int, event_type: str, screen: str, ts: str, **rest: Any) -> dict[str, Any]:
        return {
            "eventId": f"{id_prefix}-{position:08d}",
            **common,
            "ts": ts,
            "eventType": event_type,
            "screenId": screen,
            "route": _fit("/" + screen, _MAX_ROUTE_CHARS),
            **rest,
        }

    yield event(0, "custom", screens[0], stamps[0], extra={"task_name": task_name, "action": "start"})
    for position, (screen, ts) in enumerate(zip(screens, stamps), start=1):
        yield event(position, "navigation", screen, ts)
    yield event(len(screens) + 1, "custom", screens[-1], stamps[-1], extra={"task_name": task_name, "action": "complete"})


def wire_events(
    cases: Sequence[Case], *, org_id: str, product_id: str, task_name: str = DEFAULT_TASK_NAME
) -> Iterator[dict[str, Any]]:
    for case in cases:
        yield from case_wire_events(case, org_id=org_id, product_id=product_id, task_name=task_name)


