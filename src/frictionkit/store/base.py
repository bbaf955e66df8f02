"""The store port: what the pipeline writes and the insights read, whatever the
engine. Adapters live beside this module and import their engine lazily."""

from __future__ import annotations

from contextlib import AbstractContextManager
from importlib import resources
from typing import Any, Protocol

import msgspec

from ..core.model import Event, SessionKey, TaskPathGroup, TaskRun
from ..core.segment import COLUMNS as SEGMENT_COLUMNS, Segment
from .arrow import FactBatch


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message is one line for a person."""


class Scope(msgspec.Struct, frozen=True):
    org_id: str
    product_id: str
    sessions: int
    first_start_ms: int
    last_start_ms: int


class Store(Protocol):
    dsn: str

    # -- schema ----------------------------------------------------------------
    def init_schema(self) -> list[str]:
        """Apply pending migrations; return the names applied (idempotent)."""

    # -- writes ----------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]: ...

    def has_events(self) -> bool: ...

    def prepare_events(self, events: list[Event]) -> Any:
        """The form of these events ``insert_events`` takes fastest (their
        Arrow rows, ``store.arrow.events_table``), for a caller to build off
        the thread that writes."""

    def insert_events(self, events: list[Event], assume_new: bool = False, *, table: Any = None) -> int:
        """Store events not stored yet (by key and event id); return how many were new.
        ``assume_new`` promises no session of these events has stored events.
        ``table``, when given, holds the same events: what ``prepare_events``
        returns."""

    def load_history(self, keys: list[SessionKey]) -> list[Event]:
        """Every stored event of these session keys, sorted by (ts, event id)."""

    def session_keys(self) -> list[SessionKey]:
        """Every session key with stored events."""

    def write_results(self, facts: FactBatch, replace: bool = True) -> None:
        """Replace the facts of these sessions by the given ones (the native
        core's rows, ``frictionkit.native.session_facts``); ``replace=False``
        promises that none of them has rows yet."""

    def delete_sessions(self, keys: list[SessionKey]) -> None:
        """Delete every fact row of every session of these keys (a late event
        recomputes its key whole: its sessions may merge or be renumbered, so
        ids that no longer exist must not keep their rows)."""

    # -- reads -----------------------------------------------------------------
    # Every aggregate read takes ``segment`` (core.segment.Segment; None or
    # Segment() means every session): the sessions whose stored segment values
    # match, by column equality on the read table itself.
    def scopes(self) -> list[Scope]: ...

    def overview_totals(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                        segment: Segment | None = None) -> dict[str, Any]: ...

    def screen_stats(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                     segment: Segment | None = None) -> list[dict[str, Any]]: ...

    def change_counts(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *,
                      segment: Segment | None = None) -> dict[str, list[dict[str, Any]]]:
        """What "what changed" compares, for sessions started in the window (of the segment):
        ``{"screens": [...], "signals": [...]}``, the rows of
        changes_screens.sql and changes_signals.sql."""

    def task_runs(
        self, org_id: str, product_id: str, from_ms: int, to_ms: int, task: str | None, with_times: bool = True, *,
        segment: Segment | None = None,
    ) -> list[TaskRun]:
        """Runs of sessions started in the window; ``with_times=False`` leaves
        ``path_ts_ms`` empty (only the graph's medians need it)."""

    def task_path_groups(
        self, org_id: str, product_id: str, from_ms: int, to_ms: int, task: str | None, *,
        segment: Segment | None = None,
    ) -> list[TaskPathGroup]:
        """The same runs as ``task_runs``, summed per (task, raw path) by the
        engine: what top flows needs, one record per distinct path."""

    def sessions_page(self, org_id: str, product_id: str, from_ms: int, to_ms: int, *, limit: int, offset: int = 0,
                      after: tuple[int, str] | None = None, user_hash: str | None = None,
                      min_frustration: float | None = None,
                      screen_id: str | None = None,
                      segment: Segment | None = None) -> tuple[list[dict[str, Any]], int]:
        """Sessions started in [from, to), newest first (start desc, session id
        desc), after the keyset cursor ``after`` = (start ms, session id) when
        given; and the total matching the filters. ``screen_id`` keeps the
        sessions with any event on that screen. Row keys: session_row.sql."""

    def session_detail(self, org_id: str, product_id: str, session_id: str) -> dict[str, Any] | None:
        """``{"session": row, "events": [Event], "incidents": [row]}`` in time
        order, or None. Events are the client key's stored events within the
        session's [start, end]."""

    def segment_values(self, org_id: str, product_id: str) -> list[dict[str, Any]]:
        """One row per distinct segment of the scope's sessions: the five
        segment columns and ``sessions`` (core.segment.value_counts sums them
        per field)."""

    def open_session_keys(self) -> list[SessionKey]:
        """Keys whose latest stored event is later than their latest stored
        session's end: sessions still open when an embedded server stopped."""

    def close(self) -> None: ...


SEGMENT_SLOT = "/* segment */"


def fill_segment(sql: str, engine: str, segment: Segment | None) -> tuple[str, dict[str, str]]:
    """``sql`` with its segment slot filled, and the parameters to bind.

    One ``AND <column> = <parameter>`` per field set, nothing for every
    session: the column names are ours (core.segment.COLUMNS), the values are
    bound. Written in only when set, so an unfiltered view runs exactly the
    query it ran before segments: DuckDB does not fold a bound NULL, and
    ``($x IS NULL OR col = $x)`` would cost five comparisons per row of every
    view."""
    if SEGMENT_SLOT not in sql:
        raise ValueError("query has no segment slot")
    terms, params = [], {}
    for field, value in (segment or Segment()).items():
        column, name = SEGMENT_COLUMNS[field], f"seg_{field}"
        terms.append(f"AND {column} = " + (f"${name}" if engine == "duckdb" else f"{{{name}:String}}"))
        params[name] = value
    return sql.replace(SEGMENT_SLOT, " ".join(terms)), params


def read_sql(engine: str, name: str) -> str:
    """SQL shipped with the package under ``sql/<engine>/<name>``, or, for a
    query whose text is the same in both dialects, once under
    ``sql/common/<name>`` (tests/test_sql_pairs.py)."""
    root = resources.files("frictionkit").joinpath("sql")
    own = root.joinpath(engine, name)
    return (own if own.is_file() else root.joinpath("common", name)).read_text()


def migrations(engine: str) -> list[tuple[str, str]]:
    """(name, sql) of ``sql/<engine>/NNN_*.sql`` in version order."""
    folder = resources.files("frictionkit").joinpath("sql", engine)
    names = sorted(p.name for p in folder.iterdir() if p.name[:3].isdigit() and p.name.endswith(".sql"))
    return [(n, folder.joinpath(n).read_text()) for n in names]


def split_statements(sql: str) -> list[str]:
    """Split a DDL file on ``;`` at line ends; our DDL has no ``;`` inside strings."""
    stripped = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in stripped.split(";") if s.strip()]
