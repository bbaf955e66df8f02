"""Loops and dead clicks as incidents, at their boundaries, on plain lists of events."""

from __future__ import annotations

import pytest

from frictionkit.core.incidents import IncidentConfig
from frictionkit.core.metrics import CoreConfig, ScoreConfig
from frictionkit.native import process_session

from helpers import MINUTE, SECOND, click, nav, session

CFG = IncidentConfig()


def found(events, kind, config=CFG):
    out = process_session(session(events), CoreConfig(incidents=config)).incidents
    return [i for i in out if i.incident_type == kind]


def walk(screens: str, step_ms: int = SECOND, start_ms: int = 0):
    """One navigation per letter, ``step_ms`` apart."""
    return [nav(start_ms + i * step_ms, s) for i, s in enumerate(screens)]


# -- loop: K (navigations) ----------------------------------------------------------


def test_loop_return_after_exactly_k_navigations():
    # A B C D A: the return is the 4th navigation after leaving A (K = 4).
    evs = walk("ABCDA")
    [inc] = found(evs, "loop")
    assert inc.screen_id == "A" and inc.route == "/a"  # the screen left when the loop began
    assert inc.first_event_id == evs[1].event_id  # leaving A is the loop's start
    assert inc.ts_ms == evs[1].ts_ms and inc.end_ts_ms == evs[4].ts_ms
    assert inc.duration_ms == 3 * SECOND


def test_loop_return_after_k_plus_1_navigations_is_not_one():
    assert found(walk("ABCDEA"), "loop") == []


def test_loop_k_is_configurable():
    wide = IncidentConfig(loop_max_navigations=5)
    assert len(found(walk("ABCDEA"), "loop", wide)) == 1
    narrow = IncidentConfig(loop_max_navigations=3)
    assert found(walk("ABCDA"), "loop", narrow) == []
    assert len(found(walk("ABCA"), "loop", narrow)) == 1


def test_a_b_a_is_a_backtrack_not_a_loop():
    evs = walk("ABA")
    assert found(evs, "loop") == []
    assert len(found(evs, "backtrack")) == 1
    # Slow enough not to be a backtrack either: still the backtrack's shape, no loop.
    slow = [nav(0, "A"), nav(SECOND, "B"), nav(MINUTE, "A")]
    assert found(slow, "loop") == [] and found(slow, "backtrack") == []


def test_shortest_loop_goes_through_two_other_screens():
    [inc] = found(walk("ABCA"), "loop")
    assert inc.screen_id == "A"


# -- loop: T (minutes) --------------------------------------------------------------


def test_loop_returning_exactly_t_after_leaving():
    # Leaves A at 1 s, back on A exactly 5 min later.
    evs = [nav(0, "A"), nav(SECOND, "B"), nav(2 * MINUTE, "C"), nav(SECOND + 5 * MINUTE, "A")]
    [inc] = found(evs, "loop")
    assert inc.duration_ms == 5 * MINUTE


def test_loop_returning_t_plus_1ms_after_leaving_is_not_one():
    evs = [nav(0, "A"), nav(SECOND, "B"), nav(2 * MINUTE, "C"), nav(SECOND + 5 * MINUTE + 1, "A")]
    assert found(evs, "loop") == []


def test_loop_t_is_measured_from_leaving_not_from_arriving():
    # A long stay on A before the loop does not count against T.
    evs = [nav(0, "A"), nav(10 * MINUTE, "B"), nav(11 * MINUTE, "C"), nav(12 * MINUTE, "A")]
    assert len(found(evs, "loop")) == 1


def test_loop_t_is_configurable():
    evs = [nav(0, "A"), nav(SECOND, "B"), nav(2 * MINUTE, "C"), nav(SECOND + 5 * MINUTE + 1, "A")]
    assert len(found(evs, "loop", IncidentConfig(loop_max_duration_ms=6 * MINUTE))) == 1


# -- loop: what counts as one ---------------------------------------------------------


def test_repeated_navigations_to_one_screen_are_one_arrival():
    # A B B C A: reloading B does not make the loop longer (still 3 arrivals).
    evs = [nav(0, "A"), nav(1000, "B"), nav(2000, "B"), nav(3000, "C"), nav(4000, "A")]
    assert len(found(evs, "loop")) == 1
    # ... and with K = 3 it still fits.
    assert len(found(evs, "loop", IncidentConfig(loop_max_navigations=3))) == 1


def test_going_round_twice_is_two_loops_on_the_same_screen():
    out = found(walk("ABCABCA"), "loop")
    assert [i.screen_id for i in out] == ["A", "A"]
    assert len({i.incident_id for i in out}) == 2


def test_only_the_latest_visit_of_the_screen_counts():
    # A B A C D A: the last visit of A before the return is 2 arrivals back
    # (A->C->D->A is a loop of 3), not the first A 5 arrivals back.
    evs = walk("ABACDA")
    [inc] = found(evs, "loop")
    assert inc.first_event_id == evs[3].event_id  # leaving the second A
    # A B C B A: B is a backtrack; A, left 4 arrivals ago, is a loop.
    out = found(walk("ABCBA"), "loop")
    assert [i.screen_id for i in out] == ["A"]


def test_checkout_loop_is_seen_where_a_b_a_is_not():
    # cart -> address -> shipping -> cart (the bug), twice, then pay.
    screens = ["cart", "address", "shipping", "cart", "address", "shipping", "cart", "pay"]
    evs = [nav(i * 20 * SECOND, s) for i, s in enumerate(screens)]
    out = found(evs, "loop")
    assert [i.screen_id for i in out] == ["cart", "cart"]
    assert found(evs, "backtrack") == []


def test_loops_are_counted_and_weighted_in_the_session():
    evs = walk("ABCABCA")
    result = process_session(session(evs))
    assert result.session.loops == 2
    by_screen = {s.screen_id: s for s in result.screens}
    assert (by_screen["A"].loops, by_screen["B"].loops, by_screen["C"].loops) == (2, 0, 0)
    heavier = process_session(session(evs), CoreConfig(scores=ScoreConfig(weight_loops=2.0)))
    none = process_session(session(evs), CoreConfig(scores=ScoreConfig(weight_loops=0.0)))
    assert none.session.frustration_score < result.session.frustration_score < heavier.session.frustration_score


# -- dead_click -------------------------------------------------------------------


def test_a_click_the_agent_marked_dead_is_a_dead_click_on_its_screen():
    evs = [nav(0, "A"), nav(1000, "B"), click(2000, "B", dead=True), click(3000, "B"), click(4000, "B", dead=False)]
    [inc] = found(evs, "dead_click")
    assert inc.screen_id == "B" and inc.first_event_id == evs[2].event_id
    assert inc.click_count == 1 and inc.duration_ms == 0
    result = process_session(session(evs))
    assert result.session.dead_clicks == 1
    assert {s.screen_id: s.dead_clicks for s in result.screens} == {"A": 0, "B": 1}


@pytest.mark.parametrize("weight", [0.0, 0.5, 3.0])
def test_dead_click_weight_moves_the_frustration_score(weight):
    evs = [nav(0, "A"), click(1000, "A", dead=True), click(2000, "A", dead=True)]
    alive = [nav(0, "A"), click(1000, "A"), click(2000, "A")]
    scores = ScoreConfig(weight_dead_clicks=weight)
    dead = process_session(session(evs), CoreConfig(scores=scores)).session.frustration_score
    base = process_session(session(alive), CoreConfig(scores=scores)).session.frustration_score
    assert (dead > base) == (weight > 0) and (dead == base) == (weight == 0)
