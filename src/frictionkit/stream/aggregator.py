"""The metrics aggregator: the one writer of the store.

It consumes two topics in one group, as SPEC §1 draws it:

* ``events.sessionized`` -> the four fact tables, from ``process_session`` of
  the core on exactly the session's events (the same call replay makes, so the
  rows are identical to replay's), and the session's events -> ``events_raw``;
  the late-events messages there -> ``events_raw`` only. So every accepted
  event is stored once (the store dedups by event id, and a re-emitted
  session replaces its rows with identical ones), once its session has
  closed. Reading ``events.raw`` as well cost a second contract check and
  decode of every event, and a second reader of the largest topic: the three
  processors ran 12-30 % faster on serve's batches without it
  (docs/bench-stream.md);
* ``events.incidents`` -> a cross-check only: an incident whose session was
  aggregated here but whose id the core did not find there means the detector
  runs another configuration; it is counted and logged, never written.

Messages are buffered per partition; each commit step hands what is held to
a store-writer thread as one transaction and goes on consuming, and the
offsets of that batch are committed by the next commit step, once the write
is done (``flush_sinks`` returns True: the runtime commits one step behind).
The store's native work (DuckDB's insert and commit, a fifth of the aggregator's time)
thus overlaps the decoding and the core's work on what follows, in batches
as large as before (DuckDB costs 2.5x more per event in batches ten times
smaller). A store that refuses leaves everything uncommitted (the failed
batch is held again, before what came after it) and consumption paused
(bounded memory) while the runtime retries with backoff.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable

import msgspec

from ..core.metrics import process_session
from ..core.model import Event, SessionKey, SessionResult
from ..pipeline import recompute
from ..pipeline.writebehind import WriteBehind
from ..store.arrow import result_tables
from ..store.base import Store
from ..store.eventsjson import join_event_arrays
from .codec import LateEvents, decode_incident, decode_sessionized_json
from .deadletter import Outputs
from .runtime import SinkUnavailable
from .settings import StreamSettings

log = logging.getLogger("frictionkit.stream")
TP = tuple[str, int]


class _Pending:
    __slots__ = ("events", "events_json", "results", "messages", "late_keys")

    def __init__(self) -> None:
        self.events: list[Event] = []
        # Per message, the JSON of its events as it holds them, which a store
        # that parses JSON takes as it is (store.eventsjson); None for a v1
        # message (events in the bus format).
        self.events_json: list[msgspec.Raw | None] = []
        self.results: list[SessionResult] = []
        self.messages = 0
        self.late_keys: set[SessionKey] = set()  # their sessions are recomputed (pipeline/recompute.py)

    def take(self) -> _Pending:
        taken = _Pending()
        taken.events, taken.events_json, taken.results, taken.messages, taken.late_keys = (
            self.events, self.events_json, self.results, self.messages, self.late_keys)
        self.events, self.events_json, self.results, self.messages, self.late_keys = [], [], [], 0, set()
        return taken

    def put_back(self, older: _Pending) -> None:
        """A batch that failed to be written, back before what came since."""
        self.events = older.events + self.events
        self.events_json = older.events_json + self.events_json
        self.results = older.results + self.results
        self.messages += older.messages
        self.late_keys |= older.late_keys


class MetricsAggregatorProcessor:
    name = "metrics-aggregator"

    def __init__(self, settings: StreamSettings, store_factory: Callable[[], Store] | None = None) -> None:
        from ..store import open_store

        self.s = settings
        self.store_factory = store_factory or (lambda: open_store(settings.store_dsn))
        self.store: Store | None = None
        self.pending_by_tp: dict[TP, _Pending] = {}
        self.writes = WriteBehind()
        self.in_flight: dict[TP, _Pending] | None = None  # the batch being written
        self.seen_incidents: OrderedDict[tuple[str, str, str], frozenset[str]] = OrderedDict()
        self.stats = {"events": 0, "sessions": 0, "writes": 0, "incidents_checked": 0, "incidents_mismatched": 0}

    def topics(self) -> list[str]:
        t = self.s.topics
        return [t.sessionized, t.incidents]

    def assigned(self, tps: list[TP], metadata: dict[TP, str | None]) -> None:
        for tp in tps:
            self.pending_by_tp.setdefault(tp, _Pending())

    def revoked(self, tps: list[TP]) -> None:
        # Not written, so not committed: the next owner reads it again.
        for tp in tps:
            self.pending_by_tp.pop(tp, None)

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        topic = msg.topic()
        pending = self.pending_by_tp[(topic, msg.partition())]
        value = msg.value() or b""
        if topic == self.s.topics.sessionized:
            decoded, events_json = decode_sessionized_json(value)
            pending.events.extend(decoded.events)
            pending.events_json.append(events_json)
            self.stats["events"] += len(decoded.events)
            if isinstance(decoded, LateEvents):
                pending.late_keys.add((decoded.org_id, decoded.product_id, decoded.client_session_id))
            else:
                result = process_session(decoded, self.s.core)
                pending.results.append(result)
                self._remember(result)
        else:
            self._check(decode_incident(value))
        pending.messages += 1

    def _remember(self, result: SessionResult) -> None:
        f = result.session
        key = (f.org_id, f.product_id, f.session_id)
        self.seen_incidents[key] = frozenset(i.incident_id for i in result.incidents)
        self.seen_incidents.move_to_end(key)
        while len(self.seen_incidents) > self.s.crosscheck_sessions:
            self.seen_incidents.popitem(last=False)

    def _check(self, inc: Any) -> None:
        ids = self.seen_incidents.get((inc.org_id, inc.product_id, inc.session_id))
        if ids is None:
            return
        self.stats["incidents_checked"] += 1
        if inc.incident_id not in ids:
            self.stats["incidents_mismatched"] += 1
            if self.stats["incidents_mismatched"] <= 5:
                log.warning("metrics-aggregator: incident %s (%s) of session %s is not what the core finds there; "
                            "is the detector configured differently?", inc.incident_id, inc.incident_type, inc.session_id)

    def eof(self, tp: TP, now_ms: int) -> None:
        pass

    def tick(self, out: Outputs, now_ms: int) -> None:
        pass

    def flush_sinks(self, final: bool = True) -> bool:
        """Wait for the batch being written (its failure: SinkUnavailable,
        the batch held again), then hand over what is held as the next one;
        with ``final``, wait for that one too. True when a batch is then
        being written (the runtime commits its offsets at the next step)."""
        self.settle()
        batch = {tp: p.take() for tp, p in self.pending_by_tp.items() if p.messages}
        if not batch:
            return False
        # The store drops events it holds already, and repeats within the batch.
        events = [e for p in batch.values() for e in p.events]
        # A session emitted twice in the batch: the later emission is the one to
        # keep (a later batch, written later, replaces an earlier one's rows).
        results = list({(r.session.org_id, r.session.product_id, r.session.session_id): r
                        for p in batch.values() for r in p.results}.values())
        self.in_flight = batch
        try:
            # The store's batches are made here, so that the writer thread holds
            # the GIL as little as it can: the events as the messages hold their
            # JSON (parsed by DuckDB in C++; a store that does not parse JSON
            # builds its own), the facts as Arrow.
            spans = [span for p in batch.values() for span in p.events_json]
            events_batch = None if not events or None in spans else join_event_arrays(spans)
            late_keys = set().union(*(p.late_keys for p in batch.values()))
            self.writes.submit(self._write_job(events, events_batch, results,
                                               result_tables(results) if results else None, late_keys))
        except Exception as err:  # noqa: BLE001 - like a store failure: held, retried, never lost
            self._hold_again(err)
        if final:
            self.settle()
            return False
        return True

    def _write_job(self, events: list[Event], events_batch: Any, results: list[SessionResult],
                   tables: Any, late_keys: set[SessionKey]) -> Callable[[], None]:
        def write() -> None:
            # On the writer thread: the store is used nowhere else meanwhile.
            if self.store is None:
                self.store = self.store_factory()
            with self.store.transaction():
                if events:
                    self.store.insert_events(events, table=events_batch)
                if results:
                    self.store.write_results(results, tables=tables)
                recompute.recompute_keys(self.store, late_keys, self.s.sessionizer, self.s.core)
            self.stats["writes"] += 1
            self.stats["sessions"] += len(results)

        return write

    def settle(self) -> None:
        """Wait until the batch being written is in the store, or held again
        (and SinkUnavailable raised) when the store refused it."""
        if self.in_flight is None:
            return
        try:
            self.writes.drain()
        except Exception as err:  # noqa: BLE001 - any store failure: keep the batch, retry later
            self.writes.clear_failure()
            self._drop_store()
            self._hold_again(err)
        self.in_flight = None

    def _hold_again(self, err: Exception) -> None:
        """The batch in flight was not written: back where it came from, and
        SinkUnavailable (nothing is committed; the runtime retries)."""
        for tp, older in (self.in_flight or {}).items():
            if tp in self.pending_by_tp:  # a revoked partition's is read again by its next owner
                self.pending_by_tp[tp].put_back(older)
        self.in_flight = None
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SinkUnavailable(text) from None

    def write_done(self) -> bool:
        """No batch is being written (the runtime may commit what it handed over)."""
        return self.in_flight is None or self.writes.idle

    def _drop_store(self) -> None:
        # A fresh connection on the next try: a server that came back, or a
        # connection left in a failed transaction.
        if self.store is not None:
            try:
                self.store.close()
            except Exception:  # noqa: BLE001
                pass
            self.store = None

    def offsets(self, positions: dict[TP, int]) -> dict[TP, tuple[int, str | None]]:
        return {tp: (pos, None) for tp, pos in positions.items()}

    def pending(self) -> int:
        held = sum(p.messages for p in self.pending_by_tp.values())
        return held + sum(p.messages for p in (self.in_flight or {}).values())

    def close(self) -> None:
        self.writes.close(raise_failure=False)
        self._drop_store()
