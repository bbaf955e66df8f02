"""Events on ``events.raw``: the bus format that ``core.contract.decode_bus_message``
reads back (wire camelCase fields plus the server's ``eventId``, ``receivedAt``,
``agentId``, ``sdkVersion``).

``serve`` writes the events of one request that share a message key as one
message, a JSON array (``bus_messages``): Kafka's cost is per message (the
client's ``produce`` call, its delivery report, the broker's record), about
3 µs each on this machine, which one message per event paid a hundred times
per batch. Processors read both that and one event per message (what any
other producer may write, and what ``event_to_bus_json`` makes).

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


# Under Kafka's default limit of 1 MB per message (broker and producer), with
# room for the record's own overhead.
MAX_BUS_MESSAGE_BYTES = 512 * 1024


def bus_messages(events: list[Event], raws: list[msgspec.Raw | None] | None = None, *,
                 with_session: bool = False) -> list[tuple[bytes, bytes]]:
    """``(key, value)`` messages for ``events.raw``: the events that share a
    key, in their order, as one JSON array per message, split in halves until
    each message is at most ``MAX_BUS_MESSAGE_BYTES``.

    ``raws`` (``BatchResult.raws``): where an event's JSON as the agent sent it
    is given, the server's fields are spliced into it rather than the event
    encoded again: the same event for every reader (the contract decodes both
    alike), at a fraction of the cost. The events of one HTTP batch share
    their ``receivedAt``, so its string is made once per distinct value.
    """
    groups: dict[tuple[str, ...], list[bytes]] = {}
    last: tuple[int | None, str | None, str | None] | None = None
    received_at: str | None = None
    suffix = b"}"
    encode, join = _encoder.encode, b"".join
    for i, ev in enumerate(events):
        stamp = (ev.received_at_ms, ev.agent_id, ev.sdk_version)
        if stamp != last:
            last = stamp
            received_at = format_ts_ms(ev.received_at_ms) if ev.received_at_ms is not None else None
            suffix = encode(_ServerFields(received_at, ev.agent_id, ev.sdk_version))
            suffix = (b"," + suffix[1:]) if len(suffix) > 2 else b"}"
        raw = raws[i] if raws is not None else None
        part = encode(_record(ev, received_at)) if raw is None else join((memoryview(raw)[:-1], suffix))
        group_key = (ev.org_id, ev.product_id, ev.session_id) if with_session else (ev.org_id, ev.product_id)
        parts = groups.get(group_key)
        if parts is None:
            parts = groups[group_key] = []
        parts.append(part)
    out: list[tuple[bytes, bytes]] = []
    for group_key, parts in groups.items():
        _split(":".join(group_key).encode(), parts, out)
    return out


class _ServerFields(msgspec.Struct, rename="camel", omit_defaults=True):
    received_at: str | None = None
    agent_id: str | None = None
    sdk_version: str | None = None


def _split(key: bytes, parts: list[bytes], out: list[tuple[bytes, bytes]]) -> None:
    size = sum(map(len, parts)) + len(parts) + 1
    if size <= MAX_BUS_MESSAGE_BYTES or len(parts) == 1:
        out.append((key, b"[" + b",".join(parts) + b"]"))
        return
    half = len(parts) // 2
    _split(key, parts[:half], out)
    _split(key, parts[half:], out)


def bus_key(ev: Event, *, with_session: bool = False) -> bytes:
    """``orgId:productId`` (SPEC §4), or with ``:sessionId`` for products too
    large for one partition."""
    key = f"{ev.org_id}:{ev.product_id}:{ev.session_id}" if with_session else f"{ev.org_id}:{ev.product_id}"
    return key.encode()

