"""What the routes share: settings, keys, the rate limiter, the sink, the store."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import KeyRing
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

    def close(self) -> None:
        self.sink.close()
        self.access.close()
