"""Flow discovery: variants of task runs and the directly-follows graph.

Pure: task runs in, records out; no IO, no clock. The SPEC §8 payloads are the
records' msgspec encoding (``rename="camel"``), see ``flows_payload`` and
``graph_payload``.

Runs are grouped once by (task, cleaned path before the cut). Everything else
is derived per group rather than per run or per step: a variant is a merge of
groups whose cut paths agree, and the graph adds each group's edges times its
size. Logs have far fewer distinct paths than runs, so this keeps the per-step
Python work to the C-level cleaning in ``flow_paths``.
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from math import fsum
from operator import attrgetter, sub
from typing import Final

import msgspec

from frictionkit.core.flow_paths import FlowConfig, PathCleaner, flow_id, flow_label
from frictionkit.core.model import TaskRun

MS_PER_SEC: Final = 1000.0
# Groups this small take the per-step path in the graph; bigger ones are
# transposed so their gaps are subtracted column by column.
_SMALL_GROUP_RUNS: Final = 4

_outcome_of = attrgetter("outcome")
_duration_ms_of = attrgetter("duration_ms")
_friction_of = attrgetter("frustration_score")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building millions of small lists makes CPython's cyclic collector rescan
    them over and over (it was a third of discovery time); nothing built here
    forms a cycle, so collection can wait until the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _drain(iterator: Iterator[object]) -> None:
    deque(iterator, maxlen=0)


def _sorted_in_place(values: list[int]) -> list[int]:
    values.sort()  # the lists are ours and large: no copy
    return values


def _median_of_sorted(values: Sequence[int]) -> float:
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


class _AnyTask:
    """Sentinel for "no task filter"; ``None`` already means session flows."""

    def __repr__(self) -> str:
        return "ANY_TASK"


ANY_TASK: Final = _AnyTask()
TaskFilter = str | None | _AnyTask


# Result records hold only strings, numbers and lists of each other: they can
# never form a cycle, so the cyclic GC need not track the hundreds of thousands
# a large log yields (gc=False).
class FlowDropoff(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    screen_id: str
    rate: float


class FlowVariant(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """One entry of ``/v1/flows/top``; ``sessions`` counts instances (task runs).

    ``completion_rate`` is None for session flows (task None): a session has
    nothing to complete, and 0.0 would read as "everyone failed".
    """

    id: str
    label: str
    task: str | None
    path: list[str]
    sessions: int
    completion_rate: float | None
    avg_friction: float
    avg_duration_sec: float
    median_duration_sec: float
    dropoffs: list[FlowDropoff]


class FlowGraphNode(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    screen_id: str
    visits: int


class FlowGraphEdge(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    from_screen: str = msgspec.field(name="from")
    to_screen: str = msgspec.field(name="to")
    count: int = 0
    median_ms: int | None = None  # None only when timing was not asked for


class FlowGraph(msgspec.Struct, frozen=True, gc=False):
    nodes: list[FlowGraphNode]
    edges: list[FlowGraphEdge]


class FlowDiscovery(msgspec.Struct, frozen=True, gc=False):
    flows: list[FlowVariant]
    graph: FlowGraph


class _PathGroup:
    """The runs sharing one (task, cleaned uncut path)."""

    __slots__ = ("task", "path", "runs", "arrivals_ts_ms")

    def __init__(self, task: str | None, path: tuple[str, ...]) -> None:
        self.task = task
        self.path = path
        self.runs: list[TaskRun] = []
        self.arrivals_ts_ms: list[Sequence[int]] = []


def group_runs(
    runs: Iterable[TaskRun],
    config: FlowConfig,
    *,
    task: TaskFilter = ANY_TASK,
    keep_arrivals: bool = True,
) -> list[_PathGroup]:
    """One pass over the runs; the only loop whose cost grows with the log."""
    cleaner = PathCleaner(config)
    clean = cleaner.clean
    clean_with_times = cleaner.clean_with_times
    groups: dict[tuple[str | None, tuple[str, ...]], _PathGroup] = {}
    any_task = task is ANY_TASK
    with gc_paused():
        for run in runs:
            run_task = run.task_name
            if not any_task and run_task != task:
                continue
            if keep_arrivals:
                path, arrivals = clean_with_times(run.path, run.path_ts_ms)
            else:
                path = clean(run.path)
            key = (run_task, path)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _PathGroup(run_task, path)
            group.runs.append(run)
            if keep_arrivals:
                group.arrivals_ts_ms.append(arrivals)
    return list(groups.values())


def rank_flows(groups: Sequence[_PathGroup], config: FlowConfig, *, limit: int | None = None) -> list[FlowVariant]:
    """Variants ranked by instances desc, then id asc (a stable tie-break)."""
    cleaner = PathCleaner(config)
    with gc_paused():
        by_variant: dict[tuple[str | None, tuple[str, ...]], list[_PathGroup]] = {}
        for group in groups:
            key = (group.task, cleaner.cut(group.path))
            members = by_variant.get(key)
            if members is None:
                by_variant[key] = [group]
            else:
                members.append(group)
        # Ids are unique per variant, so tuple order never looks past them.
        ranked = sorted(
            (
                -sum(len(g.runs) for g in members) if len(members) > 1 else -len(members[0].runs),
                flow_id(task, path),
                task,
                path,
                members,
            )
            for (task, path), members in by_variant.items()
        )
        if limit is not None:
            ranked = ranked[: max(limit, 0)]
        # Stats only for what is returned: they are the expensive part.
        return [_variant(variant_id, task, path, members) for _n, variant_id, task, path, members in ranked]


def _variant(variant_id: str, task: str | None, path: tuple[str, ...], members: list[_PathGroup]) -> FlowVariant:
    runs = members[0].runs if len(members) == 1 else [run for group in members for run in group.runs]
    instances = len(runs)
    if instances == 1:
        return _single_run_variant(variant_id, task, path, members[0])
    durations_ms = sorted(map(_duration_ms_of, runs))
    dropoffs: list[FlowDropoff] = []
    completion_rate: float | None = None
    if task is not None:
        completion_rate = list(map(_outcome_of, runs)).count("completed") / instances
        # Runs in one group share their last screen; a cut variant may hold several.
        dropped_by_screen: Counter[str] = Counter()
        for group in members:
            outcomes = list(map(_outcome_of, group.runs))
            dropped = outcomes.count("abandoned") + outcomes.count("failed")
            if dropped and group.path:
                dropped_by_screen[group.path[-1]] += dropped
        dropoffs = [
            FlowDropoff(screen_id=screen, rate=count / instances)
            for screen, count in sorted(dropped_by_screen.items(), key=lambda item: (-item[1], item[0]))
        ]
    return FlowVariant(
        id=variant_id,
        label=flow_label(path),
        task=task,
        path=list(path),
        sessions=instances,
        completion_rate=completion_rate,
        avg_friction=fsum(map(_friction_of, runs)) / instances,
        avg_duration_sec=sum(durations_ms) / instances / MS_PER_SEC,
        median_duration_sec=_median_of_sorted(durations_ms) / MS_PER_SEC,
        dropoffs=dropoffs,
    )


def _single_run_variant(variant_id: str, task: str | None, path: tuple[str, ...], group: _PathGroup) -> FlowVariant:
    # Diverse logs make most variants singletons: skip the sorting and counting.
    (run,) = group.runs
    completion_rate = None if task is None else float(run.outcome == "completed")
    dropped = task is not None and run.outcome in ("abandoned", "failed") and bool(group.path)
    duration_sec = run.duration_ms / MS_PER_SEC
    # Positional: built once per variant, hundreds of thousands of times on big logs.
    return FlowVariant(
        variant_id,
        flow_label(path),
        task,
        list(path),
        1,
        completion_rate,
        run.frustration_score,
        duration_sec,
        duration_sec,
        [FlowDropoff(group.path[-1], 1.0)] if dropped else [],
    )


def build_graph(groups: Sequence[_PathGroup], *, with_timing: bool = True) -> FlowGraph:
    """Directly-follows graph over cleaned, uncut paths.

    Uncut because the ellipsis is not a screen: an edge into it would be
    invented, and the transitions after step 12 are real and worth seeing.
    Most groups hold one run in diverse logs, so their steps are counted by
    ``Counter.update`` in C; only bigger groups multiply by their size.
    """
    visits: Counter[str] = Counter()
    edge_counts: Counter[tuple[str, str]] = Counter()
    edge_gaps_ms: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    gap_list_of = edge_gaps_ms.__getitem__
    with gc_paused():
        for group in groups:
            path = group.path
            instances = len(group.runs)
            steps = list(zip(path, islice(path, 1, None)))
            if instances == 1:
                visits.update(path)
                edge_counts.update(steps)
            else:
                for screen in path:
                    visits[screen] += instances
                for edge in steps:
                    edge_counts[edge] += instances
            if not with_timing or not steps:
                continue
            if instances < _SMALL_GROUP_RUNS:
                # Each step's gap appended to its edge's list, entirely in C.
                gap_lists = list(map(gap_list_of, steps))
                for arrivals in group.arrivals_ts_ms:
                    _drain(map(list.append, gap_lists, map(sub, islice(arrivals, 1, None), arrivals)))
            else:
                # Transposed, a group's per-step gaps become one C-level
                # subtraction of two columns per edge position.
                columns = list(zip(*group.arrivals_ts_ms))
                for position, edge in enumerate(steps):
                    edge_gaps_ms[edge].extend(map(sub, columns[position + 1], columns[position]))
        nodes = [
            FlowGraphNode(screen_id=screen, visits=count)
            for screen, count in sorted(visits.items(), key=lambda item: (-item[1], item[0]))
        ]
        edges = [
            FlowGraphEdge(
                from_screen=edge[0],
                to_screen=edge[1],
                count=count,
                median_ms=round(_median_of_sorted(_sorted_in_place(edge_gaps_ms[edge]))) if with_timing else None,
            )
            for edge, count in sorted(edge_counts.items(), key=lambda item: (-item[1], item[0]))
        ]
    return FlowGraph(nodes=nodes, edges=edges)


def top_flows(
    runs: Iterable[TaskRun],
    config: FlowConfig | None = None,
    *,
    limit: int | None = 10,
    task: TaskFilter = ANY_TASK,
) -> list[FlowVariant]:
    config = config or FlowConfig()
    return rank_flows(group_runs(runs, config, task=task, keep_arrivals=False), config, limit=limit)


def flow_graph(
    runs: Iterable[TaskRun],
    config: FlowConfig | None = None,
    *,
    task: TaskFilter = ANY_TASK,
    with_timing: bool = True,
) -> FlowGraph:
    config = config or FlowConfig()
    return build_graph(group_runs(runs, config, task=task, keep_arrivals=with_timing), with_timing=with_timing)


def discover_flows(
    runs: Iterable[TaskRun],
    config: FlowConfig | None = None,
    *,
    limit: int | None = None,
    task: TaskFilter = ANY_TASK,
    with_timing: bool = True,
) -> FlowDiscovery:
    """Variants and graph from a single pass over the runs."""
    config = config or FlowConfig()
    groups = group_runs(runs, config, task=task, keep_arrivals=with_timing)
    return FlowDiscovery(
        flows=rank_flows(groups, config, limit=limit),
        graph=build_graph(groups, with_timing=with_timing),
    )


def flows_payload(flows: Sequence[FlowVariant]) -> dict:
    """The ``/v1/flows/top`` body."""
    return {"flows": msgspec.to_builtins(list(flows))}


def graph_payload(graph: FlowGraph) -> dict:
    """The ``/v1/flows/graph`` body."""
    return msgspec.to_builtins(graph)
