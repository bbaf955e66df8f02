"""The consumer loop every processor runs in, and its one commit step.

A processor (see ``Processor``) is a logic object that turns messages and time
into outputs; this module owns the Kafka side: group membership, batches,
partition EOF, deadletters, pausing, SIGTERM, and the commit step:

    flush sinks (the store)  ->  flush the producer  ->  commit offsets

in that order and nothing else commits, so an offset is never committed for a
message whose outputs are not durable. A failed commit is harmless (the next
one covers it); a failed delivery is not, so it restarts the processor from
its last committed offsets, in-process, exactly as a crash would.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from ..bus import kafka
from ..pipeline.storesink import SinkUnavailable
from .codec import MessageError
from .deadletter import Outputs
from .settings import StreamSettings

log = logging.getLogger("frictionkit.stream")

TP = tuple[str, int]


class Restart(RuntimeError):
    """Outputs may be lost: start over from the committed offsets."""


class Processor(Protocol):
    name: str

    def topics(self) -> list[str]: ...
    def assigned(self, tps: list[TP], metadata: dict[TP, str | None]) -> None: ...
    def revoked(self, tps: list[TP]) -> None: ...
    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None: ...
    def eof(self, tp: TP, now_ms: int) -> None: ...
    def tick(self, out: Outputs, now_ms: int) -> None: ...
    def flush_sinks(self, final: bool = True) -> bool:
        """Write what the sinks hold. True when a batch is still being written
        (on a writer thread: the aggregator); its positions are then committed
        by the next commit step. ``final`` waits for every write."""
    def write_done(self) -> bool:
        """No batch handed over by ``flush_sinks`` is still being written."""
    def offsets(self, positions: dict[TP, int]) -> dict[TP, tuple[int, str | None]]: ...
    def pending(self) -> int: ...


def wall_ms() -> int:
    return int(time.time() * 1000)


class _BrokerWatch:
    """One log line when the broker goes away, one when it is back."""

    def __init__(self, name: str, brokers: str) -> None:
        self.name, self.brokers, self.down = name, brokers, False

    def error_cb(self, err: Any) -> None:
        ck = kafka._ck()
        if err.code() in (ck.KafkaError._ALL_BROKERS_DOWN, ck.KafkaError._TRANSPORT) and not self.down:
            self.down = True
            log.warning("%s: lost the Kafka broker at %s (%s); retrying", self.name, self.brokers, err.str())

    def alive(self) -> None:
        if self.down:
            self.down = False
            log.warning("%s: Kafka broker at %s is back", self.name, self.brokers)


class Runner:
    def __init__(self, processor: Processor, settings: StreamSettings, stop: threading.Event) -> None:
        self.p = processor
        self.s = settings
        self.stop = stop
        self.watch = _BrokerWatch(processor.name, settings.brokers)
        self.stats = {"messages": 0, "deadletters": 0, "commits": 0, "restarts": 0}

    def run(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            try:
                self._run_once()
                return
            except Restart as why:
                self.stats["restarts"] += 1
                log.warning("%s: %s; restarting from the last committed offsets", self.p.name, why)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    # -- one consumer's life ------------------------------------------------------

    def _run_once(self) -> None:
        ck = kafka._ck()
        s = self.s
        self.consumer = ck.Consumer(kafka.consumer_config(
            s.brokers, s.group_id(self.p.name), **{"enable.partition.eof": True, "error_cb": self.watch.error_cb,
                                             "session.timeout.ms": s.session_timeout_ms,
                                             "heartbeat.interval.ms": max(500, s.session_timeout_ms // 5)}))
        # Long delivery timeout: a broker that is away for a while is waited
        # for, not turned into lost outputs and a restart.
        producer = ck.Producer(kafka.producer_config(
            s.brokers, **{"message.timeout.ms": 300_000, "error_cb": self.watch.error_cb,
                          "message.max.bytes": 16 * 1024 * 1024}))
        self.out = Outputs(producer, s.topics.deadletter, self.p.name)
        self.positions: dict[TP, int] = {}
        self.committed: dict[TP, tuple[int, str | None]] = {}
        self.paused = False
        self.blocked_until: float | None = None
        self.store_down_since: float | None = None
        # Positions whose outputs a writes-behind processor is still writing:
        # committed by the next commit step, once the write is done.
        self.behind: dict[TP, int] | None = None
        try:
            self.consumer.subscribe(self.p.topics(), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                    on_lost=self._on_lost)
            self._loop()
            self._final_commit()
        finally:
            self.p.revoked(list(self.positions))
            try:
                self.consumer.close()
            except Exception:  # noqa: BLE001 - closing a consumer whose broker is gone
                pass

    def _loop(self) -> None:
        ck = kafka._ck()
        s = self.s
        last_commit = time.monotonic()
        since_commit = 0
        while not self.stop.is_set():
            msgs = self.consumer.consume(s.poll_batch, 0.1)
            now = wall_ms()
            handled_before = since_commit
            for msg in msgs:
                err = msg.error()
                tp = (msg.topic(), msg.partition())
                if err is not None:
                    if err.code() == ck.KafkaError._PARTITION_EOF:
                        self.watch.alive()
                        if tp in self.positions:
                            self.p.eof(tp, now)
                    elif not err.code() in (ck.KafkaError._ALL_BROKERS_DOWN, ck.KafkaError._TRANSPORT):
                        log.warning("%s: consumer error: %s", self.p.name, err.str())
                    continue
                if tp not in self.positions:
                    continue  # fetched before a revoke
                self.watch.alive()
                self._handle(msg, now)
                self.positions[tp] = msg.offset() + 1
                since_commit += 1
            self.p.tick(self.out, now)
            self.out.poll()
            due = since_commit >= s.commit_every_messages or time.monotonic() - last_commit >= s.commit_interval_ms / 1000
            # Caught up (a poll brought nothing new): what is held is written
            # and committed now rather than at the next interval, so results
            # and lag follow the input closely when it pauses or ends.
            if since_commit and since_commit == handled_before:
                due = True
            if self.p.pending() >= s.max_pending_messages:
                due = True
            # Idle, and the last batch is written: its offsets are committed now,
            # not at the next interval, so that lag follows the input closely.
            if self.behind is not None and since_commit == handled_before and self.p.write_done():
                due = True
            if self.blocked_until is not None:
                due = time.monotonic() >= self.blocked_until
            if due:
                if self._commit_step():
                    since_commit = 0
                last_commit = time.monotonic()

    def _handle(self, msg: Any, now: int) -> None:
        self.stats["messages"] += 1
        try:
            self.p.handle(msg, self.out, now)
        except MessageError as err:
            self._deadletter(msg, str(err))
        except Exception as err:  # noqa: BLE001 - one bad message must not stop the processor
            self._deadletter(msg, f"cannot process: {type(err).__name__}: {err}")

    def _deadletter(self, msg: Any, reason: str) -> None:
        self.stats["deadletters"] += 1
        if self.stats["deadletters"] <= 10 or self.stats["deadletters"] % 1000 == 0:
            log.warning("%s: %s[%d]@%d to deadletter: %s", self.p.name, msg.topic(), msg.partition(), msg.offset(), reason)
        self.out.deadletter(msg, reason)

    # -- the commit step --------------------------------------------------------------

    def _commit_step(self, *, deadline: float | None = None, final: bool = False) -> bool:
        """Flush sinks, flush the producer, commit. False when the store refused
        (nothing committed; consumption paused and retried with backoff).

        A processor that writes on a thread of its own (``flush_sinks`` returns
        True) is one step behind: its flush returns once the batch of the
        previous step is written, and the offsets committed are that step's;
        ``final`` (a stop, a revoke) waits for everything."""
        positions = {tp: pos for tp, pos in self.positions.items() if pos is not None}
        try:
            # While the store is away, each retry waits for its write: the
            # outage ends when a write succeeds, not when one is handed over.
            writing = self.p.flush_sinks(final=final or self.store_down_since is not None)
        except SinkUnavailable as err:
            self.behind = None  # the failed batch is held again, and written with a later step's
            self._store_refused(err)
            return False
        self.store_down_since = None
        self.blocked_until = None
        self._flush_producer(deadline)
        durable, self.behind = (self.behind, positions) if writing else (positions, None)
        if durable:
            self._commit_offsets(durable)
        if self.paused and self.p.pending() < self.s.max_pending_messages:
            self._set_paused(False)
        return True

    def _store_refused(self, err: SinkUnavailable) -> None:
        # The sink logs the outage and says how long to wait (its backoff);
        # meanwhile nothing is committed and consumption is paused.
        now = time.monotonic()
        if self.store_down_since is None:
            self.store_down_since = now
        self.blocked_until = now + err.retry_after_s
        self._set_paused(True)

    def _set_paused(self, paused: bool) -> None:
        ck = kafka._ck()
        parts = [ck.TopicPartition(t, p) for t, p in self.positions]
        if parts:
            (self.consumer.pause if paused else self.consumer.resume)(parts)
        self.paused = paused

    def _flush_producer(self, deadline: float | None) -> None:
        waited = False
        while self.out.flush(1.0):
            if not waited:
                waited = True
                log.warning("%s: waiting for the broker to confirm %d outputs", self.p.name, self.out.in_flight())
            if deadline is not None and time.monotonic() > deadline:
                raise Restart("outputs not confirmed before the drain deadline")
        if self.out.failed:
            reason = self.out.failed[0]
            self.out.failed.clear()
            raise Restart(f"an output was not delivered ({reason})")

    def _commit_offsets(self, positions: dict[TP, int]) -> None:
        ck = kafka._ck()
        # Of partitions still assigned (a revoke may have come in between).
        offsets = self.p.offsets({tp: pos for tp, pos in positions.items() if tp in self.positions})
        todo = [(tp, om) for tp, om in offsets.items() if self.committed.get(tp) != om]
        if not todo:
            return
        parts = [ck.TopicPartition(t, p, o, meta) if meta is not None else ck.TopicPartition(t, p, o)
                 for (t, p), (o, meta) in todo]
        try:
            result = self.consumer.commit(offsets=parts, asynchronous=False)
        except ck.KafkaException as err:
            # Harmless: the offsets stay where they were and the next commit covers them.
            log.info("%s: commit failed (%s); will retry", self.p.name, kafka._reason(err))
            return
        for tp_result in result or []:
            if tp_result.error is None:
                key = (tp_result.topic, tp_result.partition)
                self.committed[key] = offsets[key]
        self.stats["commits"] += 1

    def _final_commit(self) -> None:
        """SIGTERM: drain what was taken, flush, commit, within a bounded time."""
        deadline = time.monotonic() + self.s.drain_timeout_s
        while time.monotonic() < deadline:
            if self._commit_step(deadline=deadline, final=True):
                return
            time.sleep(max(0.0, min(self.blocked_until or 0, deadline) - time.monotonic()))
        log.warning("%s: stopping without committing the last outputs (store unavailable)", self.p.name)

    # -- rebalances -----------------------------------------------------------------

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        metadata: dict[TP, str | None] = {}
        try:
            for c in consumer.committed(partitions, timeout=10):
                metadata[(c.topic, c.partition)] = c.metadata
        except Exception as err:  # noqa: BLE001 - metadata only refines restarts
            log.info("%s: could not read committed metadata: %s", self.p.name, err)
        for tp in tps:
            self.positions[tp] = None  # type: ignore[assignment]
        self.p.assigned(tps, metadata)
        if self.paused:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        try:
            self._commit_step(deadline=time.monotonic() + 10, final=True)
        except Restart as err:
            log.info("%s: no commit before the rebalance: %s", self.p.name, err)
        self._drop(tps)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._drop([(p.topic, p.partition) for p in partitions])

    def _drop(self, tps: list[TP]) -> None:
        self.p.revoked(tps)
        for tp in tps:
            self.positions.pop(tp, None)
            self.committed.pop(tp, None)
