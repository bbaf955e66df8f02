"""The PostHog capture routes in-process (embedded mode), with the bodies the
real posthog-js produced (fixtures/posthog/): every route and body shape,
the tokens, the limits, 503 when the store is down, dedup by uuid, CORS, and
the start-up calls answered "no flags, no remote config"."""

from __future__ import annotations

import gzip
import json

import pytest

from frictionkit.api.auth import KeyConfigError, load_keys_file
from frictionkit.api.settings import resolve_settings
from frictionkit.core.contract import format_ts_ms, parse_ts_ms

from api_support import KEYS, auth, client
from posthog_support import TOKEN, fixture, fixture_names, plain_batch

TOKENS = f"{KEYS},posthog:{TOKEN}:acme:shop,posthog:phc_globex:globex:web"
CAPTURE_ROUTES = ["/e/", "/e", "/i/v0/e/", "/capture/", "/track/", "/batch/", "/batch"]


def ph_client(tmp_path, fixture_name: str | None = "gzip_clicks_navigation", **overrides):
    """A client whose clock reads 40 ms after the fixture was sent (so stored
    timestamps are the SDK's own)."""
    if fixture_name is not None:
        sent_at_ms = parse_ts_ms(plain_batch(fixture_name)["sent_at"])
        overrides.setdefault("clock", lambda: (sent_at_ms + 40) / 1000)
    return client(tmp_path, api_keys=overrides.pop("api_keys", TOKENS), **overrides)


def send(c, name: str, path: str | None = None, **headers):
    doc = fixture(name)
    target = (path or doc["path"]) + (f"?{doc['query']}" if doc["query"] else "")
    return c.post(target, content=doc["body"], headers={"Content-Type": doc["content_type"], **headers})


def rows(c, sql: str):
    return c.app.state.fk.access.call_sync(lambda s: s.con.execute(sql).fetchall())


def expected_mapped(name: str) -> list[dict]:
    return [e for e in plain_batch(name)["batch"] if e["event"] not in ("$rageclick",)]


@pytest.mark.parametrize("name", fixture_names())
def test_each_recorded_body_is_stored_with_the_sdk_ids_and_times(tmp_path, name):
    twin = "json_clicks_navigation" if name == "lz64_form_array" else name
    with ph_client(tmp_path, twin) as c:
        r = send(c, name)
        assert r.status_code == 200, r.text
        want = expected_mapped(twin)
        assert r.json()["accepted"] == len(want) and r.json()["errors"] == []
        got = rows(c, "SELECT event_id, org_id, product_id, session_id FROM events_raw ORDER BY ts, event_id")
        assert sorted(g[0] for g in got) == sorted(e["uuid"] for e in want)
        assert {g[1:] for g in got} == {("acme", "shop", want[0]["properties"]["$session_id"])}
        stamps = {g[0] for g in rows(c, "SELECT epoch_ms(ts) FROM events_raw")}
        assert stamps == {parse_ts_ms(e["timestamp"]) for e in want}


@pytest.mark.parametrize("path", CAPTURE_ROUTES)
def test_every_capture_route_takes_the_sdk_body(tmp_path, path):
    with ph_client(tmp_path) as c:
        r = send(c, "gzip_clicks_navigation", path)
        assert r.status_code == 200 and r.json()["accepted"] == 8
        assert r.json()["dropped"] == [{"event": "$rageclick", "count": 1,
                                        "reason": "rage clicks are detected by frictionkit from the $autocapture clicks"}]
        assert rows(c, "SELECT count(*) FROM events_raw") == [(8,)]


def test_uuid_dedup_across_retries_and_encodings(tmp_path):
    with ph_client(tmp_path, "json_clicks_navigation") as c:
        # The SDK retries the same request; an older SDK would send the same events as lz64.
        for name in ("json_clicks_navigation", "json_clicks_navigation", "lz64_form_array"):
            assert send(c, name).json()["accepted"] == 8
        again = gzip.compress(fixture("json_clicks_navigation")["body"])
        assert c.post("/e/?compression=gzip-js", content=again, headers={"Content-Type": "text/plain"}).status_code == 200
        assert rows(c, "SELECT count(*), count(DISTINCT event_id) FROM events_raw") == [(8, 8)]
        assert rows(c, "SELECT event_count FROM fact_sessions") in ([], [(8,)])


