"""Flow discovery: variants of task runs and the directly-follows graph.

Pure: task runs in, records out; no IO, no clock. The flow payloads (docs/api.md) are the
records' msgspec encoding (``rename="camel"``), see ``flows_payload`` and
``graph_payload``.

Runs are grouped once by (task, cleaned path before the cut). Everything else
is derived per group rather than per run or per step: a variant is a merge of
groups whose cut paths agree (ranked in ``flow_variants``), and the graph adds
each group's edges times its size. Logs have far fewer distinct paths than
runs, so this keeps the per-step Python work to the C-level cleaning in
``flow_paths``. ``top_flows_from_groups`` starts one step later, from groups a
store has already summed per raw path (``TaskPathGroup``), so that top flows
over a large window never builds one record per run.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from operator import attrgetter, sub
from typing import Final

import msgspec

from frictionkit.core.flow_paths import FlowConfig, PathCleaner
from frictionkit.core.flow_variants import (  # noqa: F401 - re-exported: callers import them from here
    ANY_TASK,
    DROPPED_OUTCOMES,
    MS_PER_SEC,
    FlowDropoff,
    FlowVariant,
    TaskFilter,
    gc_paused,
    group_path_rows,
    median_of_sorted,
    rank_flows,
)
from frictionkit.core.model import TaskPathGroup, TaskRun

# Groups this small take the per-step path in the graph; bigger ones are
# transposed so their gaps are subtracted column by column.
_SMALL_GROUP_RUNS: Final = 4

_outcome_of = attrgetter("outcome")
_duration_ms_of = attrgetter("duration_ms")
_friction_of = attrgetter("frustration_score")


def _drain(iterator: Iterator[object]) -> None:
    deque(iterator, maxlen=0)


def _sorted_in_place(values: list[int]) -> list[int]:
    values.sort()  # the lists are ours and large: no copy
    return values


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
    """The runs sharing one (task, cleaned uncut path); a ``flow_variants.PathGroup``."""

    __slots__ = ("task", "path", "runs", "arrivals_ts_ms", "size")

    def __init__(self, task: str | None, path: tuple[str, ...]) -> None:
        self.task = task
        self.path = path
        self.runs: list[TaskRun] = []
        self.arrivals_ts_ms: list[Sequence[int]] = []
        self.size = 0  # len(runs) once group_runs is done: ranking reads it per variant

    def outcome_counts(self) -> tuple[int, int]:
        outcomes = list(map(_outcome_of, self.runs))
        return outcomes.count("completed"), sum(map(outcomes.count, DROPPED_OUTCOMES))

    def durations_ms(self) -> Iterable[int]:
        return map(_duration_ms_of, self.runs)

    def frustration_scores(self) -> Iterable[float]:
        return map(_friction_of, self.runs)

    def single(self) -> tuple[bool, bool, int, float]:
        (run,) = self.runs
        return run.outcome == "completed", run.outcome in DROPPED_OUTCOMES, run.duration_ms, run.frustration_score


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
        for group in groups.values():
            group.size = len(group.runs)
    return list(groups.values())


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
                median_ms=round(median_of_sorted(_sorted_in_place(edge_gaps_ms[edge]))) if with_timing else None,
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


def top_flows_from_groups(
    groups: Iterable[TaskPathGroup],
    config: FlowConfig | None = None,
    *,
    limit: int | None = 10,
    task: TaskFilter = ANY_TASK,
) -> list[FlowVariant]:
    """``top_flows`` of the runs a store summed into these groups: the same
    variants, in the same order, with the same statistics."""
    config = config or FlowConfig()
    return rank_flows(group_path_rows(groups, config, task=task), config, limit=limit)


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
