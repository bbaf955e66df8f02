"""``events_raw`` rows built in Rust (store/arrow.py ``events_table``,
rust/src/events_py.rs) held to the Python columns they replaced
(tests/reference/tables.py): every field, nulls, unicode, the ``extra`` JSON
byte for byte, on random events."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frictionkit.core.model import Event
from frictionkit.store.arrow import EVENT_COLUMNS, events_table
from reference.tables import events_table as reference_events_table

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
opt = st.one_of(st.none(), text)
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.floats(allow_nan=False, allow_infinity=False), text),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6)

events = st.builds(
    Event, event_id=text, org_id=text, product_id=text, session_id=text, user_hash=text,
    ts_ms=st.integers(-2**62, 2**62), event_type=st.sampled_from(["click", "navigation", "custom"]), screen_id=text,
    route=text, device_type=st.sampled_from(["desktop", "mobile"]), app_name=opt, element_type=opt,
    element_label_hash=opt, error_code=opt, os=opt, browser=opt,
    latency_ms=st.one_of(st.none(), st.floats(allow_nan=False)),
    extra=st.one_of(st.none(), st.just({}), st.dictionaries(text, json_values, max_size=4)),
    received_at_ms=st.one_of(st.none(), st.integers(0, 2**62)), agent_id=opt, sdk_version=opt,
    dead=st.one_of(st.none(), st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(events, max_size=20))
def test_native_events_table_equals_the_reference(evs):
    got, want = events_table(evs), reference_events_table(evs)
    assert got.schema == want.schema
    assert got.column_names == [name for name, _ in EVENT_COLUMNS]
    for name in got.column_names:  # column by column, so a failure names the column
        assert got[name].equals(want[name]), name


def test_a_field_of_the_wrong_type_is_a_one_line_error():
    bad = Event(event_id=1, org_id="o", product_id="p", session_id="s", user_hash="u", ts_ms=0,  # type: ignore[arg-type]
                event_type="click", screen_id="A", route="/a", device_type="desktop")
    with pytest.raises(TypeError, match="event_id: expected str"):
        events_table([bad])
