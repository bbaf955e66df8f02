"""Replay: event files through the contract and the embedded pipeline into a store."""

from __future__ import annotations

import sys
import time
from typing import Callable

import msgspec

from ..core.flows import gc_paused
from ..core.model import Event
from ..native import decode_event_lines
from ..store.base import Store
from .embedded import EmbeddedPipeline, PipelineConfig
from .sources import iter_line_blocks

CHUNK_EVENTS = 50_000
WRITER_SWITCH_INTERVAL_S = 0.0002


class InvalidLine(msgspec.Struct, frozen=True):
    path: str
    line: int
    reason: str


class StrictModeError(RuntimeError):
    """--strict and an invalid line."""


class ReplayReport(msgspec.Struct):
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    late: int = 0
    sessions: int = 0
    incidents: int = 0
    seconds: float = 0.0
    invalid: list[InvalidLine] = []  # the first MAX_KEPT_INVALID, for the report

    @property
    def events_per_s(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


MAX_KEPT_INVALID = 50


def replay(
    paths: list[str],
    store: Store,
    *,
    now_ms: int,
    config: PipelineConfig = PipelineConfig(),
    strict: bool = False,
    on_bytes: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ReplayReport:
    """Replay files in order as one stream; every session closes at the end.

    ``now_ms`` is the wall-clock time the future-timestamp rule is checked
    against (passed in, so tests can pin it).
    """
    started = clock()
    report = ReplayReport()
    # The store writes each chunk on a thread of its own while the next one
    # is decoded and sessionized. DuckDB's client takes the GIL back between
    # the steps of a query, and with the default 5 ms switch interval each
    # step waited that long behind the busy main thread (an insert took
    # 2-3x as long); at 0.2 ms it barely waits.
    switch_interval_s = sys.getswitchinterval()
    sys.setswitchinterval(WRITER_SWITCH_INTERVAL_S)
    try:
        pipeline = EmbeddedPipeline(store, config, write_behind=True)
        try:
            # The open sessions hold every event not yet closed, and each pass
            # of the cyclic collector's older generations walks all of them
            # (8 % of replay's time). Nothing on this path forms a cycle; the
            # collector runs again once the loop is done.
            with gc_paused():
                _replay_lines(paths, pipeline, report, now_ms=now_ms, strict=strict, on_bytes=on_bytes)
        except BaseException:
            pipeline.abandon()  # the chunks handed over are written; the store may then be closed
            raise
        stats = pipeline.finish()
    finally:
        sys.setswitchinterval(switch_interval_s)
    report.accepted = stats.accepted
    report.duplicates = stats.duplicates
    report.late = stats.late
    report.sessions = stats.sessions
    report.incidents = stats.incidents
    report.seconds = clock() - started
    return report


def _replay_lines(paths: list[str], pipeline: EmbeddedPipeline, report: ReplayReport, *, now_ms: int, strict: bool,
                  on_bytes: Callable[[int], None] | None) -> None:
    chunk: list[Event] = []
    for path in paths:
        for first, block in iter_line_blocks(path, on_bytes):
            lines = [line.strip() for line in block]
            if all(lines):
                numbers = None  # line i is line first + i
            else:  # blank lines are skipped, not counted, and keep their numbers
                numbers = [first + i for i, line in enumerate(lines) if line]
                lines = [line for line in lines if line]
            events, errors = decode_event_lines(lines, now_ms=now_ms)
            report.read += len(lines)
            if errors and strict:
                # The run stops at the first bad line, once the chunks completed
                # before it are written: the lines before it were all valid.
                events = events[:errors[0][0]]
            chunk += events
            # Chunks of exactly CHUNK_EVENTS: the watermark moves between
            # chunks, so where they end decides which events are late.
            while len(chunk) >= CHUNK_EVENTS:
                pipeline.process(chunk[:CHUNK_EVENTS])
                chunk = chunk[CHUNK_EVENTS:]
            if errors:
                _reject(errors, path, first, numbers, report, strict)
    if chunk:
        pipeline.process(chunk)


def _reject(errors: list[tuple[int, str]], path: str, first: int, numbers: list[int] | None, report: ReplayReport,
            strict: bool) -> None:
    for index, reason in errors:
        number = first + index if numbers is None else numbers[index]
        if strict:
            raise StrictModeError(f"{path}:{number}: {reason}")
        report.rejected += 1
        if len(report.invalid) < MAX_KEPT_INVALID:
            report.invalid.append(InvalidLine(path=path, line=number, reason=reason))
