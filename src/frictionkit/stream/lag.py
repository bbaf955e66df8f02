"""Consumer lag of the processors' groups: committed offset vs end of partition.

Read without joining the group (a consumer that never subscribes), so it can
watch a running deployment, a test or a benchmark.
"""

from __future__ import annotations

import time

from ..bus import kafka
from .settings import PROCESSORS, StreamSettings


def _inputs(settings: StreamSettings, processor: str) -> list[str]:
    t = settings.topics
    return {"sessionizer": [t.raw], "metrics-aggregator": [t.sessionized]}[processor]


def group_lag(settings: StreamSettings, processor: str, timeout_s: float = 10.0) -> dict[tuple[str, int], int]:
    """(topic, partition) -> messages not yet committed by the processor's group."""
    ck = kafka.confluent()
    consumer = ck.Consumer(kafka.consumer_config(settings.brokers, settings.group_id(processor)))
    try:
        parts = []
        for topic in _inputs(settings, processor):
            meta = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
            parts += [ck.TopicPartition(topic, p) for p in meta.partitions]
        committed = consumer.committed(parts, timeout=timeout_s)
        lag = {}
        for tp in committed:
            low, high = consumer.get_watermark_offsets(ck.TopicPartition(tp.topic, tp.partition), timeout=timeout_s)
            start = tp.offset if tp.offset >= 0 else low
            lag[(tp.topic, tp.partition)] = max(0, high - start)
        return lag
    finally:
        consumer.close()


def total_lag(settings: StreamSettings) -> dict[str, int]:
    return {name: sum(group_lag(settings, name).values()) for name in PROCESSORS}


def wait_drained(settings: StreamSettings, timeout_s: float, *, settle_s: float = 1.0, poll_s: float = 0.5) -> float:
    """Block until every processor group has committed everything on its inputs
    (twice in a row, ``settle_s`` apart: outputs of one stage are inputs of the
    next); returns the seconds until the first of those polls saw it (the
    second only confirms). Raises TimeoutError with the lag left."""
    started = time.monotonic()
    clean = 0
    first_clean_s = 0.0
    last: dict[str, int] = {}
    while True:
        try:
            last = total_lag(settings)
        except Exception:  # noqa: BLE001 - a broker hiccup while watching is not the answer
            last = {"?": -1}
        clean = clean + 1 if all(v == 0 for v in last.values()) else 0
        if clean == 1:
            first_clean_s = time.monotonic() - started
        if clean >= 2:
            return first_clean_s
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"processors not drained after {timeout_s:.0f}s, lag {last}")
        time.sleep(settle_s if clean else poll_s)
