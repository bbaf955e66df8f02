"""``GET /v1/sessions?screenId=``: the filter the dashboard's hotspot rows use
to open a screen's sessions (DuckDB and chdb give the same answer)."""

from __future__ import annotations

import pytest

from api_support import auth, batch, client, event, past_ms, session_events


@pytest.fixture(scope="module", params=["duckdb", "chdb"])
def c(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("screen-filter")
    if request.param == "chdb":
        pytest.importorskip("chdb")
    dsn = f"duckdb:///{folder}/store.duckdb" if request.param == "duckdb" else f"chdb:///{folder}/ch"
    with client(folder, store_dsn=dsn) as c:
        t0 = past_ms(4)
        events = session_events(t0)  # s1: home, list, edit
        other = [event(t0 + 60_000, "navigation", "home", session="s2"), event(t0 + 61_000, "click", "reports", session="s2",
                                                                                elementType="button")]
        for i, ev in enumerate(other):
            ev["eventId"] = f"s2-{i}"
        assert c.post("/v1/events/batch", json=batch(events + other), headers=auth("k-acme")).json()["accepted"] == 13
        yield c


def _ids(c, **params) -> tuple[list[str], int]:
    r = c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm", **params}, headers=auth("k-acme"))
    assert r.status_code == 200, r.text
    body = r.json()
    return [i["sessionId"] for i in body["items"]], body["total"]


def test_screen_filter_keeps_sessions_with_an_event_on_the_screen(c):
    assert _ids(c) == (["s2", "s1"], 2)
    assert _ids(c, screenId="edit") == (["s1"], 1)
    assert _ids(c, screenId="reports") == (["s2"], 1)
    assert _ids(c, screenId="home") == (["s2", "s1"], 2)
    assert _ids(c, screenId="nowhere") == ([], 0)


def test_screen_filter_pages_with_the_cursor(c):
    r = c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm", "screenId": "home", "limit": 1},
              headers=auth("k-acme")).json()
    assert [i["sessionId"] for i in r["items"]] == ["s2"] and r["total"] == 2
    again = c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm", "screenId": "home", "limit": 1,
                                          "cursor": r["nextCursor"]}, headers=auth("k-acme")).json()
    assert [i["sessionId"] for i in again["items"]] == ["s1"]


@pytest.mark.parametrize("value", ["' OR 1=1 --", "edit') OR ('1'='1", "$screen_id", "x" * 257, ""])
def test_screen_filter_binds_its_parameter(c, value):
    r = c.get("/v1/sessions", params={"orgId": "acme", "productId": "crm", "screenId": value}, headers=auth("k-acme"))
    if len(value) > 256 or not value:
        assert r.status_code == 400 and r.json()["param"] == "screenId"
    else:
        assert r.status_code == 200 and r.json()["total"] == 0
