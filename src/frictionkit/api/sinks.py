"""Where accepted events go: the embedded pipeline and store, or Kafka
(``kafka_sink.KafkaSink``).

Both sinks answer the same question for the ingestion route: is every event
of this batch durably stored? ``publish`` returns when it is and raises
``SinkUnavailable`` (``pipeline.storesink``, the one definition) when it is
not (the route then answers 503 and acknowledges nothing).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import msgspec

from ..core.batch import CheckedBatch
from ..core.model import Event
from ..pipeline.embedded import EmbeddedPipeline
from ..pipeline.storesink import SinkUnavailable  # the events could not be made durable: nothing is acknowledged
from ..store import open_store
from ..store.base import Store, StoreError
from .settings import Settings, redact_dsn
from .stall import StallWatch

log = logging.getLogger("frictionkit.serve")
T = TypeVar("T")


class StoreAccess:
    """Every use of the store runs on one worker thread.

    Embedded stores take one process and are not safe for concurrent use from
    several threads, so writes and reads are serialized here. ``keep_open``
    False (an embedded store that another process writes, in distributed
    mode) opens the store for each call and lets it go right after.
    """

    def __init__(self, dsn: str | None, *, keep_open: bool, opener: Callable[[str | None], Store] = open_store) -> None:
        self.dsn = dsn
        self.keep_open = keep_open
        self._opener = opener
        self._store: Store | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frictionkit-store")

    @property
    def display_dsn(self) -> str:
        return redact_dsn(self._store.dsn if self._store else (self.dsn or "default"))

    def _call(self, fn: Callable[[Store], T]) -> T:
        store = self._store
        if store is None:
            store = self._opener(self.dsn)
            if self.keep_open:
                self._store = store
        try:
            return fn(store)
        finally:
            if not self.keep_open:
                store.close()

    def call_sync(self, fn: Callable[[Store], T]) -> T:
        return self._executor.submit(self._call, fn).result()

    async def run(self, fn: Callable[[Store], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)

    def close(self) -> None:
        def _close() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)


class EmbeddedSink:
    """Feeds the embedded pipeline in this process; 200 means committed.

    Sessions still open at shutdown are not closed (they may go on after a
    restart). Their events are in ``events_raw``; at startup the keys whose
    latest events are not covered by a stored session are loaded back into
    the sessionizer, so they close by the wall clock as if the
    server had never stopped.
    """

    mode = "embedded"
    takes_events = True  # the pipeline takes Events: the contract check makes them as it scans

    def __init__(self, settings: Settings, access: StoreAccess) -> None:
        self.settings = settings
        self.access = access
        # The core clock's idle rule with idle_after_ms 0: a server has no
        # backlog behind what it was handed, so at every commit and tick its
        # source is at its end, and what is due by the wall clock closes
        # (core/clock.py; the stream waits idle_after_ms at a partition's end).
        pipeline = settings.pipeline
        self.config = msgspec.structs.replace(
            pipeline, sessionizer=msgspec.structs.replace(pipeline.sessionizer, idle_after_ms=0))
        self._pipeline: EmbeddedPipeline | None = None
        self._waiting: list[tuple[list[Event], asyncio.Future[None]]] = []
        self._committing = False
        self.stall = StallWatch()

    def stalled(self) -> bool:
        """Is the store in a pause (a checkpoint) rather than overloaded? See ``api/stall.py``."""
        return self.stall.stalled()

    def _now_ms(self) -> int:
        return int(self.settings.clock() * 1000)

    def _ensure_pipeline(self, store: Store) -> EmbeddedPipeline:
        if self._pipeline is None:
            pipeline = EmbeddedPipeline(store, self.config)
            keys = store.open_session_keys()
            if keys:
                pipeline.reload(keys)
                log.info("resumed %d open session keys from the store", len(keys))
            pipeline.advance(self._now_ms())
            self._pipeline = pipeline
        return self._pipeline

    def _guarded(self, store: Store, work: Callable[[EmbeddedPipeline], None]) -> None:
        try:
            work(self._ensure_pipeline(store))
        except Exception:
            # The sessionizer may now hold events the rolled-back transaction
            # did not store; rebuild it from the store on the next call.
            self._pipeline = None
            raise

    def start(self) -> None:
        self.access.call_sync(self._ensure_pipeline)

    async def publish_checked(self, checked: CheckedBatch) -> None:
        """``publish`` for a batch straight from the contract (the ingestion route)."""
        await self.publish(checked.events())

    async def publish(self, events: list[Event]) -> None:
        """Group commit: batches that arrive while a transaction is running wait
        and go into the next one together, so a store commit is paid once per
        group rather than once per request. Each caller still returns only
        after the transaction holding its events committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((events, done))
        if not self._committing:
            self._committing = True
            asyncio.ensure_future(self._commit_groups())
        await done

    async def _commit_groups(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                events = [ev for batch, _ in group for ev in batch]
                now_ms = self._now_ms()
                failed = False
                self.stall.commit_started(len(events))
                try:
                    await self.access.run(
                        lambda s: self._guarded(s, lambda p: p.process(events, now_ms=now_ms))
                    )
                except Exception as err:  # noqa: BLE001 - whatever failed, nothing was committed
                    log.error("store write failed: %s", type(err).__name__ if not isinstance(err, StoreError) else err)
                    failed = True
                finally:
                    self.stall.commit_ended()
                for _, done in group:
                    if done.done():
                        continue  # the client went away; its events are committed or not like the rest
                    if failed:
                        done.set_exception(SinkUnavailable("the store is unavailable"))
                    else:
                        done.set_result(None)
        finally:
            self._committing = False

    async def tick(self) -> None:
        """Close idle sessions by the wall clock (the clock's idle rule)."""
        now_ms = self._now_ms()
        await self.access.run(lambda s: self._guarded(s, lambda p: p.advance(now_ms)))

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "kind": "embedded pipeline"}

    def close(self) -> None:
        self._pipeline = None
