"""POST /v1/events/batch in embedded mode: every response code of SPEC §3."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from api_support import auth, batch, client, event, past_ms, session_events


def stored(c, sql: str = "SELECT count(*) FROM events_raw"):
    return c.app.state.fk.access.call_sync(lambda s: s.con.execute(sql).fetchall())


def post(c, body, key="k-acme", **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return c.post("/v1/events/batch", content=data,
                  headers={"Content-Type": "application/json", **auth(key), **headers})


def test_200_means_stored_before_the_response(tmp_path):
    with client(tmp_path) as c:
        events = session_events(past_ms())
        r = post(c, batch(events))
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "accepted": len(events), "rejected": 0, "errors": []}
        assert stored(c) == [(len(events),)]
        # Sessions this old are closed by the wall-clock watermark in the same transaction.
        assert stored(c, "SELECT session_id, event_count FROM fact_sessions") == [("s1", len(events))]
        # A retried batch is not counted twice.
        assert post(c, batch(events)).status_code == 200
        assert stored(c) == [(len(events),)]


def test_invalid_and_foreign_org_events_are_rejected_one_by_one(tmp_path):
    with client(tmp_path) as c:
        t0 = past_ms()
        events = [event(t0), event(t0 + 1, org="globex"), {**event(t0 + 2), "password": "x"}, event(t0 + 3)]
        r = post(c, batch(events))
        assert r.status_code == 200
        body = r.json()
        assert (body["status"], body["accepted"], body["rejected"]) == ("partial", 2, 2)
        assert body["errors"][0] == "Event 1: orgId 'globex' is not permitted for this API key"
        assert body["errors"][1].startswith("Event 2: ") and "password" in body["errors"][1]
        only_foreign = post(c, batch([event(t0, org="globex")])).json()
        assert (only_foreign["status"], only_foreign["accepted"]) == ("rejected", 0)
        assert stored(c) == [(2,)]


@pytest.mark.parametrize("body", [b"not json", b"{}", json.dumps(batch([])).encode(),
                                  json.dumps({"sdkVersion": "1", "events": [{}]}).encode()])
def test_400_for_a_malformed_batch(tmp_path, body):
    with client(tmp_path) as c:
        r = post(c, body)
        assert r.status_code == 400
        assert r.json()["status"] == "error" and r.json()["accepted"] == 0 and r.json()["errors"]


def test_400_for_more_than_1000_events(tmp_path):
    with client(tmp_path) as c:
        assert post(c, batch([event(past_ms())] * 1001)).status_code == 400


def test_401_without_or_with_an_unknown_key_and_403_without_ingest_scope(tmp_path):
    with client(tmp_path) as c:
        body = json.dumps(batch([event(past_ms())])).encode()
        assert c.post("/v1/events/batch", content=body, headers={"Content-Type": "application/json"}).status_code == 401
        r = post(c, body, key="nope")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert set(r.json()) == {"status", "accepted", "rejected", "errors"}
        assert post(c, body, key="k-ro").status_code == 403
        assert c.post("/v1/events/batch", content=body,
                      headers={"Content-Type": "application/json", "X-API-Key": "k-acme"}).status_code == 200


def test_415_for_another_content_type_or_encoding(tmp_path):
    with client(tmp_path) as c:
        body = json.dumps(batch([event(past_ms())])).encode()
        assert post(c, body, **{"Content-Type": "text/plain"}).status_code == 415
        assert post(c, body, **{"Content-Encoding": "br"}).status_code == 415
        assert post(c, body, **{"Content-Type": "application/json; charset=utf-8"}).status_code == 200


def test_gzip_is_accepted_and_a_gzip_bomb_is_413(tmp_path):
    with client(tmp_path) as c:
        events = session_events(past_ms())
        r = post(c, gzip.compress(json.dumps(batch(events)).encode()), **{"Content-Encoding": "gzip"})
        assert r.status_code == 200 and r.json()["accepted"] == len(events)
        bomb = gzip.compress(b"[" + b" " * (6 * 1024 * 1024) + b"]", compresslevel=9)
        assert len(bomb) < 64 * 1024
        r = post(c, bomb, **{"Content-Encoding": "gzip"})
        assert r.status_code == 413 and r.json()["status"] == "error"
        assert post(c, b"\x1f\x8b not gzip", **{"Content-Encoding": "gzip"}).status_code == 400


def test_413_by_declared_length_by_actual_size_and_when_the_length_lies(tmp_path):
    with client(tmp_path, max_body_bytes=64 * 1024) as c:
        big = json.dumps(batch([event(past_ms(), screen="x" * 200)] * 400)).encode()
        assert len(big) > 64 * 1024
        assert post(c, big).status_code == 413

        def chunks():  # no Content-Length at all: the cap counts what arrives
            for i in range(0, len(big), 8192):
                yield big[i:i + 8192]

        r = c.post("/v1/events/batch", content=chunks(), headers={"Content-Type": "application/json", **auth("k-acme")})
        assert r.status_code == 413
        r = post(c, big, **{"Content-Length": "100"})
        assert r.status_code in (400, 413)
        assert post(c, b"{}", **{"Content-Length": "9" * 30}).status_code == 413
        assert stored(c) == [(0,)]


def test_429_with_retry_after_when_the_key_exceeds_its_rate(tmp_path):
    with client(tmp_path, rate_per_s=1.0, rate_burst=15) as c:
        events = session_events(past_ms())  # 11 events
        assert post(c, batch(events)).status_code == 200
        r = post(c, batch(events))
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["accepted"] == 0
        # Another key has its own bucket.
        assert post(c, batch([event(past_ms(), org="globex")]), key="k-globex").status_code == 200


def test_503_and_nothing_acknowledged_when_the_store_fails(tmp_path):
    with client(tmp_path) as c:
        sink = c.app.state.fk.sink

        def broken(_events):
            raise RuntimeError("disk full")

        c.app.state.fk.access.call_sync(lambda s: setattr(s, "insert_events", broken))
        r = post(c, batch(session_events(past_ms())))
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"
        assert r.json() == {"status": "error", "accepted": 0, "rejected": 0, "errors": ["the store is unavailable"]}
        c.app.state.fk.access.call_sync(lambda s: s.__dict__.pop("insert_events"))
        assert post(c, batch(session_events(past_ms()))).status_code == 200
        assert sink._pipeline is not None


def test_sent_at_skew_is_corrected_with_the_server_clock(tmp_path):
    with client(tmp_path) as c:
        now = int(time.time() * 1000)
        agent_now = now - 3_600_000  # the agent's clock is an hour behind
        r = post(c, batch([event(agent_now - 60_000)], sentAt=_ts(agent_now)))
        assert r.status_code == 200
        (ts_ms,), = stored(c, "SELECT epoch_ms(ts) FROM events_raw")
        assert abs(ts_ms - (now - 60_000)) < 5_000
        assert post(c, batch([event(now + 3_600_000)])).json()["rejected"] == 1  # > 10 min ahead


def test_sent_at_is_optional_and_without_it_ts_is_taken_as_sent(tmp_path):
    # docs/contract.md: sentAt absent or null -> accepted, no skew correction; only an invalid one is 400.
    with client(tmp_path) as c:
        sent_ms = int(time.time() * 1000) - 3_600_000
        absent = event(sent_ms, session="absent")
        null = event(sent_ms + 1000, session="null")
        assert post(c, batch([absent])).json() == {"status": "ok", "accepted": 1, "rejected": 0, "errors": []}
        assert post(c, batch([null], sentAt=None)).json()["accepted"] == 1
        rows = stored(c, "SELECT session_id, epoch_ms(ts) FROM events_raw ORDER BY session_id")
        assert [tuple(r) for r in rows] == [("absent", sent_ms), ("null", sent_ms + 1000)]
        bad = post(c, batch([event(sent_ms)], sentAt="yesterday"))
        assert bad.status_code == 400 and "sentAt" in bad.json()["errors"][0]


def _ts(ms: int) -> str:
    from frictionkit.core.contract import format_ts_ms

    return format_ts_ms(ms)


def test_open_sessions_survive_a_restart_and_close_by_the_wall_clock(tmp_path):
    recent = int(time.time() * 1000) - 60_000
    with client(tmp_path) as c:
        assert post(c, batch(session_events(recent))).status_code == 200
        assert stored(c, "SELECT count(*) FROM fact_sessions") == [(0,)]  # still open
    # An hour later (by the server's clock) the key is never seen again: the
    # startup step reloads it and the watermark closes it.
    later = time.time() + 3600
    with client(tmp_path, clock=lambda: later) as c:
        assert stored(c, "SELECT session_id, event_count FROM fact_sessions") == [("s1", 11)]


def test_the_watermark_task_closes_idle_sessions(tmp_path):
    clock = {"now": time.time()}
    with client(tmp_path, clock=lambda: clock["now"], watermark_interval_s=0.02) as c:
        assert post(c, batch(session_events(int(clock["now"] * 1000) - 60_000))).status_code == 200
        assert stored(c, "SELECT count(*) FROM fact_sessions") == [(0,)]
        clock["now"] += 3600
        deadline = time.time() + 5
        while stored(c, "SELECT count(*) FROM fact_sessions") == [(0,)] and time.time() < deadline:
            time.sleep(0.02)
        assert stored(c, "SELECT count(*) FROM fact_sessions") == [(1,)]


def test_a_restart_recomputes_a_reloaded_key_without_duplicating_its_closed_session(tmp_path):
    # s1 has a first session closed and written, then a second one still open
    # when the server stops. The restart reloads the key's whole history, so
    # the closed session is computed again: it must replace its rows, not add.
    now_ms = int(time.time() * 1000)
    first = session_events(now_ms - 3 * 3600_000)
    second = [dict(e, eventId=e["eventId"] + "-b") for e in session_events(now_ms - 60_000)]
    with client(tmp_path) as c:
        assert post(c, batch(first)).status_code == 200
        assert post(c, batch(second)).status_code == 200
        assert stored(c, "SELECT session_id FROM fact_sessions") == [("s1",)]
    later = time.time() + 3600
    with client(tmp_path, clock=lambda: later) as c:
        rows = stored(c, "SELECT session_id, count(*) FROM fact_sessions GROUP BY ALL ORDER BY 1")
        assert rows == [("s1", 1), ("s1#2", 1)]
        screens = stored(c, "SELECT count(*) FROM fact_session_screens WHERE session_id = 's1'")
        only_first = stored(c, "SELECT count(DISTINCT screen_id) FROM fact_session_screens WHERE session_id = 's1'")
        assert screens == only_first


def test_concurrent_batches_are_committed_together_and_each_gets_its_200(tmp_path):
    # Batches arriving while a transaction runs share the next one (group
    # commit); every request still answers only once its events are stored.
    from concurrent.futures import ThreadPoolExecutor

    t0 = past_ms()
    with client(tmp_path) as c:
        bodies = [batch(session_events(t0 + i * 60_000, session=f"c{i}")) for i in range(24)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(lambda b: post(c, b).status_code, bodies))
        assert codes == [200] * 24
        assert stored(c) == [(sum(len(b["events"]) for b in bodies),)]


def test_the_native_check_serves_the_batch_from_body_to_store(tmp_path, monkeypatch):
    """Embedded serve checks the body and makes its events in Rust: with the
    Python check's decoders broken, a batch (one event of a foreign org, one
    without eventId, whose id is derived in Python) is still answered and
    stored, event for event, as the reference would."""
    from frictionkit.core import batch as reference
    from frictionkit.core.batch import decode_batch

    t0 = past_ms()
    events = [{**e, "eventId": f"n{i}"} for i, e in enumerate(session_events(t0))]
    events += [event(t0 + 50, org="globex"), {k: v for k, v in event(t0 + 60).items() if k != "eventId"}]
    body = json.dumps(batch(events)).encode()
    want = decode_batch(body, received_at_ms=int(time.time() * 1000)).accepted
    with client(tmp_path) as c:
        def broken(*_a, **_k):
            raise AssertionError("the Python check ran")

        monkeypatch.setattr(reference, "_batch_decoder", type("Broken", (), {"decode": staticmethod(broken)})())
        monkeypatch.setattr(reference, "_all_valid", broken)
        r = post(c, body)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == len(events) - 1 and r.json()["rejected"] == 1
        got = stored(c, "SELECT event_id, session_id, epoch_ms(ts), screen_id FROM events_raw ORDER BY event_id")
    assert got == sorted((e.event_id, e.session_id, e.ts_ms, e.screen_id) for e in want if e.org_id == "acme")
