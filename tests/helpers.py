"""A small builder for core events and sessions on plain lists (no I/O, no clock)."""

from __future__ import annotations

import itertools
from typing import Any

from frictionkit.core.model import Event, Session

T0 = 1_795_773_600_000  # 2026-11-27T10:00:00.000Z, an arbitrary fixed instant
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

ORG, PRODUCT, SID = "org-1", "prod-1", "s-1"

_ids = itertools.count()


def ev(
    ts_ms: int,
    type: str = "click",
    screen: str = "A",
    label: str | None = None,
    *,
    element_type: str | None = None,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
    route: str | None = None,
    id: str | None = None,
    session: str = SID,
    org: str = ORG,
    product: str = PRODUCT,
    user: str = "u-1",
    device: str = "desktop",
    dead: bool | None = None,
) -> Event:
    """One event at ``T0 + ts_ms``. Ids default to a global counter, so events
    built later sort later among events with the same timestamp."""
    return Event(
        event_id=id if id is not None else f"e{next(_ids):08d}",
        org_id=org,
        product_id=product,
        session_id=session,
        user_hash=user,
        ts_ms=T0 + ts_ms,
        event_type=type,
        screen_id=screen,
        route=route if route is not None else f"/{screen.lower()}",
        device_type=device,
        element_type=element_type,
        element_label_hash=label,
        error_code=error,
        extra=extra,
        dead=dead,
    )


def nav(ts_ms: int, screen: str, **kw: Any) -> Event:
    return ev(ts_ms, "navigation", screen, **kw)


def click(ts_ms: int, screen: str = "A", label: str | None = "btn", **kw: Any) -> Event:
    return ev(ts_ms, "click", screen, label, **kw)


def task(ts_ms: int, name: str, action: str, screen: str = "A", **kw: Any) -> Event:
    return ev(ts_ms, "custom", screen, extra={"task_name": name, "action": action}, **kw)


def error(ts_ms: int, screen: str = "A", code: str = "E500", type: str = "custom", **kw: Any) -> Event:
    return ev(ts_ms, type, screen, error=code, **kw)


def session(events: list[Event], session_id: str = SID, seq: int = 1) -> Session:
    """A closed session as the sessionizer emits it: events sorted by (ts, id)."""
    evs = sorted(events, key=lambda e: (e.ts_ms, e.event_id))
    first = evs[0]
    return Session(
        org_id=first.org_id,
        product_id=first.product_id,
        client_session_id=first.session_id,
        session_id=session_id,
        seq=seq,
        events=evs,
    )
