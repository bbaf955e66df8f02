"""SPEC §7: session metrics, per-screen facts, task runs and the two scores."""

from __future__ import annotations

import pytest

from frictionkit.core.metrics import CoreConfig, ScoreConfig
from frictionkit.native import process_session

# The score formulas themselves, on counts: the reference model's (the native
# core is held to it by tests/test_native_facts.py); sessions below go native.
from reference.metrics import efficiency_score, frustration_score

from helpers import SECOND, T0, click, error, ev, nav, session, task

SC = ScoreConfig()


def frustration(rage=0, backtracks=0, errors=0, abandoned=0, failed=0, config=SC):
    return frustration_score(
        rage_clicks=rage, backtracks=backtracks, error_events=errors,
        tasks_abandoned=abandoned, tasks_failed=failed, config=config,
    )


def efficiency(started=0, completed=0, clicks=0, backtracks=0, views=0, config=SC):
    return efficiency_score(
        tasks_started=started, tasks_completed=completed, click_count=clicks,
        backtracks=backtracks, screen_views=views, config=config,
    )


# -- frustration = σ(1.5·(R − 2)) -----------------------------------------------


def test_frustration_with_no_incidents():
    # R = 0 -> σ(1.5·(0 − 2)) = σ(−3) = 1 / (1 + e^3) = 0.047425873...
    assert frustration() == pytest.approx(0.04742587317756678, rel=1e-12)


def test_frustration_at_the_midpoint():
    # R = 1·1 rage + 1·1 error = 2 -> σ(0) = 0.5
    assert frustration(rage=1, errors=1) == pytest.approx(0.5, rel=1e-12)
    # R = 0.5·4 backtracks = 2 -> 0.5
    assert frustration(backtracks=4) == pytest.approx(0.5, rel=1e-12)


def test_frustration_weights_every_term():
    # R = 1·1 + 0.5·2 + 1·1 + 1.5·1 + 1·1 = 5.5 -> σ(1.5·3.5) = σ(5.25) = 0.99477987...
    assert frustration(rage=1, backtracks=2, errors=1, abandoned=1, failed=1) == pytest.approx(
        0.9947798743064417, rel=1e-12
    )
    # R = 1.5·1 abandoned = 1.5 -> σ(1.5·(−0.5)) = σ(−0.75)
    # R = 1.0·1 failed    = 1.0 -> σ(1.5·(−1))   = σ(−1.5) = 0.18242552...
    assert frustration(failed=1) == pytest.approx(0.18242552380635635, rel=1e-12)
    assert frustration(abandoned=1) > frustration(failed=1) > frustration(backtracks=1) > frustration()


def test_frustration_weights_are_configuration():
    cfg = ScoreConfig(weight_backtracks=1.0)
    # R = 1·2 = 2 -> σ(0) = 0.5
    assert frustration(backtracks=2, config=cfg) == pytest.approx(0.5)


# -- efficiency = σ(4·(Q − 0.5)), Q = 0.5·C + 0.3·K + 0.2·N ----------------------


def test_efficiency_with_no_tasks_and_no_views():
    # C = 0.5, K = 0.5, N = 1 -> Q = 0.25 + 0.15 + 0.2 = 0.6 -> σ(0.4) = 0.59868766...
    assert efficiency() == pytest.approx(0.598687660112452, rel=1e-12)
    # Clicks do not matter when no task was started.
    assert efficiency(clicks=500) == pytest.approx(0.598687660112452, rel=1e-12)


def test_efficiency_tasks_started_none_completed():
    # C = 0/2 = 0, K = 0, N = 1 − 0/3 = 1 -> Q = 0.2 -> σ(4·(−0.3)) = σ(−1.2) = 0.23147521...
    assert efficiency(started=2, completed=0, clicks=7, views=3) == pytest.approx(0.23147521650098238, rel=1e-12)


def test_efficiency_completions_with_many_clicks_and_backtracks():
    # C = 2/2 = 1, K = min(1, 5 / (20/2)) = 0.5, N = 1 − 1/4 = 0.75
    # Q = 0.5 + 0.15 + 0.15 = 0.8 -> σ(1.2) = 0.76852478...
    assert efficiency(started=2, completed=2, clicks=20, backtracks=1, views=4) == pytest.approx(
        0.7685247834990175, rel=1e-12
    )


