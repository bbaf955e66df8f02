"""Admission during store stalls.

The embedded store pauses now and then: DuckDB checkpoints its WAL inside a
commit, and that commit takes seconds instead of milliseconds (1.5-2.5 s on
this machine once the store holds a few million events). Requests arriving
meanwhile pile up behind it. The plain in-flight limit would shed them with
503 although the server is not overloaded, only paused; so while a commit
takes far longer than its size predicts, and for a grace period after (the
backlog it caused drains in the next commits), admission allows a deeper
queue. Sustained overload shows no such commit, so it is still shed at the
plain limit once the grace period is over, and the deeper limit is a bound
too: memory stays bounded whatever the stall.
"""

from __future__ import annotations

import time
from typing import Callable


class StallWatch:
    def __init__(self, *, min_stall_s: float = 0.25, factor: float = 3.0, grace_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_stall_s, self.factor, self.grace_s, self.clock = min_stall_s, factor, grace_s, clock
        self._started: float | None = None
        self._events = 0
        self._s_per_event: float | None = None  # typical commit cost, learnt from commits that were not stalls
        self._elevated_until = float("-inf")

    def commit_started(self, events: int) -> None:
        self._started, self._events = self.clock(), events

    def commit_ended(self) -> None:
        if self._started is None:
            return
        now = self.clock()
        elapsed = now - self._started
        if self._is_stall(elapsed):
            self._elevated_until = now + self.grace_s  # the grace runs from the end of the pause
        elif self._events:
            per_event = elapsed / self._events
            self._s_per_event = per_event if self._s_per_event is None else 0.8 * self._s_per_event + 0.2 * per_event
        self._started = None

    def _is_stall(self, elapsed: float) -> bool:
        expected = self._events * (self._s_per_event or 0.0)
        return elapsed > max(self.min_stall_s, self.factor * expected)

    def stalled(self) -> bool:
        """In a stall, or within the grace period after one."""
        now = self.clock()
        if self._started is not None and self._is_stall(now - self._started):
            self._elevated_until = now + self.grace_s
            return True
        return now < self._elevated_until
