"""Flow variants (``/v1/flows/top``): ranking and per-variant statistics.

Pure: groups in, records out; no IO, no clock. Variants are computed from
*path groups*, whatever built them:

* ``core.flows.group_runs``: one group per (task, cleaned path) of TaskRuns,
  when the caller has the runs themselves (importers, the graph);
* ``group_path_rows`` here: the same groups merged from ``TaskPathGroup``
  rows, which a store has already summed per (task, raw path) in SQL.

Both kinds answer the same few questions (``size``, ``outcome_counts``,
``durations_ms``, ``frustration_scores``, ``single``), so one ranking serves
both and gives identical payloads: counts add up exactly, medians are taken
over the same sorted durations, and friction is summed with ``fsum``, which
does not depend on the order of its terms.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from math import fsum
from typing import Final, Protocol

import msgspec

from frictionkit.core.flow_paths import FlowConfig, PathCleaner, flow_id, flow_label
from frictionkit.core.model import TaskPathGroup

MS_PER_SEC: Final = 1000.0
DROPPED_OUTCOMES: Final = ("abandoned", "failed")


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


def median_of_sorted(values: Sequence[int]) -> float:
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


class PathGroup(Protocol):
    """The runs sharing one (task, cleaned uncut path), however they were read."""

    task: str | None
    path: tuple[str, ...]

    @property
    def size(self) -> int: ...

    def outcome_counts(self) -> tuple[int, int]:
        """(completed runs, abandoned or failed runs)."""

    def durations_ms(self) -> Iterable[int]: ...

    def frustration_scores(self) -> Iterable[float]: ...

    def single(self) -> tuple[bool, bool, int, float]:
        """Of a one-run group: (completed, dropped, duration ms, friction)."""


class _RowGroup:
    """``TaskPathGroup`` rows whose raw paths clean to the same path."""

    __slots__ = ("task", "path", "size", "completed", "dropped", "rows")

    def __init__(self, task: str | None, path: tuple[str, ...]) -> None:
        self.task = task
        self.path = path
        self.size = self.completed = self.dropped = 0
        self.rows: list[TaskPathGroup] = []

    def add(self, row: TaskPathGroup) -> None:
        self.size += row.runs
        self.completed += row.completed
        self.dropped += row.dropped
        self.rows.append(row)

    def outcome_counts(self) -> tuple[int, int]:
        return self.completed, self.dropped

    def durations_ms(self) -> Iterable[int]:
        return chain.from_iterable(row.durations_ms for row in self.rows)

    def frustration_scores(self) -> Iterable[float]:
        return chain.from_iterable(row.frustration_scores for row in self.rows)

    def single(self) -> tuple[bool, bool, int, float]:
        (row,) = self.rows
        return row.completed == 1, row.dropped == 1, row.durations_ms[0], row.frustration_scores[0]


def group_path_rows(rows: Iterable[TaskPathGroup], config: FlowConfig, *, task: TaskFilter = ANY_TASK) -> list[_RowGroup]:
    """Store rows (one per task and raw path) merged per (task, cleaned path):
    the groups ``group_runs`` would build from the same runs."""
    clean = PathCleaner(config).clean
    groups: dict[tuple[str | None, tuple[str, ...]], _RowGroup] = {}
    any_task = task is ANY_TASK
    for row in rows:
        row_task = row.task_name
        if not any_task and row_task != task:
            continue
        key = (row_task, clean(row.path))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _RowGroup(*key)
        group.add(row)
    return list(groups.values())


def rank_flows(groups: Sequence[PathGroup], config: FlowConfig, *, limit: int | None = None) -> list[FlowVariant]:
    """Variants ranked by instances desc, then id asc (a stable tie-break)."""
    cleaner = PathCleaner(config)
    with gc_paused():
        by_variant: dict[tuple[str | None, tuple[str, ...]], list[PathGroup]] = {}
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
                -sum(g.size for g in members) if len(members) > 1 else -members[0].size,
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
        return [_variant(variant_id, task, path, members, -negated) for negated, variant_id, task, path, members in ranked]


def _variant(
    variant_id: str, task: str | None, path: tuple[str, ...], members: list[PathGroup], instances: int
) -> FlowVariant:
    if instances == 1:
        return _single_run_variant(variant_id, task, path, members[0])
    durations_ms = sorted(chain.from_iterable(group.durations_ms() for group in members))
    dropoffs: list[FlowDropoff] = []
    completion_rate: float | None = None
    if task is not None:
        completed = 0
        # Runs in one group share their last screen; a cut variant may hold several.
        dropped_by_screen: Counter[str] = Counter()
        for group in members:
            group_completed, dropped = group.outcome_counts()
            completed += group_completed
            if dropped and group.path:
                dropped_by_screen[group.path[-1]] += dropped
        completion_rate = completed / instances
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
        avg_friction=fsum(chain.from_iterable(group.frustration_scores() for group in members)) / instances,
        avg_duration_sec=sum(durations_ms) / instances / MS_PER_SEC,
        median_duration_sec=median_of_sorted(durations_ms) / MS_PER_SEC,
        dropoffs=dropoffs,
    )


def _single_run_variant(variant_id: str, task: str | None, path: tuple[str, ...], group: PathGroup) -> FlowVariant:
    # Diverse logs make most variants singletons: skip the sorting and counting.
    completed, dropped, duration_ms, friction = group.single()
    completion_rate = None if task is None else float(completed)
    duration_sec = duration_ms / MS_PER_SEC
    # Positional: built once per variant, hundreds of thousands of times on big logs.
    return FlowVariant(
        variant_id,
        flow_label(path),
        task,
        list(path),
        1,
        completion_rate,
        friction,
        duration_sec,
        duration_sec,
        [FlowDropoff(group.path[-1], 1.0)] if task is not None and dropped and group.path else [],
    )
