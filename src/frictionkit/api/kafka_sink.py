"""``serve`` on Kafka: accepted events go to ``events.raw``, and a request is
answered 200 only once every message of it is on the bus (docs/contract.md, docs/stream.md)."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import Any

from ..bus.codec import bus_messages, checked_bus_messages
from ..core.batch import CheckedBatch
from ..core.model import Event
from .settings import Settings
from .sinks import SinkUnavailable

log = logging.getLogger("frictionkit.serve")


class _Delivery:
    """Delivery reports of one batch, counted down by whoever polls the client.

    One bound ``on_delivery`` serves every message of the batch (no closure
    per message). It runs inside ``producer.poll``, and one poller at a time
    holds the sink's poll lock (``flush`` runs after the poll thread stopped),
    so the count needs no lock of its own. A finished batch goes on the sink's
    list, which that poller resolves: directly when it is the batch's event
    loop, else with one ``call_soon_threadsafe`` per loop and poll.
    """

    __slots__ = ("remaining", "error", "loop", "future", "finished", "deadline")

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop, finished: list[_Delivery]) -> None:
        self.remaining = count
        self.error: str | None = None
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.finished = finished
        self.deadline = 0.0  # time.monotonic() by which every report must be in

    def on_delivery(self, err: Any, _msg: Any) -> None:
        if err is not None:
            if self.error is None:
                self.error = err.str() if hasattr(err, "str") else str(err)
                self.finished.append(self)  # fail fast: the rest of the batch cannot make it a 200
            return
        self.remaining -= 1
        if self.remaining == 0 and self.error is None:
            self.finished.append(self)


TIMED_OUT = "the event bus did not confirm delivery in time"
LOOP_POLL_INTERVAL_S = 0.0005  # while batches wait; a report waits at most this long on top of the broker
IDLE_POLL_S = 0.05


def _resolve(batches: list[_Delivery]) -> None:
    for batch in batches:
        if not batch.future.done():  # done: timed out or failed at produce time already
            batch.future.set_result(None)


class KafkaSink:
    """Publishes to ``events.raw``: idempotent producer, acks=all; one message
    per key and batch (``bus.codec.bus_messages``); a batch is acknowledged
    only once every message's delivery report came back clean."""

    mode = "distributed"
    takes_events = False  # the bus takes the agents' JSON, copied

    def __init__(self, settings: Settings) -> None:
        from ..bus import kafka

        self.settings = settings
        self.topic = settings.raw_topic
        self._kafka = kafka
        self.client = kafka.confluent()
        self._producer: Any = None
        self._down = False  # the client reported every broker down; cleared by a probe or a delivery
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._finished: list[_Delivery] = []  # filled by callbacks, emptied by their poller
        # Batches waiting for reports, in deadline order (appended on the event
        # loop, expired by the poller): one sweep per poll instead of a timer
        # per batch, which cost as much as producing the batch.
        self._waiting: collections.deque[_Delivery] = collections.deque()
        # Who polls: while batches wait, a task on the event loop (the reports
        # then resolve their futures in place, with no thread hand-over or GIL
        # contention: 4 % less CPU per batch under load); when idle, the poll
        # thread (error callbacks, so a dead broker shows in /health). One at
        # a time: the callbacks count down _Delivery objects.
        self._poll_lock = threading.Lock()
        self._poller: asyncio.Task[None] | None = None

    def stalled(self) -> bool:
        return False  # a slow broker is waited for per batch (delivery timeout), not queued behind

    def _make_producer(self) -> Any:
        config = self._kafka.producer_config(
            self.settings.brokers, **{"message.timeout.ms": self.settings.delivery_timeout_ms, "error_cb": self._on_error,
                                      **self.settings.producer_overrides}
        )
        return self.client.Producer(config)

    def _on_error(self, err: Any) -> None:
        code = err.code()
        if code == self.client.KafkaError._ALL_BROKERS_DOWN:
            if not self._down:
                log.warning("Kafka brokers at %s are unreachable: answering 503 until they are back", self.settings.brokers)
            self._down = True
        if err.fatal():
            log.error("Kafka producer fatal error (%s): recreating the producer", err.str())
            with self._lock:
                self._producer = None
        self._last_error = err.str()

    def _producer_now(self) -> Any:
        with self._lock:
            if self._producer is None:
                self._producer = self._make_producer()
            return self._producer

    def _poll_once(self, poll_s: float, lock_wait_s: float | None, here: asyncio.AbstractEventLoop | None) -> None:
        """If the poll lock can be had (``lock_wait_s`` None: only if free now),
        poll the client (its callbacks run here), expire overdue batches, and
        resolve the ones that finished (in place on ``here``, their loop)."""
        taken = self._poll_lock.acquire(False) if lock_wait_s is None else self._poll_lock.acquire(True, lock_wait_s)
        if not taken:
            return
        try:
            self._producer_now().poll(poll_s)
            if self._waiting:
                self._expire(time.monotonic())
            finished = self._finished[:]
            self._finished.clear()  # in place: every pending _Delivery holds this list
        finally:
            self._poll_lock.release()
        if finished:
            self._hand_over(finished, here)

    @staticmethod
    def _hand_over(finished: list[_Delivery], here: asyncio.AbstractEventLoop | None = None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Delivery]] = {}
        for batch in finished:
            by_loop.setdefault(batch.loop, []).append(batch)
        for loop, batches in by_loop.items():
            if loop is here:
                _resolve(batches)
                continue
            try:
                loop.call_soon_threadsafe(_resolve, batches)
            except RuntimeError:
                pass  # that loop is closed: nobody waits for these batches any more

    async def _poll_on_loop(self) -> None:
        here = asyncio.get_running_loop()
        try:
            while self._waiting:
                self._poll_once(0, None, here)  # never blocks the loop: the thread may hold the lock a moment
                await asyncio.sleep(LOOP_POLL_INTERVAL_S)
        finally:
            if self._poller is asyncio.current_task():
                self._poller = None

    def _ensure_loop_poller(self) -> None:
        poller = self._poller
        if poller is None or poller.done() or poller.get_loop() is not asyncio.get_running_loop():
            self._poller = asyncio.ensure_future(self._poll_on_loop())

    def _expire(self, now: float) -> None:
        """Batches whose reports are not all in by their deadline fail (503):
        a broker that stopped answering, or a producer recreated after a fatal
        error, whose messages will never be reported."""
        waiting = self._waiting
        while waiting:
            head = waiting[0]
            if head.error is None and head.remaining > 0:
                if head.deadline > now:
                    break
                head.error = TIMED_OUT
                self._finished.append(head)
            waiting.popleft()

    def _poll_loop(self) -> None:
        last_probe = 0.0
        while not self._stop.is_set():
            producer = self._producer_now()
            if self._poller is None:
                self._poll_once(IDLE_POLL_S, IDLE_POLL_S, None)
            else:
                self._stop.wait(IDLE_POLL_S)
            if self._down and time.monotonic() - last_probe > 1.0:
                last_probe = time.monotonic()
                try:
                    if producer.list_topics(timeout=1.0).brokers:
                        self._down = False
                        log.info("Kafka brokers at %s are reachable again", self.settings.brokers)
                except self.client.KafkaException:
                    pass

    def start(self) -> None:
        producer = self._producer_now()
        try:
            topics = producer.list_topics(timeout=min(5.0, self.settings.delivery_timeout_ms / 1000)).topics
            if self.topic not in topics:
                log.warning("topic %s does not exist yet (create it with: frictionkit topics create)", self.topic)
        except self.client.KafkaException:
            self._down = True
            log.warning("Kafka brokers at %s are unreachable at startup: answering 503 until they are back",
                        self.settings.brokers)
        self._thread = threading.Thread(target=self._poll_loop, name="frictionkit-kafka-poll", daemon=True)
        self._thread.start()

    async def _produce_all(self, messages: list[tuple[bytes, bytes]], delivery: _Delivery) -> str | None:
        """Queue every message with the client, on the event loop: ``produce`` only
        copies into librdkafka's queue, so a thread hop per batch (and the GIL
        hand-offs it brings) would cost more than it saves. A full queue waits
        here without blocking other requests. Returns why it gave up, if it did."""
        deadline = time.monotonic() + self.settings.delivery_timeout_ms / 1000
        topic, on_delivery, produce = self.topic, delivery.on_delivery, self._producer_now().produce
        i, n = 0, len(messages)
        while i < n:
            try:
                while i < n:
                    key, value = messages[i]
                    # Positional (partition -1: the client's partitioner, as when it is
                    # left out): parsing keywords is a third of the call's cost.
                    produce(topic, value, key, -1, on_delivery)
                    i += 1
            except BufferError:
                # The local queue is full: let the poll thread drain it by deliveries.
                if time.monotonic() > deadline:
                    return "local producer queue full"
                await asyncio.sleep(0.01)
                produce = self._producer_now().produce
            except self.client.KafkaException as err:
                return str(err)
        return None

    async def publish_checked(self, checked: CheckedBatch) -> None:
        """``publish`` for a batch straight from the contract (the ingestion
        route): most go on the bus without an ``Event`` ever being made."""
        if checked.accepted:
            await self._publish_messages(checked_bus_messages(checked, with_session=self.settings.key_by_session),
                                         checked.accepted)

    async def publish(self, events: list[Event]) -> None:
        if events:
            await self._publish_messages(bus_messages(events, with_session=self.settings.key_by_session), len(events))

    async def _publish_messages(self, messages: list[tuple[bytes, bytes]], events: int) -> None:
        if self._down:
            raise SinkUnavailable("the event bus is unavailable")
        delivery = _Delivery(len(messages), asyncio.get_running_loop(), self._finished)
        failed = await self._produce_all(messages, delivery)
        if failed is not None and delivery.error is None:
            delivery.error = failed
        if delivery.error is None:
            delivery.deadline = time.monotonic() + self.settings.delivery_timeout_ms / 1000 + 0.5
            self._waiting.append(delivery)
            self._ensure_loop_poller()
            await delivery.future
            if delivery.error is TIMED_OUT:
                log.warning("Kafka delivery of %d events timed out", events)
                self._down = True  # fail fast until the poll thread's probe sees a broker again
                raise SinkUnavailable(TIMED_OUT)
        if delivery.error is not None:
            log.warning("Kafka delivery failed: %s", delivery.error)
            self._last_error = delivery.error
            self._down = True
            raise SinkUnavailable("the event bus is unavailable")
        self._down = False

    async def tick(self) -> None:
        return None

    async def health(self) -> dict[str, Any]:
        return {"ok": not self._down, "kind": "kafka", "brokers": self.settings.brokers, "topic": self.topic,
                **({"lastError": self._last_error} if self._down and self._last_error else {})}

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        producer = self._producer
        if producer is not None:
            producer.flush(5.0)
