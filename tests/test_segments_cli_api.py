"""Segment filters and the hotspots sort where users meet them: the CLI flags
(`--device --browser --os --app --app-version`, `--sort`) and the read API's
query parameters (`deviceType browser os appName appVersion`, `sort`), with
their one-line / 400 errors and their OpenAPI entries (issue 18.3, 18.5)."""

from __future__ import annotations

import json

import pytest

from api_support import auth, batch, client, event, past_ms
from conftest import run_cli

SEGMENT_PARAMS = {"deviceType", "browser", "os", "appName", "appVersion"}
VIEWS = ("/v1/insights/overview", "/v1/insights/hotspots", "/v1/flows/top", "/v1/flows/graph", "/v1/sessions")


def _sessions(t0: int) -> list[dict]:
    """13 sessions, each home -> one screen:
    * big: 10 sessions, 3 of them (mobile Safari on iOS) with a rage click there;
    * small: 2 sessions, both with a rage click there;
    * bad: 1 session (app version 9.9) with a rage click and five errors there.
    So the impact, rate and friction orders each put another screen first."""
    plan = [("big", i < 3, 0) for i in range(10)] + [("small", True, 0)] * 2 + [("bad", True, 5)]
    out = []
    for n, (screen, rage, errors) in enumerate(plan):
        start = t0 + n * 3_600_000
        mobile = screen == "big" and rage
        seg = {"deviceType": "mobile" if mobile else "desktop", "browser": "Safari" if mobile else "Chrome",
               "os": "iOS" if mobile else "Windows", "appName": "Shop"}
        k = dict(session=f"s{n:02d}", user=f"u{n}")
        evs = [event(start, "navigation", "home", **k, **seg), event(start + 2000, "navigation", screen, **k, **seg)]
        if rage:
            evs += [event(start + 3000 + i * 150, "click", screen, elementLabelHash="pay", **k, **seg) for i in range(4)]
        evs += [event(start + 5000 + i * 500, "custom", screen, errorCode="PaymentError", **k, **seg)
                for i in range(errors)]
        evs.append(event(start + 9000, "click", screen, elementLabelHash="ok", **k, **seg))
        if screen == "bad":
            for ev in evs:
                ev["extra"] = {"app_version": "9.9"}
        for i, ev in enumerate(evs):
            ev["eventId"] = f"{k['session']}-{i}"
        out += evs
    return out


def _check_orders(items: list[dict], sort: str) -> None:
    rate = [i["impactSessions"] / i["sessions"] for i in items]
    key = {"impact": [i["impactSessions"] for i in items], "rate": rate,
           "friction": [i["avgFriction"] for i in items]}[sort]
    assert key == sorted(key, reverse=True)


TOP_BY_SORT = {"impact": "big", "rate": "small", "friction": "bad"}

# -- API ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    with client(tmp_path_factory.mktemp("seg-api")) as c:
        reply = c.post("/v1/events/batch", json=batch(_sessions(past_ms(24))), headers=auth("k-acme")).json()
        assert reply["rejected"] == 0, reply
        yield c


def get(c, path, **params):
    return c.get(path, params=params, headers=auth("k-acme"))


@pytest.mark.parametrize("params, sessions", [
    ({}, 13),
    ({"deviceType": "mobile"}, 3),
    ({"browser": "Chrome"}, 10),
    ({"os": "iOS", "deviceType": "mobile"}, 3),
    ({"appName": "Shop"}, 13),
    ({"appVersion": "9.9"}, 1),        # extra.app_version
    ({"appVersion": "1.0.0"}, 12),     # the batch's sdkVersion
    ({"deviceType": "tablet"}, 0),
])
def test_every_read_route_takes_the_segment(c, params, sessions):
    overview = get(c, "/v1/insights/overview", **params).json()
    assert overview["sessions"] == sessions
    assert overview.get("segment", {}) == params
    page = get(c, "/v1/sessions", **params).json()
    assert page["total"] == len(page["items"]) == sessions
    hot = {h["screenId"]: h for h in get(c, "/v1/insights/hotspots", **params).json()["items"]}
    assert hot.get("home", {"sessions": 0})["sessions"] == sessions
    flows = get(c, "/v1/flows/top", **params).json()["flows"]
    assert sum(f["sessions"] for f in flows) == sessions
    graph = get(c, "/v1/flows/graph", **params).json()
    assert sum(e["count"] for e in graph["edges"] if e["from"] == "home") == sessions


def test_a_segment_narrows_hotspots_to_its_sessions(c):
    mobile = get(c, "/v1/insights/hotspots", deviceType="mobile").json()["items"]
    assert [(h["screenId"], h["sessions"], h["impactSessions"]) for h in mobile][:1] == [("big", 3, 3)]
    everyone = {h["screenId"]: h for h in get(c, "/v1/insights/hotspots").json()["items"]}
    assert (everyone["big"]["sessions"], everyone["big"]["impactSessions"]) == (10, 3)


