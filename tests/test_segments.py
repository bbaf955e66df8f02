"""Segments (issue 18.3): every view narrowed by deviceType, browser, os,
appName and app version counts exactly the sessions whose first event has
those values, DuckDB and ClickHouse (chdb) answer alike, and a store created
before segments is upgraded in place."""

from __future__ import annotations

import json

import pytest

from frictionkit.core.contract import format_ts_ms
from frictionkit.core.segment import Segment, SegmentError
from frictionkit.insights.flows import flows_graph, flows_top
from frictionkit.insights.query import resolve_query
from frictionkit.insights.report import hotspots, overview
from frictionkit.insights.sessions import sessions_list
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

from test_store_parity import assert_same

pytest.importorskip("chdb")

NOW_MS = 1_800_000_000_000
T0 = 1_795_773_600_000  # 2026-11-27T10:00:00Z
# (deviceType, browser, os, appName, extra.app_version or None, sdkVersion, sessions)
COHORTS = [
    ("mobile", "Safari", "iOS", "Shop", "2.1.0", "1.4.0", 5),
    ("mobile", "Chrome", "Android", "Shop", None, "1.4.0", 4),
    ("desktop", "Chrome", "Windows", "Shop", "2.0.0", "1.4.0", 6),
    ("desktop", "Firefox", "Linux", "Admin", None, "1.3.0", 3),
    ("tablet", "Safari", "iPadOS", "Shop", "2.1.0", "1.4.0", 2),
]


def _session(sid: str, t0: int, cohort, *, switch_browser_to: str | None = None) -> list[dict]:
    device, browser, os_, app, app_version, sdk, _ = cohort
    steps = [("navigation", "home"), ("custom", "home"), ("navigation", "cart"), ("navigation", "shipping")]
    if device == "mobile":  # the checkout bug: round the shipping -> cart loop, with rage clicks
        steps += [("navigation", "cart"), ("navigation", "shipping")] + [("click", "shipping")] * 4
    steps += [("click", "shipping"), ("custom", "shipping")]
    out, ts = [], t0
    for i, (kind, screen) in enumerate(steps):
        ts += 300 if kind == "click" else 2000
        ev = {"eventId": f"{sid}-{i}", "orgId": "acme", "productId": "shop", "sessionId": sid, "userHash": f"u-{sid}",
              "ts": format_ts_ms(ts), "eventType": kind,
              "screenId": screen, "route": f"/{screen}", "deviceType": device, "appName": app, "os": os_,
              "browser": switch_browser_to if switch_browser_to and i > 0 else browser, "sdkVersion": sdk}
        if kind == "click":
            ev["elementType"], ev["elementLabelHash"] = "button", "pay"
        if kind == "custom":
            ev["extra"] = {"task_name": "checkout", "action": "start" if screen == "home" else "complete"}
        if app_version:
            ev["extra"] = {**ev.get("extra", {}), "app_version": app_version}
        out.append(ev)
    return out


def _events() -> list[dict]:
    events, n = [], 0
    for cohort in COHORTS:
        for _ in range(cohort[-1]):
            events += _session(f"s{n:03d}", T0 + n * 3_600_000, cohort)
            n += 1
    # Starts in Chrome on Windows desktop, then reports Safari: a session's
    # segment is its first event's, so it is a Chrome session.
    events += _session(f"s{n:03d}", T0 + n * 3_600_000, COHORTS[2], switch_browser_to="Safari")
    return events


def _expected(segment: Segment) -> int:
    """Sessions of the data set in ``segment``, from the cohorts' definition."""
    total = 0
    for device, browser, os_, app, app_version, sdk, count in COHORTS:
        values = {"device_type": device, "browser": browser, "os": os_, "app_name": app,
                  "app_version": app_version or sdk}
        wanted = {k: v for k, v in vars(segment).items() if v is not None}
        if all(values[k] == v for k, v in wanted.items()):
            total += count + (1 if (device, os_) == ("desktop", "Windows") else 0)  # the browser switcher
    return total


SEGMENTS = [
    Segment(),
    Segment(device_type="mobile"),
    Segment(device_type="desktop"),
    Segment(browser="Chrome"),
    Segment(browser="Safari"),
    Segment(os="Linux"),
    Segment(app_name="Admin"),
    Segment(app_version="2.1.0"),  # from extra.app_version
    Segment(app_version="1.4.0"),  # the agent's sdkVersion (no extra.app_version)
    Segment(device_type="mobile", browser="Safari"),
    Segment(device_type="tablet", app_version="2.1.0"),
    Segment(device_type="desktop", browser="Opera"),  # nobody
]


def _views(store, segment: Segment) -> dict:
    q = resolve_query(store, org_id=None, product_id=None, from_text=None, to_text=None, segment=segment)
    return {
        "overview": overview(store, q),
        **{f"hotspots-{sort}": hotspots(store, q, 20, sort) for sort in ("impact", "rate", "friction")},
        "flows-top": flows_top(store, q, limit=10),
        "flows-graph": flows_graph(store, q),
        "sessions": sessions_list(store, q, limit=500),
    }


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    root = tmp_path_factory.mktemp("segments")
    source = root / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in _events()))
    out = {}
    for scheme, dsn in (("duckdb", f"duckdb:///{root}/s.duckdb"), ("chdb", f"chdb:///{root}/ch")):
        store = open_store(dsn)
        try:
            replay([str(source)], store, now_ms=NOW_MS)
            out[scheme] = {seg: _views(store, seg) for seg in SEGMENTS}
        finally:
            store.close()
    return out


