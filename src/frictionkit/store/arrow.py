"""Domain records <-> Arrow tables, shared by every store adapter.

Columnar batches are how both DuckDB and ClickHouse take data fastest, and one
conversion keeps the stores' rows identical.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import pyarrow as pa

from ..core.model import Event, Incident

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
    """The events as ``events_raw`` rows (EVENT_COLUMNS), built in Rust
    (rust/src/events_py.rs): each event's fields are read once there instead
    of one Python list per column; ``extra`` is still msgspec's JSON."""
    from .. import _native  # the compiled core: a build without it fails at frictionkit.native first

    return pa.Table.from_batches([_native.events_batch(events if isinstance(events, list) else list(events),
                                                       _json.encode)])


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


# A record's *_ts_ms field -> its fact column (a timestamp).
TS_RENAMES = {"start_ts_ms": "start_ts", "end_ts_ms": "end_ts", "ts_ms": "ts", "session_start_ts_ms": "session_start_ts"}


FACT_TABLES = ("fact_sessions", "fact_incidents", "fact_session_screens", "fact_task_runs")


class FactBatch:
    """The rows of the four fact tables for a batch of closed sessions, as the
    native core gives them (``frictionkit.native.session_facts``): Arrow
    tables, no Python object per row. What the store sink writes, and what
    ``events.incidents`` is projected from."""

    __slots__ = ("tables",)

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.tables = tables

    @property
    def sessions(self) -> int:
        return self.tables["fact_sessions"].num_rows

    @property
    def incidents(self) -> int:
        return self.tables["fact_incidents"].num_rows

    def keys(self) -> list[tuple[str, str, str]]:
        """(org, product, session id) of each session, in row order."""
        t = self.tables["fact_sessions"]
        return list(zip(*(t.column(c).to_pylist() for c in ("org_id", "product_id", "session_id"))))

    def without(self, keys: set[tuple[str, str, str]]) -> FactBatch:
        """These facts minus every row of these sessions (a session given again
        later in the same write: the later facts are the ones kept)."""
        if not keys:
            return self
        import pyarrow.compute as pc

        wanted = pa.array(["\x1f".join(k) for k in keys], pa.string())

        def keep(table: pa.Table) -> pa.Table:
            if not table.num_rows:
                return table
            joined = pc.binary_join_element_wise(table["org_id"], table["product_id"], table["session_id"], "\x1f")
            return table.filter(pc.invert(pc.is_in(joined, value_set=wanted)))

        return FactBatch({name: keep(t) for name, t in self.tables.items()})

    @staticmethod
    def concat(batches: list[FactBatch]) -> FactBatch:
        if len(batches) == 1:
            return batches[0]
        return FactBatch({name: pa.concat_tables([b.tables[name] for b in batches]) for name in FACT_TABLES})

    def incident_records(self) -> list[Incident]:
        """The incidents as ``Incident`` records (for ``events.incidents``: a
        message per incident is made anyway)."""
        return fact_records(self.tables["fact_incidents"], Incident)


def fact_records(table: pa.Table, cls: type[S]) -> list[S]:
    """One ``cls`` (a fact record of core.model) per row of its fact table."""
    columns = []
    for name in cls.__struct_fields__:
        column = table.column(TS_RENAMES.get(name, name))
        columns.append(column.cast(pa.int64()) if pa.types.is_timestamp(column.type) else column)
    return [cls(*row) for row in zip(*(c.to_pylist() for c in columns))]


def structs_from_arrow(table: pa.Table, cls: type[S]) -> list[S]:
    """One ``cls`` per row of a query result whose columns are ``cls``'s fields
    in order. Column by column: about twice as fast as row tuples when some
    columns are lists, and top flows and the flow graph may read a few hundred
    thousand rows."""
    return [cls(*row) for row in zip(*(column.to_pylist() for column in table.columns))]

