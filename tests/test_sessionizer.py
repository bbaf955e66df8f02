"""SPEC §5: the event-time sessionizer at its boundaries (gap, 24 h cut, naming,
duplicates, lateness, watermarks, snapshot/resume)."""

from __future__ import annotations

import pickle

from frictionkit import native
from frictionkit.core.sessionizer import ACCEPTED, DUPLICATE, LATE, SessionizerConfig

from helpers import HOUR, MINUTE, T0, click, ev

GAP = 30 * MINUTE
LATENESS = 2 * MINUTE


def replay(events, config=SessionizerConfig()):
    logic = native.sessionizer(config)
    for e in events:
        logic.on_event(e)
    return logic.close_all()


def stream(logic, events):
    """Feed events one by one, advancing after each; return what closed."""
    closed = []
    for e in events:
        logic.on_event(e)
        closed += logic.advance()
    return closed


def shape(sessions):
    return sorted((s.session_id, s.seq, [e.event_id for e in s.events]) for s in sessions)


# -- gaps, cut, naming ----------------------------------------------------------


def test_gap_of_exactly_30_minutes_does_not_split():
    evs = [click(0), click(GAP), click(2 * GAP)]
    [s] = replay(evs)
    assert [e.event_id for e in s.events] == [e.event_id for e in evs]


def test_gap_of_30_minutes_and_1ms_splits_and_names_the_sessions():
    evs = [click(0), click(GAP + 1), click(2 * GAP + 2)]
    out = replay(evs)
    assert [(s.session_id, s.seq, len(s.events)) for s in out] == [("s-1", 1, 1), ("s-1#2", 2, 1), ("s-1#3", 3, 1)]
    assert all(s.client_session_id == "s-1" for s in out)


def test_24h_cut_an_event_at_exactly_start_plus_24h_starts_a_new_session():
    """`_segment_end` cuts when ts - start >= 24 h: an event at start + 24 h - 1 ms
    is still in the first session, an event at exactly start + 24 h starts the next."""
    step = 20 * MINUTE  # never a gap
    evs = [click(t) for t in range(0, 24 * HOUR, step)] + [click(24 * HOUR - 1), click(24 * HOUR), click(24 * HOUR + step)]
    first, second = replay(evs)
    assert first.session_id == "s-1" and second.session_id == "s-1#2"
    assert first.events[-1].ts_ms == T0 + 24 * HOUR - 1
    assert second.events[0].ts_ms == T0 + 24 * HOUR
    assert len(second.events) == 2


def test_24h_cut_measured_from_the_new_session_start():
    step = 25 * MINUTE
    evs = [click(t) for t in range(0, 49 * HOUR, step)]
    out = replay(evs)
    assert [s.session_id for s in out] == ["s-1", "s-1#2", "s-1#3"]
    for s in out:
        assert s.events[-1].ts_ms - s.events[0].ts_ms < 24 * HOUR
    assert out[1].events[0].ts_ms - out[0].events[0].ts_ms >= 24 * HOUR
    assert sum(len(s.events) for s in out) == len(evs)


def test_keys_are_org_product_and_client_session():
    evs = [click(0), click(1, session="s-2"), click(2, org="org-2"), click(3, product="prod-2")]
    out = replay(evs)
    assert sorted((s.org_id, s.product_id, s.session_id) for s in out) == [
        ("org-1", "prod-1", "s-1"),
        ("org-1", "prod-1", "s-2"),
        ("org-1", "prod-2", "s-1"),
        ("org-2", "prod-1", "s-1"),
    ]


def test_session_events_are_sorted_by_ts_then_event_id():
    evs = [click(500, id="b"), click(100, id="z"), click(500, id="a")]
    [s] = replay(evs)
    assert [e.event_id for e in s.events] == ["z", "a", "b"]


# -- duplicates and late events -------------------------------------------------


def test_duplicate_event_ids_are_ignored():
    logic = native.sessionizer(SessionizerConfig())
    a = click(0, id="x")
    assert logic.on_event(a) == ACCEPTED
    assert logic.on_event(a) == DUPLICATE
    # Same id, different content: still the same event (idempotency key).
    assert logic.on_event(click(10, id="x")) == DUPLICATE
    assert logic.on_event(click(20, id="y")) == ACCEPTED
    [s] = logic.close_all()
    assert [e.event_id for e in s.events] == ["x", "y"]


