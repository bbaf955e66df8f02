"""The native core's facts held to the reference model on sessions built from
shapes placed at each rule's bound: bursts of clicks at the rage interval,
A -> B -> A at the backtrack dwell, rounds of K-1, K and K+1 screens at the
loop bounds, task ends at the abandonment deadline, errors at the error-click
window (exactly, and 1 ms either side), with random events, wrong-typed task
markers, focus states and equal timestamps between them, under random
configurations. (tests/test_native_facts.py draws freer sessions; this one
catches off-by-ones at the bounds that free draws rarely hit.)"""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionkit.core.incidents import IncidentConfig
from frictionkit.core.metrics import CoreConfig, ScoreConfig
from frictionkit.core.model import Session

from helpers import ev
from test_native_facts import assert_same

SCREENS = ["A", "B", "C", "D", "é", "Ω-2", "日本"]
LABELS = [None, "", "btn", "ok", "x-excl"]
TYPES = [None, "", "button", "link", "input-excl"]


def configs():
    return st.builds(
        lambda mc, mi, dw, ab, ew, ln, ld, excl, w: CoreConfig(
            incidents=IncidentConfig(
                rage_min_clicks=mc, rage_max_interval_ms=mi, backtrack_max_dwell_ms=dw, abandon_after_ms=ab,
                error_click_window_ms=ew, loop_max_navigations=ln, loop_max_duration_ms=ld,
                rage_excluded_label_hashes=frozenset({"x-excl"} if excl else ()),
                rage_excluded_element_types=frozenset({"input-excl"} if excl else ()),
            ),
            scores=ScoreConfig(weight_loops=w, target_clicks_per_task=3.0 + w),
        ),
        st.integers(2, 5), st.sampled_from([0, 50, 1000]), st.sampled_from([100, 1000, 20_000]),
        st.sampled_from([0, 200, 1000, 5000]), st.sampled_from([0, 100, 1000]), st.integers(3, 6),
        st.sampled_from([500, 2000, 300_000]), st.booleans(), st.sampled_from([0.5, 0.25, 1.0]),
    )


def extras():
    name = st.sampled_from(["t1", "t2", "", 5, None, "é-task"])
    action = st.sampled_from(["start", "complete", "fail", "Start", 1, None, "other"])
    return st.one_of(
        st.none(), st.just({}),
        st.fixed_dictionaries({"task_name": name, "action": action}),
        st.fixed_dictionaries({"task_name": name}),
        st.fixed_dictionaries({"state": st.sampled_from(["focus", "blur", 1, None, "Focus"])}),
        st.fixed_dictionaries({"app_version": st.sampled_from(["", "1.2", 7, "v" * 300, "é" * 257])}),
    )


def around(bound):
    return st.sampled_from([bound - 1, bound, bound + 1])


@st.composite
def one_session(draw, config, sid):
    c = config.incidents
    steps = [0, 1, c.rage_max_interval_ms, c.rage_max_interval_ms + 1, c.backtrack_max_dwell_ms - 1,
             c.backtrack_max_dwell_ms, c.backtrack_max_dwell_ms + 1, c.abandon_after_ms, c.abandon_after_ms + 1,
             c.error_click_window_ms, c.error_click_window_ms + 1, c.loop_max_duration_ms, c.loop_max_duration_ms + 1]
    t = draw(st.integers(0, 10_000))
    events = []
    ids = iter(range(10_000))

    def add(dt, kind, screen, **kw):
        nonlocal t
        t += max(dt, 0)
        events.append(ev(t, kind, screen, id=f"{sid}-{next(ids):04d}", session=sid, **kw))

    for _ in range(draw(st.integers(1, 8))):
        shape = draw(st.sampled_from(["random", "random", "burst", "bounce", "round", "task", "error"]))
        screen = draw(st.sampled_from(SCREENS))
        if shape == "burst":  # same target, gaps at the rage interval bound
            label, etype = draw(st.sampled_from(LABELS)), draw(st.sampled_from(TYPES))
            for _ in range(draw(st.integers(1, 6))):
                add(draw(around(c.rage_max_interval_ms)), "click", screen, label=label, element_type=etype,
                    dead=draw(st.sampled_from([None, True, False])))
        elif shape == "bounce":  # A -> B -> A at the dwell bound
            other = draw(st.sampled_from([x for x in SCREENS if x != screen]))
            add(1, "navigation", screen)
            add(draw(st.integers(0, 5)), "navigation", other)
            add(draw(around(c.backtrack_max_dwell_ms)), "navigation", screen)
        elif shape == "round":  # A -> k other screens -> A, at the loop bounds
            others = [x for x in SCREENS if x != screen]
            k = draw(st.sampled_from([c.loop_max_navigations - 1, c.loop_max_navigations, c.loop_max_navigations + 1]))
            add(1, "navigation", screen)
            start = t + 1
            for x in others[:max(k - 1, 1)]:
                add(1, "navigation", x)
            add(max(draw(around(c.loop_max_duration_ms)) - (t - start), 0), "navigation", screen)
        elif shape == "task":  # start, then its end at the abandonment bound
            name = draw(st.sampled_from(["t1", "t2"]))
            add(1, "custom", screen, extra={"task_name": name, "action": "start"})
            if draw(st.booleans()):
                add(draw(st.integers(0, 3)), "scroll", screen)
            end = draw(st.sampled_from(["complete", "fail", "start"]))
            add(draw(around(c.abandon_after_ms)), "custom", screen, extra={"task_name": name, "action": end})
        elif shape == "error":  # a click, then an error at the window bound
            add(1, "click", screen, label="btn")
            add(draw(around(c.error_click_window_ms)), draw(st.sampled_from(["custom", "click"])),
                draw(st.sampled_from([screen, "B"])), error="E1")
        else:
            for _ in range(draw(st.integers(1, 10))):
                kind = draw(st.sampled_from(["click", "click", "navigation", "navigation", "custom",
                                             "focus_change", "scroll"]))
                scr = draw(st.sampled_from(SCREENS[:draw(st.integers(2, len(SCREENS)))]))
                route = draw(st.sampled_from([None, "/x/task_start", "/task_complete", "/y/task_fail", "/plain"]))
                add(draw(st.one_of(st.sampled_from(steps), st.integers(0, 3000))), kind, scr,
                    label=draw(st.sampled_from(LABELS)) if kind == "click" else None,
                    element_type=draw(st.sampled_from(TYPES)) if kind == "click" else None,
                    error=draw(st.sampled_from([None, None, "", "E500"])),
                    extra=draw(extras()), route=route,
                    dead=draw(st.sampled_from([None, True, False])) if kind == "click" else None)
    # Equal timestamps: some events moved onto their predecessor's time.
    events = [msgspec.structs.replace(e, ts_ms=events[i - 1].ts_ms) if i and draw(st.integers(0, 9)) == 0 else e
              for i, e in enumerate(events)]
    events.sort(key=lambda e: (e.ts_ms, e.event_id))
    first = events[0]
    return Session(org_id=first.org_id, product_id=first.product_id, client_session_id=sid,
                   session_id=sid, seq=1, events=events)


@st.composite
def batches(draw):
    config = draw(configs())
    n = draw(st.integers(1, 4))
    return config, [draw(one_session(config, f"s-{k}")) for k in range(n)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batches())
def test_native_facts_match_python(case):
    config, sessions = case
    assert_same(sessions, config)
