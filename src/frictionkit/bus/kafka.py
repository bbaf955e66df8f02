"""Kafka adapter: topic names, client configs, topic creation, broker check.

This is the only module that imports confluent_kafka, and it does so lazily,
so the embedded shape (no Kafka) never needs the C client installed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Iterable

TOPIC_RAW = "events.raw"
TOPIC_SESSIONIZED = "events.sessionized"
TOPIC_INCIDENTS = "events.incidents"
TOPIC_DEADLETTER = "events.deadletter"
ALL_TOPICS: tuple[str, ...] = (TOPIC_RAW, TOPIC_SESSIONIZED, TOPIC_INCIDENTS, TOPIC_DEADLETTER)

DEFAULT_BROKERS = "127.0.0.1:9092"
DEFAULT_PARTITIONS = 3

MISSING_MESSAGE = "Kafka support needs confluent-kafka: pip install 'frictionkit[kafka]'"


class KafkaSupportMissing(ImportError):
    """confluent-kafka is not installed."""


class KafkaUnavailable(RuntimeError):
    """The broker cannot be reached or refused an administrative request."""


def confluent() -> Any:
    """The confluent_kafka module (with ``.admin`` loaded): the one public
    wrapper of the C client, as dlt wraps its heavy libraries. Without the
    ``[kafka]`` extra it raises ``KafkaSupportMissing``, whose message names
    the extra to install. Every other module gets the client from here."""
    try:
        import confluent_kafka
        import confluent_kafka.admin  # noqa: F401  (a submodule, not imported by the package)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise KafkaSupportMissing(MISSING_MESSAGE) from exc
    return confluent_kafka


def brokers_from_env(default: str = DEFAULT_BROKERS) -> str:
    return os.environ.get("KAFKA_BROKERS", "").strip() or default


def _base_config(brokers: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": brokers,
        "client.id": "frictionkit",
        # librdkafka writes every failed connection attempt to stderr by
        # default; callers report unreachability themselves, in one line.
        "log_level": 0,
    }


def producer_config(brokers: str, **overrides: Any) -> dict[str, Any]:
    """Producer settings for "200 means durably on the bus" (docs/contract.md).

    Idempotence makes the client's own retries safe (no duplicates, order kept
    per partition); acks=all means an ack survives the leader's loss.
    """
    config = _base_config(brokers) | {
        "enable.idempotence": True,
        "acks": "all",
        # A few ms of batching costs nothing next to an HTTP round trip and
        # turns a 1000-event batch into a handful of produce requests.
        "linger.ms": 5,
        "batch.size": 512 * 1024,
        "compression.type": "lz4",
        # Bounded, so a dead broker becomes a 503 in time rather than a
        # request hanging for librdkafka's default of five minutes.
        "message.timeout.ms": 30_000,
    }
    config.update(overrides)
    return config


def consumer_config(brokers: str, group_id: str, **overrides: Any) -> dict[str, Any]:
    """Consumer settings for processors that commit only after their outputs are durable.

    Auto commit and auto offset store are both off: the processor stores and
    commits an offset itself once what it derived from the message is on the
    bus or in the store (docs/stream.md). A new group starts from the beginning so
    that nothing published before the first processor started is lost.
    """
    config = _base_config(brokers) | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        # Aborted transactional writes must never reach a processor.
        "isolation.level": "read_committed",
        # The broker answers a fetch once it has 256 KiB or 100 ms passed, not
        # at the first byte: under load, fewer and fuller fetches cost the broker
        # less (bench-stream: processors 10 % faster, the passthrough 7 %), for at
        # most 100 ms more latency when traffic is thin.
        "fetch.min.bytes": 262144,
        "fetch.wait.max.ms": 100,
    }
    config.update(overrides)
    return config


def producer(brokers: str, **overrides: Any) -> Any:
    """A producer with ``producer_config``."""
    return confluent().Producer(producer_config(brokers, **overrides))


def consumer(brokers: str, group_id: str, **overrides: Any) -> Any:
    """A consumer with ``consumer_config``."""
    return confluent().Consumer(consumer_config(brokers, group_id, **overrides))


def admin_client(brokers: str) -> Any:
    return confluent().admin.AdminClient(_base_config(brokers))


def check_broker(brokers: str, timeout_s: float = 5.0) -> bool:
    """True when a broker answers a metadata request within the timeout."""
    ck = confluent()
    try:
        metadata = admin_client(brokers).list_topics(timeout=timeout_s)
    except ck.KafkaException:
        return False
    return bool(metadata.brokers)


@dataclass(frozen=True)
class TopicStatus:
    name: str
    created: bool
    partitions: int


def create_topics(
    brokers: str,
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
    topics: Iterable[str] = ALL_TOPICS,
    timeout_s: float = 30.0,
) -> list[TopicStatus]:
    """Create the topics that do not exist yet; existing ones are left as they are.

    An existing topic keeps its partition count even when it has fewer than
    asked: adding partitions moves keys to other partitions, which would split
    live sessions between processor instances, so that is an operator's call.
    Raises KafkaUnavailable when the broker cannot be reached or refuses.
    """
    ck = confluent()
    names = list(dict.fromkeys(topics))
    if partitions < 1 or replication < 1:
        raise ValueError("partitions and replication must be at least 1")
    admin = admin_client(brokers)
    try:
        existing = admin.list_topics(timeout=min(timeout_s, 10.0)).topics
    except ck.KafkaException as exc:
        raise KafkaUnavailable(f"Kafka broker at {brokers} is unreachable: {_reason(exc)}") from exc

    missing = [n for n in names if n not in existing]
    created: set[str] = set()
    if missing:
        new = [ck.admin.NewTopic(n, num_partitions=partitions, replication_factor=replication) for n in missing]
        futures = admin.create_topics(new, operation_timeout=timeout_s, request_timeout=timeout_s)
        for name, future in futures.items():
            try:
                future.result()
                created.add(name)
            except ck.KafkaException as exc:
                # Another process may have created it since we listed: fine.
                if exc.args and exc.args[0].code() == ck.KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                raise KafkaUnavailable(f"creating topic {name} on {brokers} failed: {_reason(exc)}") from exc

    # The controller has committed the topics, but the broker's metadata
    # cache lags a little; wait so a produce right after does not hit
    # UNKNOWN_TOPIC_OR_PART or auto-create a topic with the default layout.
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            current = admin.list_topics(timeout=min(timeout_s, 10.0)).topics
        except ck.KafkaException as exc:
            raise KafkaUnavailable(f"Kafka broker at {brokers} is unreachable: {_reason(exc)}") from exc
        ready = [n for n in names if n in current and current[n].error is None and current[n].partitions]
        if len(ready) == len(names):
            return [TopicStatus(n, n in created, len(current[n].partitions)) for n in names]
        if time.monotonic() > deadline:
            waiting = ", ".join(sorted(set(names) - set(ready)))
            raise KafkaUnavailable(f"topics not visible on {brokers} after {timeout_s:.0f}s: {waiting}")
        time.sleep(0.2)


def _reason(exc: Exception) -> str:
    err = exc.args[0] if exc.args else None
    return err.str() if hasattr(err, "str") else str(exc)
