"""API key formats, the rate limiter, and the bus format round trip."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frictionkit.api.auth import KeyConfigError, KeyRing, bearer_token, load_keys_file, parse_api_keys
from frictionkit.api.ratelimit import RateLimiter
from frictionkit.api.settings import redact_dsn, resolve_settings
from frictionkit.bus.codec import bus_key, event_to_bus_json
from frictionkit.core.batch import decode_batch
from frictionkit.core.contract import decode_event_line
from frictionkit.core.model import Event


def test_api_keys_env_format():
    ring = KeyRing(parse_api_keys(" plain , k2:acme , k3:acme|globex:read , k4:*:ingest+read,"))
    plain, k2, k3, k4 = (ring.authenticate(k) for k in ("plain", "k2", "k3", "k4"))
    assert plain.orgs is None and plain.scopes == {"ingest", "read"}
    assert k2.orgs == {"acme"} and k2.scopes == {"ingest", "read"}
    assert k3.orgs == {"acme", "globex"} and k3.scopes == {"read"}
    assert k4.orgs is None and k4.permits_org("anything")
    assert ring.authenticate("k5") is None and ring.authenticate("") is None and ring.authenticate(None) is None
    assert all(len(k.digest) == 32 for k in ring.keys)  # only digests are kept
    for bad in ("k:acme:write", "k:a:b:c", ":acme", "k:"):
        with pytest.raises(KeyConfigError):
            parse_api_keys(bad)
    with pytest.raises(KeyConfigError):
        KeyRing(parse_api_keys("same,same"))


def test_keys_files_json_and_toml(tmp_path):
    digest = hashlib.sha256(b"hashed-key").hexdigest()
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [
        {"key": "k1", "orgs": ["acme"], "scopes": ["read"], "name": "dashboard"},
        {"sha256": digest, "orgs": "*"},
    ]}))
    (tmp_path / "keys.toml").write_text('[[keys]]\nkey = "k2"\norgs = ["acme", "globex"]\nscopes = ["ingest"]\n')
    ring = KeyRing(load_keys_file(str(tmp_path / "keys.json")) + load_keys_file(str(tmp_path / "keys.toml")))
    assert ring.authenticate("k1").name == "dashboard" and ring.authenticate("k1").scopes == {"read"}
    assert ring.authenticate("hashed-key").orgs is None
    assert ring.authenticate("k2").orgs == {"acme", "globex"} and ring.authenticate("k2").scopes == {"ingest"}
    (tmp_path / "bad.json").write_text('{"keys": [{"key": "k", "org": "acme"}]}')
    with pytest.raises(KeyConfigError, match="unknown field 'org'"):
        load_keys_file(str(tmp_path / "bad.json"))
    with pytest.raises(KeyConfigError, match="cannot read"):
        load_keys_file(str(tmp_path / "missing.json"))


def test_no_keys_means_a_generated_dev_key(monkeypatch):
    monkeypatch.delenv("API_KEYS", raising=False)
    s = resolve_settings()
    assert s.dev_key and s.keys.authenticate(s.dev_key).scopes == {"ingest", "read"}
    assert resolve_settings().dev_key != s.dev_key
    monkeypatch.setenv("API_KEYS", "k:acme")
    monkeypatch.setenv("PORT", "9123")
    s = resolve_settings()
    assert s.dev_key is None and s.port == 9123 and s.mode == "embedded"
    assert resolve_settings(brokers="b:9092").mode == "distributed"


def test_bearer_parsing_and_dsn_redaction():
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token(None, "xyz") == "xyz"
    assert redact_dsn("clickhouse://u:secret@h:8123/db") == "clickhouse://u:***@h:8123/db"
    assert redact_dsn("duckdb:///f.duckdb") == "duckdb:///f.duckdb"


def test_token_bucket():
    now = [0.0]
    limiter = RateLimiter(10, 20, clock=lambda: now[0])
    assert limiter.take("a", 15) == 0
    assert limiter.take("a", 10) == 1  # 5 left, 5 missing at 10/s
    assert limiter.check("a") == 0
    now[0] += 0.5
    assert limiter.take("a", 10) == 0
    assert limiter.check("a") == 1 and limiter.take("b", 5000) == 0  # capped at the burst
    assert RateLimiter(0, 0).take("a", 10**6) == 0


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    ids=st.tuples(names, names, names, names),
    ts=st.integers(0, 4_000_000_000_000),
    latency=st.none() | st.floats(0, 1e9, allow_nan=False),
    extra=st.none() | st.dictionaries(names, st.none() | st.booleans() | st.integers(-2**53, 2**53) | names, min_size=1, max_size=4),
    optional=st.none() | names,
)
def test_bus_format_round_trips_through_the_contract(ids, ts, latency, extra, optional):
    ev = Event(event_id=ids[0], org_id=ids[1], product_id=ids[2], session_id=ids[3], user_hash="u", ts_ms=ts,
               event_type="click", screen_id="s", route="/r", device_type="tablet", app_name=optional,
               element_type=optional, element_label_hash=optional, error_code=optional, os=optional, browser=optional,
               latency_ms=latency, extra=extra, received_at_ms=ts + 5, agent_id="agent", sdk_version="1.0")
    assert decode_event_line(event_to_bus_json(ev), now_ms=None) == ev


def test_an_ingested_event_round_trips_with_its_server_fields():
    body = {"agentId": "a-7", "sdkVersion": "2.0", "events": [{
        "orgId": "acme", "productId": "crm", "sessionId": "s", "userHash": "u", "ts": "2026-11-27T10:00:00.123+02:00",
        "eventType": "custom", "screenId": "home", "route": "/", "deviceType": "desktop",
        "extra": {"task_name": "t", "action": "start"}, "latencyMs": 12.5}]}
    (ev,) = decode_batch(json.dumps(body).encode(), received_at_ms=1_795_773_600_000).accepted
    wire = json.loads(event_to_bus_json(ev))
    assert wire["eventId"] == ev.event_id and wire["agentId"] == "a-7" and wire["sdkVersion"] == "2.0"
    assert wire["ts"] == "2026-11-27T08:00:00.123Z" and wire["receivedAt"] == "2026-11-27T10:00:00.000Z"
    assert decode_event_line(event_to_bus_json(ev), now_ms=None) == ev
    assert bus_key(ev) == b"acme:crm" and bus_key(ev, with_session=True) == b"acme:crm:s"
