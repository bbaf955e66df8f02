"""Domain records <-> Arrow tables, shared by every store adapter.

Columnar batches are how both DuckDB and ClickHouse take data fastest, and one
conversion keeps the stores' rows identical.
"""

from __future__ import annotations

from typing import Any, Iterable, TypeVar

import msgspec
import pyarrow as pa

from ..core.model import Event, Incident, SessionFacts, SessionResult, SessionScreenFacts, TaskRun
from ..core.segment import COLUMNS as SEGMENT_COLUMNS

S = TypeVar("S", bound=msgspec.Struct)

TS = pa.timestamp("ms")
_json = msgspec.json.Encoder()
_json_decode = msgspec.json.Decoder(dict[str, Any])

EVENT_COLUMNS = [
    ("org_id", pa.string()),
    ("product_id", pa.string()),
    ("session_id", pa.string()),
    ("event_id", pa.string()),
    ("user_hash", pa.string()),
    ("ts", TS),
    ("event_type", pa.string()),
    ("screen_id", pa.string()),
    ("route", pa.string()),
    ("device_type", pa.string()),
    ("app_name", pa.string()),
    ("element_type", pa.string()),
    ("element_label_hash", pa.string()),
    ("error_code", pa.string()),
    ("os", pa.string()),
    ("browser", pa.string()),
    ("latency_ms", pa.float64()),
    ("extra", pa.string()),
    ("received_at", TS),
    ("agent_id", pa.string()),
    ("sdk_version", pa.string()),
    ("dead", pa.bool_()),
]


def events_table(events: list[Event]) -> pa.Table:
    # One comprehension per column is several times faster than appending
    # field by field, and this runs for every stored event.
    encode = _json.encode
    return pa.table(
        {
            "org_id": pa.array([e.org_id for e in events], pa.string()),
            "product_id": pa.array([e.product_id for e in events], pa.string()),
            "session_id": pa.array([e.session_id for e in events], pa.string()),
            "event_id": pa.array([e.event_id for e in events], pa.string()),
            "user_hash": pa.array([e.user_hash for e in events], pa.string()),
            "ts": pa.array([e.ts_ms for e in events], TS),
            "event_type": pa.array([e.event_type for e in events], pa.string()),
            "screen_id": pa.array([e.screen_id for e in events], pa.string()),
            "route": pa.array([e.route for e in events], pa.string()),
            "device_type": pa.array([e.device_type for e in events], pa.string()),
            "app_name": pa.array([e.app_name for e in events], pa.string()),
            "element_type": pa.array([e.element_type for e in events], pa.string()),
            "element_label_hash": pa.array([e.element_label_hash for e in events], pa.string()),
            "error_code": pa.array([e.error_code for e in events], pa.string()),
            "os": pa.array([e.os for e in events], pa.string()),
            "browser": pa.array([e.browser for e in events], pa.string()),
            "latency_ms": pa.array([e.latency_ms for e in events], pa.float64()),
            "extra": pa.array([encode(e.extra).decode() if e.extra else None for e in events], pa.string()),
            "received_at": pa.array([e.received_at_ms for e in events], TS),
            "agent_id": pa.array([e.agent_id for e in events], pa.string()),
            "sdk_version": pa.array([e.sdk_version for e in events], pa.string()),
            "dead": pa.array([e.dead for e in events], pa.bool_()),
        }
    )


def event_from_row(row: tuple) -> Event:
    """Inverse of ``events_table`` for a row selected as EVENT_COLUMNS with
    ``ts`` and ``received_at`` as epoch milliseconds."""
    (org, product, session, event_id, user, ts_ms, etype, screen, route, device, app, el_type, el_hash, err, os_,
     browser, latency, extra, received, agent, sdk, dead) = row
    return Event(
        event_id=event_id, org_id=org, product_id=product, session_id=session, user_hash=user, ts_ms=int(ts_ms),
        event_type=etype, screen_id=screen, route=route, device_type=device, app_name=app, element_type=el_type,
        element_label_hash=el_hash, error_code=err, os=os_, browser=browser, latency_ms=latency,
        extra=_json_decode.decode(extra) if extra else None,
        received_at_ms=int(received) if received is not None else None, agent_id=agent, sdk_version=sdk,
        dead=bool(dead) if dead is not None else None,
    )


def _struct_table(rows: Iterable[msgspec.Struct], cls: type, types: dict[str, pa.DataType], renames: dict[str, str]) -> pa.Table:
    fields = cls.__struct_fields__
    columns = list(zip(*(msgspec.structs.astuple(r) for r in rows))) or [[] for _ in fields]
    arrays = {}
    for name, values in zip(fields, columns):
        arrays[renames.get(name, name)] = pa.array(values, type=types.get(name))
    return pa.table(arrays)


_TS_RENAMES = {"start_ts_ms": "start_ts", "end_ts_ms": "end_ts", "ts_ms": "ts", "session_start_ts_ms": "session_start_ts"}
_TS_TYPES = {name: TS for name in _TS_RENAMES}
_INT64 = {"duration_ms": pa.int64(), "dwell_ms": pa.int64(), "version": pa.int64()}
# Typed explicitly: a batch in which no session has a browser would otherwise
# give a column of Arrow type null.
_SEGMENT_TYPES = {name: pa.string() for name in SEGMENT_COLUMNS}


def _with_segments(table: pa.Table, owners: list[SessionFacts]) -> pa.Table:
    """``table`` (one row per child of ``owners[i]``) with its session's segment
    columns appended: every fact row carries them, so each view filters its
    own table by column equality (no join back to fact_sessions)."""
    for name in SEGMENT_COLUMNS:
        table = table.append_column(name, pa.array([getattr(s, name) for s in owners], pa.string()))
    return table


def result_tables(results: list[SessionResult]) -> dict[str, pa.Table]:
    """The four fact tables' rows for a batch of closed sessions."""
    sessions = [r.session for r in results]
    incidents = [i for r in results for i in r.incidents]
    screens = [s for r in results for s in r.screens]
    runs = [t for r in results for t in r.task_runs]
    types = {**_TS_TYPES, **_INT64}
    run_types = {**types, "path": pa.list_(pa.string()), "path_ts_ms": pa.list_(pa.int64()), "task_name": pa.string()}
    return {
        "fact_sessions": _struct_table(sessions, SessionFacts, {**types, **_SEGMENT_TYPES}, _TS_RENAMES),
        "fact_incidents": _with_segments(
            _struct_table(incidents, Incident, {**types, "task_name": pa.string()}, _TS_RENAMES),
            [r.session for r in results for _ in r.incidents]),
        "fact_session_screens": _with_segments(_struct_table(screens, SessionScreenFacts, types, _TS_RENAMES),
                                               [r.session for r in results for _ in r.screens]),
        "fact_task_runs": _with_segments(_struct_table(runs, TaskRun, run_types, _TS_RENAMES),
                                         [r.session for r in results for _ in r.task_runs]),
    }


def structs_from_arrow(table: pa.Table, cls: type[S]) -> list[S]:
    """One ``cls`` per row of a query result whose columns are ``cls``'s fields
    in order. Column by column: about twice as fast as row tuples when some
    columns are lists, and top flows and the flow graph may read a few hundred
    thousand rows."""
    return [cls(*row) for row in zip(*(column.to_pylist() for column in table.columns))]

