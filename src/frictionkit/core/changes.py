"""What changed between two windows: per screen and signal, a share (or a
mean) in each window, its difference, a significance test and a ranking.

Pure: counts in, payload dicts out; no IO, no clock. The rule is in
docs/semantics.md ("What changed"); in short:

* a *share* signal (every incident type, ``error``, ``dropoff``) is the share
  of the screen's sessions that have it; two windows are compared with the
  pooled two-proportion z-test, run only when every expected cell of the 2×2
  table (with / without, previous / current) is at least ``min_expected``;
* ``mean_dwell`` is the mean dwell per session on the screen (sessions that
  viewed it), compared with Welch's statistic read against the normal
  distribution, run only when both windows have ``min_dwell_sessions``;
* a screen × signal grid holds many tests at once, so "significant" controls
  the false discovery rate (Benjamini–Hochberg at ``fdr``) over all tests of
  one answer rather than taking each p < 0.05: with 20 screens × 7 signals,
  per-test 5 % would flag about 7 unchanged items every time;
* ranking: significant first, then tested but not significant, then
  untested; within each, larger |z| first, then more excess sessions (the
  difference × the current window's sessions), then screen and signal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

MEAN_DWELL = "mean_dwell"
ERROR = "error"
DROPOFF = "dropoff"
Z_TEST = "two_proportion_z"
WELCH = "welch_z"


class ChangeConfig(msgspec.Struct, frozen=True):
    # 5 per expected cell is the textbook condition for the normal
    # approximation of a difference of proportions.
    min_expected: float = 5.0
    # Welch's statistic is read against the normal distribution: with 30 or
    # more sessions per window the t distribution is within ~4 % of it at 1.96.
    min_dwell_sessions: int = 30
    fdr: float = 0.05


class ScreenWindow(msgspec.Struct, frozen=True):
    """One screen in one window: what the store counted."""

    sessions: int
    route: str = ""
    affected: Mapping[str, int] = {}  # share signal -> sessions with it on the screen
    dwell_sessions: int = 0  # sessions with at least one view of the screen
    dwell_mean_ms: float | None = None
    dwell_var_ms2: float | None = None  # sample variance (n - 1)


def p_two_sided(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion_z(x1: int, n1: int, x2: int, n2: int, min_expected: float = 5.0) -> float | None:
    """Pooled z of share x2/n2 against x1/n1 (positive: the share rose).

    None when the test does not apply: an empty window, or an expected cell
    (n·p̂ or n·(1 − p̂), pooled p̂) below ``min_expected`` — with so few
    sessions with (or without) the signal the normal approximation is poor.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    cells = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(cells) < min_expected:
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (x2 / n2 - x1 / n1) / se


def welch_z(mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int, min_n: int = 30) -> float | None:
    """Welch's statistic of mean2 against mean1; None below ``min_n`` per
    window or when both windows have no spread (nothing to scale by)."""
    if n1 < min_n or n2 < min_n:
        return None
    se2 = var1 / n1 + var2 / n2
    if not se2 > 0:
        return None
    return (mean2 - mean1) / math.sqrt(se2)


