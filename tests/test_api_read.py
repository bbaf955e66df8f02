"""The read API: SPEC §8 shapes, keys and orgs, paging, 400/403/404/500."""

from __future__ import annotations

import logging

import pytest

from api_support import auth, batch, client, past_ms, session_events

HOTSPOT_KEYS = {"screenId", "route", "sessions", "avgFriction", "avgEfficiency", "rageClickRate", "dropoffRate",
                "avgTimeSpentMs", "rageClicks", "backtracks", "errors", "abandonedTasks", "impactSessions", "trend",
                "loops", "deadClicks", "deadClickRate", "errorClicks"}


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    with client(tmp_path_factory.mktemp("read")) as c:
        t0 = past_ms(8)
        events = []
        for i in range(5):
            events += session_events(t0 + i * 3_600_000, session=f"s{i}", user=f"u{i % 2}")
        events += session_events(t0 + 5 * 3_600_000, session="s0", prefix="again-")  # s0#2
        assert c.post("/v1/events/batch", json=batch(events), headers=auth("k-acme")).json()["rejected"] == 0
        other = session_events(t0, org="globex", session="g1", user="u-globex")
        assert c.post("/v1/events/batch", json=batch(other), headers=auth("k-globex")).status_code == 200
        yield c


def get(c, path, key="k-acme", **params):
    return c.get(path, params=params, headers=auth(key))


def test_overview_shape(c):
    body = get(c, "/v1/insights/overview").json()
    assert set(body) == {"orgId", "productId", "from", "to", "sessions", "users", "frictionIndex", "efficiencyScore",
                         "incidents", "tasks", "topHotspots", "notes"}
    assert (body["orgId"], body["productId"], body["sessions"], body["users"]) == ("acme", "crm", 6, 2)
    assert set(body["incidents"]) == {"rageClick", "backtrack", "abandonedTask", "errorClick", "loop", "deadClick"}
    assert set(body["tasks"]) == {"started", "completed", "failed", "abandoned", "completionRate"}
    assert len(body["topHotspots"]) <= 3
    assert set(body["topHotspots"][0]) == {"screenId", "route", "friction", "impactSessions", "trend"}


def test_hotspots_flows_and_graph_shapes(c):
    items = get(c, "/v1/insights/hotspots", limit=2).json()["items"]
    assert len(items) == 2 and set(items[0]) == HOTSPOT_KEYS
    flows = get(c, "/v1/flows/top", task="create_deal").json()["flows"]
    assert set(flows[0]) == {"id", "label", "task", "path", "sessions", "completionRate", "avgFriction",
                             "avgDurationSec", "medianDurationSec", "dropoffs"}
    assert flows[0]["path"] == ["home", "list", "edit", "list", "edit"] and flows[0]["sessions"] == 6
    graph = get(c, "/v1/flows/graph").json()
    assert set(graph) == {"nodes", "edges"}
    assert {"from": "home", "to": "list", "count": 6, "medianMs": 1000} in graph["edges"]
    assert get(c, "/v1/flows/top", task="no-such-task").json() == {"flows": []}


def test_filters_bound_the_window(c):
    starts = sorted(i["startTs"] for i in get(c, "/v1/sessions").json()["items"])
    assert len(starts) == 6
    later = get(c, "/v1/insights/overview", **{"from": starts[2]}).json()
    assert later["sessions"] == 4 and later["from"] == starts[2]
    earlier = get(c, "/v1/insights/overview", **{"from": starts[0], "to": starts[2]}).json()
    assert earlier["sessions"] == 2
    # A date-only `to` includes that whole day (UTC).
    day = starts[0][:10]
    whole = get(c, "/v1/insights/overview", **{"from": day, "to": day}).json()
    assert whole["to"] > day + "T23:59:59" and whole["sessions"] == sum(s.startswith(day) for s in starts)


