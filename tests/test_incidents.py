"""SPEC §6: each incident rule at its boundaries, on plain lists of events."""

from __future__ import annotations

import pytest

from frictionkit.core.incidents import IncidentConfig
from frictionkit.core.metrics import CoreConfig
from frictionkit.native import process_session

from helpers import MINUTE, SECOND, click, error, ev, nav, session, task

CFG = IncidentConfig()


def incidents(events, kind=None, config=CFG):
    out = process_session(session(events), CoreConfig(incidents=config)).incidents
    return [i for i in out if kind is None or i.incident_type == kind]


def rage(events, config=CFG):
    return incidents(events, "rage_click", config)


# -- rage_click -----------------------------------------------------------------


def test_rage_three_clicks_exactly_1000ms_apart_is_a_burst():
    evs = [click(0), click(1000), click(2000)]
    [inc] = rage(evs)
    assert inc.click_count == 3
    assert inc.duration_ms == 2000
    assert inc.screen_id == "A"
    assert inc.first_event_id == evs[0].event_id
    assert inc.end_ts_ms - inc.ts_ms == 2000


def test_rage_gap_of_1001ms_breaks_the_burst():
    assert rage([click(0), click(1000), click(2001)]) == []
    assert rage([click(0), click(1001), click(2001)]) == []


def test_rage_two_clicks_are_not_enough_three_are():
    assert rage([click(0), click(100)]) == []
    assert len(rage([click(0), click(100), click(200)])) == 1


def test_rage_click_on_another_element_breaks_the_burst():
    evs = [click(0, label="a"), click(100, label="a"), click(200, label="b"), click(300, label="a"), click(400, label="a")]
    assert rage(evs) == []


def test_rage_click_on_another_screen_breaks_the_burst():
    # Same label hash, but on screen B: a different element.
    evs = [click(0, "A"), click(100, "A"), click(200, "B"), click(300, "A"), click(400, "A")]
    assert rage(evs) == []


def test_rage_non_click_events_do_not_break_a_burst():
    evs = [click(0), ev(100, "scroll", "A"), click(200), ev(300, "input_meta", "A"), click(400)]
    [inc] = rage(evs)
    assert inc.click_count == 3


def test_rage_burst_of_seven_is_one_incident():
    times = [0, 1000, 1500, 2500, 2600, 3600, 4000]
    evs = [click(t, "Checkout", label="pay") for t in times]
    out = rage(evs)
    assert len(out) == 1
    [inc] = out
    assert inc.click_count == 7
    assert inc.duration_ms == 4000
    assert inc.ts_ms == evs[0].ts_ms and inc.end_ts_ms == evs[-1].ts_ms
    assert inc.screen_id == "Checkout" and inc.route == "/checkout"


def test_rage_two_bursts_give_two_incidents_with_distinct_ids():
    evs = [click(t) for t in (0, 500, 1000)] + [click(t) for t in (5000, 5500, 6000, 6500)]
    out = rage(evs)
    assert [i.click_count for i in out] == [3, 4]
    assert out[0].incident_id != out[1].incident_id
    assert [i.first_event_id for i in out] == [evs[0].event_id, evs[3].event_id]


def test_rage_clicks_without_label_or_element_type_are_not_considered():
    evs = [click(t, label=None) for t in (0, 100, 200, 300)]
    assert rage(evs) == []


def test_rage_unidentifiable_click_neither_counts_nor_breaks_a_burst():
    """Core decision (SPEC: such clicks "are not considered"): they are skipped."""
    evs = [click(0), click(400), click(500, label=None), click(900)]
    [inc] = rage(evs)
    assert inc.click_count == 3


def test_rage_same_element_type_without_label_is_the_same_element():
    evs = [click(t, label=None, element_type="button") for t in (0, 300, 600)]
    [inc] = rage(evs)
    assert inc.click_count == 3
    # ...but a different element type is another element.
    evs = [click(0, label=None, element_type="button"), click(300, label=None, element_type="link"),
           click(600, label=None, element_type="button")]
    assert rage(evs) == []