def test_efficiency_few_clicks_per_task_caps_k_at_one():
    # C = 1, K = min(1, 5 / 3) = 1, N = 1 (no views) -> Q = 1.0 -> σ(2) = 0.88079707...
    assert efficiency(started=1, completed=1, clicks=3) == pytest.approx(0.8807970779778823, rel=1e-12)
    # Zero clicks per completed task is as good as it gets (no division by zero).
    assert efficiency(started=1, completed=1, clicks=0) == pytest.approx(0.8807970779778823, rel=1e-12)


def test_efficiency_backtracks_over_screen_views():
    # C = 0.5, K = 0.5, N = 1 − min(1, 5/3) = 0 -> Q = 0.4 -> σ(−0.4)
    assert efficiency(backtracks=5, views=3) == pytest.approx(1 - 0.598687660112452, rel=1e-12)
    # N = 1 − 1/3 -> Q = 0.25 + 0.15 + 0.1333... -> σ(0.1333...) = 0.53328403...
    assert efficiency(backtracks=1, views=3) == pytest.approx(0.5332840382511315, rel=1e-12)


# -- process_session: the session row -------------------------------------------


def test_clean_session_scores():
    res = process_session(session([nav(0, "A"), click(1000, "A"), nav(2000, "B")]))
    f = res.session
    # No incidents: σ(−3); no tasks, 2 views, 0 backtracks: σ(0.4).
    assert f.frustration_score == pytest.approx(0.04742587317756678, rel=1e-12)
    assert f.efficiency_score == pytest.approx(0.598687660112452, rel=1e-12)


def test_session_scores_from_its_incidents():
    # A -> B -> A within 20 s: 1 backtrack of 3 views, nothing else.
    res = process_session(session([nav(0, "A"), nav(1000, "B"), nav(2000, "A")]))
    f = res.session
    assert (f.backtracks, f.screen_views) == (1, 3)
    # R = 0.5 -> σ(1.5·(−1.5)) = σ(−2.25) = 0.09534946...
    assert f.frustration_score == pytest.approx(0.09534946489910949, rel=1e-12)
    # C = 0.5, K = 0.5, N = 2/3 -> σ(0.1333...) = 0.53328403...
    assert f.efficiency_score == pytest.approx(0.5332840382511315, rel=1e-12)


def test_session_efficiency_counts_all_clicks_per_completed_task():
    evs = [task(0, "t", "start"), nav(500, "B")] + [click(1000 + 2000 * i, "B", label=f"x{i}") for i in range(12)]
    evs += [nav(40 * SECOND, "C"), task(41 * SECOND, "t", "complete", "C")]
    f = process_session(session(evs)).session
    assert (f.tasks_started, f.tasks_completed, f.click_count, f.screen_views, f.backtracks) == (1, 1, 12, 2, 0)
    # C = 1, K = 5/12, N = 1 -> Q = 0.5 + 0.125 + 0.2 = 0.825 -> σ(1.3) = 0.78583498...
    assert f.efficiency_score == pytest.approx(0.7858349830425586, rel=1e-12)


def test_context_switches_skip_focus_returns():
    evs = [
        ev(0, "focus_change", "A", extra={"state": "blur"}),
        ev(1000, "focus_change", "A", extra={"state": "focus"}),
        ev(2000, "focus_change", "A"),
        ev(3000, "focus_change", "A", extra={"state": "hidden"}),
        ev(4000, "focus_change", "A", extra={"state": "focus"}),
        ev(5000, "custom", "A", extra={"state": "blur"}),  # not a focus_change
    ]
    assert process_session(session(evs)).session.context_switches == 3


def test_session_row_counts_and_screens():
    evs = [
        click(0, "Home", user="u-9", device="tablet"),
        nav(1000, "List"),
        ev(2000, "scroll", "List"),
        nav(3000, "Detail"),
        click(4000, "Detail", error="E1"),  # a click that is also an error event
        error(5000, "Detail"),
        ev(6000, "input_meta", "Sidebar"),  # a screen seen without navigating to it
    ]
    f = process_session(session(evs, "s-1#2", seq=2)).session
    assert f.session_id == "s-1#2" and f.client_session_id == "s-1"
    assert (f.start_ts_ms, f.end_ts_ms, f.duration_ms) == (T0, T0 + 6000, 6000)
    assert f.event_count == 7 and f.version == 7
    assert f.click_count == 2
    assert f.screen_views == 2
    assert f.unique_screens == 4
    assert f.error_events == 2
    assert f.error_clicks == 1
    assert (f.entry_screen, f.exit_screen) == ("Home", "Sidebar")
    assert (f.user_hash, f.device_type) == ("u-9", "tablet")


# -- per-screen facts -------------------------------------------------------------


