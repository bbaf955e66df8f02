"""The event's fields are declared in several places (the agent's contract,
the bus stamp, the core model, the bus codec, the Arrow schema, both stores'
DDL). This holds them equal, and every field survives each trip a stored
event makes: a field added in one place and forgotten in another fails here
(docs/architecture.md, "Extension points")."""

from __future__ import annotations

import msgspec
import pytest

from frictionkit.bus.codec import event_to_bus_json
from frictionkit.core.contract import BusStamp, WireEvent, decode_bus_message
from frictionkit.core.model import Event
from frictionkit.store import open_store
from frictionkit.store.arrow import EVENT_COLUMNS, events_table

# Model names that differ from the wire and column names, and why: the model
# keeps times as integers in ms.
MODEL_TO_COLUMN = {"ts_ms": "ts", "received_at_ms": "received_at"}


def _model_columns() -> list[str]:
    return [MODEL_TO_COLUMN.get(name, name) for name in Event.__struct_fields__]


def _full_event() -> Event:
    """An event with every field set to a value of its own."""
    return Event(event_id="e-1", org_id="acme", product_id="crm", session_id="s-1", user_hash="u-1",
                 ts_ms=1_780_000_000_123, event_type="click", screen_id="orders", route="/orders/7",
                 device_type="mobile", app_name="crm-web", element_type="button", element_label_hash="h-1",
                 error_code="E42", os="iOS", browser="Safari", latency_ms=12.5, extra={"k": "v", "n": 3},
                 received_at_ms=1_780_000_000_456, agent_id="agent-1", sdk_version="1.2.3", dead=True)


def test_every_model_field_is_set_in_the_full_event():
    ev = _full_event()
    assert all(getattr(ev, name) is not None for name in Event.__struct_fields__)


def test_the_contract_and_the_bus_stamp_declare_the_model_fields():
    wire = set(WireEvent.__struct_fields__) | set(BusStamp.__struct_fields__)
    assert {MODEL_TO_COLUMN.get(n, n) for n in Event.__struct_fields__} == wire


def test_the_arrow_schema_and_the_events_table_declare_the_model_fields():
    assert sorted(name for name, _ in EVENT_COLUMNS) == sorted(_model_columns())
    assert events_table([_full_event()]).column_names == [name for name, _ in EVENT_COLUMNS]


def test_every_field_survives_the_bus_codec():
    ev = _full_event()
    [back] = decode_bus_message(event_to_bus_json(ev))
    assert msgspec.structs.asdict(back) == msgspec.structs.asdict(ev)


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_every_field_survives_each_store(engine, tmp_path):
    dsn = f"duckdb:///{tmp_path}/s.duckdb" if engine == "duckdb" else f"chdb:///{tmp_path}/ch"
    if engine == "chdb":
        pytest.importorskip("chdb")
    store = open_store(dsn)
    try:
        if engine == "duckdb":
            columns = [row[0] for row in store.con.execute("DESCRIBE events_raw").fetchall()]
        else:
            columns = [row[0] for row in store.client.query("DESCRIBE TABLE events_raw").result_rows]
        # The DDL may add housekeeping columns after the event's own.
        assert columns[:len(EVENT_COLUMNS)] == [name for name, _ in EVENT_COLUMNS]
        ev = _full_event()
        with store.transaction():
            store.insert_events([ev])
        [back] = store.load_history([ev.key])
        assert msgspec.structs.asdict(back) == msgspec.structs.asdict(ev)
    finally:
        store.close()
