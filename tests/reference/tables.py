"""The reference model's rows of the four fact tables (what the native core
builds as Arrow on the product path: rust/src/facts_arrow.rs)."""

from __future__ import annotations

from typing import Iterable

import msgspec
import pyarrow as pa

from frictionkit.core.model import Incident, SessionFacts, SessionResult, SessionScreenFacts, TaskRun
from frictionkit.core.segment import COLUMNS as SEGMENT_COLUMNS
from frictionkit.core.model import Event
from frictionkit.store.arrow import TS, TS_RENAMES as _TS_RENAMES


def _struct_table(rows: Iterable[msgspec.Struct], cls: type, types: dict[str, pa.DataType], renames: dict[str, str]) -> pa.Table:
    fields = cls.__struct_fields__
    columns = list(zip(*(msgspec.structs.astuple(r) for r in rows))) or [[] for _ in fields]
    arrays = {}
    for name, values in zip(fields, columns):
        arrays[renames.get(name, name)] = pa.array(values, type=types.get(name))
    return pa.table(arrays)


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




_json = msgspec.json.Encoder()


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

