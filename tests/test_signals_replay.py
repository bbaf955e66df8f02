"""Loops and dead clicks end to end: a replay file with the agent's `dead` mark,
through the pipeline into DuckDB and ClickHouse (chdb), out of the CLI."""

from __future__ import annotations

import json

import pytest

from frictionkit.core.contract import ContractError, decode_event_line

from conftest import run_cli

T = "2026-11-27T10:{:02d}:{:02d}.000Z"


def _event(i: int, kind: str, screen: str, **more) -> dict:
    return {"orgId": "acme", "productId": "shop", "sessionId": "s-1", "userHash": "u-1", "ts": T.format(i // 60, i % 60),
            "eventType": kind, "screenId": screen, "route": f"/{screen}", "deviceType": "mobile",
            "eventId": f"e{i:03d}", **more}


def _lines() -> bytes:
    # cart -> address -> shipping -> cart (a loop on cart); on address, a click
    # nothing answered (dead) and one that was answered.
    events = [_event(0, "navigation", "cart"), _event(10, "navigation", "address"),
              _event(12, "click", "address", elementType="button", dead=True),
              _event(14, "click", "address", elementType="button"),
              _event(20, "navigation", "shipping"), _event(30, "navigation", "cart"),
              _event(40, "navigation", "pay")]
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def test_contract_takes_dead_on_clicks_only_and_keeps_rejecting_unknown_fields():
    ev = decode_event_line(json.dumps(_event(1, "click", "a", dead=True)).encode(), now_ms=None)
    assert ev.dead is True
    assert decode_event_line(json.dumps(_event(1, "click", "a")).encode(), now_ms=None).dead is None
    with pytest.raises(ContractError, match="dead: only click events can be dead"):
        decode_event_line(json.dumps(_event(1, "scroll", "a", dead=True)).encode(), now_ms=None)
    with pytest.raises(ContractError, match="dead"):
        decode_event_line(json.dumps(_event(1, "click", "a", dead="yes")).encode(), now_ms=None)
    with pytest.raises(ContractError, match="deadClick"):
        decode_event_line(json.dumps(_event(1, "click", "a", deadClick=True)).encode(), now_ms=None)


def _json(*args):
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(params=["duckdb", "chdb"])
def store_dsn(request, tmp_path):
    if request.param == "chdb":
        pytest.importorskip("chdb")
        return f"chdb:///{tmp_path}/ch"
    return f"duckdb:///{tmp_path}/s.duckdb"


def test_loop_and_dead_click_reach_overview_hotspots_and_sessions(tmp_path, store_dsn):
    path = tmp_path / "events.jsonl"
    path.write_bytes(_lines())
    done = run_cli("replay", str(path), "--store", store_dsn, "-q")
    assert done.returncode == 0, done.stderr
    overview = _json("insights", "overview", "--store", store_dsn, "--format", "json")
    assert overview["incidents"]["loop"] == 1 and overview["incidents"]["deadClick"] == 1
    items = {h["screenId"]: h for h in _json("insights", "hotspots", "--store", store_dsn, "--format", "json")["items"]}
    assert (items["cart"]["loops"], items["address"]["loops"]) == (1, 0)
    assert (items["address"]["deadClicks"], items["address"]["deadClickRate"]) == (1, 1.0)
    assert (items["cart"]["deadClicks"], items["cart"]["deadClickRate"]) == (0, 0.0)
    assert items["cart"]["impactSessions"] == 1 and items["address"]["impactSessions"] == 1
    table = run_cli("insights", "overview", "--store", store_dsn).stdout.decode()
    assert "loops" in table and "dead clicks" in table
    hot = run_cli("insights", "hotspots", "--store", store_dsn, env={"COLUMNS": "200"}).stdout.decode()
    assert "dead%" in hot and "1 loop" in hot and "1 dead" in hot

    from frictionkit.insights.sessions import session_item
    from frictionkit.store import open_store

    store = open_store(store_dsn)
    try:
        [event] = [e for e in store.load_history([("acme", "shop", "s-1")]) if e.dead is not None]
        assert (event.event_id, event.dead) == ("e012", True)
        detail = store.session_detail("acme", "shop", "s-1")
        assert sorted(i["incident_type"] for i in detail["incidents"]) == ["dead_click", "loop"]
        item = session_item(detail["session"])
        assert (item["loops"], item["deadClicks"]) == (1, 1)
    finally:
        store.close()


def test_loop_thresholds_from_the_command_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(_lines())
    # The loop took 20 s from leaving cart: a 19 s window misses it.
    dsn = f"duckdb:///{tmp_path}/short.duckdb"
    assert run_cli("replay", str(path), "--store", dsn, "-q", "--loop-within", "19s").returncode == 0
    assert _json("insights", "overview", "--store", dsn, "--format", "json")["incidents"]["loop"] == 0
    dsn = f"duckdb:///{tmp_path}/wide.duckdb"
    assert run_cli("replay", str(path), "--store", dsn, "-q", "--loop-within", "20s").returncode == 0
    assert _json("insights", "overview", "--store", dsn, "--format", "json")["incidents"]["loop"] == 1
    bad = run_cli("replay", str(path), "--store", f"duckdb:///{tmp_path}/bad.duckdb", "--loop-navigations", "2")
    assert bad.returncode != 0
    assert b"--loop-navigations" in bad.stderr and b"Traceback" not in bad.stderr
