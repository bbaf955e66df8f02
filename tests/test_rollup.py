"""`frictionkit rollup`: one day's fact_screen_hotspots and mp_ux_friction_daily,
idempotent, with the k-orgs / min-sessions rule, alike on DuckDB and chdb."""

import json
import math
from datetime import date, datetime, timedelta, timezone

import msgspec
import pytest

from frictionkit.cli.rollup import _day
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store
from frictionkit.store.rollup import read_friction_cells, read_hotspot_rollup, rollup

from conftest import run_cli

pytest.importorskip("chdb")

DAY = date(2026, 11, 2)
ORGS = 4
SESSIONS_PER_ORG = 3  # 12 sessions that day, plus one per org the next day
NOW_MS = 1_800_000_000_000


def _line(org, sid, ts, etype, screen, eid, **extra_fields):
    event = {"eventId": eid, "orgId": org, "productId": "app", "sessionId": sid, "userHash": f"u-{sid}",
             "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "eventType": etype,
             "screenId": screen, "route": f"/{screen}", "deviceType": "desktop", **extra_fields}
    return json.dumps(event)


def _session(org, sid, start, clicks):
    t = lambda s: start + timedelta(seconds=s)  # noqa: E731
    lines = [_line(org, sid, t(0), "navigation", "home", f"{sid}-0"),
             _line(org, sid, t(1), "custom", "home", f"{sid}-1", extra={"task_name": "file_expense", "action": "start"}),
             _line(org, sid, t(2), "navigation", "form", f"{sid}-2")]
    lines += [_line(org, sid, t(5 + 2 * i), "click", "form", f"{sid}-c{i}", elementLabelHash=f"b{i}") for i in range(clicks)]
    lines.append(_line(org, sid, t(40), "custom", "form", f"{sid}-9", extra={"task_name": "file_expense", "action": "complete"}))
    return lines


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("rollup")
    lines = []
    for o in range(ORGS):
        for j in range(SESSIONS_PER_ORG):
            start = datetime(2026, 11, 2, 9, tzinfo=timezone.utc) + timedelta(minutes=10 * j + o)
            lines += _session(f"org-{o}", f"s{o}-{j}", start, clicks=2 + j)
        lines += _session(f"org-{o}", f"late{o}", datetime(2026, 11, 3, 9, tzinfo=timezone.utc), clicks=9)
    path = root / "orgs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    dsns = {"duckdb": f"duckdb:///{root}/d.duckdb", "chdb": f"chdb:///{root}/ch"}
    for dsn in dsns.values():
        store = open_store(dsn)
        replay([str(path)], store, now_ms=NOW_MS)
        store.close()
    return dsns


def _run(dsn, **kw):
    store = open_store(dsn)
    try:
        report = rollup(store, DAY, **kw)
        return report, read_hotspot_rollup(store, DAY), read_friction_cells(store, DAY), _physical_rows(store)
    finally:
        store.close()


def _physical_rows(store):
    sql = "SELECT (SELECT count(*) FROM fact_screen_hotspots), (SELECT count(*) FROM mp_ux_friction_daily)"
    if store.engine == "duckdb":
        return store.con.execute(sql).fetchone()
    return tuple(store.query(sql).result_rows[0])


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_a_cell_is_written_at_the_thresholds_and_withheld_below(scheme, stores):
    report, _, cells, _ = _run(stores[scheme], k=ORGS, min_sessions=ORGS * SESSIONS_PER_ORG)
    assert [c.task_type for c in cells] == ["file_expense"] and report.withheld == []
    cell = cells[0]
    assert (cell.org_count, cell.sample_sessions) == (ORGS, ORGS * SESSIONS_PER_ORG)  # the next day is not in it
    assert cell.median_clicks == 3.0  # clicks 2, 3, 4 per org
    assert cell.median_duration_ms == 39_000.0
    # One org short of k: withheld, and the cell written before is gone.
    report, _, cells, _ = _run(stores[scheme], k=ORGS + 1, min_sessions=1)
    assert cells == [] and [(c.task_type, c.org_count) for c in report.withheld] == [("file_expense", ORGS)]
    # Enough orgs but one session short.
    report, _, cells, _ = _run(stores[scheme], k=1, min_sessions=ORGS * SESSIONS_PER_ORG + 1)
    assert cells == [] and report.withheld[0].sample_sessions == ORGS * SESSIONS_PER_ORG


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_a_rerun_leaves_the_same_rows(scheme, stores):
    first = _run(stores[scheme], k=2, min_sessions=2)
    second = _run(stores[scheme], k=2, min_sessions=2)
    assert first[1:] == second[1:]
    screens = {(r["org_id"], r["screen_id"]) for r in first[1]}
    assert first[3] == (len(screens), 1) == (first[0].hotspot_rows, len(first[0].cells))


def test_both_stores_roll_up_alike_and_match_the_live_hotspot_sums(stores):
    duck = _run(stores["duckdb"], k=2, min_sessions=2)
    ch = _run(stores["chdb"], k=2, min_sessions=2)
    assert [r["screen_id"] for r in duck[1]] == [r["screen_id"] for r in ch[1]]
    assert len(duck[2]) == len(ch[2]) == 1
    for a, b in zip(duck[1] + [msgspec.structs.asdict(c) for c in duck[2]], ch[1] + [msgspec.structs.asdict(c) for c in ch[2]]):
        assert a.keys() == b.keys()
        for key in a:
            assert (math.isclose(a[key], b[key], rel_tol=1e-9) if isinstance(a[key], float) else a[key] == b[key]), key
    store = open_store(stores["chdb"])
    try:
        start = int(datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp() * 1000)
        live = {(r["screen_id"]): r for r in store.screen_stats("org-1", "app", start, start + 86_400_000)}
    finally:
        store.close()
    rolled = {r["screen_id"]: r for r in ch[1] if r["org_id"] == "org-1"}
    assert rolled.keys() == live.keys()
    for screen, row in rolled.items():
        for key in ("sessions", "impact_sessions", "views", "dwell_ms", "rage_clicks", "errors"):
            assert row[key] == live[screen][key], (screen, key)
        assert math.isclose(row["frustration_sum"], live[screen]["frustration_sum"], rel_tol=1e-9)


def test_the_cli_rebuilds_a_day_and_defaults_to_yesterday_utc(stores):
    result = run_cli("rollup", "--date", "2026-11-02", "--store", stores["duckdb"], "--k", "2", "--min-sessions", "1",
                     "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["day"] == "2026-11-02" and [c["task_type"] for c in report["cells"]] == ["file_expense"]
    bad = run_cli("rollup", "--date", "02/11/2026", "--store", stores["duckdb"])
    assert bad.returncode == 1 and b"Traceback" not in bad.stderr and b"is not a date" in bad.stderr
    just_after_midnight = int(datetime(2026, 11, 3, 0, 5, tzinfo=timezone.utc).timestamp() * 1000)
    assert _day(None, just_after_midnight) == DAY
    assert _day("2026-01-31", 0) == date(2026, 1, 31)
