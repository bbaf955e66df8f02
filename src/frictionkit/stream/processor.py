"""The processor base: what a stream processor is to the runtime.

A processor turns messages and time into outputs; everything Kafka (group
membership, batches, commits, deadletters) is the runtime's (``runtime``,
``checkpoint``). The defaults are no-ops, so a processor writes only what it
does: ``topics`` and ``handle``, and ``sinks`` when it holds outputs other
than the producer's (the metrics aggregator's store sink).
"""

from __future__ import annotations

from typing import Any

from .checkpoint import TP, Sink
from .deadletter import Outputs
from .settings import StreamSettings


class Processor:
    name = "processor"

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.stats: dict[str, int] = {}

    def topics(self) -> list[str]:
        raise NotImplementedError

    def sinks(self) -> list[Sink]:
        """Sinks the runner flushes at each commit, before the producer and the offsets."""
        return []

    def assigned(self, tps: list[TP], metadata: dict[TP, str | None]) -> None:
        """Partitions given to this instance, with their committed metadata."""

    def revoked(self, tps: list[TP]) -> None:
        """Partitions taken away (or lost): their state may be dropped."""

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        raise NotImplementedError

    def eof(self, tp: TP, now_ms: int) -> None:
        """The partition is at its end (for now)."""

    def tick(self, out: Outputs, now_ms: int) -> None:
        """After each poll, with the wall clock."""

    def offsets(self, positions: dict[TP, int]) -> dict[TP, tuple[int, str | None]]:
        """The offsets (and metadata) to commit for these consumed positions."""
        return {tp: (pos, None) for tp, pos in positions.items()}

    def close(self) -> None:
        """The runner has stopped."""