def test_rage_label_hash_wins_over_element_type():
    # Same label hash, differing element types: still the same element.
    evs = [click(0, label="x", element_type="button"), click(300, label="x", element_type="div"),
           click(600, label="x", element_type="span")]
    assert len(rage(evs)) == 1
    # Same element type, differing label hashes: different elements.
    evs = [click(t, label=f"l{t}", element_type="button") for t in (0, 300, 600)]
    assert rage(evs) == []


def test_rage_excluded_label_hash():
    cfg = IncidentConfig(rage_excluded_label_hashes=frozenset({"spinner"}))
    assert rage([click(t, label="spinner") for t in (0, 100, 200)], cfg) == []
    assert len(rage([click(t, label="other") for t in (0, 100, 200)], cfg)) == 1


def test_rage_excluded_element_type():
    cfg = IncidentConfig(rage_excluded_element_types=frozenset({"stepper"}))
    assert rage([click(t, label=None, element_type="stepper") for t in (0, 100, 200)], cfg) == []
    # Excluded by type even when the click carries a label hash.
    assert rage([click(t, label="plus", element_type="stepper") for t in (0, 100, 200)], cfg) == []
    assert len(rage([click(t, label=None, element_type="button") for t in (0, 100, 200)], cfg)) == 1


def test_a_rage_threshold_below_one_click_is_refused():
    with pytest.raises(ValueError, match="rage_min_clicks must be at least 1"):
        IncidentConfig(rage_min_clicks=0)


def test_rage_min_clicks_and_interval_are_configurable():
    cfg = IncidentConfig(rage_min_clicks=4, rage_max_interval_ms=500)
    assert rage([click(t) for t in (0, 500, 1000)], cfg) == []
    assert rage([click(t) for t in (0, 500, 1000, 1501)], cfg) == []
    assert len(rage([click(t) for t in (0, 500, 1000, 1500)], cfg)) == 1


# -- backtrack ------------------------------------------------------------------


def test_backtrack_return_exactly_20s_after_arriving_on_b():
    evs = [nav(0, "A"), nav(10 * SECOND, "B"), nav(30 * SECOND, "A")]
    [inc] = incidents(evs, "backtrack")
    assert inc.screen_id == "B"  # the screen bounced off
    assert inc.route == "/b"
    assert inc.ts_ms == evs[1].ts_ms and inc.end_ts_ms == evs[2].ts_ms
    assert inc.duration_ms == 20 * SECOND
    assert inc.first_event_id == evs[1].event_id


def test_backtrack_return_20001ms_after_arriving_is_not_one():
    evs = [nav(0, "A"), nav(10 * SECOND, "B"), nav(30 * SECOND + 1, "A")]
    assert incidents(evs, "backtrack") == []


def test_backtrack_repeats_collapsed_and_timed_from_first_arrival():
    # A -> B -> B -> A is one backtrack, its dwell measured from the first B.
    evs = [nav(0, "A"), nav(10 * SECOND, "B"), nav(25 * SECOND, "B"), nav(30 * SECOND, "A")]
    [inc] = incidents(evs, "backtrack")
    assert inc.ts_ms == evs[1].ts_ms and inc.duration_ms == 20 * SECOND
    # From the second B the return would be 5 s; from the first it is 20.001 s.
    evs = [nav(0, "A"), nav(10 * SECOND, "B"), nav(25 * SECOND, "B"), nav(30 * SECOND + 1, "A")]
    assert incidents(evs, "backtrack") == []


def test_backtrack_ping_pong_gives_one_per_return():
    evs = [nav(i * SECOND, s) for i, s in enumerate("ABABA")]
    out = incidents(evs, "backtrack")
    assert len(out) == 3
    assert [i.screen_id for i in out] == ["B", "A", "B"]
    assert len({i.incident_id for i in out}) == 3


def test_backtrack_needs_a_return_to_the_same_screen():
    assert incidents([nav(0, "A"), nav(1000, "B"), nav(2000, "C")], "backtrack") == []
    assert incidents([nav(0, "A"), nav(1000, "A"), nav(2000, "A")], "backtrack") == []


