"""The reference model of the native sessionizer (rust/src/sessionizer.rs):
the Python logic of ``core/sessionizer.py``'s rules, not on the product path.
tests/test_native_sessionizer.py holds the native sessionizer to it on random
adversarial streams."""

from __future__ import annotations

import heapq
from typing import Any

from frictionkit.core.model import Event, Session, SessionKey
from frictionkit.core.sessionizer import ACCEPTED, DUPLICATE, LATE, SessionizerConfig, session_id_for

from . import clock as _clock
from .clock import EventClockLogic


def build(config: SessionizerConfig, resume_state: Any | None = None) -> SessionizerLogic:
    logic = SessionizerLogic(config)
    if resume_state is not None:
        logic.restore(resume_state)
    return logic


def _order(ev: Event) -> tuple[int, str]:
    return (ev.ts_ms, ev.event_id)


class _KeyState:
    __slots__ = ("events", "ids", "is_sorted", "closed_count", "closed_start_ts_ms", "closed_last_ts_ms")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ids: set[str] = set()
        self.is_sorted = True
        self.closed_count = 0
        self.closed_start_ts_ms: int | None = None
        self.closed_last_ts_ms: int | None = None

    def add(self, ev: Event) -> bool:
        if ev.event_id in self.ids:
            return False
        self.ids.add(ev.event_id)
        if self.events and self.is_sorted:
            # Compared field by field: building (ts, id) tuples per event costs more.
            last = self.events[-1]
            if ev.ts_ms < last.ts_ms or (ev.ts_ms == last.ts_ms and ev.event_id < last.event_id):
                self.is_sorted = False
        self.events.append(ev)
        return True


