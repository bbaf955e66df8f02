"""``insights changes`` / ``GET /v1/insights/changes``: what changed between
two windows, per screen and signal and per flow transition; and the overview's
``notes``. The statistics are ``core.changes`` (pure); this module fetches the
counts of each window and assembles the payload (docs/api.md).

Windows: the query's window against ``against`` when given, else against the
previous window of equal length; when that previous window holds no session
(the window starts at the first stored session, as it does without --from),
the window's earlier half is compared with its later half instead, so that
"what changed" over all the data still says something. The payload echoes
both windows.
"""

from __future__ import annotations

import math
from typing import Any

from msgspec.structs import replace

from ..core.change_notes import notes_from
from ..core.changes import (
    DROPOFF,
    ERROR,
    MEAN_DWELL,
    WELCH,
    Z_TEST,
    ChangeConfig,
    ScreenWindow,
    rose_and_fell,
    screen_changes,
    transition_changes,
)
from ..core.contract import format_ts_ms
from ..core.flow_paths import FlowConfig
from ..core.incidents import INCIDENT_TYPES
from ..store.base import Store
from .flows import flows_graph
from .query import InsightError, InsightQuery, parse_bound

NOTES_LIMIT = 3


def parse_against(text: str) -> tuple[int, int]:
    """``FROM:TO`` (dates or RFC 3339 timestamps) -> the baseline [from, to) in ms.

    Timestamps hold colons themselves, so every colon is tried as the
    separator and the one where both sides parse wins."""
    for i, ch in enumerate(text):
        if ch != ":":
            continue
        left, right = text[:i], text[i + 1:]
        try:
            from_ms = parse_bound(left, param="against", end=False)
            to_ms = parse_bound(right, param="against", end=True)
        except InsightError:
            continue
        if to_ms <= from_ms:
            raise InsightError("against: TO must be after FROM", "against")
        return from_ms, to_ms
    raise InsightError(f"against: {text!r} is not FROM:TO (each a date YYYY-MM-DD or an RFC 3339 timestamp)",
                       "against")


def _number(value: Any) -> float | None:
    # ClickHouse answers nan for the mean/variance of no rows (DuckDB: NULL).
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def window_counts(store: Store, q: InsightQuery) -> tuple[dict[str, ScreenWindow], set[str]]:
    """Each screen's counts in one window, and the incident types seen.

    The single place "what changed" reads the store: a segment filter
    (device, browser, ...) goes into this call, and with it into the
    baseline window's and the notes' counts."""
    rows = store.change_counts(q.org_id, q.product_id, q.from_ms, q.to_ms, segment=q.segment)
    affected: dict[str, dict[str, int]] = {}
    seen: set[str] = set()
    for row in rows["signals"]:
        affected.setdefault(row["screen_id"], {})[row["signal"]] = int(row["affected"])
        seen.add(row["signal"])
    screens = {
        row["screen_id"]: ScreenWindow(
            sessions=int(row["sessions"]), route=row["route"], affected=affected.get(row["screen_id"], {}),
            dwell_sessions=int(row["dwell_sessions"]), dwell_mean_ms=_number(row["dwell_mean_ms"]),
            dwell_var_ms2=_number(row["dwell_var_ms2"]))
        for row in rows["screens"]
    }
    return screens, seen - {ERROR, DROPOFF}


def signals_of(seen: set[str]) -> list[str]:
    """Every registered incident type (so new ones appear by themselves),
    any other type found stored, then errors and drop-offs."""
    return [*INCIDENT_TYPES, *sorted(seen - set(INCIDENT_TYPES)), ERROR, DROPOFF]


def _windows(store: Store, q: InsightQuery, against: tuple[int, int] | None):
    """(current query, baseline query, current counts, baseline counts, types seen, how)."""
    # replace() keeps every other field of the query (a segment filter among them)
    base = replace(q, from_ms=against[0], to_ms=against[1]) if against else q.previous
    cur, cur_seen = window_counts(store, q)
    prev, prev_seen = window_counts(store, base)
    how = "against" if against else "previous"
    if against is None and not prev and q.to_ms - q.from_ms >= 2:
        mid = q.from_ms + (q.to_ms - q.from_ms) // 2
        q, base = replace(q, from_ms=mid), replace(q, to_ms=mid)
        cur, cur_seen = window_counts(store, q)
        prev, prev_seen = window_counts(store, base)
        how = "halves"
    return q, base, cur, prev, cur_seen | prev_seen, how


def _window_echo(q: InsightQuery) -> dict[str, str]:
    return {"from": format_ts_ms(q.from_ms), "to": format_ts_ms(q.to_ms)}


def changes(store: Store, q: InsightQuery, *, against: tuple[int, int] | None = None, limit: int = 20,
            transitions_limit: int = 10, config: ChangeConfig = ChangeConfig(),
            flow_config: FlowConfig | None = None) -> dict[str, Any]:
    """The /v1/insights/changes body; ``against`` is (from ms, to ms) as ``parse_against`` gives."""
    cur_q, base_q, cur, prev, seen, how = _windows(store, q, against)
    items = screen_changes(prev, cur, signals_of(seen), config)
    edges = transition_changes(flows_graph(store, base_q, config=flow_config)["edges"],
                               flows_graph(store, cur_q, config=flow_config)["edges"], config)
    return {
        "orgId": q.org_id,
        "productId": q.product_id,
        "window": _window_echo(cur_q),
        "against": _window_echo(base_q),
        "baseline": how,
        "method": {
            "share": Z_TEST, "meanDwell": WELCH, "minExpected": config.min_expected,
            "minDwellSessions": config.min_dwell_sessions, "fdr": config.fdr,
        },
        "signals": [*signals_of(seen), MEAN_DWELL],
        "tested": sum(1 for it in items if it["z"] is not None),
        "significant": sum(1 for it in items if it["significant"]),
        "items": items[:limit],
        "transitions": rose_and_fell(edges, transitions_limit),
        "notes": notes_from(items, NOTES_LIMIT),
    }


def notes(store: Store, q: InsightQuery, config: ChangeConfig = ChangeConfig()) -> list[dict[str, Any]]:
    """The overview's ``notes``: up to 3 findings from the top screen changes
    (windows chosen as for ``changes``; the flow graph is not read)."""
    _, _, cur, prev, seen, _ = _windows(store, q, None)
    return notes_from(screen_changes(prev, cur, signals_of(seen), config), NOTES_LIMIT)