# -- abandoned_task -------------------------------------------------------------


def test_task_complete_exactly_15_minutes_after_start_is_completed():
    evs = [task(0, "pay", "start"), task(15 * MINUTE, "pay", "complete")]
    assert incidents(evs, "abandoned_task") == []
    facts = process_session(session(evs)).session
    assert (facts.tasks_started, facts.tasks_completed, facts.tasks_abandoned) == (1, 1, 0)


def test_task_complete_15_minutes_and_1ms_after_start_is_abandoned():
    evs = [task(0, "pay", "start", "A"), nav(5 * MINUTE, "B"), task(15 * MINUTE + 1, "pay", "complete", "C")]
    [inc] = incidents(evs, "abandoned_task")
    assert inc.task_name == "pay"
    assert inc.first_event_id == evs[0].event_id
    assert inc.screen_id == "B"  # the last event at or before start + 15 min
    facts = process_session(session(evs)).session
    # The late complete has no open run: it completes nothing.
    assert (facts.tasks_started, facts.tasks_completed, facts.tasks_abandoned) == (1, 0, 1)


def test_abandoned_task_attributed_to_last_event_at_or_before_deadline():
    evs = [
        task(0, "pay", "start", "A"),
        nav(10 * MINUTE, "B"),
        nav(15 * MINUTE, "C"),  # exactly at start + 15 min: still "before"
        nav(15 * MINUTE + 1, "D"),
        nav(20 * MINUTE, "E"),
    ]
    [inc] = incidents(evs, "abandoned_task")
    assert inc.screen_id == "C" and inc.route == "/c"
    assert inc.ts_ms == evs[0].ts_ms and inc.end_ts_ms == evs[2].ts_ms
    assert inc.duration_ms == 15 * MINUTE


def test_task_open_at_session_end_is_abandoned_at_the_last_event():
    evs = [task(0, "pay", "start", "A"), nav(60 * SECOND, "B"), click(90 * SECOND, "B")]
    [inc] = incidents(evs, "abandoned_task")
    assert inc.screen_id == "B" and inc.end_ts_ms == evs[-1].ts_ms
    res = process_session(session(evs))
    assert res.session.tasks_abandoned == 1
    [run] = res.task_runs
    assert run.outcome == "abandoned" and run.task_name == "pay"
    assert run.end_ts_ms == evs[-1].ts_ms


def test_task_started_as_last_event_is_abandoned_at_its_own_screen():
    evs = [nav(0, "A"), task(1000, "pay", "start", "B")]
    [inc] = incidents(evs, "abandoned_task")
    assert inc.screen_id == "B" and inc.duration_ms == 0


def test_restarted_task_abandons_the_earlier_run():
    evs = [
        task(0, "pay", "start", "A"),
        nav(60 * SECOND, "B"),
        task(120 * SECOND, "pay", "start", "C"),
        task(180 * SECOND, "pay", "complete", "D"),
    ]
    [inc] = incidents(evs, "abandoned_task")
    assert inc.first_event_id == evs[0].event_id
    # Core decision: the earlier run ends at the last event before the restart.
    assert inc.screen_id == "B" and inc.end_ts_ms == evs[1].ts_ms
    res = process_session(session(evs))
    f = res.session
    assert (f.tasks_started, f.tasks_completed, f.tasks_abandoned) == (2, 1, 1)
    assert [(r.outcome, r.start_ts_ms) for r in res.task_runs] == [
        ("abandoned", evs[0].ts_ms),
        ("completed", evs[2].ts_ms),
    ]


def test_different_tasks_do_not_end_each_other():
    evs = [task(0, "a", "start"), task(1000, "b", "start"), task(2000, "a", "complete"), task(3000, "b", "fail")]
    assert incidents(evs, "abandoned_task") == []
    f = process_session(session(evs)).session
    assert (f.tasks_started, f.tasks_completed, f.tasks_failed, f.tasks_abandoned) == (2, 1, 1, 0)