@pytest.mark.parametrize("segment", SEGMENTS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.echo().items()) or "all")
def test_duckdb_and_chdb_give_the_same_filtered_views(answers, segment):
    assert_same(answers["duckdb"][segment], answers["chdb"][segment])


@pytest.mark.parametrize("segment", SEGMENTS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.echo().items()) or "all")
@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_every_view_counts_the_segments_sessions(answers, scheme, segment):
    views, n = answers[scheme][segment], _expected(segment)
    assert views["overview"]["sessions"] == n
    assert views["sessions"]["total"] == len(views["sessions"]["items"]) == n
    for item in views["sessions"]["items"]:
        for field, value in segment.echo().items():
            assert item[field] == value
    home = [h for h in views["hotspots-impact"]["items"] if h["screenId"] == "home"]
    assert (home[0]["sessions"] if home else 0) == n  # every session starts on home
    assert sum(f["sessions"] for f in views["flows-top"]["flows"]) == n  # one checkout run per session
    assert sum(e["count"] for e in views["flows-graph"]["edges"] if e["from"] == "home") == n
    if not segment.is_all:
        assert views["overview"]["segment"] == segment.echo()


def test_the_mobile_loop_shows_on_mobile_only(answers):
    """The issue's case: a mobile-only checkout problem that the whole product dilutes."""
    views = answers["duckdb"]
    mobile = {h["screenId"]: h for h in views[Segment(device_type="mobile")]["hotspots-rate"]["items"]}
    desktop = {h["screenId"]: h for h in views[Segment(device_type="desktop")]["hotspots-rate"]["items"]}
    assert mobile["shipping"]["rageClickRate"] == 1.0 and mobile["shipping"]["backtracks"] > 0
    assert desktop["shipping"]["rageClicks"] == 0
    assert views[Segment(device_type="mobile")]["hotspots-rate"]["items"][0]["screenId"] in ("shipping", "cart")


def test_a_sessions_segment_is_its_first_events(answers):
    chrome = answers["duckdb"][Segment(browser="Chrome")]["sessions"]["items"]
    safari = answers["duckdb"][Segment(browser="Safari")]["sessions"]["items"]
    switcher = max(i["sessionId"] for i in answers["duckdb"][Segment()]["sessions"]["items"])
    assert switcher in {i["sessionId"] for i in chrome} and switcher not in {i["sessionId"] for i in safari}
    by_id = {i["sessionId"]: i for i in answers["duckdb"][Segment()]["sessions"]["items"]}
    # app version: extra.app_version when the event has one, else the agent's sdkVersion
    assert by_id["s000"]["appVersion"] == "2.1.0" and by_id["s005"]["appVersion"] == "1.4.0"


def test_bad_segment_values_are_refused_with_the_field_named():
    with pytest.raises(SegmentError, match="device_type: 'phone' is not one of desktop, mobile, tablet"):
        Segment(device_type="phone")
    with pytest.raises(SegmentError, match="browser: at most 256"):
        Segment(browser="x" * 257)
    assert Segment.from_values(device_type="", browser=None).is_all  # an empty form field means any


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_a_store_from_before_segments_is_upgraded(scheme, tmp_path, monkeypatch, answers):
    """db init on a store without the segment migration adds it; sessions
    written afterwards filter like in a new store."""
    from frictionkit.store import clickhouse, duckdb as duck
    from frictionkit.store.base import migrations
    from frictionkit.store.ddl import migration_plan

    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in _events()))
    dsn = f"duckdb:///{tmp_path}/old.duckdb" if scheme == "duckdb" else f"chdb:///{tmp_path}/old"
    segment_migration = "002_segments.sql" if scheme == "duckdb" else "003_segments.sql"
    if scheme == "duckdb":
        monkeypatch.setattr(duck, "migrations", lambda engine: [m for m in migrations(engine) if m[0] < "002_segments"])
    else:
        monkeypatch.setattr(clickhouse, "migration_plan", lambda cluster=None: [
            m for m in migration_plan(cluster) if m[0] < "003_segments"])
    store = open_store(dsn)  # the old schema
    store.close()
    monkeypatch.undo()
    store = open_store(dsn, init=False)
    try:
        assert segment_migration in store.init_schema()
        replay([str(source)], store, now_ms=NOW_MS)
        mobile = Segment(device_type="mobile", browser="Safari")
        assert_same(_views(store, mobile), answers[scheme][mobile])
    finally:
        store.close()


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_every_fact_table_holds_the_segment_columns(scheme, tmp_path):
    from frictionkit.core.segment import COLUMNS

    store = open_store(f"duckdb:///{tmp_path}/c.duckdb" if scheme == "duckdb" else f"chdb:///{tmp_path}/c")
    try:
        for table in ("fact_sessions", "fact_session_screens", "fact_task_runs", "fact_incidents"):
            if scheme == "duckdb":
                names = {r[0] for r in store.con.execute(f"DESCRIBE {table}").fetchall()}
            else:
                names = {r[0] for r in store.query(f"DESCRIBE TABLE {table}").result_rows}
            assert set(COLUMNS) <= names, (table, set(COLUMNS) - names)
    finally:
        store.close()