def test_late_event_is_reported_and_does_not_change_the_closed_session():
    logic = native.sessionizer(SessionizerConfig())
    first = [click(0), click(60_000)]
    closed = stream(logic, first)
    assert closed == []
    # Another key moves the watermark far beyond the session's last event + gap.
    closed = stream(logic, [click(2 * HOUR, session="other")])
    assert shape(closed) == [("s-1", 1, [e.event_id for e in first])]
    # Falls inside the closed session, before it, and within its gap after it.
    assert logic.on_event(click(30_000)) == LATE
    assert logic.on_event(click(-10 * MINUTE)) == LATE
    assert logic.on_event(click(60_000 + GAP)) == LATE
    assert logic.on_event(first[0]) in (LATE, DUPLICATE)
    rest = logic.close_all()
    assert [s.session_id for s in rest] == ["other"]


def test_event_after_the_gap_of_a_closed_session_opens_the_next_one():
    logic = native.sessionizer(SessionizerConfig())
    stream(logic, [click(0)])
    assert [s.session_id for s in logic.advance(T0 + GAP + 1)] == ["s-1"]
    assert logic.on_event(click(GAP + 1)) == ACCEPTED
    [s] = logic.close_all()
    assert s.session_id == "s-1#2" and s.seq == 2


def test_event_after_the_24h_cut_of_a_closed_session_is_not_late():
    logic = native.sessionizer(SessionizerConfig())
    evs = [click(t) for t in range(0, 24 * HOUR, 20 * MINUTE)]
    closed = stream(logic, evs)
    closed += logic.advance(T0 + 24 * HOUR)  # the cut is due
    assert [s.session_id for s in closed] == ["s-1"]
    assert logic.on_event(click(24 * HOUR)) == ACCEPTED
    assert logic.on_event(click(24 * HOUR - 1)) == LATE
    [s] = logic.close_all()
    assert s.session_id == "s-1#2" and len(s.events) == 1


# -- watermarks -----------------------------------------------------------------


def test_watermark_is_max_ts_minus_lateness_and_must_pass_last_plus_gap():
    logic = native.sessionizer(SessionizerConfig())
    assert stream(logic, [click(0)]) == []
    # Watermark = (GAP + LATENESS) - LATENESS = last + GAP: not passed yet.
    assert stream(logic, [click(GAP + LATENESS, session="other")]) == []
    assert logic.watermark_ts_ms == T0 + GAP
    # One more millisecond passes it.
    closed = stream(logic, [click(GAP + LATENESS + 1, session="other")])
    assert [s.session_id for s in closed] == ["s-1"]
    assert logic.watermark_ts_ms == T0 + GAP + 1


def test_allowed_lateness_is_configurable():
    logic = native.sessionizer(SessionizerConfig(allowed_lateness_ms=0))
    stream(logic, [click(0)])
    assert [s.session_id for s in stream(logic, [click(GAP + 1, session="other")])] == ["s-1"]


def test_sessions_close_exactly_once():
    logic = native.sessionizer(SessionizerConfig())
    stream(logic, [click(0), click(1000)])
    assert len(logic.advance(T0 + 5 * HOUR)) == 1
    assert logic.advance(T0 + 6 * HOUR) == []
    assert logic.close_all() == []


def test_idle_partition_watermark_passed_in_closes_sessions():
    logic = native.sessionizer(SessionizerConfig())
    assert stream(logic, [click(0), click(10_000)]) == []
    assert logic.advance(T0 + 10_000 + GAP) == []
    [s] = logic.advance(T0 + 10_000 + GAP + 1)
    assert len(s.events) == 2


def test_passed_in_watermark_only_moves_forward():
    logic = native.sessionizer(SessionizerConfig())
    stream(logic, [click(0)])
    logic.advance(T0 + 10 * MINUTE)
    # An earlier wall-clock watermark does not move it back...
    logic.advance(T0)
    assert logic.watermark_ts_ms == T0 + 10 * MINUTE
    # ...and one behind the event-time watermark is ignored.
    stream(logic, [click(5 * HOUR, session="other")])
    assert logic.watermark_ts_ms == T0 + 5 * HOUR - LATENESS
    logic.advance(T0 + HOUR)
    assert logic.watermark_ts_ms == T0 + 5 * HOUR - LATENESS


