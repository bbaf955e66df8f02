"""Event-time sessionizer (docs/semantics.md), in the shape of Bytewax's session windower:
this immutable config; ``native.sessionizer(config, resume_state)`` gives the
logic (rust/src/sessionizer.rs), fed events and watermarks, returning closed
sessions. It never reads a clock. tests/reference/sessionizer.py is the
executable reference of these rules.

Per key (org, product, client session id) the logic buffers open events. The
buffer splits into segments where consecutive events are more than ``gap_ms``
apart or a segment reaches ``max_length_ms``. A segment is closed, and emitted
as a ``Session``, once the watermark passes its last event + ``gap_ms`` (or its
start + ``max_length_ms``): from then on no event within the allowed lateness
can land in it, so the result does not depend on arrival order.

Time is the logic's ``EventClock`` (``core/clock.py``, from this config):
the one watermark and idle rule of every shape. ``on_event(s)`` and
``advance`` take the caller's wall clock ``now_ms`` (never read there).

An event is *late* when, in sorted order, it would fall into or before a
session already closed for its key; late events are reported, not sessionized.
"""

from __future__ import annotations

import msgspec

from .clock import EventClock

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


class SessionizerConfig(msgspec.Struct, frozen=True):
    gap_ms: int = 30 * MINUTE_MS
    max_length_ms: int = 24 * HOUR_MS
    allowed_lateness_ms: int = 2 * MINUTE_MS
    # How long a key's closed-session marker is kept once it has nothing open.
    # A key evicted earlier and seen again is a new key to the logic; the
    # pipeline then reloads its history from the store.
    key_retention_ms: int = 24 * HOUR_MS
    # The clock's idle rule (core/clock.py): None for replay (no wall clock),
    # the stream's --idle-after-ms, 0 for embedded serve.
    idle_after_ms: int | None = None

    def clock(self) -> EventClock:
        return EventClock(allowed_lateness_ms=self.allowed_lateness_ms, idle_after_ms=self.idle_after_ms)

    def deadline_ms(self, first_ts_ms: int, last_ts_ms: int) -> int:
        """The watermark at which a session spanning these times closes."""
        return min(last_ts_ms + self.gap_ms + 1, first_ts_ms + self.max_length_ms)


def session_id_for(client_session_id: str, seq: int) -> str:
    return client_session_id if seq == 1 else f"{client_session_id}#{seq}"


ACCEPTED, DUPLICATE, LATE = "accepted", "duplicate", "late"
