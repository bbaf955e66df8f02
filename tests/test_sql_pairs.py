"""Each read query is written once per SQL dialect (docs/architecture.md,
"Extension points": no query is the same text in DuckDB and ClickHouse), so
every query must exist for both stores; the parity tests then hold the two to
the same answers (tests/test_store_parity.py)."""

from __future__ import annotations

import re
from pathlib import Path

SQL = Path(__file__).resolve().parents[1] / "src" / "frictionkit" / "sql"
MIGRATION = re.compile(r"^\d{3}_")


def _queries(engine: str) -> set[str]:
    """The queries a store reads: its own, and those written once for both."""
    return {p.name for folder in (SQL / engine, SQL / "common") for p in folder.glob("*.sql")
            if not MIGRATION.match(p.name)}


def test_every_read_query_exists_for_both_stores():
    duck, click = _queries("duckdb"), _queries("clickhouse")
    assert duck, "no queries found"
    assert duck - click == set(), f"only in DuckDB: {sorted(duck - click)}"
    assert click - duck == set(), f"only in ClickHouse: {sorted(click - duck)}"


def test_no_query_is_written_twice_with_the_same_text():
    """Where the SQL is the same, it is written once (and read by both)."""
    duck, click = SQL / "duckdb", SQL / "clickhouse"
    same = [p.name for p in duck.glob("*.sql")
            if (click / p.name).is_file() and p.read_text().strip() == (click / p.name).read_text().strip()]
    assert not same, f"the same SQL in both dialects, write it once: {same}"
