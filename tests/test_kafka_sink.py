"""KafkaSink on the real broker (commands/kafka start): produce runs on the
event loop, one delivery counter per batch, finished batches resolved by the
poll thread. Many concurrent batches each get their own answer; a local queue
far smaller than the load makes publish wait (never fail, never answer early);
a batch some of whose messages fail is not acknowledged."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid

import pytest

from api_support import past_ms
from frictionkit.api.settings import resolve_settings
from frictionkit.api.kafka_sink import KafkaSink
from frictionkit.api.sinks import SinkUnavailable
from frictionkit.bus import kafka
from frictionkit.core.contract import decode_bus_message
from frictionkit.core.model import Event

pytestmark = pytest.mark.kafka

BROKERS = kafka.brokers_from_env()


@pytest.fixture(scope="module")
def brokers() -> str:
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        pytest.skip(kafka.MISSING_MESSAGE)
    if not kafka.check_broker(BROKERS, timeout_s=10):
        pytest.skip(f"no Kafka broker at {BROKERS} (start one with: commands/kafka start)")
    return BROKERS


def _events(batch: int, n: int) -> list[Event]:
    t0 = past_ms()
    return [Event(f"b{batch}-{i}", "acme", "crm", f"s{batch}", "u", t0 + i, "click", "home", "/", "desktop",
                  received_at_ms=t0 + 10_000, agent_id="a", sdk_version="1") for i in range(n)]


def _sink(topic: str, **producer_overrides) -> KafkaSink:
    settings = resolve_settings(store_dsn="duckdb:///:memory:", api_keys="k", brokers=BROKERS)
    settings.raw_topic = topic
    settings.delivery_timeout_ms = 10_000
    sink = KafkaSink(settings)
    if producer_overrides:
        def make():
            return sink.client.Producer(kafka.producer_config(
                BROKERS, **{"message.timeout.ms": 10_000, "error_cb": sink._on_error, **producer_overrides}))

        sink._make_producer = make
    sink.start()
    return sink


def _consume(topic: str, expected: int, timeout_s: float = 20.0) -> list[Event]:
    import confluent_kafka

    consumer = confluent_kafka.Consumer(kafka.consumer_config(BROKERS, f"test-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    out: list[Event] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                out.extend(decode_bus_message(msg.value()))
    finally:
        consumer.close()
    return out


@pytest.mark.parametrize("overrides", [{}, {"queue.buffering.max.messages": 50}], ids=["default", "tiny-queue"])
def test_concurrent_batches_each_resolve_after_their_own_deliveries(brokers, overrides):
    topic = f"test.sink.{uuid.uuid4().hex[:12]}"
    kafka.create_topics(brokers, partitions=3, topics=[topic])
    sink = _sink(topic, **overrides)
    batches = [_events(b, 120) for b in range(20)]
    try:
        async def run():
            return await asyncio.gather(*(sink.publish(events) for events in batches), return_exceptions=True)

        results = asyncio.run(run())
    finally:
        sink.close()
    assert results == [None] * len(batches)
    got = _consume(topic, sum(map(len, batches)))
    assert sorted(e.event_id for e in got) == sorted(e.event_id for b in batches for e in b)
    assert {e.event_id: e for e in got} == {e.event_id: e for b in batches for e in b}


@pytest.mark.parametrize("where", ["client", "broker"])
def test_a_batch_with_a_failed_message_is_not_acknowledged(brokers, where):
    """One message too large: refused by the client at produce time, or (with
    the client's own limit raised) by the broker in its delivery report."""
    topic = f"test.sink.{uuid.uuid4().hex[:12]}"
    kafka.create_topics(brokers, partitions=1, topics=[topic])
    sink = _sink(topic, **({"message.max.bytes": 8_000_000} if where == "broker" else {}))
    # Hex of random bytes: lz4 cannot shrink it below the broker's 1 MB limit.
    huge = Event("big", "acme", "crm", "s", "u", past_ms(), "click", "home", "/" + os.urandom(1_500_000).hex(),
                 "desktop")
    try:
        async def run():
            await sink.publish(_events(0, 10) + [huge] + _events(1, 10))

        with pytest.raises(SinkUnavailable):
            asyncio.run(run())
    finally:
        sink.close()


def test_a_batch_whose_reports_never_come_fails_at_its_deadline():
    """Reports that never arrive (a broker that stopped answering, a producer
    recreated after a fatal error) fail the batch at the sink's delivery
    timeout, swept by the poll thread: a 503, never a hang or a 200."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    settings = resolve_settings(store_dsn="duckdb:///:memory:", api_keys="k", brokers=dead)
    settings.delivery_timeout_ms = 1_000
    sink = KafkaSink(settings)
    # The client would give up only after a minute, and says nothing of the
    # dead broker here: only our deadline can end the wait.
    sink._make_producer = lambda: sink.client.Producer(kafka.producer_config(
        dead, **{"message.timeout.ms": 60_000, "error_cb": lambda _err: None}))
    sink.start()
    sink._down = False  # as if the broker had answered a moment ago
    try:
        async def run():
            started = time.monotonic()
            with pytest.raises(SinkUnavailable, match="in time"):
                await asyncio.wait_for(sink.publish(_events(0, 5)), 15)  # a hang fails, not blocks
            return time.monotonic() - started

        waited = asyncio.run(run())
    finally:
        sink._stop.set()
    assert 1.0 <= waited < 10, waited
    assert sink._down and not sink._waiting
