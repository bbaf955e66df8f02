"""The statistics of "what changed" (core/changes.py, core/change_notes.py):
known z values, the minimum-count cut, false-discovery control, the ranking
and the notes made from it."""

from __future__ import annotations

import math

import pytest

from frictionkit.core.change_notes import notes_from, signal_name
from frictionkit.core.changes import (
    MEAN_DWELL,
    ChangeConfig,
    ScreenWindow,
    bh_adjusted,
    p_two_sided,
    rose_and_fell,
    screen_changes,
    transition_changes,
    two_proportion_z,
    welch_z,
)


def test_two_proportion_z_matches_the_textbook_value():
    # 45 % of 100 against 60 % of 100: pooled 0.525, se 0.07062, z 2.124.
    assert two_proportion_z(45, 100, 60, 100) == pytest.approx(2.1240, abs=1e-4)
    assert two_proportion_z(60, 100, 45, 100) == pytest.approx(-2.1240, abs=1e-4)
    # unequal sizes: 30/200 against 50/150, pooled 80/350
    pooled = 80 / 350
    expected = (50 / 150 - 30 / 200) / math.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 150))
    assert two_proportion_z(30, 200, 50, 150) == pytest.approx(expected) == pytest.approx(4.0421, abs=1e-4)


def test_p_values_are_two_sided_normal():
    assert p_two_sided(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert p_two_sided(-2.575829) == pytest.approx(0.01, abs=1e-6)
    assert p_two_sided(0.0) == 1.0


def test_minimum_expected_count_cuts_small_tables():
    # pooled 0.05 of 100 + 100: every expected cell is exactly 5 -> tested
    assert two_proportion_z(3, 100, 7, 100) is not None
    # pooled 0.04: 4 expected sessions with the signal per window -> untested
    assert two_proportion_z(2, 100, 6, 100) is None
    # the cut applies to "without" as well: almost every session has it
    assert two_proportion_z(98, 100, 96, 100) is None
    assert two_proportion_z(0, 0, 5, 50) is None
    assert two_proportion_z(2, 100, 6, 100, min_expected=4) is not None


def test_welch_z_and_its_minimum():
    # means 10 and 12, variances 4 and 9, n 50 and 40: se sqrt(0.305)
    assert welch_z(10, 4, 50, 12, 9, 40) == pytest.approx(3.6214, abs=1e-4)
    assert welch_z(10, 4, 29, 12, 9, 40) is None
    assert welch_z(10, 0, 50, 12, 0, 40) is None  # no spread in either window


def test_benjamini_hochberg_adjusted_values():
    assert bh_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert bh_adjusted([]) == []
    assert bh_adjusted([0.5]) == [0.5]


def _window(sessions, route="/x", dwell=None, **affected):
    n, mean, var = dwell or (0, None, None)
    return ScreenWindow(sessions=sessions, route=route, affected=affected, dwell_sessions=n,
                        dwell_mean_ms=mean, dwell_var_ms2=var)


def _find(items, screen, signal):
    return next(it for it in items if it["screenId"] == screen and it["signal"] == signal)


def test_the_jump_is_ranked_first_and_the_unchanged_screen_is_not_significant():
    previous = {"pay": _window(400, rage_click=20, error=40), "home": _window(900, rage_click=45, error=30),
                "rare": _window(10, rage_click=1)}
    current = {"pay": _window(420, rage_click=120, error=44), "home": _window(880, rage_click=46, error=29),
               "rare": _window(12, rage_click=6)}
    items = screen_changes(previous, current, ["rage_click", "error", "rage_click"])
    assert len(items) == 3 * 3  # 2 signals (repeat dropped) + mean dwell, per screen
    top = items[0]
    assert (top["screenId"], top["signal"], top["significant"], top["direction"]) == ("pay", "rage_click", True, "up")
    assert top["previous"] == {"sessions": 400, "affected": 20, "value": 0.05}
    assert top["current"]["value"] == pytest.approx(120 / 420)
    assert top["difference"] == pytest.approx(120 / 420 - 0.05)
    assert top["z"] == pytest.approx(two_proportion_z(20, 400, 120, 420))
    assert top["excessSessions"] == pytest.approx((120 / 420 - 0.05) * 420)
    home = _find(items, "home", "rage_click")
    assert home["z"] is not None and not home["significant"]
    rare = _find(items, "rare", "rage_click")
    assert rare["z"] is None and rare["pValue"] is None and not rare["significant"]
    # untested items come last
    tiers = [0 if it["significant"] else 1 if it["z"] is not None else 2 for it in items]
    assert tiers == sorted(tiers)
    assert items[-1]["z"] is None


def test_equal_z_is_broken_by_excess_sessions_then_screen():
    # Untested items all rank with z taken as 0: more excess sessions first.
    previous = {"a": _window(10, rage_click=1), "b": _window(10, rage_click=1), "c": _window(10, rage_click=1)}
    current = {"a": _window(10, rage_click=3), "b": _window(10, rage_click=5), "c": _window(10, rage_click=3)}
    items = [it for it in screen_changes(previous, current, ["rage_click"]) if it["signal"] == "rage_click"]
    assert all(it["z"] is None for it in items)
    assert [it["screenId"] for it in items] == ["b", "a", "c"]


def test_larger_z_ranks_first_among_significant():
    previous = {"small": _window(200, rage_click=20), "big": _window(800, rage_click=80)}
    current = {"small": _window(200, rage_click=50), "big": _window(800, rage_click=200)}
    items = [it for it in screen_changes(previous, current, ["rage_click"]) if it["signal"] == "rage_click"]
    assert all(it["significant"] for it in items)
    assert [it["screenId"] for it in items] == ["big", "small"]  # same shares, 4x the sessions: larger |z|


def test_many_tests_do_not_make_a_borderline_item_significant():
    # One item at p ≈ 0.03 alone is significant; among 30 unchanged items it is not.
    one = screen_changes({"s": _window(1000, e=100)}, {"s": _window(1000, e=128)}, ["e"])
    borderline = _find(one, "s", "e")
    assert borderline["pValue"] < 0.05 and borderline["significant"]
    previous = {"s": _window(1000, e=100), **{f"o{i}": _window(1000, e=100) for i in range(30)}}
    current = {"s": _window(1000, e=128), **{f"o{i}": _window(1000, e=101) for i in range(30)}}
    many = screen_changes(previous, current, ["e"])
    assert not any(it["significant"] for it in many)


def test_mean_dwell_uses_welch():
    previous = {"s": _window(100, dwell=(80, 10_000.0, 4_000_000.0))}
    current = {"s": _window(100, dwell=(90, 14_000.0, 9_000_000.0))}
    item = _find(screen_changes(previous, current, []), "s", MEAN_DWELL)
    assert item["z"] == pytest.approx(welch_z(10_000, 4e6, 80, 14_000, 9e6, 90))
    assert item["unit"] == "ms" and item["difference"] == 4000.0 and item["significant"]
    few = _find(screen_changes({"s": _window(100, dwell=(10, 1.0, 1.0))}, current, []), "s", MEAN_DWELL)
    assert few["z"] is None and not few["significant"]


def test_a_screen_new_in_this_window_has_no_difference():
    items = screen_changes({}, {"new": _window(50, rage_click=10)}, ["rage_click"])
    item = _find(items, "new", "rage_click")
    assert item["previous"]["value"] is None and item["difference"] is None and item["z"] is None


def test_transitions_rose_and_fell():
    previous = [{"from": "cart", "to": "pay", "count": 80}, {"from": "cart", "to": "ship", "count": 20},
                {"from": "home", "to": "cart", "count": 5}]
    current = [{"from": "cart", "to": "pay", "count": 40}, {"from": "cart", "to": "ship", "count": 60},
               {"from": "home", "to": "cart", "count": 6}]
    items = transition_changes(previous, current)
    ranked = rose_and_fell(items, 5)
    assert [(it["from"], it["to"]) for it in ranked["rose"]] == [("cart", "ship")]
    assert [(it["from"], it["to"]) for it in ranked["fell"]] == [("cart", "pay")]
    rose = ranked["rose"][0]
    assert rose["previous"] == {"exits": 100, "count": 20, "share": 0.2}
    assert rose["current"]["share"] == 0.6 and rose["significant"]
    # home has one exit edge: its share is 1 in both windows, nothing to test
    assert next(it for it in items if it["from"] == "home")["z"] is None


def test_notes_come_from_significant_top_changes_one_per_screen():
    previous = {"pay": _window(400, rage_click=20, error=40), "home": _window(900, rage_click=45)}
    current = {"pay": _window(420, rage_click=120, error=100), "home": _window(880, rage_click=46)}
    items = screen_changes(previous, current, ["rage_click", "error"])
    notes = notes_from(items)
    assert len(notes) == 1  # pay's two changes make one note; home has none
    n = notes[0]
    assert n["title"] == "Rage clicks up on pay"
    assert "from 5.0 % (20 of 400) to 28.6 % (120 of 420)" in n["summary"]
    assert n["severity"] == "high" and n["relatedScreens"] == ["pay"]
    assert 0.99 < n["confidence"] <= 1.0
    assert notes_from(screen_changes(previous, previous, ["rage_click"])) == []


def test_new_incident_types_get_readable_names():
    assert signal_name("rage_click") == "rage clicks"
    assert signal_name("dead_click") == "dead clicks"
    assert signal_name("loop") == "loops"
    assert signal_name("abandoned_task") == "abandoned tasks"


def test_config_changes_the_cut():
    previous, current = {"s": _window(100, e=2)}, {"s": _window(100, e=6)}
    assert _find(screen_changes(previous, current, ["e"]), "s", "e")["z"] is None
    loose = screen_changes(previous, current, ["e"], ChangeConfig(min_expected=1))
    assert _find(loose, "s", "e")["z"] is not None
