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


class _BusRecord(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    # Field names mirror core.contract.BusEvent; absent optionals are left out
    # rather than written as null, which keeps messages small. gc=False: one
    # per event, short-lived, and no cycle can go through it.
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


def _record(ev: Event, received_at: str | None) -> _BusRecord:
    # Positional, in _BusRecord's field order: this runs once per event on the
    # ingestion path, and 21 keywords cost about as much as the encoding.
    return _BusRecord(
        ev.org_id, ev.product_id, ev.session_id, ev.user_hash, format_ts_ms(ev.ts_ms), ev.event_type,
        ev.screen_id, ev.route, ev.device_type, ev.event_id, ev.app_name, ev.element_type, ev.element_label_hash,
        ev.error_code, ev.os, ev.browser, ev.latency_ms, ev.extra, received_at, ev.agent_id, ev.sdk_version,
    )


def event_to_bus_json(ev: Event) -> bytes:
    received_at = format_ts_ms(ev.received_at_ms) if ev.received_at_ms is not None else None
    return _encoder.encode(_record(ev, received_at))


def events_to_bus_json(events: list[Event]) -> list[bytes]:
    """``event_to_bus_json`` for each event, the same bytes, cheaper per event.

    The events of one HTTP batch share their ``receivedAt``, so its string is
    made once per distinct value rather than once per event.
    """
    out: list[bytes] = []
    encode = _encoder.encode
    last_ms: int | None = None
    received_at: str | None = None
    for ev in events:
        if ev.received_at_ms != last_ms:
            last_ms = ev.received_at_ms
            received_at = format_ts_ms(last_ms) if last_ms is not None else None
        out.append(encode(_record(ev, received_at)))
    return out


def bus_key(ev: Event, *, with_session: bool = False) -> bytes:
    """``orgId:productId`` (SPEC §4), or with ``:sessionId`` for products too
    large for one partition."""
    key = f"{ev.org_id}:{ev.product_id}:{ev.session_id}" if with_session else f"{ev.org_id}:{ev.product_id}"
    return key.encode()

