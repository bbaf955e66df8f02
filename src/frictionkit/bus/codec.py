"""Events on ``events.raw``: the bus format that ``core.contract.decode_bus_message``
reads back (wire camelCase fields plus the server's ``eventId``, ``receivedAt``,
``agentId``, ``sdkVersion``).

``serve`` writes the events of one request that share a message key as one
message, a ``BusBatch``: ``{"batch":{receivedAt, agentId, sdkVersion},
"events":[...]}`` (``bus_messages``). Kafka's cost is per message (the
client's ``produce`` call, its delivery report, the broker's record), about
3 µs each on this machine, which one message per event paid a hundred times
per request; and with the stamp once per message, each event goes on the
bus as the agent's own JSON, copied, not decoded and encoded again.
Processors read both that and one event per message (what any other
producer may write, and what ``event_to_bus_json`` makes).

``ts`` is written after clock-skew correction: the bus carries the time the
server decided on, so every processor sees the same event time.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

import msgspec

from ..core.batch import CheckedBatch
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
    dead: bool | None = None
    received_at: str | None = None
    agent_id: str | None = None
    sdk_version: str | None = None


_encoder = msgspec.json.Encoder()


def _record(ev: Event, received_at: str | None, agent_id: str | None, sdk_version: str | None) -> _BusRecord:
    # Positional, in _BusRecord's field order: this runs once per event on the
    # ingestion path, and 21 keywords cost about as much as the encoding.
    return _BusRecord(
        ev.org_id, ev.product_id, ev.session_id, ev.user_hash, format_ts_ms(ev.ts_ms), ev.event_type,
        ev.screen_id, ev.route, ev.device_type, ev.event_id, ev.app_name, ev.element_type, ev.element_label_hash,
        ev.error_code, ev.os, ev.browser, ev.latency_ms, ev.extra, ev.dead, received_at, agent_id,
        sdk_version,
    )


def event_to_bus_json(ev: Event) -> bytes:
    received_at = format_ts_ms(ev.received_at_ms) if ev.received_at_ms is not None else None
    return _encoder.encode(_record(ev, received_at, ev.agent_id, ev.sdk_version))


def events_to_bus_array(events: list[Event]) -> bytes:
    """The events as one JSON array of bus-format events, in one encode call:
    the same bytes as ``event_to_bus_json`` of each, joined. A session's
    events share a handful of ``receivedAt`` values (one per request), so
    each string is made once per run of equal values."""
    records = []
    last_ms: int | None = None
    received_at: str | None = None
    for ev in events:
        if ev.received_at_ms != last_ms:
            last_ms = ev.received_at_ms
            received_at = format_ts_ms(last_ms) if last_ms is not None else None
        records.append(_record(ev, received_at, ev.agent_id, ev.sdk_version))
    return _encoder.encode(records)


# Under Kafka's default limit of 1 MB per message (broker and producer), with
# room for the record's own overhead.
MAX_BUS_MESSAGE_BYTES = 512 * 1024


def bus_messages(events: list[Event], *, with_session: bool = False) -> list[tuple[bytes, bytes]]:
    """``(key, value)`` messages for ``events.raw``: the events that share a
    key and a server stamp (``receivedAt``, ``agentId``, ``sdkVersion``: one
    per request), in their order, as one ``BusBatch`` per message, split in
    halves until each message is at most ``MAX_BUS_MESSAGE_BYTES``."""
    encode = _encoder.encode
    groups = _grouped(((key, ev.received_at_ms, ev.agent_id, ev.sdk_version), encode(_record(ev, None, None, None)))
                      for key, ev in zip(_keys(events, with_session), events))
    out: list[tuple[bytes, bytes]] = []
    for (key, received_at_ms, agent_id, sdk_version), parts in groups.items():
        received_at = format_ts_ms(received_at_ms) if received_at_ms is not None else None
        _split(":".join(key).encode(), parts, _batch_head(received_at, agent_id, sdk_version), out)
    return out


def checked_bus_messages(checked: CheckedBatch, *, with_session: bool = False) -> list[tuple[bytes, bytes]]:
    """``bus_messages`` for a batch straight from the contract: where every
    event goes on the bus as the agent sent it (``CheckedBatch.passthrough``),
    its JSON is copied as it is, with no ``Event`` made and nothing encoded
    again. A reader gets the same events either way: the contract decodes
    both alike."""
    if not checked.passthrough:
        return bus_messages(checked.events(), with_session=with_session)
    head = _batch_head(format_ts_ms(checked.received_at_ms), checked.agent_id, checked.sdk_version)
    if checked.native is not None:
        # Built in Rust from the body, one copy per message (None: a key's
        # message must be split, done below).
        messages = checked.native.bus_messages(head, with_session, MAX_BUS_MESSAGE_BYTES)
        if messages is not None:
            return messages
    wires, raws = checked.wires, checked.raws
    groups: defaultdict[tuple[str, ...], list[msgspec.Raw]] = defaultdict(list)
    if with_session:
        for wire, raw in zip(wires, raws):
            groups[wire.org_id, wire.product_id, wire.session_id].append(raw)
    else:
        for wire, raw in zip(wires, raws):
            groups[wire.org_id, wire.product_id].append(raw)
    out: list[tuple[bytes, bytes]] = []
    if len(head) + sum(map(len, raws)) + len(raws) + 2 <= MAX_BUS_MESSAGE_BYTES:
        # All of the batch would fit in one message, so each key's part does.
        for key, parts in groups.items():
            out.append((":".join(key).encode(), head + b",".join(parts) + b"]}"))
        return out
    for key, parts in groups.items():
        _split(":".join(key).encode(), parts, head, out)
    return out


def _keys(events: list[Any], with_session: bool) -> list[tuple[str, ...]]:
    """Each event's message key parts, of ``Event``s or wire events alike."""
    if with_session:
        return [(ev.org_id, ev.product_id, ev.session_id) for ev in events]
    return [(ev.org_id, ev.product_id) for ev in events]


def _grouped(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    """``(group, part)`` pairs -> the parts of each group, groups and parts in order."""
    groups: dict[Any, list[Any]] = {}
    for group, part in pairs:
        parts = groups.get(group)
        if parts is None:
            parts = groups[group] = []
        parts.append(part)
    return groups


def _batch_head(received_at: str | None, agent_id: str | None, sdk_version: str | None) -> bytes:
    """``{"batch":{...},"events":[`` (``core.contract.BusBatch``), ``batch`` first."""
    return b'{"batch":' + _encoder.encode(_Stamp(received_at, agent_id, sdk_version)) + b',"events":['


class _Stamp(msgspec.Struct, rename="camel", omit_defaults=True):
    received_at: str | None = None
    agent_id: str | None = None
    sdk_version: str | None = None


def _split(key: bytes, parts: list[Any], head: bytes, out: list[tuple[bytes, bytes]]) -> None:
    """One message per key, halved while it is too large."""
    size = len(head) + sum(map(len, parts)) + len(parts) + 2
    if size <= MAX_BUS_MESSAGE_BYTES or len(parts) == 1:
        out.append((key, head + b",".join(parts) + b"]}"))
        return
    half = len(parts) // 2
    _split(key, parts[:half], head, out)
    _split(key, parts[half:], head, out)


def bus_key(ev: Event, *, with_session: bool = False) -> bytes:
    """``orgId:productId`` (docs/stream.md), or with ``:sessionId`` for products too
    large for one partition."""
    return ":".join(_keys([ev], with_session)[0]).encode()

