"""The embedded pipeline: validated events in, facts out, in one process.

Each chunk is one store transaction: new events go into ``events_raw``, the
sessionizer takes the chunk, and every session the watermark closes is
processed by the core and written. Keys that may have stored history (a store
that held events before this run, or a key the sessionizer forgot) get that
history loaded first, so a session is always computed from all of its events:
replaying a file twice, overlapping files, or a run after a crash recompute the
same rows instead of partial ones.
"""

from __future__ import annotations

import msgspec

from ..core.metrics import CoreConfig, process_session
from ..core.model import Event, Session, SessionKey
from ..core.sessionizer import ACCEPTED, LATE, SessionizerConfig
from ..store.base import Store
from .keyfilter import KeyFilter


class PipelineConfig(msgspec.Struct, frozen=True):
    sessionizer: SessionizerConfig = SessionizerConfig()
    core: CoreConfig = CoreConfig()


class PipelineStats(msgspec.Struct):
    accepted: int = 0  # valid events handed to the pipeline
    duplicates: int = 0  # already stored (earlier in this run or before it)
    late: int = 0  # stored, but too late to change their closed session
    sessions: int = 0
    incidents: int = 0


class EmbeddedPipeline:
    def __init__(self, store: Store, config: PipelineConfig = PipelineConfig()) -> None:
        self.store = store
        self.config = config
        self.logic = config.sessionizer.build()
        self.stats = PipelineStats()
        # Keys with stored events: seen again, their history is reloaded first.
        self._stored_keys = KeyFilter(store.session_keys() if store.has_events() else ())
        # Keys whose history was reloaded: their sessions may already have rows.
        self._reloaded: set[SessionKey] = set()

    def process(self, events: list[Event], *, watermark_ts_ms: int | None = None) -> None:
        """Take one chunk of valid events (any order, duplicates allowed)."""
        # Duplicates within the chunk are dropped by the store's insert and by
        # the sessionizer's per-session id set; no third pass here. The key
        # checks run once per distinct key of the chunk, not once per event:
        # a chunk holds far fewer sessions than events, and each check is a
        # Python call (the Bloom filter, the sessionizer).
        keys = {(ev.org_id, ev.product_id, ev.session_id) for ev in events}
        stored = self._stored_keys
        was_stored = {key for key in keys if key in stored}
        # Sessions never stored cannot hold duplicates in the store: their
        # events skip the store's duplicate lookup, which would otherwise
        # grow with the table.
        if was_stored:
            seen_before = [ev for ev in events if (ev.org_id, ev.product_id, ev.session_id) in was_stored]
            fresh = [ev for ev in events if (ev.org_id, ev.product_id, ev.session_id) not in was_stored]
        else:
            seen_before, fresh = [], events
        with self.store.transaction():
            inserted = self.store.insert_events(seen_before) + self.store.insert_events(fresh, assume_new=True)
            self.stats.accepted += len(events)
            self.stats.duplicates += len(events) - inserted
            self._load_history(keys, was_stored)
            logic = self.logic
            on_event = logic.on_event
            for ev in events:
                if on_event(ev) is LATE:
                    self.stats.late += 1
            self._write(logic.advance(watermark_ts_ms))

    def reload(self, keys: list[SessionKey]) -> None:
        """Load the stored history of these keys (e.g. sessions left open by a
        server that stopped); their sessions are recomputed and replace rows."""
        if keys:
            history = self.store.load_history(sorted(keys))
            self.logic.preload(history)
            self._reloaded.update({(ev.org_id, ev.product_id, ev.session_id) for ev in history})

    def advance(self, watermark_ts_ms: int) -> None:
        """Close sessions by a watermark from outside (an idle source, passed in)."""
        closed = self.logic.advance(watermark_ts_ms)
        if closed:
            with self.store.transaction():
                self._write(closed)

    def finish(self) -> PipelineStats:
        """End of input: close every open session."""
        closed = self.logic.close_all()
        if closed:
            with self.store.transaction():
                self._write(closed)
        return self.stats

    def _load_history(self, keys: set[SessionKey], was_stored: set[SessionKey]) -> None:
        """Before the sessionizer sees a chunk: load the stored history of its
        keys that the sessionizer does not hold but the store may, and note
        the others as stored from now on."""
        held = self.logic.has_key
        absent = [key for key in keys if not held(key)]
        self.reload(sorted(key for key in absent if key in was_stored))
        add = self._stored_keys.add
        for key in absent:
            if key not in was_stored:
                add(key)

    def _write(self, closed: list[Session]) -> None:
        if not closed:
            return
        results = [process_session(s, self.config.core) for s in closed]
        reloaded = self._reloaded
        # Sessions of keys never stored before cannot have rows to replace, so
        # the store may skip its delete pass for them.
        fresh = [r for r, s in zip(results, closed) if (s.org_id, s.product_id, s.client_session_id) not in reloaded]
        again = [r for r, s in zip(results, closed) if (s.org_id, s.product_id, s.client_session_id) in reloaded]
        self.store.write_results(fresh, replace=False)
        self.store.write_results(again, replace=True)
        self.stats.sessions += len(results)
        self.stats.incidents += sum(len(r.incidents) for r in results)


__all__ = ["ACCEPTED", "EmbeddedPipeline", "PipelineConfig", "PipelineStats"]
