"""Shared by tests/test_stream_*.py (no tests here): a broker fixture, fresh
topics per test, traffic, replay as the reference, and insights compared.

Insights are compared with floats equal to 1e-9 relative: a store sums float
scores in row order, and rows arrive in another order through Kafka than in a
replay, which moves the last bit or two of a mean.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from frictionkit.bus import kafka
from frictionkit.core.model import Event
from frictionkit.generate import iter_events
from frictionkit.insights import report
from frictionkit.insights.query import resolve_query
from frictionkit.pipeline.embedded import EmbeddedPipeline
from frictionkit.store import open_store
from frictionkit.stream import StreamSettings, Topics, run
from frictionkit.stream.lag import wait_drained
from workshop.soak import differences  # one comparison for tests and the soak
from workshop import loadgen

BROKERS = kafka.brokers_from_env()
ROOT = Path(__file__).resolve().parents[1]


def require_broker() -> str:
    try:
        kafka.confluent()
    except kafka.KafkaSupportMissing:
        pytest.skip(kafka.MISSING_MESSAGE)
    if not kafka.check_broker(BROKERS, timeout_s=10):
        message = f"no Kafka broker at {BROKERS} (start one with: commands/kafka start)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return BROKERS


def fresh_settings(tmp_path: Path, *, partitions: int = 3, store: str = "duckdb", **overrides: Any) -> StreamSettings:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    topics = Topics.with_prefix(prefix)
    kafka.create_topics(BROKERS, partitions=partitions, topics=topics.all())
    dsn = f"duckdb:///{tmp_path}/stream.duckdb" if store == "duckdb" else f"chdb:///{tmp_path}/stream-chdb"
    base: dict[str, Any] = dict(brokers=BROKERS, topics=topics, group_prefix=prefix, store_dsn=dsn,
                                idle_after_ms=1500, commit_interval_ms=500)
    base.update(overrides)
    return StreamSettings(**base)


def traffic(sessions: int = 100, seed: int = 11) -> list[Event]:
    return loadgen.events_from_wire(iter_events(sessions=sessions, seed=seed))


def arrivals(events: list[Event], seed: int = 3) -> list[Event]:
    """Shuffled within 60 s of event time (allowed lateness: 2 min), ~10% of
    100-event batches sent twice."""
    shuffled = loadgen.arrival_order(events, max_delay_ms=60_000, seed=seed)
    return loadgen.with_retried_batches(shuffled, batch=100, fraction=0.1, seed=seed + 1)


def replay_insights(events: list[Event], tmp_path: Path) -> list:
    store = open_store(f"duckdb:///{tmp_path}/replay-{uuid.uuid4().hex[:6]}.duckdb")
    try:
        pipeline = EmbeddedPipeline(store)
        pipeline.process(events)
        pipeline.finish()
        return insights(store)
    finally:
        store.close()


def insights(store) -> list:
    out = []
    for scope in store.scopes():
        q = resolve_query(store, org_id=scope.org_id, product_id=scope.product_id, from_text=None, to_text=None)
        out.append((scope.org_id, scope.product_id, report.overview(store, q), report.hotspots(store, q, 50)))
    return out


def store_insights(dsn: str) -> list:
    store = open_store(dsn)
    try:
        return insights(store)
    finally:
        store.close()


def assert_same_insights(got: list, want: list) -> None:
    diff = differences(got, want)
    assert not diff, "insights differ from replay:\n" + "\n".join(diff[:20])


def event_count(dsn: str) -> tuple[int, int]:
    """(rows, distinct event ids) in events_raw."""
    store = open_store(dsn)
    try:
        con = getattr(store, "con", None)
        if con is not None:
            return tuple(con.execute("SELECT count(*), count(DISTINCT (org_id, product_id, session_id, event_id)) "
                                     "FROM events_raw").fetchone())
        result = store.client.query("SELECT count(), uniqExact(org_id, product_id, session_id, event_id) "
                                    "FROM events_raw FINAL")
        return tuple(int(x) for x in result.result_rows[0])
    finally:
        store.close()


class InProcess:
    """``run(service)`` in a thread, stopped like SIGTERM would."""

    def __init__(self, service: str, settings: StreamSettings, **kwargs: Any) -> None:
        self.stop = threading.Event()
        self.stats: dict = {}
        self.thread = threading.Thread(
            target=lambda: self.stats.update(run(service, settings, self.stop, install_signals=False, **kwargs)),
            daemon=True)
        self.thread.start()

    def finish(self, timeout: float = 60) -> dict:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "processors did not stop"
        return self.stats


def spawn(service: str, settings: StreamSettings, *extra: str) -> subprocess.Popen:
    """A processor as its own process, the way it is deployed."""
    env = {**os.environ, "KAFKA_BROKERS": settings.brokers, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "frictionkit.cli.main", "process", service, "--brokers", settings.brokers,
            "--topic-prefix", settings.topics.raw[: -len("events.raw")], "--group-prefix", settings.group_prefix,
            "--store", settings.store_dsn or "", "--idle-after-ms", str(settings.idle_after_ms), *extra]
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def terminate(proc: subprocess.Popen, timeout: float = 60) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"process did not stop on SIGTERM: {err.decode()[-2000:]}")
    return err.decode()


def drained(settings: StreamSettings, timeout: float = 120) -> float:
    return wait_drained(settings, timeout)


__all__ = ["BROKERS", "InProcess", "arrivals", "drained", "event_count", "fresh_settings", "insights",
           "replay_insights", "require_broker", "assert_same_insights", "spawn", "store_insights", "terminate", "time", "traffic"]


def read_topic(settings: StreamSettings, topic: str) -> list:
    """Every message on the topic, from the beginning of each partition."""
    import time

    from frictionkit.bus import kafka

    ck = kafka.confluent()
    consumer = ck.Consumer(kafka.consumer_config(settings.brokers, f"{settings.group_prefix}reader",
                                                 **{"enable.partition.eof": True}))
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in meta.partitions])
    out, eof = [], set()
    deadline = time.monotonic() + 30
    while len(eof) < len(meta.partitions) and time.monotonic() < deadline:
        for msg in consumer.consume(100, 0.5):
            if msg.error():
                eof.add(msg.partition())
            else:
                out.append(msg)
    consumer.close()
    return out