def test_sessions_paging_by_offset_and_by_cursor_agree(c):
    first = get(c, "/v1/sessions", limit=4).json()
    assert first["total"] == 6 and len(first["items"]) == 4 and first["nextCursor"]
    starts = [i["startTs"] for i in first["items"]]
    assert starts == sorted(starts, reverse=True)
    rest = get(c, "/v1/sessions", limit=4, cursor=first["nextCursor"]).json()
    by_offset = get(c, "/v1/sessions", limit=4, offset=4).json()
    assert [i["sessionId"] for i in rest["items"]] == [i["sessionId"] for i in by_offset["items"]]
    ids = {i["sessionId"] for i in first["items"] + rest["items"]}
    assert ids == {"s0", "s1", "s2", "s3", "s4", "s0#2"} and rest["nextCursor"] is None
    assert get(c, "/v1/sessions", userHash="u1").json()["total"] == 3  # s1, s3, s0#2
    assert get(c, "/v1/sessions", minFrustration=0.99).json()["total"] == 0


def test_session_detail_in_time_order_for_a_split_session(c):
    body = c.get("/v1/sessions/s0%232", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-acme")).json()
    assert body["session"]["sessionId"] == "s0#2" and body["session"]["clientSessionId"] == "s0"
    assert len(body["events"]) == body["session"]["eventCount"] == 11
    assert [e["ts"] for e in body["events"]] == sorted(e["ts"] for e in body["events"])
    assert [i["type"] for i in body["incidents"]] == ["backtrack", "backtrack", "rage_click"]
    missing = c.get("/v1/sessions/nope", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-acme"))
    assert missing.status_code == 404


def test_keys_read_only_their_orgs(c):
    assert get(c, "/v1/insights/overview", key="k-globex", orgId="acme").status_code == 403
    r = get(c, "/v1/sessions/s1", key="k-globex", orgId="acme", productId="crm")
    assert r.status_code == 403 and r.json() == {"error": "orgId is not permitted for this API key", "param": "orgId"}
    # Without orgId a key sees only its own org, never "choose one of acme, globex".
    assert get(c, "/v1/insights/overview", key="k-globex").json()["orgId"] == "globex"
    assert get(c, "/v1/insights/overview", key="k-wo").status_code == 403  # no read scope
    assert get(c, "/v1/insights/overview", key="nope").status_code == 401
    assert c.get("/v1/insights/overview").status_code == 401
    both = get(c, "/v1/insights/overview", key="k-all")
    assert both.status_code == 400 and both.json()["param"] == "orgId"


@pytest.mark.parametrize("params,param", [
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-45"}, "to"), ({"limit": "0"}, "limit"),
    ({"limit": "many"}, "limit"), ({"from": "2026-11-03", "to": "2026-11-01"}, "to"),
])
def test_400_names_the_bad_parameter(c, params, param):
    r = get(c, "/v1/insights/hotspots", **params)
    assert r.status_code == 400 and r.json()["param"] == param and r.json()["error"]


def test_400_names_missing_and_bad_session_parameters(c):
    r = c.get("/v1/sessions/s1", params={"orgId": "acme"}, headers=auth("k-acme"))
    assert r.status_code == 400 and r.json()["param"] == "productId"
    r = get(c, "/v1/sessions", cursor="!!!")
    assert r.status_code == 400 and r.json()["param"] == "cursor"
    r = get(c, "/v1/sessions", minFrustration="2")
    assert r.status_code == 400 and r.json()["param"] == "minFrustration"


def test_internal_errors_are_opaque_and_logged_in_one_line(c, caplog):
    access = c.app.state.fk.access

    def boom(*_a, **_k):
        raise RuntimeError("user u1 with key k-acme broke it")

    access.call_sync(lambda s: setattr(s, "overview_totals", boom))
    try:
        with caplog.at_level(logging.INFO, logger="frictionkit.serve"):
            r = get(c, "/v1/insights/overview")
    finally:
        access.call_sync(lambda s: s.__dict__.pop("overview_totals"))
    assert r.status_code == 500 and r.json() == {"error": "internal error"}
    lines = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert lines == ["internal error on GET /v1/insights/overview: RuntimeError"]
    assert get(c, "/v1/insights/overview").status_code == 200


def test_health_and_openapi(c):
    health = c.get("/health").json()
    assert health["status"] == "ok" and health["mode"] == "embedded" and health["store"]["ok"] is True
    paths = c.get("/openapi.json").json()["paths"]
    for path in ("/v1/events/batch", "/v1/insights/overview", "/v1/insights/hotspots", "/v1/flows/top",
                 "/v1/flows/graph", "/v1/sessions", "/v1/sessions/{session_id}", "/health"):
        assert path in paths
    assert c.get("/docs").status_code == 200
