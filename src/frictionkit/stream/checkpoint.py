"""The checkpoint: consumed positions, when a commit is due, and the commit in
its numbered steps, in the shape of Quix Streams' ``Checkpoint``:

    1. flush the sinks     (the store: ``pipeline.storesink``)
    2. flush the producer  (every output confirmed by the broker)
    3. commit the offsets  (as the processor computes them)

in that order, and nothing else commits, so an offset is never committed for
a message whose outputs are not durable. A sink that writes behind (its flush
returns True: a batch is still being written) makes the commit one step
behind: the offsets committed are those of the previous step, whose batch the
flush waited for. A sink that refuses (``SinkUnavailable``) aborts the
commit: nothing is committed and the next is due after the backoff it says.

The Kafka calls of steps 2 and 3 are the runner's (``runtime.Runner``),
passed in; this object holds the order and the bookkeeping.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

from ..pipeline.storesink import SinkUnavailable
from .settings import StreamSettings

TP = tuple[str, int]


class Sink(Protocol):
    """What the checkpoint asks of a sink (``pipeline.storesink.StoreSink`` is one)."""

    def assign(self, partitions: list[TP]) -> None: ...
    def revoke(self, partitions: list[TP]) -> None: ...
    def flush(self, final: bool = True) -> bool:
        """Write what is held; True when a batch is still being written."""
    def held(self) -> int: ...
    @property
    def idle(self) -> bool: ...


class Checkpoint:
    def __init__(self, settings: StreamSettings, sinks: list[Sink], flush_producer: Callable[[float | None], None],
                 commit_offsets: Callable[[dict[TP, int]], None]) -> None:
        self.settings = settings
        self.sinks = list(sinks)
        self.flush_producer = flush_producer
        self.commit_offsets = commit_offsets
        # Next offset to read of each assigned partition (None: nothing consumed yet).
        self.positions: dict[TP, int | None] = {}
        # Positions whose outputs a sink is still writing: committed by the
        # next commit, once the write is done.
        self.behind: dict[TP, int] | None = None
        self.since_commit = 0  # messages consumed since the last commit
        self.at_poll = 0  # since_commit when the last poll began
        self.last_commit_s = time.monotonic()
        self.blocked_until_s: float | None = None  # a sink refused: no commit before then
        self.sink_down = False

    def reset(self) -> None:
        """A new consumer's life: nothing assigned, nothing consumed."""
        self.positions.clear()
        self.behind, self.since_commit, self.at_poll = None, 0, 0
        self.last_commit_s, self.blocked_until_s, self.sink_down = time.monotonic(), None, False

    def assign(self, tps: list[TP]) -> None:
        for tp in tps:
            self.positions[tp] = None
        for sink in self.sinks:
            sink.assign(tps)

    def revoke(self, tps: list[TP]) -> None:
        for tp in tps:
            self.positions.pop(tp, None)
        for sink in self.sinks:
            sink.revoke(tps)

    def polled(self) -> None:
        self.at_poll = self.since_commit

    def store_offset(self, tp: TP, offset: int) -> None:
        self.positions[tp] = offset + 1
        self.since_commit += 1

    def pending(self) -> int:
        return sum(sink.held() for sink in self.sinks)

    def due(self) -> bool:
        now = time.monotonic()
        if self.blocked_until_s is not None:
            return now >= self.blocked_until_s
        settings = self.settings
        # Caught up (a poll brought nothing new): what is held is written and
        # committed now rather than at the next interval, so results and lag
        # follow the input closely when it pauses or ends.
        caught_up = self.since_commit == self.at_poll
        return (self.since_commit >= settings.commit_every_messages
                or now - self.last_commit_s >= settings.commit_interval_ms / 1000
                or (self.since_commit > 0 and caught_up)
                or self.pending() >= settings.max_pending_messages
                # Idle, and the last batch is written: its offsets now.
                or (self.behind is not None and caught_up and all(sink.idle for sink in self.sinks)))

    def commit(self, *, deadline: float | None = None, final: bool = False) -> bool:
        """The three steps; False when a sink refused (nothing committed).
        ``final`` (a stop, a revoke) waits for every write."""
        positions = {tp: pos for tp, pos in self.positions.items() if pos is not None}
        self.last_commit_s = time.monotonic()
        writing = False
        try:
            for sink in self.sinks:  # step 1
                # While a sink is away, each retry waits for its write.
                writing = sink.flush(final=final or self.sink_down) or writing
        except SinkUnavailable as err:
            self.behind = None  # the refused batch is held again, and written with a later step's
            self.sink_down = True
            self.blocked_until_s = time.monotonic() + err.retry_after_s
            return False
        self.sink_down, self.blocked_until_s = False, None
        self.flush_producer(deadline)  # step 2
        durable, self.behind = (self.behind, positions) if writing else (positions, None)
        if durable:
            self.commit_offsets(durable)  # step 3
        self.since_commit = 0
        return True
