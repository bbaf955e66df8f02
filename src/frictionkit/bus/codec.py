"""Events on ``events.raw``: the bus format that ``core.contract.decode_event_line``
reads back (wire camelCase fields plus the server's ``eventId``, ``receivedAt``,
``agentId``, ``sdkVersion``).

``ts`` is written after clock-skew correction: the bus carries the time the
server decided on, so every processor sees the same event time.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..core.contract import format_ts_ms
from ..core.model import Event


class _BusRecord(msgspec.Struct, rename="camel", omit_defaults=True):
    # Field names mirror core.contract.BusEvent; absent optionals are left out
    # rather than written as null, which keeps messages small.
    org_id: str
    product_id: str
    session_id: str
    user_hash: str
    ts: str
    event_type: str
    screen_id: str
    route: str
    device_type: str
    event_id: str
    app_name: str | None = None
    element_type: str | None = None
    element_label_hash: str | None = None
    error_code: str | None = None
    os: str | None = None
    browser: str | None = None
    latency_ms: float | None = None
    extra: dict[str, Any] | None = None
    received_at: str | None = None
    agent_id: str | None = None
    sdk_version: str | None = None


_encoder = msgspec.json.Encoder()


def event_to_bus_json(ev: Event) -> bytes:
    return _encoder.encode(
        _BusRecord(
            org_id=ev.org_id,
            product_id=ev.product_id,
            session_id=ev.session_id,
            user_hash=ev.user_hash,
            ts=format_ts_ms(ev.ts_ms),
            event_type=ev.event_type,
            screen_id=ev.screen_id,
            route=ev.route,
            device_type=ev.device_type,
            event_id=ev.event_id,
            app_name=ev.app_name,
            element_type=ev.element_type,
            element_label_hash=ev.element_label_hash,
            error_code=ev.error_code,
            os=ev.os,
            browser=ev.browser,
            latency_ms=ev.latency_ms,
            extra=ev.extra,
            received_at=format_ts_ms(ev.received_at_ms) if ev.received_at_ms is not None else None,
            agent_id=ev.agent_id,
            sdk_version=ev.sdk_version,
        )
    )


def bus_key(ev: Event, *, with_session: bool = False) -> bytes:
    """``orgId:productId`` (SPEC §4), or with ``:sessionId`` for products too
    large for one partition."""
    key = f"{ev.org_id}:{ev.product_id}:{ev.session_id}" if with_session else f"{ev.org_id}:{ev.product_id}"
    return key.encode()
