"""The metrics aggregator: the one writer of the store.

It consumes ``events.sessionized`` and produces ``events.incidents``:

* ``events.sessionized`` -> the four fact tables, from the native core
  (``native.session_facts``, called by the store sink on the sessions it
  holds) on exactly the session's events (the same call replay makes, so the
  rows are identical to replay's), and the session's events -> ``events_raw``;
  the late-events messages there -> ``events_raw`` only. So every accepted
  event is stored once (the store dedups by event id, and a re-emitted
  session replaces its rows with identical ones), once its session has
  closed. Reading ``events.raw`` as well cost a second contract check and
  decode of every event, and a second reader of the largest topic: the three
  processors ran 12-30 % faster on serve's batches without it
  (docs/bench-stream.md);
* ``events.incidents`` <- a projection of the same facts: every incident
  of a session the core processed here is produced there, with its
  deterministic id, keyed by its session (docs/architecture.md,
  "Incidents"). Incidents are computed once per session, and the topic
  carries exactly what the fact tables hold. The incidents of a key rebuilt
  after late events are produced again from the rebuilt results (same ids
  where the sessions did not change), in the write that rebuilt them, before
  the checkpoint flushes the producer and commits their offsets.

Messages are buffered per partition; each commit step hands what is held to
a store-writer thread as one transaction and goes on consuming, and the
offsets of that batch are committed by the next commit step, once the write
is done (the store sink, ``pipeline.storesink``, is registered with the
runner's checkpoint; its flush returns True: the checkpoint commits one step
behind).
The store's native work (DuckDB's insert and commit)
thus overlaps the decoding and the core's work on what follows, in batches
as large as before (DuckDB costs 2.5x more per event in batches ten times
smaller). A store that refuses leaves everything uncommitted (the failed
batch is held again, before what came after it) and consumption paused
(bounded memory) while the runtime retries with backoff.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ..pipeline import recompute
from ..pipeline.storesink import Backoff, StoreSink
from ..store.arrow import FactBatch
from ..store.base import Store
from .codec import LateEvents, decode_sessionized, encode_incident, incident_key
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
                              core=settings.core, on_facts=self._project,
                              # Late events' keys: their sessions are rebuilt from the store once
                              # the events are in (docs/semantics.md, "Late events").
                              recompute=lambda store, keys: recompute.recompute_keys(
                                  store, keys, settings.sessionizer, settings.core, self._project_rebuilt))
        # The runner's outputs, kept from the first message: a rebuilt key's
        # incidents are produced from the sink's write (the producer is
        # thread-safe, and the checkpoint flushes it after that write).
        self.out: Outputs | None = None
        # The sink counts its writes and sessions; these counters join them.
        self.stats = self.sink.stats
        self.stats.update(events=0)

    def topics(self) -> list[str]:
        return [self.settings.topics.sessionized]

    def sinks(self) -> list[Sink]:
        return [self.sink]

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        self.out = out
        decoded = decode_sessionized(msg.value() or b"")
        self.stats["events"] += len(decoded.events)
        sessions, late_keys = [], []
        if isinstance(decoded, LateEvents):
            late_keys.append((decoded.org_id, decoded.product_id, decoded.client_session_id))
        else:
            sessions.append(decoded)  # its facts: computed by the sink's flush, with the others held
        self.sink.add((msg.topic(), msg.partition()), events=decoded.events,
                      sessions=sessions, late_keys=late_keys)

    def _project(self, facts: FactBatch) -> None:
        """``events.incidents``: the incidents of these facts (once per
        computation: a batch the store refused keeps its facts)."""
        topic = self.settings.topics.incidents
        for inc in facts.incident_records():
            self.out.produce(topic, encode_incident(inc), incident_key(inc))  # type: ignore[union-attr]

    def _project_rebuilt(self, facts: FactBatch) -> None:
        self.stats["incidents"] += facts.incidents  # the sink counts the facts it computes itself
        self._project(facts)

    def close(self) -> None:
        self.sink.close(raise_failure=False)