def test_per_screen_dwell_views_clicks_errors():
    evs = [
        click(0, "A"),  # before any navigation: no dwell counted
        nav(1000, "A", route="/a?first"),
        click(5000, "A"),
        nav(11_000, "B"),  # A dwelt 10 s
        nav(41_000, "A", route="/a?second"),  # B dwelt 30 s
        error(45_000, "A"),
        click(51_000, "A", label="other"),  # session ends: A dwelt 10 s more
    ]
    res = process_session(session(evs))
    by = {s.screen_id: s for s in res.screens}
    assert sorted(by) == ["A", "B"]
    a, b = by["A"], by["B"]
    assert (a.views, a.dwell_ms, a.clicks, a.errors, a.events) == (2, 20_000, 3, 1, 6)
    assert (b.views, b.dwell_ms, b.clicks, b.errors, b.events) == (1, 30_000, 0, 0, 1)
    assert a.route == "/a"  # the first event seen on the screen
    assert a.session_start_ts_ms == T0
    assert a.frustration_score == res.session.frustration_score
    assert a.version == res.session.version == 7


def test_incidents_are_attributed_to_their_screens():
    evs = [
        nav(0, "A"),
        click(100, "A"), click(200, "A"), click(300, "A"),  # rage on A
        error(1250, "A"),  # error click on A: only the last click is within 1000 ms
        nav(2000, "B"),
        nav(3000, "A"),  # backtrack off B
        task(4000, "t", "start", "A"),
        nav(5000, "C"),  # task left open: abandoned on C
    ]
    res = process_session(session(evs))
    by = {s.screen_id: s for s in res.screens}
    assert (by["A"].rage_clicks, by["A"].error_clicks, by["A"].backtracks) == (1, 1, 0)
    assert (by["B"].backtracks, by["B"].rage_clicks) == (1, 0)
    assert by["C"].abandoned_tasks == 1 and by["A"].abandoned_tasks == 0
    f = res.session
    assert (f.rage_clicks, f.error_clicks, f.backtracks, f.tasks_abandoned) == (1, 1, 1, 1)
    assert sorted(i.incident_type for i in res.incidents) == ["abandoned_task", "backtrack", "error_click", "rage_click"]


# -- task runs --------------------------------------------------------------------


def test_task_run_path_collapses_repeats():
    evs = [
        nav(0, "Home"),
        task(1000, "pay", "start", "Cart"),
        click(2000, "Cart"),
        nav(3000, "Cart"),
        nav(4000, "Address"),
        click(5000, "Address"),
        nav(6000, "Cart"),
        task(9000, "pay", "complete", "Done"),
        nav(10_000, "Home"),
    ]
    res = process_session(session(evs))
    [run] = res.task_runs
    assert run.task_name == "pay" and run.outcome == "completed" and run.run_index == 0
    assert run.path == ["Cart", "Address", "Cart", "Done"]
    assert run.path_ts_ms == [T0 + 1000, T0 + 4000, T0 + 6000, T0 + 9000]
    assert (run.start_ts_ms, run.end_ts_ms, run.duration_ms) == (T0 + 1000, T0 + 9000, 8000)
    assert run.session_start_ts_ms == T0


def test_task_runs_in_start_order_with_outcomes():
    evs = [
        task(0, "a", "start", "A"),
        task(1000, "b", "start", "B"),
        task(2000, "b", "fail", "B"),
        task(3000, "a", "complete", "C"),
    ]
    runs = process_session(session(evs)).task_runs
    assert [(r.run_index, r.task_name, r.outcome, r.duration_ms) for r in runs] == [
        (0, "a", "completed", 3000),
        (1, "b", "failed", 1000),
    ]
    assert runs[0].path == ["A", "B", "C"]


def test_session_without_task_markers_gives_one_session_run():
    evs = [nav(0, "A"), click(500, "A"), nav(1000, "B"), nav(1500, "B"), nav(2500, "A")]
    res = process_session(session(evs))
    [run] = res.task_runs
    assert run.task_name is None and run.outcome == "session"
    assert run.path == ["A", "B", "A"]
    assert run.path_ts_ms == [T0, T0 + 1000, T0 + 2500]
    assert (run.start_ts_ms, run.end_ts_ms, run.duration_ms) == (T0, T0 + 2500, 2500)
    assert run.frustration_score == res.session.frustration_score


def test_process_session_is_deterministic():
    evs = [nav(0, "A"), click(100, "A"), click(200, "A"), click(300, "A"), task(400, "t", "start")]
    s = session(evs)
    assert process_session(s) == process_session(s)
    assert process_session(s, CoreConfig()) == process_session(session(list(reversed(evs))))
