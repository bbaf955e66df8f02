"""Per-key token buckets counted in events (docs/contract.md: 429 with Retry-After).

Tokens are events, not requests: a 1000-event batch costs 1000, so an agent
cannot get around the limit with bigger batches. A batch costing more than the
burst is charged the burst, otherwise it could never pass.
"""

from __future__ import annotations

import math
import time
from typing import Callable


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst > 0

    def _bucket(self, name: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def _wait_s(self, missing: float) -> int:
        return max(1, math.ceil(missing / self.rate))

    def check(self, name: str) -> int:
        """Seconds to wait before any event can pass (0: go on). Lets an
        exhausted key be refused before its body is read."""
        if not self.enabled:
            return 0
        bucket = self._bucket(name)
        return 0 if bucket.tokens >= 1 else self._wait_s(1 - bucket.tokens)

    def take(self, name: str, events: int) -> int:
        """Charge ``events``; 0 when they pass, else the seconds to wait (nothing charged)."""
        if not self.enabled:
            return 0
        cost = min(events, self.burst)
        bucket = self._bucket(name)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0
        return self._wait_s(cost - bucket.tokens)
