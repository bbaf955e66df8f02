"""Faults on the real broker, each ending in the same insights as a replay:
processors SIGKILLed and restarted, a rebalance in a two-instance group, the
store away for a while, and messages no processor can use."""

from __future__ import annotations

import random
import threading
import time

import msgspec
import pytest

from frictionkit.bus.codec import bus_messages
from frictionkit.core.model import Event
from frictionkit.store import open_store
from frictionkit.store.base import StoreError
from frictionkit.stream import PROCESSORS
from frictionkit.stream.deadletter import PROCESSOR_HEADER, REASON_HEADER, header
from frictionkit.stream.lag import group_lag, total_lag
from workshop import loadgen

from test_stream_support import (InProcess, arrivals, assert_same_insights, drained, event_count, fresh_settings,
                                 read_topic, replay_insights, require_broker, spawn, store_insights, terminate, traffic)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FAST_FAILOVER = ("--session-timeout-ms", "6000")
# Keys are forgotten an hour (event time) after their last session, so
# committed offsets move during the run and a restart re-reads only part of
# the partition: the path where already-emitted sessions must be suppressed.
SHORT_RETENTION = ("--key-retention-min", "60")


def _published(tmp_path, sessions: int, seed: int, **settings_overrides):
    require_broker()
    events = traffic(sessions=sessions, seed=seed)
    settings = fresh_settings(tmp_path, **settings_overrides)
    loadgen.publish(settings.brokers, settings.topics.raw, arrivals(events, seed=seed))
    return events, settings, replay_insights(events, tmp_path)


def _wait_started(settings, processor: str, timeout: float = 60) -> None:
    """Until the group has committed something: it is consuming."""
    deadline = time.monotonic() + timeout
    first = sum(group_lag(settings, processor).values())
    while sum(group_lag(settings, processor).values()) == first:
        assert time.monotonic() < deadline, f"{processor} never committed"
        time.sleep(0.2)


