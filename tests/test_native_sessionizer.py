"""The native sessionizer (rust/src/sessionizer.rs) held to its executable
reference (tests/reference/sessionizer.py, the Python logic it replaced) on
random adversarial streams: shuffled arrivals, duplicate ids, gaps at and
around the 30 min and 24 h bounds, late events, watermarks from outside, the
idle rule with a wall clock, preloads, forgets, and a snapshot/resume at any
point. Every step must give the same statuses, the same closed sessions (the
very Event objects, in the same order) and the same clock."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionkit import native
from frictionkit.core.clock import MAX_TS_MS, EventClock
from frictionkit.core.sessionizer import SessionizerConfig
from reference import clock as ref_clock
from reference import sessionizer as reference

from helpers import HOUR, MINUTE, ev

GAP = 30 * MINUTE
KEYS = [("org-1", "prod-1", "s-1"), ("org-1", "prod-1", "s-2"), ("org-2", "prod-1", "s-1")]
# Offsets that land on the rules' bounds: the gap, one past it, the 24 h cut.
STEPS = st.sampled_from([0, 1, 999, MINUTE, 2 * MINUTE, 2 * MINUTE + 1, GAP - 1, GAP, GAP + 1, 2 * HOUR,
                         24 * HOUR - 1, 24 * HOUR, -1, -MINUTE, -2 * MINUTE - 1, -GAP - 1])


@st.composite
def configs(draw):
    return SessionizerConfig(
        gap_ms=draw(st.sampled_from([GAP, 10 * MINUTE])),
        max_length_ms=draw(st.sampled_from([24 * HOUR, HOUR])),
        allowed_lateness_ms=draw(st.sampled_from([0, 1, 2 * MINUTE])),
        key_retention_ms=draw(st.sampled_from([24 * HOUR, 0, MINUTE])),
        idle_after_ms=draw(st.sampled_from([None, 0, 5_000])),
    )


@st.composite
def operations(draw):
    ops, t, now, made = [], 0, 1_000_000, []
    for _ in range(draw(st.integers(1, 60))):
        kind = draw(st.sampled_from(["event"] * 6 + ["dup", "advance", "idle", "watermark", "resume", "preload",
                                                     "forget"]))
        now += draw(st.sampled_from([0, 1, 4_999, 5_000, 60_000]))
        if kind == "event":
            t = max(0, t + draw(STEPS))
            key = draw(st.sampled_from(KEYS))
            e = ev(t, org=key[0], product=key[1], session=key[2], id=f"e{draw(st.integers(0, 40)):03d}")
            made.append(e)
            ops.append(("event", e, draw(st.sampled_from([None, now]))))
        elif kind == "dup" and made:
            ops.append(("event", draw(st.sampled_from(made)), now))
        elif kind == "advance":
            ops.append(("advance", None, None))
        elif kind == "idle":
            ops.append(("advance", None, now + draw(st.sampled_from([0, 5_000, GAP + 3 * MINUTE]))))
        elif kind == "watermark":
            ops.append(("advance", ev(t + draw(STEPS)).ts_ms, None))
        elif kind == "resume":
            ops.append(("resume",))
        elif kind == "preload" and made:
            ops.append(("preload", draw(st.lists(st.sampled_from(made), max_size=4))))
        elif kind == "forget":
            ops.append(("forget", {draw(st.sampled_from(KEYS))}))
    return ops


def shape(sessions):
    return [(s.org_id, s.product_id, s.client_session_id, s.session_id, s.seq, [id(e) for e in s.events])
            for s in sessions]


def state(logic):
    return (logic.watermark_ts_ms, logic.max_ts_ms, logic.closed_until_ts_ms, logic.open_events, logic.open_keys,
            [logic.has_key(k) for k in KEYS])


def run(ops, config, build):
    logic, out = build(config, None), []
    for op in ops:
        if op[0] == "event":
            out.append(logic.on_event(op[1], op[2]))
        elif op[0] == "advance":
            out.append(shape(logic.advance(op[1], now_ms=op[2])))
        elif op[0] == "resume":
            # Events are kept by identity through a snapshot; the copy is only
            # to show the state is plain data.
            snap = logic.snapshot()
            assert pickle.loads(pickle.dumps(snap))["clock"] == snap["clock"]
            logic = build(config, snap)
        elif op[0] == "preload":
            logic.preload(op[1])
        elif op[0] == "forget":
            logic.forget(op[1])
        out.append(state(logic))
    out.append(shape(logic.close_all()))
    out.append(state(logic))
    return out


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), operations())
def test_native_sessionizer_matches_the_reference_step_by_step(config, ops):
    assert run(ops, config, native.sessionizer) == run(ops, config, reference.build)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), operations())
def test_on_events_is_on_event_in_order(config, ops):
    """The chunked call the pipelines use: one status byte per event, and the
    keys the logic did not hold before the chunk, in their first order."""
    events = [op[1] for op in ops if op[0] == "event"]
    one, chunk = native.sessionizer(config), native.sessionizer(config)
    held_before = set()
    expected = []
    for e in events:
        if not one.has_key(e.key) and e.key not in held_before:
            held_before.add(e.key)
        expected.append({"accepted": 0, "duplicate": 1, "late": 2}[one.on_event(e, 5)])
    statuses, fresh = chunk.on_events(events, 5)
    assert list(statuses) == expected
    assert fresh == list(dict.fromkeys(e.key for e in events))
    assert shape(chunk.close_all()) == shape(one.close_all())


def clamp(ts_ms):
    """Native times are int64 and saturate at MAX_TS_MS (past end of input,
    plus idle time); Python's ints grow. Either way everything is closed."""
    return ts_ms if ts_ms is None else min(ts_ms, MAX_TS_MS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["event", "advance", "close", "eof"]), STEPS, st.sampled_from([None, 0, 4_999, 5_000])),
                max_size=30),
       st.sampled_from([None, 0, 5_000]), st.sampled_from([0, 2 * MINUTE]))
def test_native_clock_matches_the_reference(steps, idle_after_ms, lateness):
    config = EventClock(allowed_lateness_ms=lateness, idle_after_ms=idle_after_ms)
    a, b = native.clock(config), ref_clock.build(config)
    ts, now = 10 * HOUR, 1_000_000
    for kind, step, dt in steps:
        ts += step
        now += dt or 0
        wall = None if dt is None else now
        if kind == "event":
            a.on_event(ts, wall), b.on_event(ts, wall)
        elif kind == "advance":
            assert a.advance_to(ts) == b.advance_to(ts)
        elif kind == "close":
            assert a.close_until(wall) == clamp(b.close_until(wall))
        else:
            assert a.on_eof() == b.on_eof()
        assert (a.quiet(wall), a.is_late(ts), a.watermark(), a.snapshot()) == (
            b.quiet(wall), b.is_late(ts), b.watermark(), b.snapshot())


def test_bad_input_is_a_one_line_error_and_the_state_is_kept():
    logic = native.sessionizer(SessionizerConfig())
    logic.on_event(ev(0, id="a"))
    with pytest.raises(AttributeError):
        logic.on_event(object())
    with pytest.raises(TypeError, match="a session key is a tuple"):
        logic.has_key("org-1")
    with pytest.raises(TypeError):
        logic.on_events((ev(1),))  # a list, as the pipelines pass
    assert logic.open_events == 1
    [s] = logic.close_all()
    assert [e.event_id for e in s.events] == ["a"]
