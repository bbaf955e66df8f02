"""Late data is never lost from the insights (docs/semantics.md, "Late events"):
agents offline for hours send their buffered sessions, each of 30 events split
over three requests seconds apart, interleaved with live traffic of the same
product. Embedded ``serve`` over HTTP, and ``serve`` on Kafka with the stream
processors, end with the same sessions as ``replay`` of the same events: all
30 events in each, same ids and numbering."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

from api_support import KEYS, auth, batch, client, event

SESSIONS_SQL = ("SELECT session_id, event_count, epoch_ms(start_ts), duration_ms, frustration_score FROM fact_sessions "
                "ORDER BY session_id")


def _offline_and_live(now_ms: int) -> tuple[list[list[dict]], list[dict]]:
    """Requests in arrival order, and every event sent."""
    requests: list[list[dict]] = []
    for agent in range(3):
        t0 = now_ms - (3 + agent) * 3_600_000  # hours old
        # Two sessions per agent key 40 min apart: the late parts must keep their numbering.
        buffered = [event(t0 + i * 1000, "click", f"screen{i % 4}", session=f"off{agent}", eventId=f"off{agent}-{i}")
                    for i in range(30)]
        buffered += [event(t0 + 40 * 60_000 + i * 1000, "click", "home", session=f"off{agent}",
                           eventId=f"off{agent}-b{i}") for i in range(30)]
        for part in range(6):
            requests.append(buffered[part * 10:(part + 1) * 10])
            live_ts = now_ms - 30_000 + agent * 6_000 + part * 1000
            requests.append([event(live_ts, "click", "home", session=f"live{agent}-{part}",
                                   eventId=f"live{agent}-{part}")])
    # A late event that joins two closed sessions, then a later session of
    # the same key: replay has two sessions, "join" (both parts and the
    # bridge) and "join#2"; the late bridge must renumber what follows.
    t0 = now_ms - 10 * 3_600_000
    part_a = [event(t0 + i * 60_000, "click", "home", session="join", eventId=f"join-a{i}") for i in range(10)]
    part_b = [event(t0 + 50 * 60_000 + i * 60_000, "click", "home", session="join", eventId=f"join-b{i}")
              for i in range(10)]
    bridge = [event(t0 + 30 * 60_000, "click", "orders", session="join", eventId="join-bridge")]
    later = [event(t0 + 3 * 3_600_000 + i * 1000, "click", "home", session="join", eventId=f"join-c{i}")
             for i in range(5)]
    for n, req in enumerate([part_a, part_b, bridge, later]):
        requests.append(req)
        requests.append([event(now_ms - 20_000 + n * 1000, "click", "home", session=f"live-j{n}-{k}",
                               eventId=f"live-j{n}-{k}") for k in range(6)])
    return requests, [ev for req in requests for ev in req]


def _replayed(tmp_path, sent: list[dict], now_ms: int) -> list[tuple]:
    path = tmp_path / "sent.jsonl"
    path.write_text("".join(json.dumps(ev) + "\n" for ev in sent))
    store = open_store(f"duckdb:///{tmp_path}/replay.duckdb")
    replay([str(path)], store, now_ms=now_ms)
    replayed = [row for row in store.con.execute(SESSIONS_SQL).fetchall() if row[0] != "after"]
    store.close()
    offline = [(row[0], row[1]) for row in replayed if row[0].startswith("off")]
    assert offline == [(f"off{a}{suffix}", 30) for a in range(3) for suffix in ("", "#2")]
    assert [(row[0], row[1]) for row in replayed if row[0].startswith("join")] == [("join", 21), ("join#2", 5)]
    return replayed


def test_buffered_sessions_hours_old_sent_in_parts_get_the_facts_replay_gives(tmp_path):
    now_ms = int(time.time() * 1000)
    requests, sent = _offline_and_live(now_ms)
    later = time.time() + 3 * 3600  # at the end every session has closed by the wall clock
    clock_s = [time.time()]
    with client(tmp_path, clock=lambda: clock_s[0]) as c:
        for req in requests:
            clock_s[0] += 2  # a few seconds apart
            r = c.post("/v1/events/batch", content=json.dumps(batch(req)).encode(),
                       headers={"Content-Type": "application/json", **auth("k-acme")})
            assert r.status_code == 200, r.text
        # Hours later by the server's clock, without a restart (a restart
        # reloads keys whose events are newer than their facts, and would
        # hide the loss): one more live event moves the watermark past all.
        clock_s[0] = later
        last = event(int(later * 1000) - 5_000, session="after", eventId="after")
        sent.append(last)
        r = c.post("/v1/events/batch", content=json.dumps(batch([last])).encode(),
                   headers={"Content-Type": "application/json", **auth("k-acme")})
        assert r.status_code == 200, r.text
        served = c.app.state.fk.access.call_sync(lambda s: s.con.execute(SESSIONS_SQL).fetchall())

    replayed = _replayed(tmp_path, sent, int(later * 1000))
    assert [row for row in served if row[0] != "after"] == replayed  # "after" is still open when served


def _wait_consuming(settings, group: str, timeout_s: float = 60) -> None:
    """Until the group has a member with its partition assigned."""
    from frictionkit.bus import kafka

    admin = kafka.admin_client(settings.brokers)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            [described] = admin.describe_consumer_groups([group]).values()
            members = described.result().members
            if members and all(m.assignment.topic_partitions for m in members):
                return
        except Exception:  # noqa: BLE001 - the group may not exist yet
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{group} did not get its partitions")


@pytest.mark.kafka
def test_the_same_requests_through_kafka_get_the_facts_replay_gives(tmp_path):
    """Three partitions, each with live traffic that moves the watermark the
    offline sessions on it are judged by; each request is consumed before the next is sent
    (a few tenths of a second apart), so the later parts really are late."""
    from test_stream_support import InProcess, drained, fresh_settings, require_broker

    from fastapi.testclient import TestClient
    from frictionkit.api.app import create_app
    from frictionkit.api.settings import resolve_settings

    require_broker()
    settings = fresh_settings(tmp_path, partitions=3)
    now_ms = int(time.time() * 1000)
    requests, sent = _offline_and_live(now_ms)
    shift_ms = [0]  # the processors' clock: real time, moved on at the end
    run = InProcess("all", settings, clock=lambda: int(time.time() * 1000) + shift_ms[0])
    try:
        _wait_consuming(settings, settings.group_id("sessionizer"))
        api = dataclasses.replace(resolve_settings(brokers=settings.brokers, api_keys=KEYS),
                                  raw_topic=settings.topics.raw, rate_per_s=0)
        with TestClient(create_app(api)) as c:
            for req in requests:
                r = c.post("/v1/events/batch", content=json.dumps(batch(req)).encode(),
                           headers={"Content-Type": "application/json", **auth("k-acme")})
                assert r.status_code == 200, r.text
                time.sleep(0.4)
        # A day and more later by the processors' clock: every session closes
        # by the idle rule and every key is past its retention, so every
        # input is committed.
        shift_ms[0] = 30 * 3_600_000
        drained(settings, timeout=120)
    finally:
        stats = run.finish()
    assert stats["sessionizer"]["late"] > 0  # the scenario did send parts after their session closed
    store = open_store(settings.store_dsn)
    served = store.con.execute(SESSIONS_SQL).fetchall()
    store.close()
    assert served == _replayed(tmp_path, sent, now_ms)
