"""The ClickHouse store: a server (``clickhouse://user:pass@host:8123/db``,
``http://``, ``https://``) or the same engine in-process (``chdb:///dir``),
both through clickhouse-connect, so one code path and one SQL serve both.

ClickHouse has no multi-statement transactions, so idempotency does not come
from rollback but from convergence: every row has a deterministic identity (the
ORDER BY of its ReplacingMergeTree) and a version (the session's event count),
a write that is repeated or retried after a failure writes the same rows
again, and every read uses FINAL, so duplicates never reach a sum, before or
after background merges. ``insert_events`` still looks the ids up first, to
report how many events were new and to keep duplicates out of the table.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import tempfile
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from ..core.model import Event, SessionKey, TaskPathGroup, TaskRun
from ..core.segment import Segment
from .arrow import EVENT_COLUMNS, FACT_TABLES, FactBatch, event_from_row, events_table, structs_from_arrow
from .base import Scope, StoreError, fill_segment, read_sql
from .ddl import migration_plan, migrations_table_statement

# Bound parameters travel in the URL of an HTTP request: keep each under ~100 KB.
# In-process (chdb) there is no URL, and fewer, larger lookups are faster.
KEYS_PER_QUERY = 1000
KEYS_PER_QUERY_EMBEDDED = 10_000
_EVENT_SELECT = ", ".join(
    f"toUnixTimestamp64Milli({name})" if name == "ts" else
    f"if(isNull({name}), NULL, toUnixTimestamp64Milli(assumeNotNull({name})))" if name == "received_at" else name
    for name, _ in EVENT_COLUMNS
)
_QUERIES = ("overview.sql", "screens.sql", "scopes.sql", "task_runs.sql", "task_path_groups.sql", "sessions_page.sql",
            "sessions_count.sql", "session_row.sql", "session_incidents.sql", "open_keys.sql", "segment_values.sql",
            "changes_screens.sql", "changes_signals.sql")
# Readers join children to their session on a Distributed table; sessions are
# sharded so that the shard-local join is the right one (see store/ddl.py).
# The queries name their sums like the columns they sum (the payload keys);
# without prefer_column_name_to_alias ClickHouse would read `rage_clicks` inside
# countIf(...) as the alias sum(rage_clicks).
_READ_SETTINGS = {"distributed_product_mode": "local", "prefer_column_name_to_alias": 1}
# The library is quiet unless the application configures logging: without a
# handler of ours, clickhouse-connect's warnings would reach the terminal via
# logging's last-resort handler, next to our one-line error.
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())


def redact(dsn: str) -> str:
    """The DSN with its password hidden, for messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _import_driver():
    try:
        import clickhouse_connect
        from clickhouse_connect.driver import exceptions
    except ImportError:
        raise StoreError("the ClickHouse store needs clickhouse-connect (and chdb for chdb://): "
                         "pip install 'frictionkit[clickhouse]'") from None
    return clickhouse_connect, exceptions


@contextmanager
def _quiet_stderr() -> Iterator[list[str]]:
    """chdb's engine writes its start-up failures (e.g. the lock) straight to
    file descriptor 2; keep them for the error message instead of the terminal."""
    captured: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield captured
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode(errors="replace"))


def _locked_by_other_process(path: str) -> bool:
    # A ClickHouse engine holds an exclusive flock on <dir>/status while open.
    status = os.path.join(path, "status")
    if not os.path.exists(status):
        return False
    with open(status, "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^\"')\]]+)")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    # urllib3 buries the one useful words ("Connection refused") in a long repr.
    reason = _OS_REASON.search(text)
    if reason:
        return reason.group(1).strip()
    return text.splitlines()[0] if text else type(err).__name__