def test_each_processor_sigkilled_several_times_and_restarted(tmp_path) -> None:
    """The traffic is published in ten parts, one before each kill, so every
    processor dies with work in hand (all at once, the work was sometimes done
    before the kills). The idle watermark waits 10 s: the pauses between parts
    must not close sessions whose next events are still to come."""
    require_broker()
    events = traffic(sessions=400, seed=21)
    settings = fresh_settings(tmp_path, idle_after_ms=10_000)
    expected = replay_insights(events, tmp_path)
    ordered = arrivals(events, seed=21)
    kills = 3 * len(PROCESSORS)
    parts = [ordered[i * len(ordered) // (kills + 1):(i + 1) * len(ordered) // (kills + 1)] for i in range(kills + 1)]
    loadgen.publish(settings.brokers, settings.topics.raw, parts.pop(0))
    extra = {"sessionizer": FAST_FAILOVER + SHORT_RETENTION}
    procs = {name: spawn(name, settings, *extra.get(name, FAST_FAILOVER)) for name in PROCESSORS}
    rng = random.Random(5)
    mid_run_kills = 0
    try:
        _wait_started(settings, "sessionizer")
        for _ in range(3):
            for name in rng.sample(PROCESSORS, len(PROCESSORS)):
                loadgen.publish(settings.brokers, settings.topics.raw, parts.pop(0))
                time.sleep(rng.uniform(0.2, 1.5))
                mid_run_kills += any(total_lag(settings).values())
                procs[name].kill()
                procs[name].wait()
                procs[name] = spawn(name, settings, *extra.get(name, FAST_FAILOVER))
        assert not parts
        drained(settings, timeout=240)
    finally:
        logs = {name: terminate(p) for name, p in procs.items()}
    print(mid_run_kills, *(line for log in logs.values() for line in log.splitlines() if "stopped" in line or "WARN" in line), sep="\n")
    assert mid_run_kills >= 3, "the kills all came after the work was done"
    assert all(p.returncode == 0 for p in procs.values()), logs
    assert event_count(settings.store_dsn) == (len(events), len(events))
    assert_same_insights(store_insights(settings.store_dsn), expected)


def test_two_sessionizers_in_one_group_one_killed_mid_run(tmp_path) -> None:
    events, settings, expected = _published(tmp_path, sessions=400, seed=22, partitions=6)
    args = FAST_FAILOVER + SHORT_RETENTION
    first, second = spawn("sessionizer", settings, *args), spawn("sessionizer", settings, *args)
    others = [spawn("metrics-aggregator", settings, *FAST_FAILOVER)]
    try:
        _wait_started(settings, "sessionizer")
        time.sleep(0.5)
        assert sum(group_lag(settings, "sessionizer").values()) > 0, "nothing left to rebalance"
        first.kill()
        first.wait()
        drained(settings, timeout=240)
    finally:
        logs = [terminate(p) for p in [second, *others]]
    assert all(p.returncode == 0 for p in [second, *others]), logs
    assert event_count(settings.store_dsn) == (len(events), len(events))
    assert_same_insights(store_insights(settings.store_dsn), expected)


class _StoreAway:
    """A real DuckDB store whose writes fail while ``down`` is set, as a
    server that refuses connections would; records what it was offered."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.down = threading.Event()
        self.refused = 0
        self.largest_offer = 0

    def open(self):
        if self.down.is_set():
            self.refused += 1
            raise StoreError(f"cannot open {self.dsn}: connection refused")
        outer = self
        real = open_store(self.dsn)

        class Flaky:
            def __getattr__(self, name):
                return getattr(real, name)

            def insert_events(self, events, *args, **kwargs):
                if outer.down.is_set():
                    outer.refused += 1
                    raise StoreError("connection refused")
                return real.insert_events(events, *args, **kwargs)

            def write_results(self, facts, *args, **kwargs):
                # One session per message held: the bound is in messages.
                outer.largest_offer = max(outer.largest_offer, facts.sessions)
                return real.write_results(facts, *args, **kwargs)

        return Flaky()


def test_store_away_for_a_while_retries_commits_nothing_unwritten_and_loses_nothing(tmp_path) -> None:
    events, settings, expected = _published(tmp_path, sessions=150, seed=23)
    settings = msgspec.structs.replace(settings, max_pending_messages=40, poll_batch=10,
                                       store_retry_max_s=1.0)
    store = _StoreAway(settings.store_dsn)
    store.down.set()
    upstream = [InProcess("sessionizer", settings)]
    aggregator = InProcess("metrics-aggregator", settings, store_factory=store.open)
    try:
        time.sleep(6)
        # Away: retried, nothing committed, consumption paused at the bound.
        assert store.refused >= 3
        # Once the sessionizer has emitted every session, every one of them
        # is still to be written: the aggregator committed nothing.
        deadline = time.monotonic() + 60
        while sum(group_lag(settings, "sessionizer").values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        sessions_lag = sum(v for (t, _), v in group_lag(settings, "metrics-aggregator").items()
                           if t == settings.topics.sessionized)
        assert sessions_lag >= len({ev.key for ev in events})
        store.down.clear()
        drained(settings, timeout=120)
    finally:
        stats = aggregator.finish()
        for p in upstream:
            p.finish()
    assert store.largest_offer <= settings.max_pending_messages + 2 * settings.poll_batch
    assert stats["metrics-aggregator"]["writes"] > 0
    assert event_count(settings.store_dsn) == (len(events), len(events))
    assert_same_insights(store_insights(settings.store_dsn), expected)


def test_unusable_messages_go_to_the_deadletter_and_processing_goes_on(tmp_path) -> None:
    events, settings, expected = _published(tmp_path, sessions=40, seed=24)
    # Batches as serve writes them are all or nothing: the good event next to a
    # bad one must not reach events_raw (nor a session) through any processor.
    [(_, good)] = bus_messages([Event("stray-1", events[0].org_id, events[0].product_id, "stray", "u",
                                      events[0].ts_ms, "click", "home", "/", "desktop")])
    garbage = [b"not json", b'{"orgId": "a"}', b"\xff\xfe", good[:-2] + b',{"orgId": 3}]}',
               b'{"batch":{},"events":[]}']
    loadgen.publish_raw(settings.brokers, settings.topics.raw, garbage)
    loadgen.publish_raw(settings.brokers, settings.topics.sessionized, [b'{"v": 1}'])
    run = InProcess("all", settings)
    try:
        drained(settings, timeout=120)
    finally:
        stats = run.finish()
    assert stats["sessionizer"]["deadletters"] == 5
    # The aggregator reads events.sessionized, not events.raw.
    assert stats["metrics-aggregator"]["deadletters"] == 1
    letters = read_topic(settings, settings.topics.deadletter)
    by_processor: dict[str, list] = {}
    for msg in letters:
        by_processor.setdefault(header(msg, PROCESSOR_HEADER), []).append(msg)
    assert sorted(m.value() for m in by_processor["sessionizer"]) == sorted(garbage)
    assert all(header(m, REASON_HEADER) for m in letters)
    reasons = {m.value(): header(m, REASON_HEADER) for m in by_processor["sessionizer"]}
    assert all("contract" in reason for reason in reasons.values())
    assert "event 1: orgId" in reasons[garbage[3]] and "without events" in reasons[garbage[4]]
    assert event_count(settings.store_dsn) == (len(events), len(events))
    assert_same_insights(store_insights(settings.store_dsn), expected)
