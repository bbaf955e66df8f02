"""Publishing test and benchmark traffic to ``events.raw`` as ``serve`` would:
bus format, key ``orgId:productId``, idempotent producer with ``acks=all``.

Arrival order can be shuffled within a bound (each event is delayed by a
random amount below ``max_delay_ms`` of event time, so none is later than the
allowed lateness when that bound is below it) and batches can be sent twice,
as agents retrying a request would.
"""

from __future__ import annotations

import random
from typing import Iterable

import msgspec

from frictionkit.bus import kafka
from frictionkit.bus.codec import bus_key, event_to_bus_json
from frictionkit.core.contract import decode_event_line
from frictionkit.core.model import Event

_encoder = msgspec.json.Encoder()


def events_from_wire(wire_events: Iterable[dict]) -> list[Event]:
    """Generator output (wire dicts) -> validated events, with the ids replay derives."""
    return [decode_event_line(_encoder.encode(w), now_ms=None) for w in wire_events]


def arrival_order(events: list[Event], *, max_delay_ms: int, seed: int) -> list[Event]:
    rng = random.Random(seed)
    return [ev for _, ev in sorted(((ev.ts_ms + rng.randrange(max(1, max_delay_ms)), i), ev)
                                   for i, ev in enumerate(events))] if max_delay_ms else list(events)


def with_retried_batches(events: list[Event], *, batch: int, fraction: float, seed: int) -> list[Event]:
    """Send some ``batch``-sized slices twice, the second copy right after the first."""
    rng = random.Random(seed)
    out: list[Event] = []
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        out.extend(chunk)
        if rng.random() < fraction:
            out.extend(chunk)
    return out


def publish(brokers: str, topic: str, events: Iterable[Event], *, with_session_key: bool = False,
            producer_overrides: dict | None = None) -> int:
    """Produce and wait for every delivery report; raises when one failed."""
    ck = kafka.confluent()
    producer = ck.Producer(kafka.producer_config(brokers, **(producer_overrides or {})))
    failures: list[str] = []

    def on_delivery(err, msg) -> None:
        if err is not None:
            failures.append(err.str())

    count = 0
    for ev in events:
        value, key = event_to_bus_json(ev), bus_key(ev, with_session=with_session_key)
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
        if count % 10_000 == 0:
            producer.poll(0)
    remaining = producer.flush(60)
    if remaining or failures:
        raise kafka.KafkaUnavailable(f"publishing to {topic}: {remaining} undelivered, {len(failures)} failed "
                                     f"({failures[0] if failures else 'timeout'})")
    return count


def publish_raw(brokers: str, topic: str, values: list[bytes]) -> None:
    """Arbitrary bytes (a deadletter test's garbage), delivered."""
    ck = kafka.confluent()
    producer = ck.Producer(kafka.producer_config(brokers))
    for value in values:
        producer.produce(topic, value, b"bad:bad")
    if producer.flush(30):
        raise kafka.KafkaUnavailable(f"publishing to {topic} timed out")
