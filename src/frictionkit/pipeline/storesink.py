"""The store sink: the one way the pipeline writes the store, embedded or on Kafka.

Both shapes hand it what each partition of their input gave (the embedded
pipeline has one partition; the metrics aggregator one per Kafka partition it
owns): the events to store and the results of the sessions that closed. A
``flush`` writes everything held in **one store transaction, events first,
then the sessions' facts**, so a reader never sees facts whose events are not
stored, and a transaction that fails leaves neither. In the shape of Quix
Streams' ``BatchingSink``: batches per partition, ``add``, ``flush``.

Two choices, made by whoever builds the sink:

* ``write_behind``: the transaction runs on a writer thread of its own
  (``pipeline.writebehind``) while the caller computes what follows; ``flush``
  then returns once the *previous* flush's batch is written, and says True
  (a batch is still being written). The store's native work (DuckDB's insert
  and commit) overlaps the interpreter's that way.
* ``hold_refused``: a batch the store refused is held again, before what came
  after it, and ``SinkUnavailable`` (one line, with the backoff to wait) is
  raised; the next flush writes it with what came since. The stream runtime
  retries so and commits nothing meanwhile. Without it (replay, embedded
  serve) the store's own error is raised and the batch is dropped: the caller
  answers for it (a failed replay, a 503 the agent retries).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Hashable, Iterable

import msgspec

from ..core.metrics import CoreConfig
from ..core.model import Event, Session, SessionKey
from ..native import session_facts
from ..store.arrow import FactBatch
from ..store.base import Store
from .writebehind import WriteBehind

log = logging.getLogger("frictionkit.sink")

Partition = Hashable  # (topic, partition) on Kafka; any one value embedded


class SinkUnavailable(RuntimeError):
    """A sink (the store, or the event bus) did not take a write: nothing it
    held may be acknowledged or committed. The message is one line for a
    person; ``retry_after_s`` is how long to wait before trying again."""

    def __init__(self, reason: str, retry_after_s: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Backoff(msgspec.Struct, frozen=True):
    """Waits between retries of a refused batch: doubling from ``initial_s`` to ``max_s``."""

    initial_s: float = 0.2
    max_s: float = 5.0


class Batch:
    """What one partition gave since the last flush.

    ``events`` may hold events stored already (the store drops them);
    ``new_events`` none of whose sessions has stored events (the store skips
    its duplicate lookup). ``sessions`` are closed sessions whose facts
    replace their stored ones; ``new_sessions`` have none yet. The flush
    turns them into ``facts`` / ``new_facts`` (one native call per batch),
    once: a batch held again keeps its facts.
    ``stale_keys`` are keys whose stored facts go before this batch's facts
    are written (their sessions were recomputed after a late event);
    ``late_keys`` keys the sink's ``recompute`` rebuilds from the store once
    the batch's events are in (docs/semantics.md, "Late events")."""

    __slots__ = ("events", "new_events", "sessions", "new_sessions", "facts", "new_facts",
                 "stale_keys", "late_keys", "messages")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.new_events: list[Event] = []
        self.sessions: list[Session] = []
        self.new_sessions: list[Session] = []
        self.facts: list[FactBatch] = []
        self.new_facts: list[FactBatch] = []
        self.stale_keys: list[SessionKey] = []
        self.late_keys: list[SessionKey] = []
        self.messages = 0

    def take(self) -> Batch:
        taken = Batch()
        for name in Batch.__slots__[:-1]:
            setattr(taken, name, getattr(self, name))
            setattr(self, name, [])
        taken.messages, self.messages = self.messages, 0
        return taken

    def put_back(self, older: Batch) -> None:
        """A batch that was not written, back before what came since."""
        for name in Batch.__slots__[:-1]:
            setattr(self, name, getattr(older, name) + getattr(self, name))
        self.messages += older.messages


def _latest(facts: list[FactBatch], later: set[SessionKey]) -> list[FactBatch]:
    """``facts`` in order, each without the sessions given again after it (or
    in ``later``): a session given twice in one write keeps its later facts,
    as a later transaction would. Adds every key seen to ``later``."""
    if len(facts) <= 1 and not later:
        later.update(k for f in facts for k in f.keys())
        return facts
    kept: list[FactBatch] = []
    for f in reversed(facts):
        kept.append(f.without(later))
        later.update(f.keys())
    return kept[::-1]