def test_out_of_order_within_lateness_gives_the_sorted_result():
    evs = [click(0), click(GAP), click(2 * GAP + 1), click(2 * GAP + 90_000), click(3 * GAP + 1000)]
    shuffled = [evs[1], evs[0], evs[3], evs[2], evs[4]]  # each within 2 min of the max so far
    logic = native.sessionizer(SessionizerConfig())
    got = stream(logic, shuffled) + logic.close_all()
    assert shape(got) == shape(replay(evs))
    assert [s.session_id for s in got] == ["s-1", "s-1#2"]


def test_key_state_is_kept_for_the_retention_then_evicted():
    cfg = SessionizerConfig(key_retention_ms=HOUR)
    logic = native.sessionizer(cfg)
    stream(logic, [click(0)])
    logic.advance(T0 + GAP + 1)
    assert logic.has_key(("org-1", "prod-1", "s-1"))
    logic.advance(T0 + GAP + HOUR - 1)
    assert logic.has_key(("org-1", "prod-1", "s-1"))
    logic.advance(T0 + GAP + HOUR)
    assert not logic.has_key(("org-1", "prod-1", "s-1"))
    assert logic.open_keys == 0


# -- snapshot / resume ----------------------------------------------------------


def _workload():
    evs = []
    for k in range(3):
        sid = f"k{k}"
        t = k * 1000
        for i in range(12):
            evs.append(click(t, session=sid, label=f"b{i % 2}"))
            t += 50 * MINUTE if i % 4 == 3 else 5 * MINUTE
    evs.sort(key=lambda e: e.ts_ms)
    return evs


def test_snapshot_and_resume_continue_identically():
    evs = _workload()
    for cut in (1, len(evs) // 3, len(evs) // 2, len(evs) - 1):
        whole = native.sessionizer(SessionizerConfig())
        expected = stream(whole, evs) + whole.close_all()

        first = native.sessionizer(SessionizerConfig())
        got = stream(first, evs[:cut])
        state = pickle.loads(pickle.dumps(first.snapshot()))
        resumed = native.sessionizer(SessionizerConfig(), state)
        got += stream(resumed, evs[cut:]) + resumed.close_all()
        assert shape(got) == shape(expected), cut


def test_resumed_logic_still_knows_closed_sessions():
    logic = native.sessionizer(SessionizerConfig())
    stream(logic, [click(0), click(1000)])
    assert len(logic.advance(T0 + 3 * HOUR)) == 1
    resumed = native.sessionizer(SessionizerConfig(), pickle.loads(pickle.dumps(logic.snapshot())))
    assert resumed.on_event(click(500)) == LATE
    assert resumed.on_event(click(4 * HOUR)) == ACCEPTED
    [s] = resumed.close_all()
    assert s.session_id == "s-1#2"


def test_snapshot_is_not_changed_by_the_logic_going_on():
    """A snapshot taken and kept (e.g. until offsets commit) must still describe
    the moment it was taken after the logic has processed more events."""
    evs = _workload()
    cut = len(evs) // 2
    whole = native.sessionizer(SessionizerConfig())
    expected = stream(whole, evs) + whole.close_all()

    logic = native.sessionizer(SessionizerConfig())
    got = stream(logic, evs[:cut])
    state = logic.snapshot()
    stream(logic, evs[cut:])
    logic.close_all()
    resumed = native.sessionizer(SessionizerConfig(), state)
    got += stream(resumed, evs[cut:]) + resumed.close_all()
    assert shape(got) == shape(expected)


def test_preloaded_history_is_recomputed_with_the_right_numbering():
    logic = native.sessionizer(SessionizerConfig())
    history = [click(0), click(GAP + 1)]
    logic.preload(history)
    assert logic.on_event(click(GAP + 2)) == ACCEPTED
    out = logic.close_all()
    assert [(s.session_id, len(s.events)) for s in out] == [("s-1", 1), ("s-1#2", 2)]
