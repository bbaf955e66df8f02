"""The consumer loop every processor runs in.

A processor (``processor.Processor``) is a logic object that turns messages
and time into outputs; this module owns the Kafka side: group membership,
batches, partition EOF, deadletters, pausing, SIGTERM, and the Kafka calls of
the commit, whose steps and timing are the checkpoint's
(``checkpoint.Checkpoint``: flush sinks -> flush the producer -> commit
offsets). The processor's sinks are registered with the checkpoint. A failed
commit is harmless (the next one covers it); a failed delivery is not, so it
restarts the processor from its last committed offsets, in-process, exactly
as a crash would.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from ..bus import kafka
from .checkpoint import TP, Checkpoint
from .codec import MessageError
from .deadletter import Outputs
from .processor import Processor
from .settings import StreamSettings

log = logging.getLogger("frictionkit.stream")

class Restart(RuntimeError):
    """Outputs may be lost: start over from the committed offsets."""


def wall_ms() -> int:
    return int(time.time() * 1000)


class _BrokerWatch:
    """One log line when the broker goes away, one when it is back."""

    def __init__(self, name: str, brokers: str) -> None:
        self.name, self.brokers, self.down = name, brokers, False

    def error_cb(self, err: Any) -> None:
        ck = kafka.confluent()
        if err.code() in (ck.KafkaError._ALL_BROKERS_DOWN, ck.KafkaError._TRANSPORT) and not self.down:
            self.down = True
            log.warning("%s: lost the Kafka broker at %s (%s); retrying", self.name, self.brokers, err.str())

    def alive(self) -> None:
        if self.down:
            self.down = False
            log.warning("%s: Kafka broker at %s is back", self.name, self.brokers)


class Runner:
    def __init__(self, processor: Processor, settings: StreamSettings, stop: threading.Event,
                 clock: Callable[[], int] = wall_ms) -> None:
        self.processor = processor
        # The wall clock in ms, read here only and passed to the processor as
        # now_ms (injected: a test can move it hours on).
        self.clock = clock
        self.settings = settings
        self.stop = stop
        self.watch = _BrokerWatch(processor.name, settings.brokers)
        self.stats = {"messages": 0, "deadletters": 0, "commits": 0, "restarts": 0}
        # One consumer's life each (a restart makes new ones).
        self.consumer: Any = None
        self.outputs: Outputs | None = None
        self.committed: dict[TP, tuple[int, str | None]] = {}
        self.paused = False
        self.checkpoint = Checkpoint(settings, processor.sinks(), self._flush_producer, self._commit_offsets)

    def run(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            try:
                self._run_once()
                return
            except Restart as why:
                self.stats["restarts"] += 1
                log.warning("%s: %s; restarting from the last committed offsets", self.processor.name, why)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    # -- one consumer's life ------------------------------------------------------

    def _run_once(self) -> None:
        ck = kafka.confluent()
        settings, name = self.settings, self.processor.name
        self.consumer = ck.Consumer(kafka.consumer_config(
            settings.brokers, settings.group_id(name),
            **{"enable.partition.eof": True, "error_cb": self.watch.error_cb,
               "session.timeout.ms": settings.session_timeout_ms,
               "heartbeat.interval.ms": max(500, settings.session_timeout_ms // 5)}))
        # Long delivery timeout: a broker that is away for a while is waited
        # for, not turned into lost outputs and a restart.
        producer = ck.Producer(kafka.producer_config(
            settings.brokers, **{"message.timeout.ms": 300_000, "error_cb": self.watch.error_cb,
                                 "message.max.bytes": 16 * 1024 * 1024}))
        self.outputs = Outputs(producer, settings.topics.deadletter, name)
        self.committed = {}
        self.paused = False
        self.checkpoint.reset()
        try:
            self.consumer.subscribe(self.processor.topics(), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                    on_lost=self._on_lost)
            self._loop()
            self._final_commit()
        finally:
            self._drop(list(self.checkpoint.positions))
            try:
                self.consumer.close()
            except Exception:  # noqa: BLE001 - closing a consumer whose broker is gone
                pass

    def _loop(self) -> None:
        ck = kafka.confluent()
        processor, checkpoint, outputs = self.processor, self.checkpoint, self.outputs
        assert outputs is not None
        while not self.stop.is_set():
            msgs = self.consumer.consume(self.settings.poll_batch, 0.1)
            now = self.clock()
            checkpoint.polled()
            for msg in msgs:
                err = msg.error()
                tp = (msg.topic(), msg.partition())
                if err is not None:
                    if err.code() == ck.KafkaError._PARTITION_EOF:
                        self.watch.alive()
                        if tp in checkpoint.positions:
                            processor.eof(tp, now)
                    elif not err.code() in (ck.KafkaError._ALL_BROKERS_DOWN, ck.KafkaError._TRANSPORT):
                        log.warning("%s: consumer error: %s", processor.name, err.str())
                    continue
                if tp not in checkpoint.positions:
                    continue  # fetched before a revoke
                self.watch.alive()
                self._handle(msg, now)
                checkpoint.store_offset(tp, msg.offset())
            processor.tick(outputs, now)
            outputs.poll()
            if checkpoint.due():
                self._commit()

    def _handle(self, msg: Any, now: int) -> None:
        self.stats["messages"] += 1
        try:
            self.processor.handle(msg, self.outputs, now)
        except MessageError as err:
            self._deadletter(msg, str(err))
        except Exception as err:  # noqa: BLE001 - one bad message must not stop the processor
            self._deadletter(msg, f"cannot process: {type(err).__name__}: {err}")

    def _deadletter(self, msg: Any, reason: str) -> None:
        self.stats["deadletters"] += 1
        if self.stats["deadletters"] <= 10 or self.stats["deadletters"] % 1000 == 0:
            log.warning("%s: %s[%d]@%d to deadletter: %s", self.processor.name, msg.topic(), msg.partition(),
                        msg.offset(), reason)
        self.outputs.deadletter(msg, reason)

    # -- the commit -------------------------------------------------------------------

    def _commit(self, *, deadline: float | None = None, final: bool = False) -> bool:
        """The checkpoint's commit; a sink that refused pauses consumption
        (bounded memory) until a commit succeeds."""
        if not self.checkpoint.commit(deadline=deadline, final=final):
            self._set_paused(True)
            return False
        if self.paused and self.checkpoint.pending() < self.settings.max_pending_messages:
            self._set_paused(False)
        return True

    def _set_paused(self, paused: bool) -> None:
        ck = kafka.confluent()
        parts = [ck.TopicPartition(t, p) for t, p in self.checkpoint.positions]
        if parts:
            (self.consumer.pause if paused else self.consumer.resume)(parts)
        self.paused = paused

    def _flush_producer(self, deadline: float | None) -> None:
        """Step 2: every output confirmed by the broker."""
        outputs = self.outputs
        waited = False
        while outputs.flush(1.0):
            if not waited:
                waited = True
                log.warning("%s: waiting for the broker to confirm %d outputs", self.processor.name,
                            outputs.in_flight())
            if deadline is not None and time.monotonic() > deadline:
                raise Restart("outputs not confirmed before the drain deadline")
        if outputs.failed:
            reason = outputs.failed[0]
            outputs.failed.clear()
            raise Restart(f"an output was not delivered ({reason})")

    def _commit_offsets(self, positions: dict[TP, int]) -> None:
        """Step 3: the processor's offsets for these positions, synchronously."""
        ck = kafka.confluent()
        # Of partitions still assigned (a revoke may have come in between).
        assigned = self.checkpoint.positions
        offsets = self.processor.offsets({tp: pos for tp, pos in positions.items() if tp in assigned})
        todo = [(tp, om) for tp, om in offsets.items() if self.committed.get(tp) != om]
        if not todo:
            return
        parts = [ck.TopicPartition(t, p, o, meta) if meta is not None else ck.TopicPartition(t, p, o)
                 for (t, p), (o, meta) in todo]
        try:
            result = self.consumer.commit(offsets=parts, asynchronous=False)
        except ck.KafkaException as err:
            # Harmless: the offsets stay where they were and the next commit covers them.
            log.info("%s: commit failed (%s); will retry", self.processor.name, kafka._reason(err))
            return
        for tp_result in result or []:
            if tp_result.error is None:
                key = (tp_result.topic, tp_result.partition)
                self.committed[key] = offsets[key]
        self.stats["commits"] += 1

    def _final_commit(self) -> None:
        """SIGTERM: drain what was taken, flush, commit, within a bounded time."""
        deadline = time.monotonic() + self.settings.drain_timeout_s
        while time.monotonic() < deadline:
            if self._commit(deadline=deadline, final=True):
                return
            time.sleep(max(0.0, min(self.checkpoint.blocked_until_s or 0, deadline) - time.monotonic()))
        log.warning("%s: stopping without committing the last outputs (store unavailable)", self.processor.name)

    # -- rebalances -----------------------------------------------------------------

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        metadata: dict[TP, str | None] = {}
        try:
            for c in consumer.committed(partitions, timeout=10):
                metadata[(c.topic, c.partition)] = c.metadata
        except Exception as err:  # noqa: BLE001 - metadata only refines restarts
            log.info("%s: could not read committed metadata: %s", self.processor.name, err)
        self.checkpoint.assign(tps)
        self.processor.assigned(tps, metadata)
        if self.paused:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        try:
            self._commit(deadline=time.monotonic() + 10, final=True)
        except Restart as err:
            log.info("%s: no commit before the rebalance: %s", self.processor.name, err)
        self._drop(tps)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._drop([(p.topic, p.partition) for p in partitions])

    def _drop(self, tps: list[TP]) -> None:
        self.processor.revoked(tps)
        self.checkpoint.revoke(tps)
        for tp in tps:
            self.committed.pop(tp, None)