def test_server_library_shapes_single_event_batch_and_token_in_query(tmp_path):
    with ph_client(tmp_path, None, clock=lambda: 1_796_283_800.0) as c:
        ev = {"event": "$pageview", "distinct_id": "user@example.com", "uuid": "one",
              "properties": {"$session_id": "srv", "$current_url": "https://shop.example/cart?secret=1"},
              "timestamp": "2026-12-03T07:00:00.000Z"}
        single = c.post("/capture/", json={**ev, "api_key": TOKEN})
        assert single.status_code == 200 and single.json()["accepted"] == 1
        many = [{**ev, "uuid": f"b{i}", "timestamp": format_ts_ms(parse_ts_ms(ev["timestamp"]) + i)} for i in range(1500)]
        big = c.post("/batch/", content=gzip.compress(json.dumps({"api_key": TOKEN, "batch": many,
                                                                  "historical_migration": False}).encode()),
                     headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert big.status_code == 200 and big.json()["accepted"] == 1500  # over the contract's 1000 per batch
        by_query = c.post(f"/e/?token={TOKEN}", json=[{**ev, "uuid": "q"}])
        assert by_query.status_code == 200 and by_query.json()["accepted"] == 1
        (route, user), = rows(c, "SELECT DISTINCT route, user_hash FROM events_raw")
        assert route == "/cart" and "example.com" not in user  # no query string, no raw distinct_id


def test_tokens_are_their_own_kind(tmp_path):
    with ph_client(tmp_path) as c:
        body = fixture("json_exception")
        assert c.post("/e/", content=body["body"].replace(TOKEN.encode(), b"phc_nobody"),
                      headers={"Content-Type": "application/json"}).status_code == 401
        no_token = c.post("/e/", json={"batch": [{"event": "$pageview", "properties": {}}]})
        assert no_token.status_code == 401 and "project token" in no_token.json()["errors"][0]
        # An API key is no project token, and a project token is no API key.
        assert c.post("/e/?token=k-acme", json={"batch": []}).status_code == 401
        assert c.post("/v1/events/batch", json={}, headers=auth(TOKEN)).status_code == 401
        assert c.get("/v1/sessions", params={"orgId": "acme"}, headers=auth(TOKEN)).status_code == 401
        # The token decides the org and product; the other token's events go to its own.
        glob = json.loads(body["body"])
        glob["api_key"] = "phc_globex"
        for ev in glob["batch"]:
            ev["properties"]["token"] = "phc_globex"
        assert c.post("/e/", json=glob).json()["accepted"] == 1
        assert rows(c, "SELECT org_id, product_id FROM events_raw") == [("globex", "web")]


def test_events_with_another_token_are_dropped_not_stored(tmp_path):
    with ph_client(tmp_path, "json_exception") as c:
        doc = json.loads(fixture("json_exception")["body"])
        doc["batch"].append({**doc["batch"][0], "uuid": "x", "properties": {**doc["batch"][0]["properties"],
                                                                             "token": "phc_globex"}})
        r = c.post("/e/", json=doc)
        assert r.json()["accepted"] == 1
        assert r.json()["dropped"][0]["reason"] == "the event's token differs from the request's"


def test_unused_and_invalid_events_get_200_with_reasons(tmp_path):
    with ph_client(tmp_path, "json_exception") as c:
        doc = json.loads(fixture("json_exception")["body"])
        good = doc["batch"][0]
        future = {**good, "uuid": "f", "timestamp": format_ts_ms(parse_ts_ms(good["timestamp"]) + 3_600_000)}
        doc["batch"] = [{**good, "event": "$identify", "uuid": "i"}, {**good, "event": "checkout", "uuid": "c"},
                        future, good]
        r = c.post("/e/", json=doc)
        assert r.status_code == 200
        body = r.json()
        assert (body["status"], body["accepted"], body["rejected"]) == ("partial", 1, 1)
        assert body["errors"][0].startswith("Event 2: ") and "future" in body["errors"][0]  # the SDK's index
        assert {d["event"] for d in body["dropped"]} == {"$identify", "checkout"}
        only_unused = c.post("/e/", json={**doc, "batch": doc["batch"][:2]}).json()
        assert (only_unused["status"], only_unused["accepted"]) == ("ok", 0)


def test_limits_2_mib_per_event_route_20_mib_on_batch_and_decompression(tmp_path):
    with ph_client(tmp_path) as c:
        three_mib = json.dumps({"api_key": TOKEN, "batch": [{"event": "x", "properties": {"pad": "p" * (3 << 20)}}]})
        assert c.post("/e/", content=three_mib, headers={"Content-Type": "application/json"}).status_code == 413
        ok = c.post("/batch/", content=three_mib, headers={"Content-Type": "application/json"})
        assert ok.status_code == 200 and ok.json()["dropped"][0]["event"] == "x"
        assert c.post("/batch/", content=b"x", headers={"Content-Length": str(21 << 20)}).status_code == 413
        bomb = gzip.compress(b"[" + b" " * (30 << 20) + b"]")
        assert len(bomb) < (2 << 20)
        r = c.post("/batch/", content=bomb, headers={"Content-Type": "text/plain"})
        assert r.status_code == 413 and "after decompression" in r.json()["errors"][0]
        assert c.post("/e/", content=b"{}", headers={"Content-Encoding": "br"}).status_code == 415
        bad = c.post("/e/", content=b"<html>", headers={"Content-Type": "text/plain"})
        assert bad.status_code == 400 and bad.json()["errors"][0].startswith("malformed request: body is not JSON")


def test_503_with_retry_after_when_the_store_fails_then_the_retry_counts_once(tmp_path):
    with ph_client(tmp_path) as c:
        def broken(_events):
            raise RuntimeError("disk full")

        c.app.state.fk.access.call_sync(lambda s: setattr(s, "insert_events", broken))
        r = send(c, "gzip_clicks_navigation")
        assert r.status_code == 503 and r.headers["retry-after"] == "5" and r.json()["accepted"] == 0
        c.app.state.fk.access.call_sync(lambda s: s.__dict__.pop("insert_events"))
        assert send(c, "gzip_clicks_navigation").status_code == 200
        assert send(c, "gzip_clicks_navigation").status_code == 200
        assert rows(c, "SELECT count(*) FROM events_raw") == [(8,)]


def test_rate_limit_per_token_asks_the_sdk_to_retry(tmp_path):
    with ph_client(tmp_path) as c:
        from frictionkit.api.ratelimit import RateLimiter

        c.app.state.fk.limiter = RateLimiter(0.001, 10)
        assert send(c, "gzip_clicks_navigation").status_code == 200  # 9 events
        r = send(c, "gzip_clicks_navigation")
        # 503, not 429: posthog-js drops a batch on any 4xx, and retries a 5xx after Retry-After.
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert r.json()["errors"] == ["rate limit exceeded for this project token"]


def test_cors_for_configured_origins_only(tmp_path):
    with ph_client(tmp_path, cors_origins=("https://shop.example",)) as c:
        pre = c.options("/e/", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://shop.example"
        r = send(c, "json_exception", Origin="https://shop.example")
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://shop.example"
        other = c.options("/e/", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers


def test_start_up_calls_say_no_flags_and_no_remote_config(tmp_path):
    with ph_client(tmp_path) as c:
        for method, path in (("POST", "/flags/?v=2&config=true"), ("GET", "/flags"), ("POST", "/decide/?v=3")):
            r = c.request(method, path, content=b"data=eyJ0b2tlbiI6InBoY18ifQ%3D%3D")
            body = r.json()
            assert r.status_code == 200 and body["flags"] == {} and body["featureFlags"] == {}
            assert body["sessionRecording"] is False and body["autocapture_opt_out"] is False
        config = c.get(f"/array/{TOKEN}/config").json()
        assert config["token"] == TOKEN and config["supportedCompression"] == ["gzip-js"]
        assert "autocaptureExceptions" not in config and "captureDeadClicks" not in config  # the SDK's own settings
        script = c.get(f"/array/{TOKEN}/config.js")
        assert script.headers["content-type"].startswith("application/javascript")
        assert f'window._POSTHOG_REMOTE_CONFIG["{TOKEN}"]' in script.text
        assert c.get("/array/<script>/config.js").status_code == 404


def test_project_tokens_from_env_and_keys_file(tmp_path, monkeypatch):
    monkeypatch.delenv("API_KEYS", raising=False)
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [
        {"posthog_token": "phc_file", "org": "acme", "product": "crm", "name": "crm web"},
        {"key": "k-read", "orgs": ["acme"], "scopes": ["read"]}]}))
    s = resolve_settings(api_keys="posthog:phc_env:globex:web", keys_file=str(tmp_path / "keys.json"))
    file_token = s.posthog_tokens.authenticate("phc_file")
    assert (file_token.orgs, file_token.product, file_token.scopes, file_token.name) == (
        {"acme"}, "crm", {"ingest"}, "crm web")
    assert s.posthog_tokens.authenticate("phc_env").product == "web"
    assert s.keys.authenticate("phc_file") is None and s.posthog_tokens.authenticate("k-read") is None
    assert s.dev_key is None  # a read key is configured
    for bad in ("posthog:phc", "posthog:phc:acme", "posthog:phc:acme:"):
        with pytest.raises(KeyConfigError, match="posthog:TOKEN:ORG:PRODUCT"):
            resolve_settings(api_keys=bad)
    (tmp_path / "bad.json").write_text(json.dumps({"keys": [{"posthog_token": "phc", "org": "acme",
                                                             "scopes": ["read"]}]}))
    with pytest.raises(KeyConfigError, match="unknown field 'scopes' for a PostHog project token"):
        load_keys_file(str(tmp_path / "bad.json"))
    with pytest.raises(KeyConfigError, match="configured twice"):
        resolve_settings(api_keys="posthog:same:a:b,same")