class StoreSink:
    """Batches per partition, written in one transaction per ``flush``."""

    def __init__(self, store: Store | None = None, *, open_store: Callable[[], Store] | None = None,
                 write_behind: bool = False, hold_refused: bool = False, backoff: Backoff = Backoff(),
                 name: str = "store sink", core: CoreConfig = CoreConfig(),
                 on_facts: Callable[[FactBatch], None] | None = None,
                 recompute: Callable[[Store, set[SessionKey]], int] | None = None) -> None:
        if (store is None) == (open_store is None):
            raise ValueError("a StoreSink takes a store or a function that opens one")
        self.store = store
        # A sink that opens its store reopens it after a failure: a server
        # that came back, or a connection left in a failed transaction.
        self.open_store = open_store
        self.name = name
        # The core's configuration, and who sees each batch of facts once it
        # is computed (the aggregator projects their incidents to events.incidents).
        self.core = core
        self.on_facts = on_facts
        # Rebuilds late keys' sessions from the store, in the batch's transaction
        # (pipeline.recompute.recompute_keys with the reader's configuration).
        self.recompute = recompute
        self.hold_refused = hold_refused
        self.backoff = backoff
        self.batches: dict[Partition, Batch] = {}
        self.in_flight: dict[Partition, Batch] | None = None  # the batch being written
        self.writes = WriteBehind() if write_behind else None
        self.down_since_s: float | None = None  # monotonic time of the first refusal of this outage
        self.retry_s = 0.0
        self.stats = {"writes": 0, "sessions": 0, "duplicates": 0, "incidents": 0}

    # -- partitions ----------------------------------------------------------------

    def assign(self, partitions: list[Partition]) -> None:
        for partition in partitions:
            self.batches.setdefault(partition, Batch())

    def revoke(self, partitions: list[Partition]) -> None:
        # Not written, so not committed: the partition's next owner reads it again.
        for partition in partitions:
            self.batches.pop(partition, None)

    def add(self, partition: Partition, *, events: list[Event] = (), new_events: list[Event] = (),
            sessions: list[Session] = (), new_sessions: list[Session] = (), stale_keys: Iterable[SessionKey] = (),
            late_keys: Iterable[SessionKey] = (), messages: int = 1) -> None:
        """Hold what one input (a message, a chunk) gave; written by the next flush."""
        batch = self.batches[partition]
        batch.events.extend(events)
        batch.new_events.extend(new_events)
        batch.sessions.extend(sessions)
        batch.new_sessions.extend(new_sessions)
        batch.stale_keys.extend(stale_keys)
        batch.late_keys.extend(late_keys)
        batch.messages += messages

    def held(self) -> int:
        """Inputs held or being written (what bounds memory)."""
        held = sum(batch.messages for batch in self.batches.values())
        return held + sum(batch.messages for batch in (self.in_flight or {}).values())

    @property
    def idle(self) -> bool:
        """No batch handed over by ``flush`` is still being written."""
        return self.in_flight is None or self.writes is None or self.writes.idle

    # -- writing -----------------------------------------------------------------------

    def flush(self, final: bool = True) -> bool:
        """Wait for the batch being written, then write what is held as the
        next one. True when that one is still being written (write-behind,
        not ``final``). Raises SinkUnavailable (held again) or the store's
        error (dropped), as the sink was built."""
        self.settle()
        batch = {partition: held.take() for partition, held in self.batches.items() if held.messages}
        if not batch:
            return False
        self.in_flight = batch
        try:
            write = self._transaction(batch)
            if self.writes is None:
                write()
                self.in_flight = None
                self._written()
                return False
            self.writes.submit(write)
        except Exception as err:  # noqa: BLE001 - like a store failure: held again or raised
            self._failed(err)
        # While the store is away, each retry waits for its write: the outage
        # ends when a write succeeds, not when one is handed over.
        if final or self.down_since_s is not None:
            self.settle()
            return False
        return True

    def settle(self) -> None:
        """Wait until the batch being written is in the store; its failure is
        raised here (held again, or dropped)."""
        if self.in_flight is None:
            return
        if self.writes is not None:
            try:
                self.writes.drain()
            except Exception as err:  # noqa: BLE001 - any store failure
                self._failed(err)
        self.in_flight = None
        self._written()

    def _transaction(self, batch: dict[Partition, Batch]) -> Callable[[], None]:
        """The transaction for these batches, its inputs built here: on the
        caller's thread, so that the writer thread holds the GIL as little as
        it can."""
        held = list(batch.values())
        for b in held:
            self._process(b)
        events = [ev for b in held for ev in b.events]
        new_events = [ev for b in held for ev in b.new_events]
        # A session given twice (emitted again, in two partitions' batches):
        # the later one is the one to keep, as a later transaction would.
        later: set[SessionKey] = set()
        again = _latest([f for b in held for f in b.facts], later)
        fresh = _latest([f for b in held for f in b.new_facts], later)
        inserts = [(part, assume_new, self._events_table(part))
                   for part, assume_new in ((events, False), (new_events, True)) if part]
        facts = [(FactBatch.concat(part), replace) for part, replace in ((fresh, False), (again, True)) if part]
        stale_keys = sorted({key for b in held for key in b.stale_keys})
        late_keys = {key for b in held for key in b.late_keys}
        if late_keys and self.recompute is None:
            raise ValueError(f"{self.name}: late keys given to a sink that cannot recompute them")

        def write() -> None:
            # On the writer thread when writing behind: the store is used nowhere else meanwhile.
            if self.store is None:
                self.store = self.open_store()  # type: ignore[misc]
            store = self.store
            with store.transaction():
                for part, assume_new, table in inserts:
                    inserted = store.insert_events(part, assume_new, table=table)
                    self.stats["duplicates"] += len(part) - inserted
                if stale_keys:
                    store.delete_sessions(stale_keys)
                for part, replace in facts:
                    store.write_results(part, replace=replace)
                if late_keys:
                    self.recompute(store, late_keys)  # type: ignore[misc]
            self.stats["writes"] += 1
            self.stats["sessions"] += sum(part.sessions for part, _ in facts)

        return write

    def _process(self, batch: Batch) -> None:
        """The batch's closed sessions -> facts, in one native call each for
        those that replace rows and those that are new."""
        for pending, done in (("sessions", "facts"), ("new_sessions", "new_facts")):
            sessions = getattr(batch, pending)
            if not sessions:
                continue
            # The same session closed twice since the last flush (emitted
            # again): only its later events count.
            latest = {(s.org_id, s.product_id, s.session_id): s for s in sessions}
            facts = session_facts(list(latest.values()), self.core)
            setattr(batch, pending, [])
            getattr(batch, done).append(facts)
            self.stats["incidents"] += facts.incidents
            if self.on_facts is not None:
                self.on_facts(facts)

    def _events_table(self, events: list[Event]) -> Any:
        """The events as the store takes them fastest (its ``prepare_events``:
        native Arrow rows), built on this thread so that the writer's holds
        the GIL as little as it can; None when the store is not opened yet
        (it builds its own)."""
        return self.store.prepare_events(events) if self.store is not None else None

    def _written(self) -> None:
        if self.down_since_s is not None:
            log.warning("%s: store is back after %.1f s", self.name, time.monotonic() - self.down_since_s)
            self.down_since_s = None

    def _failed(self, err: Exception) -> None:
        """The batch in flight was not written: held again (SinkUnavailable)
        or dropped (the store's error, raised as it is)."""
        batch, self.in_flight = self.in_flight or {}, None
        if not self.hold_refused:
            raise err
        if self.writes is not None:
            self.writes.clear_failure()
        self._drop_store()
        for partition, older in batch.items():
            if partition in self.batches:  # a revoked partition's is read again by its next owner
                self.batches[partition].put_back(older)
        now = time.monotonic()
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if self.down_since_s is None:
            self.down_since_s, self.retry_s = now, self.backoff.initial_s
            log.warning("%s: store unavailable (%s); holding %d inputs, retrying with backoff",
                        self.name, reason, self.held())
        else:
            self.retry_s = min(self.retry_s * 2, self.backoff.max_s)
        raise SinkUnavailable(reason, self.retry_s) from None

    def _drop_store(self) -> None:
        if self.open_store is not None and self.store is not None:
            try:
                self.store.close()
            except Exception:  # noqa: BLE001 - closing a store that failed
                pass
            self.store = None

    def close(self, raise_failure: bool = True) -> None:
        """Wait for every write handed over; a sink that opened its store closes it."""
        if self.writes is not None:
            self.writes.close(raise_failure=raise_failure)
        self.in_flight = None
        self._drop_store()
