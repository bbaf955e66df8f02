"""From a columnar log to cases: TaskRuns for the flow core, wire events for replay.

Each case becomes one session holding one task run. Within a case, events are
ordered by timestamp with ties kept in file order (a stable sort), the order
process-mining tools use; cases keep the order of their first event in the file.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from hashlib import blake2b
from itertools import compress, islice
from operator import gt, ne
from typing import Any

from frictionkit.core.flows import gc_paused
from frictionkit.core.model import TaskRun
from frictionkit.importers.parsed_log import format_timestamp_ms

DEFAULT_TASK_NAME = "case"
_IMPORT_VERSION = 1
# Wire-format limits (docs/contract.md) the log's own strings may exceed.
_MAX_ID_CHARS = 128
_MAX_SCREEN_CHARS = 256
_MAX_ROUTE_CHARS = 2048


def _ordered_by_time(activities: list[str], timestamps_ms: list[int]) -> tuple[list[str], list[int]]:
    order = sorted(range(len(timestamps_ms)), key=timestamps_ms.__getitem__)  # stable: ties stay in file order
    return list(map(activities.__getitem__, order)), list(map(timestamps_ms.__getitem__, order))


def _case_spans(case_ids: list[str]) -> tuple[list[str], list[tuple[int, int]]] | None:
    """(case ids, [start, end) spans) when every case is one contiguous block of
    rows, the usual export layout; None otherwise. Found in C, no Python step per event."""
    event_count = len(case_ids)
    starts = [0, *compress(range(1, event_count), map(ne, islice(case_ids, 1, None), case_ids))]
    ids = list(map(case_ids.__getitem__, starts))
    if len(set(ids)) != len(ids):
        return None
    return ids, list(zip(starts, [*starts[1:], event_count]))


def _case_positions(case_ids: list[str]) -> tuple[list[str], list[list[int]]]:
    positions_by_case: dict[str, list[int]] = {}
    for position, case_id in enumerate(case_ids):
        positions = positions_by_case.get(case_id)
        if positions is None:
            positions_by_case[case_id] = [position]
        else:
            positions.append(position)
    return list(positions_by_case), list(positions_by_case.values())


def task_runs_from_columns(
    case_ids: Sequence[str],
    activities: Sequence[str],
    timestamps_ms: Sequence[int],
    *,
    org_id: str = "imported",
    product_id: str = "log",
    task_name: str = DEFAULT_TASK_NAME,
) -> list[TaskRun]:
    """Parallel columns in file order → one completed TaskRun per case.

    The path keeps repeats (the flow core collapses them when configured to).
    Imported logs carry no UI signal, so friction is 0. Activities are interned:
    a log repeats a few hundred names millions of times, and shared objects make
    every later hash and compare cheap.
    """
    case_ids = list(case_ids)
    activities = list(map(sys.intern, activities))
    timestamps_ms = list(timestamps_ms)
    if not case_ids:
        return []
    runs: list[TaskRun] = []
    with gc_paused():
        spans = _case_spans(case_ids)
        if spans is not None:
            ids, bounds = spans
            # One pass over the whole column finds the cases not already in time order.
            event_count = len(timestamps_ms)
            descents = set(compress(range(1, event_count), map(gt, timestamps_ms, islice(timestamps_ms, 1, None))))
            starts = [start for start, _end in bounds]
            # A descent at a case's first row is just the next case starting earlier.
            unordered_cases = {bisect_right(starts, position) - 1 for position in descents.difference(starts)}
            for index, (case_id, (start, end)) in enumerate(zip(ids, bounds)):
                path, path_ts_ms = activities[start:end], timestamps_ms[start:end]
                if index in unordered_cases:
                    path, path_ts_ms = _ordered_by_time(path, path_ts_ms)
                runs.append(_run(org_id, product_id, case_id, task_name, path, path_ts_ms))
            return runs
        for case_id, positions in zip(*_case_positions(case_ids)):
            path, path_ts_ms = _ordered_by_time(
                list(map(activities.__getitem__, positions)), list(map(timestamps_ms.__getitem__, positions))
            )
            runs.append(_run(org_id, product_id, case_id, task_name, path, path_ts_ms))
    return runs


def _run(org_id: str, product_id: str, case_id: str, task_name: str, path: list[str], path_ts_ms: list[int]) -> TaskRun:
    first_ts_ms, last_ts_ms = path_ts_ms[0], path_ts_ms[-1]
    # Positional: this runs once per case, and keyword construction costs more.
    return TaskRun(
        org_id, product_id, case_id, task_name, 0, first_ts_ms, last_ts_ms, last_ts_ms - first_ts_ms,
        "completed", path, path_ts_ms, first_ts_ms, 0.0, _IMPORT_VERSION,
    )


def _short_hash(text: str, hex_chars: int = 16) -> str:
    return blake2b(text.encode(), digest_size=hex_chars // 2).hexdigest()


def _fit(value: str, max_chars: int) -> str:
    """Too-long values keep a readable head and a hash tail, so they stay distinct."""
    if len(value) <= max_chars:
        return value
    return f"{value[: max_chars - 17]}~{_short_hash(value)}"


def case_wire_events(run: TaskRun) -> Iterator[dict[str, Any]]:
    """Wire-format events for one imported case (a TaskRun of ``task_runs_from_columns``): start marker, one navigation per activity, complete marker.

    ``eventId`` is ``<hash of org, product, case>-<position>``, zero-padded: the
    sessionizer orders events by (ts, eventId), so equal timestamps (common in
    these logs, and always true of a marker and its neighbour) keep case order.
    """
    case_id, task_name = run.session_id, run.task_name
    id_prefix = _short_hash(f"{run.org_id}\x1f{run.product_id}\x1f{case_id}")
    common = {
        "orgId": run.org_id,
        "productId": run.product_id,
        "sessionId": _fit(case_id, _MAX_ID_CHARS),
        "userHash": _short_hash(case_id),
        "deviceType": "desktop",
    }
    screens = [_fit(activity, _MAX_SCREEN_CHARS) for activity in run.path]
    stamps = [format_timestamp_ms(ts_ms) for ts_ms in run.path_ts_ms]

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


def wire_events(runs: Iterable[TaskRun]) -> Iterator[dict[str, Any]]:
    """Wire-format events for imported runs, case after case."""
    for run in runs:
        yield from case_wire_events(run)


