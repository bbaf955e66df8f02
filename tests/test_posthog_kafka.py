"""The PostHog capture routes in distributed mode, on the real broker: 200
only once the mapped events are on events.raw (as our own batch route), with
the SDK's uuids as event ids; a dead broker gives 503 with Retry-After."""

from __future__ import annotations

import socket
import uuid

import pytest

from frictionkit.bus import kafka
from frictionkit.core.contract import decode_bus_message

from posthog_support import plain_batch
from test_api_kafka import _consume, brokers  # noqa: F401 - the fixture
from test_posthog_api import ph_client, send

pytestmark = pytest.mark.kafka


def test_capture_routes_publish_before_200(brokers, tmp_path):  # noqa: F811
    topic = f"test.posthog.{uuid.uuid4().hex[:12]}"
    kafka.create_topics(brokers, partitions=1, topics=[topic])
    with ph_client(tmp_path, brokers=brokers, raw_topic=topic, delivery_timeout_ms=10_000) as c:
        gz = send(c, "gzip_clicks_navigation", "/i/v0/e/")
        assert gz.status_code == 200 and gz.json()["accepted"] == 8
        form = send(c, "base64_form_clicks", "/batch/")
        assert form.status_code == 200 and form.json()["accepted"] == 8
    messages = _consume(brokers, topic, 2)
    assert len(messages) == 2 and {m.key() for m in messages} == {b"acme:shop"}
    got = sorted(e.event_id for m in messages for e in decode_bus_message(m.value()))
    want = sorted(e["uuid"] for name in ("gzip_clicks_navigation", "base64_form_clicks")
                  for e in plain_batch(name)["batch"] if e["event"] != "$rageclick")
    assert got == want
    first = decode_bus_message(messages[0].value())[0]
    assert (first.agent_id, first.sdk_version, first.org_id, first.product_id) == ("posthog-web", "1.449.2", "acme", "shop")


def test_a_dead_broker_gives_503_so_the_sdk_retries(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    with ph_client(tmp_path, "json_exception", brokers=dead, delivery_timeout_ms=1500) as c:
        r = send(c, "json_exception")
        assert r.status_code == 503 and r.headers["retry-after"] == "5" and r.json()["accepted"] == 0
