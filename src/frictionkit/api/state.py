"""What the routes share: settings, keys, the rate limiter, the sink, the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..core.batch import CheckedBatch
from ..native import check_batch

from .auth import KeyRing
from .deadlines import ReadDeadlines
from .ratelimit import RateLimiter
from .settings import Settings
from .kafka_sink import KafkaSink
from .sinks import EmbeddedSink, StoreAccess


@dataclass
class AppState:
    settings: Settings
    keys: KeyRing
    limiter: RateLimiter
    sink: EmbeddedSink | KafkaSink
    access: StoreAccess
    inflight: int = 0  # ingest requests being handled (admission control)
    body_deadlines: ReadDeadlines = field(default_factory=ReadDeadlines)
    # The contract check of a batch body: the native one (the same answers as
    # core.batch, its reference). Its accepted events stay in Rust until the
    # sink asks for bus messages (Kafka) or Events (embedded).
    check_batch: Callable[..., CheckedBatch] = check_batch

    def close(self) -> None:
        self.sink.close()
        self.access.close()
