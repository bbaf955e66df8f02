"""Against a real broker (commands/kafka start): topics, idempotent producer, consumer.

In CI (env CI set) an unreachable broker fails the test: a skipped Kafka test
there would hide that the distributed shape was never exercised.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

pytestmark = pytest.mark.kafka

from frictionkit.bus import kafka

try:
    import confluent_kafka
except ImportError:  # pragma: no cover
    confluent_kafka = None

BROKERS = kafka.brokers_from_env()


@pytest.fixture(scope="module")
def brokers() -> str:
    if confluent_kafka is None:
        if os.environ.get("CI"):
            pytest.fail(kafka.MISSING_MESSAGE)
        pytest.skip(kafka.MISSING_MESSAGE)
    if not kafka.check_broker(BROKERS, timeout_s=10):
        message = f"no Kafka broker at {BROKERS} (start one with: commands/kafka start)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return BROKERS


def test_create_topics_is_idempotent(brokers: str) -> None:
    first = kafka.create_topics(brokers, partitions=3)
    second = kafka.create_topics(brokers, partitions=3)

    assert [s.name for s in first] == list(kafka.ALL_TOPICS)
    assert [s.name for s in second] == list(kafka.ALL_TOPICS)
    assert not any(s.created for s in second)
    metadata = kafka.admin_client(brokers).list_topics(timeout=10)
    for name in kafka.ALL_TOPICS:
        assert name in metadata.topics
        assert len(metadata.topics[name].partitions) >= 1


def test_produce_and_consume_keyed_messages(brokers: str) -> None:
    # A topic of its own so reruns and other tests never see each other's data.
    topic = f"test.kafka-broker.{uuid.uuid4().hex[:12]}"
    statuses = kafka.create_topics(brokers, partitions=3, topics=[topic])
    assert statuses[0].created and statuses[0].partitions == 3

    config = kafka.producer_config(brokers)
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    producer = confluent_kafka.Producer(config)
    sent = []
    delivered: list[tuple[bytes, int, int]] = []
    errors: list[object] = []

    def on_delivery(err, msg) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.key(), msg.partition(), msg.offset()))

    keys = ["org-a:prod-1", "org-b:prod-1", "org-a:prod-2"]
    for i in range(12):
        key = keys[i % len(keys)]
        value = {"seq": i, "key": key}
        sent.append((key, value))
        producer.produce(topic, key=key.encode(), value=json.dumps(value).encode(), on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert errors == []
    assert len(delivered) == len(sent)
    # Same key, same partition: this is what keeps a product's events in order.
    partition_of: dict[bytes, set[int]] = {}
    for key, partition, _ in delivered:
        partition_of.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partition_of.values())

    consumer_conf = kafka.consumer_config(brokers, group_id=f"test-{uuid.uuid4().hex[:8]}")
    assert consumer_conf["enable.auto.commit"] is False
    assert consumer_conf["auto.offset.reset"] == "earliest"
    consumer = confluent_kafka.Consumer(consumer_conf)
    received: list[tuple[str, dict]] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while len(received) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            received.append((msg.key().decode(), json.loads(msg.value())))
            consumer.store_offsets(msg)
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
        kafka.admin_client(brokers).delete_topics([topic], operation_timeout=10)

    assert sorted(received, key=lambda kv: kv[1]["seq"]) == sent
    # Per key, order is preserved.
    for key in keys:
        seqs = [v["seq"] for k, v in received if k == key]
        assert seqs == sorted(seqs)
