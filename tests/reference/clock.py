"""The reference model of the native clock (rust/src/sessionizer.rs ``Clock``):
the Python logic of the rule in ``core/clock.py``, not on the product path.
tests/test_native_sessionizer.py holds the native sessionizer to it."""

from __future__ import annotations

from typing import Any

from frictionkit.core.clock import MAX_TS_MS, EventClock


def build(config: EventClock, resume_state: Any | None = None) -> EventClockLogic:
    logic = EventClockLogic(config)
    if resume_state is not None:
        logic.restore(resume_state)
    return logic


class EventClockLogic:
    def __init__(self, config: EventClock) -> None:
        self.config = config
        self.max_ts_ms: int | None = None
        self.last_arrival_ms: int | None = None  # wall-clock time the last event arrived
        self.watermark_ts_ms: int | None = None  # event time: never goes back

    def on_event(self, ts_ms: int, now_ms: int | None = None) -> None:
        """An event with time ``ts_ms`` arrived at wall-clock ``now_ms``."""
        if self.max_ts_ms is None or ts_ms > self.max_ts_ms:
            self.max_ts_ms = ts_ms
        if now_ms is not None:
            self.last_arrival_ms = now_ms

    def watermark(self) -> int | None:
        """The event-time watermark (None before any time is known)."""
        if self.max_ts_ms is not None:
            wm = self.max_ts_ms - self.config.allowed_lateness_ms
            if self.watermark_ts_ms is None or wm > self.watermark_ts_ms:
                self.watermark_ts_ms = wm
        return self.watermark_ts_ms

    def advance_to(self, watermark_ts_ms: int) -> int:
        """A watermark from outside (e.g. passed by a caller): kept when later."""
        if self.watermark_ts_ms is None or watermark_ts_ms > self.watermark_ts_ms:
            self.watermark_ts_ms = watermark_ts_ms
        return self.watermark_ts_ms

    def quiet(self, now_ms: int | None) -> bool:
        """Has the source been quiet for ``idle_after_ms`` at wall-clock ``now_ms``?"""
        idle_after = self.config.idle_after_ms
        if now_ms is None or idle_after is None:
            return False
        return self.last_arrival_ms is None or now_ms - self.last_arrival_ms >= idle_after

    def close_until(self, now_ms: int | None = None) -> int | None:
        """What is due by this time closes: the watermark, or while the source
        is quiet at ``now_ms`` the idle bound (not kept: see the module doc)."""
        wm = self.watermark()
        if not self.quiet(now_ms):
            return wm
        bound = now_ms - self.config.allowed_lateness_ms
        if wm is not None and self.last_arrival_ms is not None:
            bound = max(bound, wm + now_ms - self.last_arrival_ms)
        return bound if wm is None or bound > wm else wm

    def on_eof(self) -> int:
        """End of input: time passes every event."""
        self.watermark_ts_ms = MAX_TS_MS
        return MAX_TS_MS

    def is_late(self, ts_ms: int) -> bool:
        """Is an event at ``ts_ms`` behind the watermark (beyond the allowed lateness)?"""
        return self.watermark_ts_ms is not None and ts_ms <= self.watermark_ts_ms

    def snapshot(self) -> dict[str, Any]:
        return {"max_ts_ms": self.max_ts_ms, "last_arrival_ms": self.last_arrival_ms,
                "watermark_ts_ms": self.watermark_ts_ms}

    def restore(self, state: dict[str, Any]) -> None:
        self.max_ts_ms = state["max_ts_ms"]
        self.last_arrival_ms = state["last_arrival_ms"]
        self.watermark_ts_ms = state["watermark_ts_ms"]