def bh_adjusted(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in input order.

    An item is significant at false discovery rate q when its adjusted value
    is ≤ q; this is the step-up rule (largest k with p_(k) ≤ k·q/m) written so
    each item carries its own threshold."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        out[i] = min(1.0, running)
    return out


def _share(x: int, n: int) -> float | None:
    return x / n if n else None


def _share_item(screen: str, route: str, signal: str, prev: ScreenWindow | None, cur: ScreenWindow | None,
                config: ChangeConfig) -> dict[str, Any]:
    n1, n2 = (prev.sessions if prev else 0), (cur.sessions if cur else 0)
    x1 = prev.affected.get(signal, 0) if prev else 0
    x2 = cur.affected.get(signal, 0) if cur else 0
    s1, s2 = _share(x1, n1), _share(x2, n2)
    diff = s2 - s1 if s1 is not None and s2 is not None else None
    return {
        "screenId": screen, "route": route, "signal": signal, "unit": "share", "test": Z_TEST,
        "previous": {"sessions": n1, "affected": x1, "value": s1},
        "current": {"sessions": n2, "affected": x2, "value": s2},
        "difference": diff,
        # How many more (or fewer) sessions of this window had the signal than
        # the previous share would have given: the tie-breaker of the ranking.
        "excessSessions": diff * n2 if diff is not None else 0.0,
        "z": two_proportion_z(x1, n1, x2, n2, config.min_expected),
    }


def _dwell_item(screen: str, route: str, prev: ScreenWindow | None, cur: ScreenWindow | None,
                config: ChangeConfig) -> dict[str, Any]:
    def side(w: ScreenWindow | None) -> dict[str, Any]:
        return {"sessions": w.dwell_sessions if w else 0, "affected": None, "value": w.dwell_mean_ms if w else None}

    p, c = side(prev), side(cur)
    diff = c["value"] - p["value"] if p["value"] is not None and c["value"] is not None else None
    z = None
    if diff is not None and prev is not None and cur is not None:
        z = welch_z(prev.dwell_mean_ms, prev.dwell_var_ms2 or 0.0, prev.dwell_sessions,
                    cur.dwell_mean_ms, cur.dwell_var_ms2 or 0.0, cur.dwell_sessions, config.min_dwell_sessions)
    return {"screenId": screen, "route": route, "signal": MEAN_DWELL, "unit": "ms", "test": WELCH,
            "previous": p, "current": c, "difference": diff, "excessSessions": 0.0, "z": z}


def _direction(item: dict[str, Any]) -> str:
    d = item["difference"]
    if not d:
        return "flat"
    return "up" if d > 0 else "down"


def rank_key(item: dict[str, Any]) -> tuple:
    tier = 0 if item["significant"] else 1 if item["z"] is not None else 2
    return (tier, -abs(item["z"] or 0.0), -abs(item["excessSessions"]), item["screenId"], item["signal"])


def _add_tests(items: list[dict[str, Any]], config: ChangeConfig) -> None:
    """pValue, qValue (BH over the tested items of this family) and significant."""
    tested = [it for it in items if it["z"] is not None]
    for it in items:
        it["pValue"] = p_two_sided(it["z"]) if it["z"] is not None else None
        it["qValue"] = None
    for it, q in zip(tested, bh_adjusted([it["pValue"] for it in tested])):
        it["qValue"] = q
    for it in items:
        it["significant"] = it["qValue"] is not None and it["qValue"] <= config.fdr


def finish(items: list[dict[str, Any]], config: ChangeConfig) -> list[dict[str, Any]]:
    """Add the test results and direction; sort by ``rank_key``."""
    _add_tests(items, config)
    for it in items:
        it["direction"] = _direction(it)
    items.sort(key=rank_key)
    return items


def screen_changes(previous: Mapping[str, ScreenWindow], current: Mapping[str, ScreenWindow],
                   signals: Iterable[str], config: ChangeConfig = ChangeConfig()) -> list[dict[str, Any]]:
    """Every screen seen in either window × every share signal and mean dwell, ranked."""
    signals = list(dict.fromkeys(signals))  # keep order, drop repeats
    items = []
    for screen in sorted(set(previous) | set(current)):
        prev, cur = previous.get(screen), current.get(screen)
        route = (cur or prev).route
        for signal in signals:
            items.append(_share_item(screen, route, signal, prev, cur, config))
        items.append(_dwell_item(screen, route, prev, cur, config))
    return finish(items, config)


def transition_changes(previous_edges: Iterable[Mapping[str, Any]], current_edges: Iterable[Mapping[str, Any]],
                       config: ChangeConfig = ChangeConfig()) -> list[dict[str, Any]]:
    """Each flow-graph edge's share of its source screen's exits (the
    transitions leaving it) in both windows, tested like a share signal.

    Edges are ``{"from", "to", "count"}`` (the /v1/flows/graph edges). A
    session may take one edge many times, so transitions are not independent
    units and the test is a guide, not an exact level. In (from, to) order;
    ``rose_and_fell`` ranks them."""

    def totals(edges: Iterable[Mapping[str, Any]]) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
        counts: dict[tuple[str, str], int] = {}
        exits: dict[str, int] = {}
        for e in edges:
            counts[(e["from"], e["to"])] = counts.get((e["from"], e["to"]), 0) + int(e["count"])
            exits[e["from"]] = exits.get(e["from"], 0) + int(e["count"])
        return counts, exits

    (c1, x1), (c2, x2) = totals(previous_edges), totals(current_edges)
    items = []
    for src, dst in sorted(set(c1) | set(c2)):
        a, n1, b, n2 = c1.get((src, dst), 0), x1.get(src, 0), c2.get((src, dst), 0), x2.get(src, 0)
        s1, s2 = _share(a, n1), _share(b, n2)
        diff = s2 - s1 if s1 is not None and s2 is not None else None
        items.append({"from": src, "to": dst,
                      "previous": {"exits": n1, "count": a, "share": s1},
                      "current": {"exits": n2, "count": b, "share": s2},
                      "difference": diff, "z": two_proportion_z(a, n1, b, n2, config.min_expected)})
    _add_tests(items, config)
    return items


def rose_and_fell(items: list[dict[str, Any]], limit: int) -> dict[str, list[dict[str, Any]]]:
    """The tested transitions whose share rose most and fell most, ``limit`` each."""
    tested = [it for it in items if it["z"] is not None and it["difference"]]
    rose = sorted((it for it in tested if it["difference"] > 0), key=lambda it: (-it["difference"], it["from"], it["to"]))
    fell = sorted((it for it in tested if it["difference"] < 0), key=lambda it: (it["difference"], it["from"], it["to"]))
    return {"rose": rose[:limit], "fell": fell[:limit]}