def test_legacy_task_markers_in_the_route():
    evs = [
        ev(0, "custom", "A", extra={"task_name": "pay"}, route="/flows/task_start"),
        ev(1000, "custom", "B", extra={"task_name": "pay"}, route="/flows/task_complete"),
        ev(2000, "custom", "B", extra={"task_name": "ship"}, route="/x/task_start"),
    ]
    res = process_session(session(evs))
    f = res.session
    assert (f.tasks_started, f.tasks_completed, f.tasks_abandoned) == (2, 1, 1)
    assert [(r.task_name, r.outcome) for r in res.task_runs] == [("pay", "completed"), ("ship", "abandoned")]


def test_custom_events_without_markers_are_not_tasks():
    evs = [
        ev(0, "custom", "A", extra={"task_name": "pay"}, route="/plain"),  # no action
        ev(1000, "custom", "A", extra={"action": "start"}),  # no task name
        ev(2000, "click", "A", "x", extra={"task_name": "pay", "action": "start"}),  # not custom
    ]
    f = process_session(session(evs)).session
    assert f.tasks_started == 0


def test_task_counts_started_completed_failed_abandoned():
    evs = [
        task(0, "a", "start"), task(1 * MINUTE, "a", "complete"),
        task(2 * MINUTE, "b", "start"), task(3 * MINUTE, "b", "fail"),
        task(4 * MINUTE, "c", "start"), task(5 * MINUTE, "c", "complete"),
        task(6 * MINUTE, "d", "start"),
        task(7 * MINUTE, "e", "complete"),  # orphan: never started
    ]
    f = process_session(session(evs)).session
    assert (f.tasks_started, f.tasks_completed, f.tasks_failed, f.tasks_abandoned) == (4, 2, 1, 1)


# -- error_click ----------------------------------------------------------------


def test_error_within_1000ms_on_same_screen_is_an_error_click():
    evs = [click(0, "A"), error(1000, "A")]
    [inc] = incidents(evs, "error_click")
    assert inc.screen_id == "A"
    assert inc.first_event_id == evs[0].event_id
    assert inc.duration_ms == 1000


def test_error_1001ms_after_click_is_not_an_error_click():
    assert incidents([click(0, "A"), error(1001, "A")], "error_click") == []


def test_error_on_another_screen_is_not_an_error_click():
    assert incidents([click(0, "A"), error(500, "B")], "error_click") == []


def test_error_before_the_click_is_not_an_error_click():
    assert incidents([error(0, "A"), click(500, "A")], "error_click") == []


def test_one_error_makes_an_error_click_of_every_click_within_the_window():
    evs = [click(0, "A", label="a"), click(300, "A", label="b"), click(600, "A", label="c"), error(1100, "A")]
    out = incidents(evs, "error_click")
    # 1100 - 0 > 1000: only the clicks at 300 and 600 count.
    assert [i.first_event_id for i in out] == [evs[1].event_id, evs[2].event_id]


def test_error_click_attributed_to_the_clicks_screen_and_counted():
    evs = [nav(0, "A"), click(100, "A"), error(200, "A", route="/a/err"), click(5000, "A", label=None), error(5900, "A")]
    out = incidents(evs, "error_click")
    assert len(out) == 2
    assert all(i.screen_id == "A" and i.route == "/a" for i in out)
    f = process_session(session(evs)).session
    assert f.error_clicks == 2 and f.error_events == 2


# -- ids ------------------------------------------------------------------------


def test_incident_ids_are_deterministic_per_type_session_and_first_event():
    evs = [click(t) for t in (0, 100, 200)]
    a = rage(evs)
    b = rage(list(reversed(evs)))
    assert [i.incident_id for i in a] == [i.incident_id for i in b]
    [in_s2] = process_session(session(evs, "s-1#2", seq=2)).incidents
    assert in_s2.incident_id != a[0].incident_id and in_s2.first_event_id == a[0].first_event_id
    # Another type on the same first event: another id.
    both = process_session(session([click(0, id="k"), error(300, id="k2"), click(400), click(500)])).incidents
    assert len({i.incident_type for i in both}) == 2 and len({i.incident_id for i in both}) == 2
