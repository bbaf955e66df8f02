"""Order independence (SPEC §2 invariant, §5): any arrival order within the
allowed lateness, with duplicates, streamed through the sessionizer with a
watermark advance after every event, gives exactly the sessions, incidents and
scores of the sorted input replayed once."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionkit import native
from frictionkit.native import process_session
from frictionkit.core.sessionizer import ACCEPTED, DUPLICATE, SessionizerConfig

from helpers import HOUR, MINUTE, ev

GAP = 30 * MINUTE

gaps = st.one_of(
    st.integers(0, 1500),  # rage / error-click range, including equal timestamps
    st.integers(1, 25_000),  # backtrack range
    st.integers(0, 16 * MINUTE),  # task abandonment range
    st.sampled_from([GAP - 1, GAP, GAP + 1, 2 * MINUTE]),  # the gap and lateness boundaries
    st.integers(GAP, 3 * HOUR),
)

steps = st.tuples(
    gaps,
    st.sampled_from(["click", "click", "click", "navigation", "navigation", "task", "error", "focus_change", "scroll"]),
    st.sampled_from(["A", "B", "C", "D"]),
    st.sampled_from(["b1", "b2", None]),
    st.sampled_from([("t1", "start"), ("t1", "complete"), ("t2", "start"), ("t2", "fail"), ("t1", "fail")]),
    st.sampled_from([None, "focus", "blur"]),
)

keys = st.sampled_from([("org-1", "s-1"), ("org-1", "s-2"), ("org-2", "s-1"), ("org-1", "s-3")])


@st.composite
def workloads(draw, max_events=60):
    chosen = draw(st.lists(keys, min_size=1, max_size=3, unique=True))
    events = []
    for org, sid in chosen:
        # Starts on whole minutes line keys up with each other's gaps and lateness.
        t = draw(st.one_of(st.integers(0, 2 * HOUR), st.integers(0, 120).map(lambda m: m * MINUTE)))
        for i, (gap, kind, screen, label, (task_name, action), state) in enumerate(
            draw(st.lists(steps, min_size=1, max_size=max_events))
        ):
            t += gap
            common = dict(id=f"{org}/{sid}/{i:04d}", session=sid, org=org)
            if kind == "click":
                events.append(ev(t, "click", screen, label, element_type="button" if label is None else None, **common))
            elif kind == "task":
                events.append(ev(t, "custom", screen, extra={"task_name": task_name, "action": action}, **common))
            elif kind == "error":
                events.append(ev(t, "custom", screen, error="E1", **common))
            elif kind == "focus_change":
                events.append(ev(t, "focus_change", screen, extra=None if state is None else {"state": state}, **common))
            else:
                events.append(ev(t, kind, screen, **common))
    return events


@st.composite
def arrivals(draw, events, lateness):
    """Events plus random duplicates, ordered by ts + jitter with jitter in
    [0, lateness]: every event then arrives at most ``lateness`` behind the
    largest ts seen before it."""
    dup_flags = draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    items = list(events) + [e for e, d in zip(events, dup_flags) if d]
    jitter = draw(
        st.lists(st.one_of(st.sampled_from([0, lateness]), st.integers(0, lateness)), min_size=len(items), max_size=len(items))
    )
    tiebreak = draw(st.permutations(range(len(items))))
    order = sorted(range(len(items)), key=lambda i: (items[i].ts_ms + jitter[i], tiebreak[i]))
    return [items[i] for i in order]


def oracle_segments(events, config):
    """The sessions by definition, from sorted events (no sessionizer involved)."""
    by_key = {}
    for e in sorted(events, key=lambda e: (e.ts_ms, e.event_id)):
        by_key.setdefault(e.key, []).append(e)
    out = []
    for (_, _, sid), evs in by_key.items():
        segments = [[evs[0]]]
        for e in evs[1:]:
            seg = segments[-1]
            if e.ts_ms - seg[-1].ts_ms > config.gap_ms or e.ts_ms - seg[0].ts_ms >= config.max_length_ms:
                segments.append([e])
            else:
                seg.append(e)
        for n, seg in enumerate(segments, 1):
            out.append((seg[0].org_id, seg[0].product_id, sid if n == 1 else f"{sid}#{n}", [e.event_id for e in seg]))
    return sorted(out)


def summary(sessions):
    rows = []
    for s in sorted(sessions, key=lambda s: (s.org_id, s.product_id, s.session_id)):
        r = process_session(s)
        rows.append((s.org_id, s.product_id, s.session_id, s.seq, [e.event_id for e in s.events], r))
    return rows


def replay_sorted(events, config):
    logic = native.sessionizer(config)
    for e in sorted(events, key=lambda e: (e.ts_ms, e.event_id)):
        assert logic.on_event(e) == ACCEPTED
    return logic.close_all()


def streamed(arrived, config, resume_at=None):
    logic = native.sessionizer(config)
    closed, statuses = [], []
    for i, e in enumerate(arrived):
        if i == resume_at:
            logic = native.sessionizer(config, pickle.loads(pickle.dumps(logic.snapshot())))
        statuses.append(logic.on_event(e))
        closed += logic.advance()
    return closed + logic.close_all(), statuses


def check(events, arrived, config, resume_at=None):
    expected = replay_sorted(events, config)
    assert sorted((s.org_id, s.product_id, s.session_id, [e.event_id for e in s.events]) for s in expected) == (
        oracle_segments(events, config)
    )
    got, statuses = streamed(arrived, config, resume_at)
    assert statuses.count(ACCEPTED) == len(events)
    assert statuses.count(DUPLICATE) == len(arrived) - len(events)  # nothing is late
    assert summary(got) == summary(expected)


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_any_arrival_within_lateness_gives_the_sorted_result(data):
    config = SessionizerConfig()
    events = data.draw(workloads())
    arrived = data.draw(arrivals(events, config.allowed_lateness_ms))
    check(events, arrived, config)


@SETTINGS
@given(st.data())
def test_order_independence_across_the_length_cut_and_other_settings(data):
    """Short sessions (max length 1 h), a smaller gap and a longer lateness
    exercise the length cut and the watermark arithmetic with other numbers."""
    config = SessionizerConfig(
        gap_ms=data.draw(st.sampled_from([10 * MINUTE, GAP])),
        max_length_ms=data.draw(st.sampled_from([HOUR, 90 * MINUTE])),
        allowed_lateness_ms=data.draw(st.sampled_from([0, 1, 2 * MINUTE, 20 * MINUTE])),
    )
    events = data.draw(workloads())
    arrived = data.draw(arrivals(events, config.allowed_lateness_ms))
    check(events, arrived, config)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_snapshot_and_resume_mid_stream_changes_nothing(data):
    config = SessionizerConfig()
    events = data.draw(workloads(max_events=30))
    arrived = data.draw(arrivals(events, config.allowed_lateness_ms))
    resume_at = data.draw(st.integers(0, len(arrived)))
    check(events, arrived, config, resume_at)
