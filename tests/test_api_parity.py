"""The same answers from DuckDB and from ClickHouse (chdb) for the same data,
through the HTTP read API (the store is written by the embedded pipeline)."""

from __future__ import annotations

import pytest

from api_support import auth, batch, client, past_ms, session_events

pytest.importorskip("chdb")

T0 = past_ms(6)
EVENTS = [ev for i in range(4) for ev in session_events(T0 + i * 3_600_000, session=f"s{i}", user=f"u{i % 3}")]
EVENTS += session_events(T0 + 4 * 3_600_000, session="s0", prefix="again-")  # s0#2
EVENTS += [{**e, "orgId": "globex"} for e in session_events(T0, session="g1")]
PATHS = [
    ("/v1/insights/overview", {}),
    ("/v1/insights/hotspots", {"limit": 5}),
    ("/v1/flows/top", {}),
    ("/v1/flows/top", {"task": "create_deal", "limit": 1}),
    ("/v1/flows/graph", {}),
    ("/v1/sessions", {"limit": 2}),
    ("/v1/sessions", {"limit": 2, "offset": 2}),
    ("/v1/sessions", {"userHash": "u0"}),
    ("/v1/sessions/s0%232", {}),
    ("/v1/sessions/s1", {}),
]


def _rounded(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _answers(dsn: str, tmp_path) -> list:
    with client(tmp_path, store_dsn=dsn) as c:
        assert c.post("/v1/events/batch", json=batch(EVENTS), headers=auth("k-all")).json()["rejected"] == 0
        out = []
        for path, params in PATHS:
            r = c.get(path, params={"orgId": "acme", "productId": "crm", **params}, headers=auth("k-all"))
            assert r.status_code == 200, (dsn, path, r.text)
            out.append(_rounded(r.json()))
        cursor = c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm", "limit": 3},
                       headers=auth("k-all")).json()["nextCursor"]
        out.append(_rounded(c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm", "cursor": cursor},
                                  headers=auth("k-all")).json()))
        return out


def test_duckdb_and_chdb_answer_the_same(tmp_path):
    duck = _answers(f"duckdb:///{tmp_path}/store.duckdb", tmp_path / "d")
    ch = _answers(f"chdb:///{tmp_path}/ch", tmp_path / "c")
    assert duck[0]["sessions"] == 5 and len(duck[-1]["items"]) == 2
    for (path, params), a, b in zip(PATHS + [("/v1/sessions cursor", {})], duck, ch):
        assert a == b, (path, params)


def test_open_sessions_are_resumed_from_chdb_after_a_restart(tmp_path):
    import time

    dsn = f"chdb:///{tmp_path}/ch"
    recent = int(time.time() * 1000) - 60_000
    with client(tmp_path, store_dsn=dsn) as c:
        assert c.post("/v1/events/batch", json=batch(session_events(recent)), headers=auth("k-acme")).status_code == 200
    later = time.time() + 3600
    with client(tmp_path, store_dsn=dsn, clock=lambda: later) as c:
        sessions = c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-acme")).json()
        assert [s["sessionId"] for s in sessions["items"]] == ["s1"]
