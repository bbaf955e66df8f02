"""The one sense of time (docs/semantics.md, "Time"), in the shape of Bytewax's
``EventClock``/``ClockLogic``: this immutable config; ``native.clock(config,
resume_state)`` gives the logic (rust/src/sessionizer.rs ``Clock``), fed event
timestamps and an injected ``now_ms`` (the caller's wall clock; the logic
never reads one), answering the watermark. Replay, embedded serve and the
stream sessionizer all get their time from it (the native sessionizer holds
one). tests/reference/clock.py is the executable reference of the rule.

The rule:

* The watermark is the latest event time seen minus ``allowed_lateness_ms``;
  it never goes back. A watermark from outside (``advance_to``) moves it
  forward too.
* While the source is quiet (no event arrived) for ``idle_after_ms`` of
  wall-clock time, time *also* runs with the wall clock: sessions close by
  ``close_until(now_ms)``, the later of ``now_ms - allowed_lateness_ms`` (live
  traffic: event time is about wall time) and the watermark plus the quiet
  time (a source whose clock runs ahead of ours). That idle bound is not kept
  as the watermark: events that arrive after the quiet spell (a backfill, an
  agent that was offline for hours) are judged by their own event time again,
  so they are sessionized whole instead of being cut at every arrival.
  Without ``now_ms`` (replay) there is no idle rule.
* End of input (``on_eof``) moves the watermark past every event.
"""

from __future__ import annotations

import msgspec

MAX_TS_MS = 2**63 - 1


class EventClock(msgspec.Struct, frozen=True):
    allowed_lateness_ms: int = 2 * 60_000
    # None: no idle rule (replay: only event time and end of input move time).
    # 0: every call with now_ms is idle (embedded serve: a server has no
    # backlog behind what it has been handed).
    idle_after_ms: int | None = None
