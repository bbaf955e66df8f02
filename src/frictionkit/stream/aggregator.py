"""The metrics aggregator: the one writer of the store.

It consumes two topics in one group, as docs/architecture.md draws it:

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
is done (the store sink, ``pipeline.storesink``, is registered with the
runner's checkpoint; its flush returns True: the checkpoint commits one step
behind).
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

from ..core.metrics import process_session
from ..core.model import SessionResult
from ..pipeline import recompute
from ..pipeline.storesink import Backoff, StoreSink
from ..store.base import Store
from .codec import LateEvents, decode_incident, decode_sessionized_json
from .checkpoint import TP, Sink
from .deadletter import Outputs
from .processor import Processor
from .settings import StreamSettings

log = logging.getLogger("frictionkit.stream")


class MetricsAggregatorProcessor(Processor):
    name = "metrics-aggregator"

    def __init__(self, settings: StreamSettings, store_factory: Callable[[], Store] | None = None) -> None:
        from ..store import open_store

        super().__init__(settings)
        # The store sink the embedded pipeline writes with too: per-partition
        # batches, one transaction per commit step, written behind, a refused
        # batch held again with backoff (pipeline.storesink).
        self.sink = StoreSink(open_store=store_factory or (lambda: open_store(settings.store_dsn)),
                              write_behind=True, hold_refused=True, name=self.name,
                              backoff=Backoff(settings.store_retry_initial_s, settings.store_retry_max_s),
                              # Late events' keys: their sessions are rebuilt from the store once
                              # the events are in (docs/semantics.md, "Late events").
                              recompute=lambda store, keys: recompute.recompute_keys(
                                  store, keys, settings.sessionizer, settings.core))
        self.seen_incidents: OrderedDict[tuple[str, str, str], frozenset[str]] = OrderedDict()
        # The sink counts its writes and sessions; these counters join them.
        self.stats = self.sink.stats
        self.stats.update(events=0, incidents_checked=0, incidents_mismatched=0)

    def topics(self) -> list[str]:
        t = self.settings.topics
        return [t.sessionized, t.incidents]

    def sinks(self) -> list[Sink]:
        return [self.sink]

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        topic = msg.topic()
        tp = (topic, msg.partition())
        if topic == self.settings.topics.sessionized:
            decoded, events_json = decode_sessionized_json(msg.value() or b"")
            self.stats["events"] += len(decoded.events)
            results, late_keys = [], []
            if isinstance(decoded, LateEvents):
                late_keys.append((decoded.org_id, decoded.product_id, decoded.client_session_id))
            else:
                results.append(process_session(decoded, self.settings.core))
                self._remember(results[0])
            self.sink.add(tp, events=decoded.events, events_json=events_json, results=results, late_keys=late_keys)
        else:
            self._check(decode_incident(msg.value() or b""))
            self.sink.add(tp)  # held with the batch: its offset is committed once the batch is written

    def _remember(self, result: SessionResult) -> None:
        f = result.session
        key = (f.org_id, f.product_id, f.session_id)
        self.seen_incidents[key] = frozenset(i.incident_id for i in result.incidents)
        self.seen_incidents.move_to_end(key)
        while len(self.seen_incidents) > self.settings.crosscheck_sessions:
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

    def close(self) -> None:
        self.sink.close(raise_failure=False)
