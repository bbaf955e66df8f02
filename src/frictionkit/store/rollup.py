"""Daily rollups (``frictionkit rollup``) for both stores.

A day's rollup is a function of the facts of the sessions that started that
day (UTC), so it is rebuilt whole: the day's rows are removed, then written
again. A rerun leaves the same rows; a rerun after late data or with other
thresholds leaves the new ones and nothing of the old.

* ``fact_screen_hotspots``: additive counters per (day, org, product, screen),
  computed and inserted inside the engine (INSERT ... SELECT).
* ``mp_ux_friction_daily``: one cell per task type across orgs. The engine
  computes every candidate cell; the privacy rule is applied here, once for
  both stores: a cell is written only when it covers at least ``k`` orgs and
  ``min_sessions`` sessions, so a benchmark never describes a handful of
  customers. Withheld cells are reported (counts only) but never stored.

The day is an argument: the library never reads the clock ("yesterday" is the
CLI's default).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import msgspec
import pyarrow as pa

from .base import StoreError, read_sql

DEFAULT_K = 20
DEFAULT_MIN_SESSIONS = 100
DAY_MS = 86_400_000
_CELL_COLUMNS = ("task_type", "median_clicks", "median_duration_ms", "mean_frustration", "p90_frustration",
                 "sample_sessions", "org_count")


class FrictionCell(msgspec.Struct, frozen=True):
    task_type: str
    median_clicks: float
    median_duration_ms: float
    mean_frustration: float
    p90_frustration: float
    sample_sessions: int
    org_count: int


class RollupReport(msgspec.Struct):
    day: date
    hotspot_rows: int = 0
    cells: list[FrictionCell] = []  # written to mp_ux_friction_daily
    withheld: list[FrictionCell] = []  # below k orgs or min_sessions: not written


def day_window(day: date) -> tuple[int, int]:
    start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    return start, start + DAY_MS


def _split(cells: list[FrictionCell], k: int, min_sessions: int) -> tuple[list[FrictionCell], list[FrictionCell]]:
    kept = [c for c in cells if c.org_count >= k and c.sample_sessions >= min_sessions]
    return kept, [c for c in cells if c not in kept]


def _cells(rows: list[tuple]) -> list[FrictionCell]:
    return [FrictionCell(str(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5]), int(r[6])) for r in rows]


def _cells_table(day: date, cells: list[FrictionCell]) -> pa.Table:
    columns: dict[str, Any] = {"day": pa.array([day] * len(cells), type=pa.date32())}
    for name in _CELL_COLUMNS:
        columns[name] = [getattr(c, name) for c in cells]
    return pa.table(columns)


def _rollup_duckdb(store: Any, day: date, params: dict[str, Any], k: int, min_sessions: int) -> RollupReport:
    con = store.con
    window = {"from_ms": params["from_ms"], "to_ms": params["to_ms"]}
    cells = _cells(con.execute(read_sql("duckdb", "rollup_friction.sql"), window).fetchall())
    kept, withheld = _split(cells, k, min_sessions)
    report = RollupReport(day=day, cells=kept, withheld=withheld)
    with store.transaction():
        con.execute("DELETE FROM fact_screen_hotspots WHERE day = CAST($day AS DATE)", {"day": day})
        con.execute("DELETE FROM mp_ux_friction_daily WHERE day = CAST($day AS DATE)", {"day": day})
        con.execute(read_sql("duckdb", "rollup_hotspots.sql"), params)
        report.hotspot_rows = con.fetchone()[0]
        rows = _cells_table(day, kept)  # noqa: F841 - read by name from SQL below
        con.execute("INSERT INTO mp_ux_friction_daily BY NAME SELECT * FROM rows")
    return report


def _rollup_clickhouse(store: Any, day: date, params: dict[str, Any], k: int, min_sessions: int) -> RollupReport:
    cells = _cells(store.query(read_sql("clickhouse", "rollup_friction.sql"), params).result_rows)
    kept, withheld = _split(cells, k, min_sessions)
    report = RollupReport(day=day, cells=kept, withheld=withheld)
    # Both tables are partitioned by day: dropping the partition is the
    # ClickHouse way to delete a day (synchronous, no mutation), and the
    # INSERT that follows writes it whole again.
    for table in ("fact_screen_hotspots", "mp_ux_friction_daily"):
        store.command(f"ALTER TABLE {table} DROP PARTITION {{day:Date}}", {"day": day})
    store.command(read_sql("clickhouse", "rollup_hotspots.sql"), params)
    report.hotspot_rows = int(store.query(
        "SELECT count() FROM fact_screen_hotspots WHERE day = {day:Date}", {"day": day}).result_rows[0][0])
    store.insert_arrow("mp_ux_friction_daily", _cells_table(day, kept))
    return report


def rollup(store: Any, day: date, *, k: int = DEFAULT_K, min_sessions: int = DEFAULT_MIN_SESSIONS) -> RollupReport:
    """Rebuild ``fact_screen_hotspots`` and ``mp_ux_friction_daily`` for ``day`` (UTC)."""
    if k < 1 or min_sessions < 1:
        raise ValueError("k and min_sessions must be at least 1")
    from_ms, to_ms = day_window(day)
    params = {"day": day, "from_ms": from_ms, "to_ms": to_ms}
    engine = getattr(store, "engine", None)
    if engine == "duckdb":
        return _rollup_duckdb(store, day, params, k, min_sessions)
    if engine == "clickhouse":
        return _rollup_clickhouse(store, day, params, k, min_sessions)
    raise StoreError(f"rollup does not know the store {getattr(store, 'dsn', store)!r}")


def read_hotspot_rollup(store: Any, day: date) -> list[dict[str, Any]]:
    """The day's fact_screen_hotspots rows (summed: SummingMergeTree may hold unmerged parts)."""
    sums = ("sessions, impact_sessions, rage_sessions, dropoff_sessions, views, dwell_ms, clicks, errors, rage_clicks, "
            "backtracks, abandoned_tasks, error_clicks, loops, dead_clicks, dead_click_sessions, frustration_sum, "
            "efficiency_sum").split(", ")
    select = ", ".join(f"sum({c}) AS {c}_total" for c in sums)
    tail = " GROUP BY org_id, product_id, screen_id ORDER BY org_id, product_id, screen_id"
    if store.engine == "duckdb":
        cur = store.con.execute(f"SELECT org_id, product_id, screen_id, {select} FROM fact_screen_hotspots "
                                "WHERE day = CAST($day AS DATE)" + tail, {"day": day})
        names, rows = [d[0] for d in cur.description], cur.fetchall()
    else:
        result = store.query(f"SELECT org_id, product_id, screen_id, {select} FROM fact_screen_hotspots "
                              "WHERE day = {day:Date}" + tail, {"day": day})
        names, rows = result.column_names, result.result_rows
    return [{n.removesuffix("_total"): v for n, v in zip(names, row)} for row in rows]


def read_friction_cells(store: Any, day: date) -> list[FrictionCell]:
    cols = ", ".join(_CELL_COLUMNS)
    if store.engine == "duckdb":
        rows = store.con.execute(f"SELECT {cols} FROM mp_ux_friction_daily WHERE day = CAST($day AS DATE) "
                                 "ORDER BY task_type", {"day": day}).fetchall()
    else:
        rows = store.query(f"SELECT {cols} FROM mp_ux_friction_daily FINAL WHERE day = {{day:Date}} ORDER BY task_type",
                            {"day": day}).result_rows
    return _cells(rows)
