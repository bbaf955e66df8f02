"""The one sense of time (docs/semantics.md, "Time"), in the shape of Bytewax's
``EventClock``/``ClockLogic``: an immutable config whose ``build(resume_state)``
gives a logic object that is fed event timestamps and an injected ``now_ms``
(the caller's wall clock; this module never reads one) and answers the
watermark.

The rule, the same for replay, embedded serve and the stream sessionizer:

* The watermark is the latest event time seen minus ``allowed_lateness_ms``.
* When the source has been quiet (no event arrived) for ``idle_after_ms`` of
  wall-clock time, the watermark also advances with the wall clock: it is at
  least ``now_ms - allowed_lateness_ms``. Without ``now_ms`` (replay) there is
  no idle rule.
* The watermark never goes back.
* End of input (``on_eof``) moves it past every event: all sessions close.
"""

from __future__ import annotations

from typing import Any

import msgspec

MAX_TS_MS = 2**63 - 1


class EventClock(msgspec.Struct, frozen=True):
    allowed_lateness_ms: int = 2 * 60_000
    # None: no idle rule (replay: only event time and end of input move time).
    idle_after_ms: int | None = None

    def build(self, resume_state: Any | None = None) -> EventClockLogic:
        logic = EventClockLogic(self)
        if resume_state is not None:
            logic.restore(resume_state)
        return logic


class EventClockLogic:
    def __init__(self, config: EventClock) -> None:
        self.config = config
        self.max_ts_ms: int | None = None
        self.last_arrival_ms: int | None = None  # wall-clock time the last event arrived
        self.watermark_ts_ms: int | None = None

    def on_event(self, ts_ms: int, now_ms: int | None = None) -> None:
        """An event with time ``ts_ms`` arrived at wall-clock ``now_ms``."""
        if self.max_ts_ms is None or ts_ms > self.max_ts_ms:
            self.max_ts_ms = ts_ms
        if now_ms is not None:
            self.last_arrival_ms = now_ms

    def watermark(self, now_ms: int | None = None) -> int | None:
        """The watermark at wall-clock ``now_ms`` (None before any time is known)."""
        lateness = self.config.allowed_lateness_ms
        wm = None if self.max_ts_ms is None else self.max_ts_ms - lateness
        idle_after = self.config.idle_after_ms
        if now_ms is not None and idle_after is not None:
            quiet = self.last_arrival_ms is None or now_ms - self.last_arrival_ms >= idle_after
            if quiet and (wm is None or now_ms - lateness > wm):
                wm = now_ms - lateness
        if self.watermark_ts_ms is not None and (wm is None or wm < self.watermark_ts_ms):
            wm = self.watermark_ts_ms
        self.watermark_ts_ms = wm
        return wm

    def on_eof(self) -> int:
        """End of input: time passes every event."""
        self.watermark_ts_ms = MAX_TS_MS
        return MAX_TS_MS

    def is_late(self, ts_ms: int) -> bool:
        """Is an event at ``ts_ms`` behind the watermark (beyond the allowed lateness)?"""
        return self.watermark_ts_ms is not None and ts_ms <= self.watermark_ts_ms

    def snapshot(self) -> dict[str, Any]:
        return {"max_ts_ms": self.max_ts_ms, "last_arrival_ms": self.last_arrival_ms, "watermark_ts_ms": self.watermark_ts_ms}

    def restore(self, state: dict[str, Any]) -> None:
        self.max_ts_ms = state["max_ts_ms"]
        self.last_arrival_ms = state["last_arrival_ms"]
        self.watermark_ts_ms = state["watermark_ts_ms"]
