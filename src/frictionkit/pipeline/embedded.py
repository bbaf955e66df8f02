"""The embedded pipeline: validated events in, facts out, in one process.

Each chunk is one store transaction (``pipeline.storesink``, the sink the
stream aggregator writes with too): new events go into ``events_raw``, the
sessionizer takes the chunk, and every session the watermark closes is
processed by the native core and written. Keys that may have stored history (a store
that held events before this run, or a key the sessionizer forgot) get that
history loaded first, so a session is always computed from all of its events:
replaying a file twice, overlapping files, or a run after a crash recompute the
same rows instead of partial ones.
"""

from __future__ import annotations

import msgspec

from ..core.metrics import CoreConfig
from ..core.model import Event, Session, SessionKey
from ..core.sessionizer import ACCEPTED, SessionizerConfig
from ..native import LATE_CODE, indices_of, sessionizer
from ..store.base import Store
from . import recompute
from .keyfilter import KeyFilter
from .storesink import StoreSink

PARTITION = "embedded"  # the sink's one partition: the pipeline's input is one stream


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
    def __init__(self, store: Store, config: PipelineConfig = PipelineConfig(), *, write_behind: bool = False) -> None:
        self.store = store
        self.config = config
        self.logic = sessionizer(config.sessionizer)
        self.stats = PipelineStats()
        # Keys with stored events: seen again, their history is reloaded first.
        self._stored_keys = KeyFilter(store.session_keys() if store.has_events() else ())
        # Keys whose history was reloaded: their sessions may already have rows.
        self._reloaded: set[SessionKey] = set()
        # Written behind (replay): each chunk's transaction runs while the
        # next chunk is computed. A failure is raised as the store's own error.
        self._sink = StoreSink(store, write_behind=write_behind, core=config.core)
        self._sink.assign([PARTITION])
        self._write_behind = write_behind

    def process(self, events: list[Event], *, now_ms: int | None = None) -> None:
        """Take one chunk of valid events (any order, duplicates allowed),
        arrived at wall-clock ``now_ms`` (None: replay, event time only)."""
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
        # The stored history comes first, then the chunk's events: a session
        # is computed from their union, as it would be from the store after
        # the insert below.
        self._load_history(keys, was_stored)
        logic = self.logic
        statuses, _ = logic.on_events(events, now_ms)
        late_keys: set[SessionKey] = set()
        if LATE_CODE in statuses:
            late = indices_of(statuses, LATE_CODE)
            self.stats.late += len(late)
            late_keys = {events[i].key for i in late}
        self.stats.accepted += len(events)
        if late_keys:  # stored, counted late, and their keys' sessions recomputed
            self._sink.settle()  # the history must include every chunk written so far
            recompute.reopen(logic, self.store, late_keys, events)
            self._reloaded.update(late_keys)
        closed = logic.advance(now_ms=now_ms)
        self._sink.add(PARTITION, events=seen_before, new_events=fresh, stale_keys=late_keys)
        self._add_closed(closed)
        self._flush()

    def reload(self, keys: list[SessionKey]) -> None:
        """Load the stored history of these keys (e.g. sessions left open by a
        server that stopped); their sessions are recomputed and replace rows."""
        if keys:
            self._sink.settle()  # the history must include every chunk written so far
            history = self.store.load_history(sorted(keys))
            self.logic.preload(history)
            self._reloaded.update({(ev.org_id, ev.product_id, ev.session_id) for ev in history})

    def advance(self, now_ms: int) -> None:
        """Close what the clock has passed at wall-clock ``now_ms`` (its idle rule)."""
        self._write_closed(self.logic.advance(now_ms=now_ms))

    def finish(self) -> PipelineStats:
        """End of input: close every open session; every write is done on return."""
        self._write_closed(self.logic.close_all())
        self._sink.close()
        self._sync_stats()
        return self.stats

    def abandon(self) -> None:
        """Stop early (an error upstream): wait for the writes handed over,
        without raising their failure over the caller's."""
        self._sink.close(raise_failure=False)

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

    def _write_closed(self, closed: list[Session]) -> None:
        if closed:
            self._add_closed(closed)
            self._flush()

    def _add_closed(self, closed: list[Session]) -> None:
        """These sessions, whose facts the sink computes (the native core) and
        writes in the transaction after the chunk's events."""
        self.stats.sessions += len(closed)
        reloaded = self._reloaded
        # Sessions of keys never stored before cannot have rows to replace, so
        # the store may skip its delete pass for them.
        again = [(s.org_id, s.product_id, s.client_session_id) in reloaded for s in closed]
        self._sink.add(PARTITION, sessions=[s for s, old in zip(closed, again) if old],
                       new_sessions=[s for s, old in zip(closed, again) if not old])

    def _flush(self) -> None:
        """One store transaction: the events added, then the facts (now, or
        behind when writing behind)."""
        self._sink.flush(final=not self._write_behind)
        self._sync_stats()

    def _sync_stats(self) -> None:
        self.stats.duplicates = self._sink.stats["duplicates"]
        self.stats.incidents = self._sink.stats["incidents"]


__all__ = ["ACCEPTED", "EmbeddedPipeline", "PipelineConfig", "PipelineStats"]