class ClickHouseStore:
    engine = "clickhouse"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.shown = redact(dsn)
        driver, self._errors = _import_driver()
        scheme = dsn.partition("://")[0]
        self.embedded = scheme == "chdb"
        self.database: str | None = None
        if self.embedded:
            self.client = self._open_chdb(driver, dsn)
        else:
            self.client = self._open_server(driver, dsn, scheme)
        self._sql = {name: read_sql("clickhouse", name) for name in _QUERIES}
        self.keys_per_query = KEYS_PER_QUERY_EMBEDDED if self.embedded else KEYS_PER_QUERY

    # -- connecting ------------------------------------------------------------

    def _open_chdb(self, driver: Any, dsn: str):
        from . import dsn_path  # the same rule as duckdb:// (three slashes relative, four absolute)

        path = os.path.abspath(dsn_path(dsn))
        parent = os.path.dirname(path.rstrip("/"))
        if not os.path.isdir(parent):
            raise StoreError(f"cannot open {dsn}: folder {parent} does not exist")
        try:
            with _quiet_stderr() as engine_output:
                client = driver.get_client(dsn=f"chdb://{path}")
        except ImportError:
            raise StoreError("chdb:// stores need chdb: pip install 'frictionkit[clickhouse]'") from None
        except self._errors.Error as err:
            said = " ".join(engine_output) + str(err)
            if "Cannot lock file" in said or _locked_by_other_process(path):
                raise StoreError(f"store {dsn} is locked by another process "
                                 "(embedded stores take one process at a time)") from None
            if "another" in said.lower() or "different path" in said.lower():
                raise StoreError(f"cannot open {dsn}: chdb runs one store directory per process and "
                                 "another one is open in this process") from None
            raise StoreError(f"cannot open {dsn}: {_first_line(err)}") from None
        return client

    def _open_server(self, driver: Any, dsn: str, scheme: str):
        parts = urlsplit(dsn)
        self.database = parts.path.strip("/").split("/")[0] or None
        interface = {"http": "http", "https": "https"}.get(scheme)  # clickhouse://: by port / ?secure=
        try:
            # Connect to the server's default database: the DSN's one may not
            # exist before `db init` creates it.
            client = driver.get_client(dsn=urlunsplit(parts._replace(path="")), interface=interface,
                                       connect_timeout=5, send_receive_timeout=300)
        except self._errors.Error as err:
            raise StoreError(f"cannot reach ClickHouse at {self.shown}: {_first_line(err)}") from None
        except OSError as err:
            raise StoreError(f"cannot reach ClickHouse at {self.shown}: {err}") from None
        if self.database:
            exists = client.query("SELECT count() FROM system.databases WHERE name = {db:String}",
                                  parameters={"db": self.database}).result_rows[0][0]
            if exists:
                client.database = self.database
        return client

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Driver failures become one StoreError line naming the store."""
        try:
            yield
        except self._errors.OperationalError as err:
            raise StoreError(f"lost ClickHouse at {self.shown}: {_first_line(err)}") from None
        except self._errors.Error as err:
            raise StoreError(f"{self.shown}: {_first_line(err)}") from None

    def query(self, sql: str, params: dict[str, Any] | None = None, settings: dict[str, Any] | None = None):
        with self._guard():
            return self.client.query(sql, parameters=params or {}, settings=settings)

    def command(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        with self._guard():
            return self.client.command(sql, parameters=params or {})

    def insert_arrow(self, table: str, rows: pa.Table) -> None:
        if rows.num_rows:
            with self._guard():
                self.client.insert_arrow(table, rows)

    # -- schema ----------------------------------------------------------------

    def init_schema(self, cluster: str | None = None) -> list[str]:
        """Apply pending migrations and record each in ``schema_migrations``.

        Each statement is ``IF NOT EXISTS``, so a migration interrupted half way
        reruns cleanly; it is recorded only once all its statements succeeded.
        """
        if cluster and self.embedded:
            raise StoreError(f"--cluster needs a ClickHouse server; {self.dsn} is a single-node embedded store")
        if self.database:
            on_cluster = f" ON CLUSTER `{cluster}`" if cluster else ""
            self.command("CREATE DATABASE IF NOT EXISTS {db:Identifier}" + on_cluster, {"db": self.database})
            self.client.database = self.database
        self.command(migrations_table_statement(cluster))
        done = {row[0] for row in self.query("SELECT name FROM schema_migrations FINAL").result_rows}
        applied = []
        for name, statements in migration_plan(cluster):
            if name in done:
                continue
            for statement in statements:
                self.command(statement)
            self.insert_arrow("schema_migrations", pa.table({"name": [name]}))
            applied.append(name)
        return applied

    # -- writes ----------------------------------------------------------------

    def transaction(self):
        """No multi-statement transactions in ClickHouse; see the module docstring
        for why a partial write followed by a retry still converges."""
        return nullcontext()

    def has_events(self) -> bool:
        return bool(self.query("SELECT 1 FROM events_raw LIMIT 1").result_rows)

    def _stored_ids(self, events: list[Event]) -> set[tuple[str, str, str, str]]:
        # Looked up by session key, not by event id: a batch holds far fewer
        # sessions than events, so the bound parameter stays small (binding
        # 20k id tuples costs more than the query), and the primary key
        # (org_id, product_id, session_id, ...) serves the IN. A duplicate has
        # the same ts, so only the batch's time range is read.
        keys = sorted({(e.org_id, e.product_id, e.session_id) for e in events})
        lo = min(e.ts_ms for e in events)
        hi = max(e.ts_ms for e in events)
        found: set[tuple[str, str, str, str]] = set()
        for i in range(0, len(keys), self.keys_per_query):
            rows = self.query(
                "SELECT org_id, product_id, session_id, event_id FROM events_raw "
                "WHERE ts BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') "
                "AND (org_id, product_id, session_id) IN {keys:Array(Tuple(String, String, String))}",
                {"lo": lo, "hi": hi, "keys": keys[i:i + self.keys_per_query]},
            ).result_rows
            found.update(tuple(r) for r in rows)
        return found

    def prepare_events(self, events: list[Event]) -> pa.Table:
        return events_table(events)

    def insert_events(self, events: list[Event], assume_new: bool = False, *, table: Any = None) -> int:
        if not events:
            return 0
        stored = set() if assume_new else self._stored_ids(events)
        seen: set[tuple[str, str, str, str]] = set()
        new = []
        for ev in events:
            key = (ev.org_id, ev.product_id, ev.session_id, ev.event_id)
            if key not in stored and key not in seen:
                seen.add(key)
                new.append(ev)
        # The caller's Arrow table serves only when every event is new (the
        # usual case).
        usable = isinstance(table, pa.Table) and len(new) == len(events)
        self.insert_arrow("events_raw", table if usable else events_table(new))
        return len(new)

    def load_history(self, keys: list[SessionKey]) -> list[Event]:
        if not keys:
            return []
        rows: list[tuple] = []
        wanted = sorted(set(keys))
        for i in range(0, len(wanted), self.keys_per_query):
            rows.extend(self.query(
                f"SELECT {_EVENT_SELECT} FROM events_raw FINAL "
                "WHERE (org_id, product_id, session_id) IN {keys:Array(Tuple(String, String, String))}",
                {"keys": wanted[i:i + self.keys_per_query]},
            ).result_rows)
        # Sorted in Python: the same order DuckDB's ORDER BY gives, byte-wise.
        rows.sort(key=lambda r: (r[0], r[1], r[2], r[5], r[3]))
        return [event_from_row(r) for r in rows]

    def delete_sessions(self, keys: list[SessionKey]) -> None:
        # ReplacingMergeTree versions replace a session's rows, but cannot drop
        # the rows of a session id that no longer exists (two sessions joined by
        # a late event): those are deleted outright, by lightweight DELETE.
        wanted = sorted(set(keys))
        for i in range(0, len(wanted), self.keys_per_query):
            ids = [tuple(r) for r in self.query(
                "SELECT DISTINCT org_id, product_id, session_id FROM fact_sessions "
                "WHERE (org_id, product_id, client_session_id) IN {keys:Array(Tuple(String, String, String))}",
                {"keys": wanted[i:i + self.keys_per_query]},
            ).result_rows]
            if not ids:
                continue
            for name in FACT_TABLES:
                self.command(
                    f"DELETE FROM {name} WHERE (org_id, product_id, session_id) IN "
                    "{ids:Array(Tuple(String, String, String))}",
                    {"ids": ids},
                )

    def session_keys(self) -> list[SessionKey]:
        return [tuple(r) for r in self.query("SELECT DISTINCT org_id, product_id, session_id FROM events_raw").result_rows]

    def write_results(self, facts: FactBatch, replace: bool = True) -> None:
        # ``replace`` needs no work here: ReplacingMergeTree versions decide.
        if not facts.sessions:
            return
        tables = dict(facts.tables)  # a copy: a column is added below
        # Incidents carry their session's version so that readers can tell a
        # current incident from one a recomputation no longer produces.
        key = ["org_id", "product_id", "session_id"]
        versions = tables["fact_sessions"].select([*key, "version"])
        incidents = tables["fact_incidents"]
        tables["fact_incidents"] = (incidents.join(versions, key, join_type="left outer") if incidents.num_rows
                                    else incidents.append_column("version", pa.array([], pa.int64())))
        # Children first, the session last: a failure in between leaves the
        # session at its old version, so the new children stay invisible until
        # the retry writes the session row.
        for name in ("fact_incidents", "fact_session_screens", "fact_task_runs", "fact_sessions"):
            self.insert_arrow(name, tables[name])

    # -- reads -----------------------------------------------------------------

    def _all(self, name: str, params: dict[str, Any], sql: str | None = None) -> list[dict[str, Any]]:
        result = self.query(sql or self._sql[name], params, _READ_SETTINGS)
        names = result.column_names
        return [dict(zip(names, row)) for row in result.result_rows]

    def _segmented(self, name: str, segment: Segment | None) -> tuple[str, dict[str, str]]:
        return fill_segment(self._sql[name], "clickhouse", segment)

    def scopes(self) -> list[Scope]:
        return [Scope(**row) for row in self._all("scopes.sql", {})]

    def overview_totals(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                        segment: Segment | None = None) -> dict[str, Any]:
        sql, seg = self._segmented("overview.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, **seg}
        return self._all("overview.sql", params, sql)[0]

    def screen_stats(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                     segment: Segment | None = None) -> list[dict[str, Any]]:
        sql, seg = self._segmented("screens.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, **seg}
        return self._all("screens.sql", params, sql)

    def change_counts(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                      segment: Segment | None = None) -> dict[str, list[dict[str, Any]]]:
        screens, seg = self._segmented("changes_screens.sql", segment)
        signals, _ = self._segmented("changes_signals.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, **seg}
        return {"screens": self._all("changes_screens.sql", params, screens),
                "signals": self._all("changes_signals.sql", params, signals)}

    def task_runs(
        self, org_id: str, product_id: str, from_ms: int, to_ms: int, task: str | None, with_times: bool = True, *,
        segment: Segment | None = None,
    ) -> list[TaskRun]:
        sql, seg = self._segmented("task_runs.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, "task": task,
                  "with_times": with_times, **seg}
        with self._guard():
            table = self.client.query_arrow(sql, parameters=params, settings=_READ_SETTINGS)
        return structs_from_arrow(table, TaskRun)

    def task_path_groups(
        self, org_id: str, product_id: str, from_ms: int, to_ms: int, task: str | None, *,
        segment: Segment | None = None,
    ) -> list[TaskPathGroup]:
        sql, seg = self._segmented("task_path_groups.sql", segment)
        params = {"org": org_id, "product": product_id, "from_ms": from_ms, "to_ms": to_ms, "task": task, **seg}
        with self._guard():
            table = self.client.query_arrow(sql, parameters=params, settings=_READ_SETTINGS)
        return structs_from_arrow(table, TaskPathGroup)

    # Session drill-down and restart recovery (api/; twins of store/duckdb.py).

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
        total = self._all("sessions_count.sql", params, count_sql)[0]["total"]
        params |= {"limit": limit, "offset": offset, "after_ts_ms": after[0] if after else None,
                   "after_session": after[1] if after else None}
        return self._all("sessions_page.sql", params, page_sql), int(total)

    def session_detail(self, org_id: str, product_id: str, session_id: str) -> dict[str, Any] | None:
        params = {"org": org_id, "product": product_id, "session": session_id}
        rows = self._all("session_row.sql", params)
        if not rows:
            return None
        row = rows[0]
        events = self.query(
            f"SELECT {_EVENT_SELECT} FROM events_raw FINAL WHERE org_id = {{org:String}} AND product_id = {{product:String}} "
            "AND session_id = {client:String} AND ts BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
            "AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') ORDER BY ts, event_id",
            {"org": org_id, "product": product_id, "client": row["client_session_id"], "lo": row["start_ts_ms"],
             "hi": row["end_ts_ms"]},
        ).result_rows
        incidents = self._all("session_incidents.sql", {**params, "version": row["version"]})
        return {"session": row, "events": [event_from_row(r) for r in events], "incidents": incidents}

    def segment_values(self, org_id: str, product_id: str) -> list[dict[str, Any]]:
        return self._all("segment_values.sql", {"org": org_id, "product": product_id})

    def open_session_keys(self) -> list[SessionKey]:
        return [tuple(r) for r in self.query(self._sql["open_keys.sql"], None, _READ_SETTINGS).result_rows]

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a dead connection is not an error worth a traceback
                pass