@pytest.mark.parametrize("sort", ["impact", "rate", "friction"])
def test_hotspots_sort(c, sort):
    items = get(c, "/v1/insights/hotspots", sort=sort).json()["items"]
    assert items[0]["screenId"] == TOP_BY_SORT[sort]
    _check_orders(items, sort)


def test_hotspots_sort_defaults_to_impact(c):
    assert get(c, "/v1/insights/hotspots").json() == get(c, "/v1/insights/hotspots", sort="impact").json()


@pytest.mark.parametrize("params, param", [
    ({"deviceType": "phone"}, "deviceType"),
    ({"browser": ""}, "browser"),
    ({"appVersion": "x" * 257}, "appVersion"),
])
@pytest.mark.parametrize("path", VIEWS)
def test_a_bad_segment_value_is_a_400_naming_it(c, path, params, param):
    reply = get(c, path, **params)
    assert reply.status_code == 400 and reply.json()["param"] == param


def test_a_bad_sort_is_a_400_naming_it(c):
    reply = get(c, "/v1/insights/hotspots", sort="newest")
    assert reply.status_code == 400 and reply.json()["param"] == "sort"


def test_the_openapi_document_lists_the_segment_and_sort(c):
    doc = c.get("/openapi.json").json()
    for path in VIEWS:
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert SEGMENT_PARAMS <= params.keys(), path
        assert all(params[name].get("description") for name in SEGMENT_PARAMS)
    hot = {p["name"]: p for p in doc["paths"]["/v1/insights/hotspots"]["get"]["parameters"]}
    assert json.dumps(hot["sort"]["schema"]).count('"rate"') == 1 and "friction" in json.dumps(hot["sort"]["schema"])
    device = json.dumps(params["deviceType"]["schema"])
    assert all(v in device for v in ("desktop", "mobile", "tablet"))


# -- CLI ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg-cli")
    path = root / "events.jsonl"
    path.write_text("".join(json.dumps({**e, "sdkVersion": "1.0.0"}) + "\n" for e in _sessions(past_ms(24))))
    dsn = f"duckdb:///{root}/s.duckdb"
    done = run_cli("replay", str(path), "--store", dsn)
    assert done.returncode == 0, done.stderr
    return dsn


def cli_json(store, *args):
    done = run_cli(*args, "--store", store, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_segment_flags_on_every_view(store):
    flags = ["--device", "mobile", "--browser", "Safari", "--os", "iOS", "--app", "Shop", "--app-version", "1.0.0"]
    overview = cli_json(store, "insights", "overview", *flags)
    assert overview["sessions"] == 3 and overview["segment"]["appVersion"] == "1.0.0"
    hot = cli_json(store, "insights", "hotspots", *flags)["items"]
    assert (hot[0]["screenId"], hot[0]["sessions"]) == ("big", 3)
    assert sum(f["sessions"] for f in cli_json(store, "flows", "top", *flags)["flows"]) == 3
    graph = cli_json(store, "flows", "graph", *flags)
    assert sum(e["count"] for e in graph["edges"] if e["from"] == "home") == 3
    assert cli_json(store, "insights", "overview", "--app-version", "9.9")["sessions"] == 1
    # a table says which sessions it covers
    for command in (("insights", "overview"), ("insights", "hotspots"), ("flows", "top"), ("flows", "graph")):
        table = run_cli(*command, "--device", "mobile", "--store", store)
        assert table.returncode == 0 and "segment: --device mobile" in table.stdout.decode(), command
        assert "segment:" not in run_cli(*command, "--store", store).stdout.decode()


def test_cli_hotspots_sort(store):
    for sort, top in TOP_BY_SORT.items():
        items = cli_json(store, "insights", "hotspots", "--sort", sort)["items"]
        assert items[0]["screenId"] == top
        _check_orders(items, sort)
    table = run_cli("insights", "hotspots", "--sort", "rate", "--store", store)
    assert table.returncode == 0 and b"largest share of sessions impacted first" in table.stdout


def test_cli_bad_segment_is_one_line(store):
    done = run_cli("insights", "hotspots", "--device", "phone", "--store", store)
    err = done.stderr.decode().strip()
    assert done.returncode == 1 and len(err.splitlines()) == 1
    assert "--device" in err and "desktop, mobile, tablet" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [("insights", "overview"), ("insights", "hotspots"), ("flows", "top"),
                                     ("flows", "graph")])
def test_cli_help_lists_the_segment_flags(command):
    text = run_cli(*command, "--help", env={"COLUMNS": "200"}).stdout.decode()
    for flag in ("--device", "--browser", "--os", "--app", "--app-version"):
        assert flag in text
