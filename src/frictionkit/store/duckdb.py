"""The embedded DuckDB store (``duckdb:///path/file.duckdb``), the default."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

from ..core.model import Event, SessionKey, TaskPathGroup, TaskRun
from ..core.segment import Segment
from .arrow import EVENT_COLUMNS, FACT_TABLES, FactBatch, event_from_row, events_table, structs_from_arrow
from .base import Scope, StoreError, fill_segment, migrations, read_sql, split_statements

_SQL_FILES = ("overview.sql", "screens.sql", "scopes.sql", "task_runs.sql", "task_path_groups.sql", "sessions_page.sql",
              "sessions_count.sql", "session_row.sql", "session_incidents.sql", "open_keys.sql", "segment_values.sql",
              "changes_screens.sql", "changes_signals.sql")
_EVENT_SELECT = ", ".join(
    f"epoch_ms({name})" if name in ("ts", "received_at") else name for name, _ in EVENT_COLUMNS
)

def _connect(path: str, dsn: str):
    try:
        import duckdb
    except ImportError:  # pragma: no cover - duckdb is a core dependency
        raise StoreError("the DuckDB store needs duckdb: pip install duckdb") from None
    if path != ":memory:":
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise StoreError(f"cannot open {dsn}: folder {parent} does not exist")
    try:
        # Fewer, larger checkpoints: the default 16 MB WAL threshold makes a
        # bulk replay checkpoint every few chunks. A fixed memory limit keeps
        # the buffer pool from growing with the file (DuckDB's default is 80 %
        # of RAM); DuckDB spills to disk beyond it.
        config = {
            "checkpoint_threshold": os.environ.get("FRICTIONKIT_DUCKDB_CHECKPOINT", "512MB"),
            "memory_limit": os.environ.get("FRICTIONKIT_DUCKDB_MEMORY", "512MB"),
        }
        return duckdb.connect(path, config=config)
    except duckdb.IOException as err:
        text = str(err)
        if "lock" in text.lower():
            raise StoreError(f"store {dsn} is locked by another process (embedded stores take one process at a time)") from None
        raise StoreError(f"cannot open {dsn}: {text.splitlines()[0]}") from None
    except duckdb.Error as err:
        raise StoreError(f"cannot open {dsn}: {str(err).splitlines()[0]}") from None


class DuckDBStore:
    engine = "duckdb"

    def __init__(self, path: str, dsn: str | None = None) -> None:
        self.path = path
        # As the user wrote it, for messages; else the spelling that names this path.
        self.dsn = dsn or f"duckdb:///{path}"
        self.con = _connect(path, self.dsn)
        self._sql = {name: read_sql("duckdb", name) for name in _SQL_FILES}

    # -- schema ----------------------------------------------------------------

    def init_schema(self) -> list[str]:
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP DEFAULT now())")
        done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
        applied = []
        for name, sql in migrations("duckdb"):
            if name in done:
                continue
            con.execute("BEGIN")
            for statement in split_statements(sql):
                con.execute(statement)
            con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [name])
            con.execute("COMMIT")
            applied.append(name)
        return applied

    # -- writes ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def has_events(self) -> bool:
        return self.con.execute("SELECT count(*) > 0 FROM (SELECT 1 FROM events_raw LIMIT 1)").fetchone()[0]

    def prepare_events(self, events: list[Event]) -> Any:
        """What ``insert_events`` takes fastest for these events, built by the
        caller (off the thread that writes): their Arrow rows, built in Rust
        (``store.arrow.events_table``). DuckDB scans Arrow for less than it
        parses the same events' JSON: replay took 13 % less CPU and 11 % less
        time with it (docs/native.md)."""
        return events_table(events)

    def insert_events(self, events: list[Event], assume_new: bool = False, *, table: Any = None) -> int:
        if not events:
            return 0
        batch = table if table is not None else events_table(events)  # noqa: F841 - read by name from SQL
        # Repeats within the batch are dropped by DISTINCT ON, which costs DuckDB
        # about 1 µs per event; a set of the event ids costs Python a twentieth
        # of that and shows most batches have none (ids distinct means keys
        # and ids distinct).
        source = "batch" if len({ev.event_id for ev in events}) == len(events) else (
            "(SELECT DISTINCT ON (org_id, product_id, session_id, event_id) * FROM batch)"
        )
        if assume_new:
            # The caller knows none of these sessions has stored events: no
            # table scan is needed.
            self.con.execute(f"INSERT INTO events_raw BY NAME SELECT * FROM {source}")
            return self.con.fetchone()[0]
        lo = min(ev.ts_ms for ev in events)
        hi = max(ev.ts_ms for ev in events)
        # A duplicate has the same timestamp, so only rows in the batch's time
        # range are compared; DuckDB's zone maps skip the rest of the table.
        self.con.execute(
            f"""
            INSERT INTO events_raw BY NAME
            SELECT b.* FROM {source} b
            ANTI JOIN (
                SELECT org_id, product_id, session_id, event_id FROM events_raw
                WHERE ts BETWEEN make_timestamp($lo * 1000) AND make_timestamp($hi * 1000)
            ) r USING (org_id, product_id, session_id, event_id)
            """,
            {"lo": lo, "hi": hi},
        )
        return self.con.fetchone()[0]

    def load_history(self, keys: list[SessionKey]) -> list[Event]:
        if not keys:
            return []
        import pyarrow as pa

        wanted = pa.table(  # noqa: F841 - read by name from SQL below
            {"org_id": [k[0] for k in keys], "product_id": [k[1] for k in keys], "session_id": [k[2] for k in keys]}
        )
        rows = self.con.execute(
            f"SELECT {_EVENT_SELECT} FROM events_raw SEMI JOIN wanted USING (org_id, product_id, session_id) "
            "ORDER BY org_id, product_id, session_id, ts, event_id"
        ).fetchall()
        return [event_from_row(r) for r in rows]

    def session_keys(self) -> list[SessionKey]:
        return self.con.execute("SELECT DISTINCT org_id, product_id, session_id FROM events_raw").fetchall()

    def write_results(self, facts: FactBatch, replace: bool = True) -> None:
        """``replace=False`` promises these sessions have no rows yet, which
        saves a delete pass over each fact table."""
        if not facts.sessions:
            return
        tables = facts.tables
        if replace:
            self._delete_facts(tables["fact_sessions"].select(["org_id", "product_id", "session_id"]))
        for name in FACT_TABLES:
            rows = tables[name]  # noqa: F841 - read by name from SQL below
            self.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM rows")

    def delete_sessions(self, keys: list[SessionKey]) -> None:
        if not keys:
            return
        import pyarrow as pa

        touched = pa.table({  # noqa: F841 - read by name from SQL below
            "org_id": [k[0] for k in keys], "product_id": [k[1] for k in keys],
            "client_session_id": [k[2] for k in keys],
        })
        self._delete_facts(self.con.sql(
            "SELECT org_id, product_id, session_id FROM fact_sessions SEMI JOIN touched "
            "USING (org_id, product_id, client_session_id)"
        ).to_arrow_table())

    def _delete_facts(self, touched: Any) -> None:
        """Delete every fact row of these sessions. Most sessions written have
        no rows yet (the stream aggregator cannot tell which): one lookup in
        the smallest table, fact_sessions, finds those that have, and only
        their rows are deleted, rather than scanning all four tables each
        write. Every session with fact rows has its fact_sessions row: the four
        are written in one transaction."""
        stored = self.con.sql(  # noqa: F841 - read by name from SQL below
            "SELECT org_id, product_id, session_id FROM fact_sessions SEMI JOIN touched "
            "USING (org_id, product_id, session_id)"
        ).to_arrow_table()
        if stored.num_rows == 0:
            return
        for name in FACT_TABLES:
            self.con.execute(
                f"DELETE FROM {name} WHERE (org_id, product_id, session_id) IN "
                "(SELECT (org_id, product_id, session_id) FROM stored)"
            )

    # -- reads -----------------------------------------------------------------

    def _one(self, sql: str, params: dict[str, Any]) -> dict[str, Any]:
        cur = self.con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))

    def _all(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def _segmented(self, name: str, segment: Segment | None) -> tuple[str, dict[str, str]]:
        return fill_segment(self._sql[name], "duckdb", segment)

    def scopes(self) -> list[Scope]:
        return [Scope(**row) for row in self._all(self._sql["scopes.sql"], {})]

    def overview_totals(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                        segment: Segment | None = None) -> dict[str, Any]:
        sql, seg = self._segmented("overview.sql", segment)
        return self._one(sql, {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, **seg})

    def screen_stats(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                     segment: Segment | None = None) -> list[dict[str, Any]]:
        sql, seg = self._segmented("screens.sql", segment)
        return self._all(sql, {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, **seg})

    def change_counts(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                      segment: Segment | None = None) -> dict[str, list[dict[str, Any]]]:
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms}
        screens, seg = self._segmented("changes_screens.sql", segment)
        signals, _ = self._segmented("changes_signals.sql", segment)
        return {"screens": self._all(screens, {**params, **seg}), "signals": self._all(signals, {**params, **seg})}

    def task_runs(
        self, org_id: str, product_id: str, from_ms: int, to_ms: int, task: str | None, with_times: bool = True, *,
        segment: Segment | None = None,
    ) -> list[TaskRun]:
        sql, seg = self._segmented("task_runs.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, "task": task,
                  "with_times": with_times, **seg}
        table = self.con.sql(sql, params=params).to_arrow_table()
        return structs_from_arrow(table, TaskRun)

    def task_path_groups(
        self, org_id: str, product_id: str, from_ms: int, to_ms: int, task: str | None, *,
        segment: Segment | None = None,
    ) -> list[TaskPathGroup]:
        sql, seg = self._segmented("task_path_groups.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, "task": task, **seg}
        table = self.con.sql(sql, params=params).to_arrow_table()
        return structs_from_arrow(table, TaskPathGroup)

    def sessions_page(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *, limit: int, offset: int = 0,
                      after: tuple[int, str] | None = None, user_hash: str | None = None,
                      min_frustration: float | None = None,
                      screen_id: str | None = None,
                      segment: Segment | None = None) -> tuple[list[dict[str, Any]], int]:
        count_sql, seg = self._segmented("sessions_count.sql", segment)
        page_sql, _ = self._segmented("sessions_page.sql", segment)
        params: dict[str, Any] = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms,
                                  "user_hash": user_hash, "min_frustration": min_frustration, "screen_id": screen_id,
                                  **seg}
        total = self._one(count_sql, params)["total"]
        params |= {"limit": limit, "offset": offset, "after_ts_ms": after[0] if after else None,
                   "after_session": after[1] if after else None}
        return self._all(page_sql, params), int(total)

    def session_detail(self, org_id: str, product_id: str, session_id: str) -> dict[str, Any] | None:
        params = {"org": org_id, "product": product_id, "session": session_id}
        rows = self._all(self._sql["session_row.sql"], params)
        if not rows:
            return None
        row = rows[0]
        events = self.con.execute(
            f"SELECT {_EVENT_SELECT} FROM events_raw WHERE org_id = $org AND product_id = $product "
            "AND session_id = $client AND ts BETWEEN make_timestamp($lo * 1000) AND make_timestamp($hi * 1000) "
            "ORDER BY ts, event_id",
            {"org": org_id, "product": product_id, "client": row["client_session_id"],
             "lo": row["start_ts_ms"], "hi": row["end_ts_ms"]},
        ).fetchall()
        return {"session": row, "events": [event_from_row(r) for r in events],
                "incidents": self._all(self._sql["session_incidents.sql"], params)}

    def segment_values(self, org_id: str, product_id: str) -> list[dict[str, Any]]:
        return self._all(self._sql["segment_values.sql"], {"org": org_id, "product": product_id})

    def open_session_keys(self) -> list[SessionKey]:
        return [tuple(r) for r in self.con.execute(self._sql["open_keys.sql"]).fetchall()]

    def close(self) -> None:
        self.con.close()
