"""The native core's facts (frictionkit.native.session_facts) held to the
executable reference (tests/reference/: today's Python rules) on random
adversarial sessions, the generated traffic, and bad input.

Equal means the four Arrow tables are equal: every row, every column, floats
bit for bit, in the same order."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionkit import native
from frictionkit.core.contract import decode_event_lines
from frictionkit.core.incidents import IncidentConfig
from frictionkit.core.metrics import CoreConfig, ScoreConfig
from frictionkit.core.model import Event, Session
from frictionkit.core.sessionizer import SessionizerConfig

from helpers import MINUTE, SECOND, T0
from reference.metrics import process_session, result_tables

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "demo.jsonl.gz"
SCREENS = ["A", "B", "C", "D", "é", "Ω-screen", "a"]
LABELS = [None, "", "save", "open", "x"]
TYPES_ = [None, "", "button", "link"]


def assert_same(sessions: list[Session], config: CoreConfig = CoreConfig()) -> None:
    want = result_tables([process_session(s, config) for s in sessions])
    got = native.session_facts(sessions, config).tables
    for name, table in want.items():
        if not sessions or table.num_rows == 0:
            # The reference types an empty column as null; compare the rows only.
            assert got[name].num_rows == 0, name
            continue
        diff = [c for c in table.column_names if not table[c].equals(got[name][c])]
        assert not diff, f"{name}: columns {diff} differ:\n{table.select(diff)}\n{got[name].select(diff)}"
        assert table.schema == got[name].schema, name


# -- random adversarial sessions ---------------------------------------------------

# Steps at and around every threshold of the default and the drawn configs.
_STEPS = [0, 1, 99, 100, 101, 999, 1000, 1001, 20 * SECOND - 1, 20 * SECOND, 20 * SECOND + 1, 5 * MINUTE,
          5 * MINUTE + 1, 15 * MINUTE, 15 * MINUTE + 1, 2500]


@st.composite
def events(draw, sid: str):
    out = []
    t = 0
    for i in range(draw(st.integers(1, 30))):
        t += draw(st.one_of(st.sampled_from(_STEPS), st.integers(0, 3 * SECOND)))
        kind = draw(st.sampled_from(["click", "click", "click", "navigation", "navigation", "custom", "focus_change",
                                     "scroll", "input_meta"]))
        extra = None
        route = None
        if kind == "custom":
            extra = draw(st.one_of(
                st.none(),
                st.fixed_dictionaries({"task_name": st.sampled_from(["t1", "t2", "", 5, None]),
                                       "action": st.sampled_from(["start", "complete", "fail", "go", 1])}),
                st.fixed_dictionaries({"task_name": st.sampled_from(["t1", "t2"])}),
            ))
            route = draw(st.sampled_from(["/x", "/task_start", "/w/task_complete", "/task_fail", None]))
        elif kind == "focus_change":
            extra = draw(st.sampled_from([None, {}, {"state": "focus"}, {"state": "blur"}, {"state": 1}]))
        elif draw(st.booleans()):
            extra = draw(st.sampled_from([{"app_version": "2.1"}, {"app_version": ""}, {"app_version": 3},
                                          {"app_version": "v" * 300}, {"other": "x"}]))
        screen = draw(st.sampled_from(SCREENS))
        out.append(Event(
            event_id=f"{sid}-{draw(st.integers(0, 3))}-{i:03d}", org_id="org", product_id="prod", session_id=sid,
            user_hash="u", ts_ms=T0 + t, event_type=kind, screen_id=screen,
            route=route if route is not None else f"/{screen}",
            device_type=draw(st.sampled_from(["desktop", "mobile"])),
            element_type=draw(st.sampled_from(TYPES_)), element_label_hash=draw(st.sampled_from(LABELS)),
            error_code=draw(st.sampled_from([None, None, None, "", "E500"])),
            browser=draw(st.sampled_from([None, "Chrome"])), os=draw(st.sampled_from([None, "Linux"])),
            app_name=draw(st.sampled_from([None, "crm"])), sdk_version=draw(st.sampled_from([None, "1.0"])),
            extra=extra, dead=draw(st.sampled_from([None, None, True, False])) if kind == "click" else None,
        ))
    out.sort(key=lambda e: (e.ts_ms, e.event_id))
    return out


@st.composite
def sessions(draw):
    out = []
    for n in range(draw(st.integers(1, 4))):
        sid = f"s{n}"
        out.append(Session(org_id="org", product_id="prod", client_session_id=sid, session_id=sid, seq=1,
                           events=draw(events(sid))))
    return out


configs = st.builds(
    lambda rage, interval, labels, types, dwell, abandon, window, k, t, w: CoreConfig(
        incidents=IncidentConfig(rage_min_clicks=rage, rage_max_interval_ms=interval,
                                 rage_excluded_label_hashes=frozenset(labels),
                                 rage_excluded_element_types=frozenset(types), backtrack_max_dwell_ms=dwell,
                                 abandon_after_ms=abandon, error_click_window_ms=window, loop_max_navigations=k,
                                 loop_max_duration_ms=t),
        scores=ScoreConfig(weight_dead_clicks=w)),
    st.integers(1, 5), st.sampled_from([100, 1000]), st.sets(st.sampled_from(["save", "x"])),
    st.sets(st.sampled_from(["link", "button"])), st.sampled_from([1000, 20 * SECOND]),
    st.sampled_from([2500, 15 * MINUTE]), st.sampled_from([100, 1000]), st.integers(3, 6),
    st.sampled_from([2500, 5 * MINUTE]), st.sampled_from([0.5, 1.25]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_native_facts_equal_the_reference_on_adversarial_sessions(batch):
    assert_same(batch)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions(), configs)
def test_native_facts_equal_the_reference_with_any_configuration(batch, config):
    assert_same(batch, config)


def test_native_facts_equal_the_reference_on_the_demo_traffic():
    with gzip.open(FIXTURE, "rb") as f:
        evs, errors = decode_event_lines(f.read().splitlines(), now_ms=None)
    assert not errors
    logic = native.sessionizer(SessionizerConfig())
    for e in evs:
        logic.on_event(e)
    closed = logic.close_all()
    assert len(closed) > 400
    assert_same(closed)


def test_no_sessions_give_four_empty_tables_typed_as_the_stores_take_them():
    facts = native.session_facts([])
    assert facts.sessions == 0 and facts.incidents == 0
    assert facts.tables["fact_task_runs"].schema.field("path").type == pa.list_(pa.string())
    assert facts.tables["fact_sessions"].schema.field("start_ts").type == pa.timestamp("ms")


# -- bad input: one clear Python error, never a crash --------------------------------


def _one(**kw) -> Event:
    base = dict(event_id="e1", org_id="o", product_id="p", session_id="s", user_hash="u", ts_ms=T0,
                event_type="click", screen_id="A", route="/a", device_type="desktop")
    return Event(**{**base, **kw})


@pytest.mark.parametrize("bad, error", [
    (Session(org_id="o", product_id="p", client_session_id="s", session_id="s", seq=1, events=()), TypeError),
    (Session(org_id="o", product_id="p", client_session_id="s", session_id="s", seq=1, events=[]), TypeError),
    (Session(org_id="o", product_id="p", client_session_id="s", session_id="s", seq=1, events=[object()]),
     AttributeError),
    (Session(org_id="o", product_id="p", client_session_id="s", session_id="s", seq=1,
             events=[_one(screen_id=5)]), TypeError),
    (Session(org_id="o", product_id="p", client_session_id="s", session_id="s", seq=1,
             events=[_one(extra=[1])]), TypeError),
    ("not a session", AttributeError),
])
def test_bad_input_is_a_python_error_with_one_line(bad, error):
    with pytest.raises(error) as info:
        native.session_facts([bad])
    assert "\n" not in str(info.value)
