"""Overview and hotspot payloads (docs/api.md), computed from the sums a store
returns, so every store divides and ranks the same way."""

from __future__ import annotations

from typing import Any

from ..core.incidents import INCIDENT_KINDS, snake
from ..store.base import Store
from .changes import notes
from .query import InsightError, InsightQuery

TREND_THRESHOLD = 0.05
# Hotspot orders (``sort``). Each is a total order: ties fall to the next key,
# the last is the screen id. impact (the most impacted sessions) is the default.
HOTSPOT_SORTS = ("impact", "rate", "friction")
DEFAULT_SORT = "impact"


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _impact_rate(row: dict[str, Any]) -> float:
    return row["impact_sessions"] / row["sessions"] if row["sessions"] else 0.0


def _trend(current: dict[str, Any], previous: dict[str, Any] | None) -> str:
    # Without a baseline there is nothing to compare with: flat, not "up".
    if previous is None or not previous["sessions"]:
        return "flat"
    delta = _impact_rate(current) - _impact_rate(previous)
    if delta >= TREND_THRESHOLD:
        return "up"
    if delta <= -TREND_THRESHOLD:
        return "down"
    return "flat"


def _sort_key(sort: str):
    if sort == "impact":  # most impacted sessions: where the most people struggle
        return lambda r: (-r["impact_sessions"], -r["friction_key"], r["screen_id"])
    if sort == "rate":  # the largest share of the screen's sessions impacted
        return lambda r: (-_impact_rate(r), -r["impact_sessions"], r["screen_id"])
    if sort == "friction":  # the highest mean frustration of the screen's sessions
        return lambda r: (-r["friction_key"], -r["impact_sessions"], r["screen_id"])
    raise InsightError(f"sort: {sort!r} is not one of {', '.join(HOTSPOT_SORTS)}", "sort")


def _ranked_screens(store: Store, q: InsightQuery, sort: str = DEFAULT_SORT) -> list[dict[str, Any]]:
    key = _sort_key(sort)  # checked before the store is asked
    rows = store.screen_stats(q.org_id, q.product_id, q.from_ms, q.to_ms, segment=q.segment)
    for row in rows:
        row["avg_friction"] = row["frustration_sum"] / row["sessions"]
        # Compared to 9 decimals: a float sum in another row order (the stream
        # against a replay, ClickHouse against DuckDB) differs in its last bits,
        # which must not reorder two screens of equal friction.
        row["friction_key"] = round(row["avg_friction"], 9)
    rows.sort(key=key)
    return rows


def _previous_by_screen(store: Store, q: InsightQuery) -> dict[str, dict[str, Any]]:
    prev = q.previous
    return {r["screen_id"]: r for r in store.screen_stats(prev.org_id, prev.product_id, prev.from_ms, prev.to_ms,
                                                                  segment=prev.segment)}


def hotspot_item(row: dict[str, Any]) -> dict[str, Any]:
    n = row["sessions"]
    return {
        "screenId": row["screen_id"],
        "route": row["route"],
        "sessions": n,
        "avgFriction": row["frustration_sum"] / n,
        "avgEfficiency": row["efficiency_sum"] / n,
        "rageClickRate": row["rage_sessions"] / n,
        "dropoffRate": row["dropoff_sessions"] / n,
        "avgTimeSpentMs": _ratio(row["dwell_ms"], row["views"]),
        # every registered incident type's count (core/incidents.py INCIDENT_KINDS)
        **{kind.hotspot_key: int(row[snake(kind.hotspot_key)]) for kind in INCIDENT_KINDS},
        "errors": int(row["errors"]),
        "deadClickRate": row["dead_click_sessions"] / n,
        "impactSessions": int(row["impact_sessions"]),
    }


def hotspots(store: Store, q: InsightQuery, limit: int = 20, sort: str = DEFAULT_SORT) -> dict[str, Any]:
    """``GET /v1/insights/hotspots``: the first ``limit`` screens in ``sort`` order."""
    rows = _ranked_screens(store, q, sort)[:limit]
    previous = _previous_by_screen(store, q) if rows else {}
    items = []
    for row in rows:
        item = hotspot_item(row)
        item["trend"] = _trend(row, previous.get(row["screen_id"]))
        items.append(item)
    return {"items": items}


def overview(store: Store, q: InsightQuery) -> dict[str, Any]:
    t = store.overview_totals(q.org_id, q.product_id, q.from_ms, q.to_ms, segment=q.segment)
    n = t["sessions"]
    started = int(t["tasks_started"])
    completed = int(t["tasks_completed"])
    top_rows = _ranked_screens(store, q)[:3]
    previous = _previous_by_screen(store, q) if top_rows else {}
    top = [
        {
            "screenId": r["screen_id"],
            "route": r["route"],
            "friction": r["avg_friction"],
            "impactSessions": int(r["impact_sessions"]),
            "trend": _trend(r, previous.get(r["screen_id"])),
        }
        for r in top_rows
    ]
    return {
        **q.echo(),
        "sessions": int(n),
        "users": int(t["users"]),
        "frictionIndex": t["frustration_sum"] / n if n else None,
        "efficiencyScore": t["efficiency_sum"] / n if n else None,
        "incidents": {kind.overview_key: int(t[snake(kind.session_key)]) for kind in INCIDENT_KINDS},
        "tasks": {
            "started": started,
            "completed": completed,
            "failed": int(t["tasks_failed"]),
            "abandoned": int(t["tasks_abandoned"]),
            "completionRate": completed / started if started else None,
        },
        "topHotspots": top,
        "notes": notes(store, q),
    }