class SessionizerLogic:
    def __init__(self, config: SessionizerConfig) -> None:
        self.config = config
        self._keys: dict[SessionKey, _KeyState] = {}
        # (deadline_ts_ms, key): a key is looked at once the watermark reaches
        # its deadline. Entries may be stale; they are re-checked when popped.
        self._deadlines: list[tuple[int, SessionKey]] = []
        self.clock: EventClockLogic = _clock.build(config.clock())
        # What the last advance closed by: the watermark, or the clock's idle bound.
        self.closed_until_ts_ms: int | None = None

    @property
    def max_ts_ms(self) -> int | None:
        return self.clock.max_ts_ms

    @property
    def watermark_ts_ms(self) -> int | None:
        return self.clock.watermark_ts_ms

    # -- input -----------------------------------------------------------------

    def has_key(self, key: SessionKey) -> bool:
        return key in self._keys

    def on_event(self, ev: Event, now_ms: int | None = None) -> str:
        """Buffer one event arrived at wall-clock ``now_ms``; returns ACCEPTED,
        DUPLICATE or LATE."""
        # Every arrival counts for the clock's idle rule (a late or duplicate
        # event is never past the watermark, so only accepted ones move it).
        self.clock.on_event(ev.ts_ms, now_ms)
        key = (ev.org_id, ev.product_id, ev.session_id)
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        elif state.closed_last_ts_ms is not None and self._is_late(state, ev.ts_ms):
            return DUPLICATE if ev.event_id in state.ids else LATE
        was_empty = not state.events
        if not state.add(ev):
            return DUPLICATE
        if was_empty or ev.ts_ms < state.events[0].ts_ms:
            heapq.heappush(self._deadlines, (ev.ts_ms + self.config.gap_ms + 1, key))
        return ACCEPTED

    def preload(self, events: list[Event]) -> None:
        """Load stored history of keys this logic does not hold (no late check):
        their sessions are then recomputed whole, with the right numbering."""
        for ev in events:
            key = (ev.org_id, ev.product_id, ev.session_id)
            state = self._keys.get(key)
            if state is None:
                state = self._keys[key] = _KeyState()
            if state.add(ev) and len(state.events) == 1:
                heapq.heappush(self._deadlines, (ev.ts_ms + self.config.gap_ms + 1, key))
            elif ev.ts_ms < state.events[0].ts_ms:
                heapq.heappush(self._deadlines, (ev.ts_ms + self.config.gap_ms + 1, key))

    def forget(self, keys: set[SessionKey]) -> None:
        """Drop these keys' state (a late event: the caller preloads their whole
        stored history again, and their sessions are recomputed and renumbered)."""
        for key in keys:
            self._keys.pop(key, None)
        # Their heap entries are stale now; popping skips keys not held.

    def _is_late(self, state: _KeyState, ts_ms: int) -> bool:
        last = state.closed_last_ts_ms
        if ts_ms <= last:
            return True
        # Would it extend the closed session (within the gap, before the 24 h cut)?
        return ts_ms - last <= self.config.gap_ms and ts_ms - state.closed_start_ts_ms < self.config.max_length_ms

    # -- time ------------------------------------------------------------------

    def advance(self, watermark_ts_ms: int | None = None, *, now_ms: int | None = None) -> list[Session]:
        """Close what the clock has passed: its watermark (moved forward to
        ``watermark_ts_ms`` when one is passed in and later), or, while the
        source is quiet at wall-clock ``now_ms``, its idle bound (a bound, not
        a new watermark: see core/clock.py)."""
        if watermark_ts_ms is not None:
            self.clock.advance_to(watermark_ts_ms)
        until = self.clock.close_until(now_ms)
        if until is None:
            return []
        self.closed_until_ts_ms = until
        return self._close_until(until)

    def _close_until(self, wm: int) -> list[Session]:
        closed: list[Session] = []
        heap = self._deadlines
        while heap and heap[0][0] <= wm:
            _, key = heapq.heappop(heap)
            state = self._keys.get(key)
            if state is None:
                continue
            next_deadline = self._close_due(key, state, wm, closed)
            if next_deadline is not None:
                heapq.heappush(heap, (next_deadline, key))
        return closed

    def close_all(self) -> list[Session]:
        """End of input (replay): every open session closes."""
        closed: list[Session] = []
        for key, state in list(self._keys.items()):
            while state.events:
                self._close_first_segment(key, state, closed, force=True)
        self._keys.clear()
        self._deadlines.clear()
        self.clock.on_eof()
        return closed

    # -- closing ---------------------------------------------------------------

    def _segment_end(self, events: list[Event]) -> int:
        """Index one past the first segment of sorted ``events``."""
        gap, max_len = self.config.gap_ms, self.config.max_length_ms
        start = prev = events[0].ts_ms
        for i in range(1, len(events)):
            ts = events[i].ts_ms
            if ts - prev > gap or ts - start >= max_len:
                return i
            prev = ts
        return len(events)

    def _close_due(self, key: SessionKey, state: _KeyState, wm: int, closed: list[Session]) -> int | None:
        """Close the due segments at the front; return the next deadline, if any."""
        gap, deadline_ms = self.config.gap_ms, self.config.deadline_ms
        while state.events:
            if not state.is_sorted:
                state.events.sort(key=_order)
                state.is_sorted = True
            end = self._segment_end(state.events)
            deadline = deadline_ms(state.events[0].ts_ms, state.events[end - 1].ts_ms)
            if deadline > wm:
                return deadline
            self._close_first_segment(key, state, closed, end=end)
        if wm >= state.closed_last_ts_ms + gap + self.config.key_retention_ms:
            del self._keys[key]
            return None
        return state.closed_last_ts_ms + gap + self.config.key_retention_ms

    def _close_first_segment(
        self, key: SessionKey, state: _KeyState, closed: list[Session], end: int | None = None, force: bool = False
    ) -> None:
        if not state.is_sorted:
            state.events.sort(key=_order)
            state.is_sorted = True
        if end is None:
            end = self._segment_end(state.events)
        segment = state.events[:end]
        del state.events[:end]
        for ev in segment:
            state.ids.discard(ev.event_id)
        state.closed_count += 1
        state.closed_start_ts_ms = segment[0].ts_ms
        state.closed_last_ts_ms = segment[-1].ts_ms
        org_id, product_id, client_id = key
        closed.append(
            Session(
                org_id=org_id,
                product_id=product_id,
                client_session_id=client_id,
                session_id=session_id_for(client_id, state.closed_count),
                seq=state.closed_count,
                events=segment,
            )
        )

    # -- state -----------------------------------------------------------------

    @property
    def open_events(self) -> int:
        return sum(len(s.events) for s in self._keys.values())

    @property
    def open_keys(self) -> int:
        return len(self._keys)

    def snapshot(self) -> dict[str, Any]:
        """Plain-data state, enough for ``build(resume_state)`` to continue."""
        return {
            "clock": self.clock.snapshot(),
            "keys": [
                # A copy: the live list goes on changing after the snapshot is taken.
                [list(key), list(s.events), s.closed_count, s.closed_start_ts_ms, s.closed_last_ts_ms]
                for key, s in self._keys.items()
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.clock.restore(state["clock"])
        for key_list, events, count, start, last in state["keys"]:
            key = tuple(key_list)
            ks = self._keys[key] = _KeyState()
            for ev in events:
                ks.add(ev)
            ks.closed_count, ks.closed_start_ts_ms, ks.closed_last_ts_ms = count, start, last
            deadline = (events[0].ts_ms + self.config.gap_ms + 1) if events else (last + self.config.gap_ms)
            heapq.heappush(self._deadlines, (deadline, key))
