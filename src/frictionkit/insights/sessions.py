"""Session drill-down payloads: ``GET /v1/sessions`` and ``/v1/sessions/{id}``.

Paging is keyset (``cursor``) or ``offset``; the cursor is opaque to clients
(base64 of the last row's start and session id) and stable while new sessions
arrive, which offset paging is not.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from ..core.contract import format_ts_ms
from ..core.incidents import INCIDENT_KINDS, snake
from ..core.model import Event
from ..store.base import Store
from .query import InsightError, InsightQuery

MAX_PAGE = 500

_SESSION_FIELDS = (
    "session_id", "client_session_id", "user_hash", "duration_ms", "event_count", "click_count", "screen_views",
    "unique_screens", "context_switches", "tasks_started", "tasks_completed", "tasks_failed", "error_events",
    # every registered incident type's counter (core/incidents.py INCIDENT_KINDS)
    *(snake(kind.session_key) for kind in INCIDENT_KINDS),
    "frustration_score", "efficiency_score", "entry_screen", "exit_screen", "device_type", "browser", "os", "app_name",
    "app_version",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


_CAMEL = {name: _camel(name) for name in _SESSION_FIELDS}


def session_item(row: dict[str, Any]) -> dict[str, Any]:
    item = {_CAMEL[k]: row[k] for k in _SESSION_FIELDS}
    item["startTs"] = format_ts_ms(int(row["start_ts_ms"]))
    item["endTs"] = format_ts_ms(int(row["end_ts_ms"]))
    for k in ("durationMs", "eventCount", "clickCount", "screenViews", "uniqueScreens", "contextSwitches",
              "tasksStarted", "tasksCompleted", "tasksFailed", "errorEvents", *(kind.session_key for kind in INCIDENT_KINDS)):
        item[k] = int(item[k])
    item["frustrationScore"] = float(item["frustrationScore"])
    item["efficiencyScore"] = float(item["efficiencyScore"])
    return item


def encode_cursor(start_ts_ms: int, session_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([start_ts_ms, session_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, sid = msgspec.json.decode(raw, type=tuple[int, str])
    except (ValueError, msgspec.DecodeError):
        raise InsightError("cursor: not a cursor this API returned", "cursor") from None
    return ts, sid


def sessions_list(store: Store, q: InsightQuery, *, limit: int = 50, offset: int = 0, cursor: str | None = None,
                  user_hash: str | None = None, min_frustration: float | None = None,
                  screen_id: str | None = None) -> dict[str, Any]:
    if not 1 <= limit <= MAX_PAGE:
        raise InsightError(f"limit: must be between 1 and {MAX_PAGE}", "limit")
    if offset < 0:
        raise InsightError("offset: must not be negative", "offset")
    after = decode_cursor(cursor) if cursor else None
    rows, total = store.sessions_page(q.org_id, q.product_id, q.from_ms, q.to_ms, limit=limit,
                                      offset=0 if after else offset, after=after, user_hash=user_hash,
                                      min_frustration=min_frustration, screen_id=screen_id,
                                      segment=q.segment)
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = encode_cursor(int(last["start_ts_ms"]), last["session_id"])
    return {**q.echo(), "total": total, "items": [session_item(r) for r in rows], "nextCursor": next_cursor}


def event_item(ev: Event) -> dict[str, Any]:
    item: dict[str, Any] = {
        "eventId": ev.event_id, "ts": format_ts_ms(ev.ts_ms), "eventType": ev.event_type, "screenId": ev.screen_id,
        "route": ev.route,
    }
    for key, value in (("elementType", ev.element_type), ("elementLabelHash", ev.element_label_hash),
                       ("errorCode", ev.error_code), ("latencyMs", ev.latency_ms), ("extra", ev.extra),
                       ("dead", ev.dead)):
        if value is not None:
            item[key] = value
    return item


def incident_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "incidentId": row["incident_id"], "type": row["incident_type"], "screenId": row["screen_id"],
        "route": row["route"], "ts": format_ts_ms(int(row["ts_ms"])), "endTs": format_ts_ms(int(row["end_ts_ms"])),
        "firstEventId": row["first_event_id"], "clickCount": int(row["click_count"]),
        "durationMs": int(row["duration_ms"]), "taskName": row["task_name"],
    }


def session_detail(store: Store, org_id: str, product_id: str, session_id: str) -> dict[str, Any] | None:
    """One session with its events and incidents in time order, or None."""
    found = store.session_detail(org_id, product_id, session_id)
    if found is None:
        return None
    return {
        "orgId": org_id,
        "productId": product_id,
        "session": session_item(found["session"]),
        "events": [event_item(ev) for ev in found["events"]],
        "incidents": [incident_item(r) for r in found["incidents"]],
    }
