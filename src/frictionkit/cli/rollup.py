"""`frictionkit rollup`: rebuild one day's fact_screen_hotspots and mp_ux_friction_daily."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Optional

import typer

from .common import STORE_HELP, err_console, now_ms, one_line_errors, print_json


def _day(text: Optional[str], now: int) -> date:
    if text is None:
        # The clock is read here, never in the library: "yesterday" is a CLI default.
        return (datetime.fromtimestamp(now / 1000, timezone.utc) - timedelta(days=1)).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--date {text!r} is not a date (YYYY-MM-DD)") from None


def rollup_cmd(
    day_text: Optional[str] = typer.Option(None, "--date", help="UTC day to rebuild, YYYY-MM-DD (default: yesterday UTC)"),
    store_dsn: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    k: int = typer.Option(20, "--k", min=1, help="write a benchmark cell only when it covers at least k orgs"),
    min_sessions: int = typer.Option(100, "--min-sessions", min=1,
                                     help="... and at least this many sessions"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Rebuild fact_screen_hotspots and mp_ux_friction_daily for one day (idempotent)."""
    from ..store import open_store
    from ..store.rollup import rollup

    with one_line_errors():
        day = _day(day_text, now_ms())
        store = open_store(store_dsn)
        try:
            report = rollup(store, day, k=k, min_sessions=min_sessions)
        finally:
            store.close()
    if as_json:
        print_json(report)
        return
    err_console.print(f"{store.dsn}: {day.isoformat()}: {report.hotspot_rows} screen rows in fact_screen_hotspots, "
                      f"{len(report.cells)} task types in mp_ux_friction_daily")
    for cell in report.withheld:
        err_console.print(f"  withheld {cell.task_type}: {cell.org_count} orgs (k={k}), "
                          f"{cell.sample_sessions} sessions (min {min_sessions})")


def register(app: typer.Typer) -> None:
    app.command("rollup")(rollup_cmd)
