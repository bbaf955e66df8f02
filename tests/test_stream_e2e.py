"""End to end on the real broker: events POSTed to `serve` in 100-event batches
(arrival shuffled within the allowed lateness, some batches sent twice),
through Kafka and the three processors into DuckDB and into ClickHouse (chdb):
the insights equal a replay of the same events."""

from __future__ import annotations

import warnings

import msgspec
import pytest

from frictionkit.bus import kafka
from frictionkit.store import open_store
from frictionkit.stream import Topics
from frictionkit.stream.codec import decode_incident

from test_stream_support import (InProcess, assert_same_insights, arrivals, drained, event_count, fresh_settings, read_topic,
                                 replay_insights, require_broker, store_insights, traffic)

pytestmark = pytest.mark.kafka


def post_through_serve(settings, events) -> int:
    """Every batch through the real ingestion app, which publishes to the test's events.raw."""
    import dataclasses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from frictionkit.api.app import create_app
    from frictionkit.api.settings import resolve_settings
    from frictionkit.bus.codec import event_to_bus_json

    api = dataclasses.replace(resolve_settings(brokers=settings.brokers, api_keys="k-stream"),
                              raw_topic=settings.topics.raw, rate_per_s=0)
    accepted = 0
    with TestClient(create_app(api)) as client:
        for i in range(0, len(events), 100):
            wire = []
            for ev in events[i : i + 100]:
                body = msgspec.json.decode(event_to_bus_json(ev))
                for server_field in ("receivedAt", "agentId", "sdkVersion"):
                    body.pop(server_field, None)
                wire.append(body)
            resp = client.post("/v1/events/batch", json={"agentId": "agent-e2e", "sdkVersion": "1.0", "events": wire},
                               headers={"Authorization": "Bearer k-stream"})
            assert resp.status_code == 200, resp.text
            assert resp.json()["rejected"] == 0, resp.text
            accepted += resp.json()["accepted"]
    return accepted


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    require_broker()
    tmp = tmp_path_factory.mktemp("e2e")
    events = traffic(sessions=100, seed=11)
    settings = fresh_settings(tmp)
    sent = arrivals(events)
    assert post_through_serve(settings, sent) == len(sent) > len(events)
    return events, settings, replay_insights(events, tmp)


def test_through_kafka_into_duckdb_equals_replay(published) -> None:
    events, settings, expected = published
    run = InProcess("all", settings)
    try:
        drained(settings, timeout=120)
    finally:
        stats = run.finish()
    assert stats["sessionizer"]["late"] == 0
    assert stats["sessionizer"]["duplicates"] > 0
    # events.incidents is the projection of the facts: the same incidents, once each.
    on_topic = [decode_incident(m.value()).incident_id for m in read_topic(settings, settings.topics.incidents)]
    store = open_store(settings.store_dsn)
    stored = [row[0] for row in store.con.execute("SELECT incident_id FROM fact_incidents").fetchall()]
    store.close()
    assert stats["metrics-aggregator"]["incidents"] == len(on_topic) > 0
    assert sorted(on_topic) == sorted(stored)
    assert event_count(settings.store_dsn) == (len(events), len(events))
    assert_same_insights(store_insights(settings.store_dsn), expected)


def test_through_kafka_into_chdb_equals_replay(published, tmp_path) -> None:
    events, first, expected = published
    pytest.importorskip("chdb")
    # The same events.raw, read again by groups and derived topics of its own.
    own = fresh_settings(tmp_path, store="chdb")
    settings = msgspec.structs.replace(own, topics=Topics(first.topics.raw, own.topics.sessionized,
                                                          own.topics.incidents, own.topics.deadletter))
    run = InProcess("all", settings)
    try:
        drained(settings, timeout=120)
    finally:
        run.finish()
    assert event_count(settings.store_dsn) == (len(events), len(events))
    assert_same_insights(store_insights(settings.store_dsn), expected)


def test_topics_exist_with_the_layout_asked(published) -> None:
    _, settings, _ = published
    meta = kafka.admin_client(settings.brokers).list_topics(timeout=10)
    for name in settings.topics.all():
        assert len(meta.topics[name].partitions) == 3
