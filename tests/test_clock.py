"""The core clock (docs/semantics.md, "Time"): one watermark rule for replay,
embedded serve and the stream, with the wall clock passed in, never read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from frictionkit import native
from frictionkit.core.clock import MAX_TS_MS, EventClock

LATE = 120_000


def test_watermark_is_latest_event_time_minus_lateness_and_replay_has_no_idle_rule():
    logic = native.clock(EventClock(allowed_lateness_ms=LATE))
    assert logic.watermark() is None
    logic.on_event(1_000_000)
    logic.on_event(900_000)  # an older event does not move time back
    assert logic.close_until(now_ms=10**12) == logic.watermark() == 1_000_000 - LATE  # no idle rule: now is ignored
    assert logic.on_eof() == MAX_TS_MS and logic.is_late(10**15)


def test_idle_rule_boundary_advances_with_wall_clock_only_once_quiet():
    logic = native.clock(EventClock(allowed_lateness_ms=LATE, idle_after_ms=5_000))
    logic.on_event(1_000_000, now_ms=50_000_000)
    # quiet for 4.999 s: event time only
    assert logic.close_until(now_ms=50_004_999) == 1_000_000 - LATE
    # quiet for exactly idle_after_ms: sessions close by the wall clock...
    assert logic.close_until(now_ms=50_005_000) == 50_005_000 - LATE
    # ...which is not kept as the watermark: a past-dated event arriving now
    # (an agent offline for hours) is judged by event time, not cut by the
    # wall clock, and the watermark has not gone back
    assert logic.watermark() == 1_000_000 - LATE
    logic.on_event(2_000_000, now_ms=50_006_000)
    assert logic.close_until(now_ms=50_006_001) == logic.watermark() == 2_000_000 - LATE
    assert not logic.is_late(2_000_000)
    # quiet again: the wall clock again
    assert logic.close_until(now_ms=50_011_000) == 50_011_000 - LATE


def test_a_quiet_source_whose_clock_runs_ahead_closes_by_its_watermark_plus_the_quiet_time():
    logic = native.clock(EventClock(allowed_lateness_ms=LATE, idle_after_ms=5_000))
    ahead_ms = 10 * 60_000  # event time 10 min ahead of the wall clock (within the contract's skew)
    logic.on_event(50_000_000 + ahead_ms, now_ms=50_000_000)
    assert logic.close_until(now_ms=50_007_000) == 50_000_000 + ahead_ms - LATE + 7_000


def test_snapshot_resumes_the_same_watermark():
    logic = native.clock(EventClock(allowed_lateness_ms=LATE, idle_after_ms=1_000))
    logic.on_event(7_000_000, now_ms=100)
    wm = logic.close_until(now_ms=2_000)
    resumed = native.clock(EventClock(allowed_lateness_ms=LATE, idle_after_ms=1_000), logic.snapshot())
    assert resumed.close_until(now_ms=2_000) == wm and resumed.watermark() == logic.watermark()


@given(
    st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10_000)), min_size=1, max_size=50),
    st.one_of(st.none(), st.integers(0, 5_000)),
)
def test_watermark_never_goes_back_and_never_passes_max_seen_minus_lateness_unless_idle(steps, idle_after_ms):
    logic = native.clock(EventClock(allowed_lateness_ms=LATE, idle_after_ms=idle_after_ms))
    now_ms, previous, max_ts_ms = 0, None, -1
    for ts_ms, wait_ms in steps:
        logic.on_event(ts_ms, now_ms=now_ms)
        max_ts_ms = max(max_ts_ms, ts_ms)
        now_ms += wait_ms
        until = logic.close_until(now_ms=now_ms)
        wm = logic.watermark()
        assert previous is None or wm >= previous
        assert wm == max_ts_ms - LATE  # event time only: the idle bound is not kept
        assert until >= wm
        if idle_after_ms is None or wait_ms < idle_after_ms:
            assert until == wm  # not quiet long enough: event time only
        else:
            assert until >= now_ms - LATE
        previous = wm
