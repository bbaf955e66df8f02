"""The core clock (docs/semantics.md, "Time"): one watermark rule for replay,
embedded serve and the stream, with the wall clock passed in, never read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from frictionkit.core.clock import MAX_TS_MS, EventClock

LATE = 120_000


def test_watermark_is_latest_event_time_minus_lateness_and_replay_has_no_idle_rule():
    logic = EventClock(allowed_lateness_ms=LATE).build()
    assert logic.watermark() is None
    logic.on_event(1_000_000)
    logic.on_event(900_000)  # an older event does not move time back
    assert logic.watermark(now_ms=10**12) == 1_000_000 - LATE  # no idle rule: now is ignored
    assert logic.on_eof() == MAX_TS_MS and logic.is_late(10**15)


def test_idle_rule_boundary_advances_with_wall_clock_only_once_quiet():
    logic = EventClock(allowed_lateness_ms=LATE, idle_after_ms=5_000).build()
    logic.on_event(1_000_000, now_ms=50_000_000)
    # quiet for 4.999 s: event time only
    assert logic.watermark(now_ms=50_004_999) == 1_000_000 - LATE
    # quiet for exactly idle_after_ms: the wall clock is the watermark's floor
    assert logic.watermark(now_ms=50_005_000) == 50_005_000 - LATE
    # a past-dated event arriving now does not pull the watermark back
    logic.on_event(2_000_000, now_ms=50_006_000)
    assert logic.watermark(now_ms=50_006_001) == 50_005_000 - LATE
    assert logic.is_late(2_000_000)


def test_snapshot_resumes_the_same_watermark():
    logic = EventClock(allowed_lateness_ms=LATE, idle_after_ms=1_000).build()
    logic.on_event(7_000_000, now_ms=100)
    wm = logic.watermark(now_ms=200)
    resumed = EventClock(allowed_lateness_ms=LATE, idle_after_ms=1_000).build(logic.snapshot())
    assert resumed.watermark(now_ms=200) == wm


@given(
    st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10_000)), min_size=1, max_size=50),
    st.one_of(st.none(), st.integers(0, 5_000)),
)
def test_watermark_never_goes_back_and_never_passes_max_seen_minus_lateness_unless_idle(steps, idle_after_ms):
    logic = EventClock(allowed_lateness_ms=LATE, idle_after_ms=idle_after_ms).build()
    now_ms, previous, max_ts_ms = 0, None, -1
    for ts_ms, wait_ms in steps:
        logic.on_event(ts_ms, now_ms=now_ms)
        max_ts_ms = max(max_ts_ms, ts_ms)
        now_ms += wait_ms
        wm = logic.watermark(now_ms=now_ms)
        assert previous is None or wm >= previous
        assert wm >= max_ts_ms - LATE
        if idle_after_ms is None or wait_ms < idle_after_ms:
            # not quiet long enough: only event time (or an earlier idle advance) moved it
            assert wm == max(max_ts_ms - LATE, previous if previous is not None else max_ts_ms - LATE)
        previous = wm
