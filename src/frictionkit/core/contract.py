"""The event contract, wire format v1 (docs/contract.md): one place that says what gets in.

Used by replay (one event per line) and by HTTP ingestion (batches). Decoding is
done by msgspec against typed structs, so the fast path costs about a
microsecond per event; the checks msgspec cannot express (timestamp grammar,
finite numbers, ``extra`` value sizes, clock skew) follow in plain code.
Every rejection carries a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime
from typing import Annotated, Callable, Literal, TypeVar

import msgspec
from msgspec import Meta

from .model import Event
# Re-exported: callers have always found the event time helpers here.
from .timefmt import _EPOCH_UTC, datetime_to_ms, format_ts_ms  # noqa: F401

MAX_EVENTS_PER_BATCH = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENT_BYTES = 32 * 1024
# A bus event is the agent's event (at most MAX_EVENT_BYTES) plus what the
# server stamps on it: eventId, receivedAt, agentId and sdkVersion.
MAX_BUS_EVENT_BYTES = MAX_EVENT_BYTES + 1024
MAX_FUTURE_MS = 10 * 60 * 1000
SKEW_CORRECTION_THRESHOLD_MS = 5_000
MAX_EXTRA_KEYS = 32
MAX_EXTRA_STRING = 256

Id128 = Annotated[str, Meta(min_length=1, max_length=128)]
Str256 = Annotated[str, Meta(max_length=256)]
# msgspec parses RFC 3339 in C and insists on a zone; date-only and naive
# timestamps are rejected with its own reason.
Timestamp = Annotated[datetime, Meta(tz=True)]
Extra = Annotated[dict[str, str | int | float | bool | None], Meta(max_length=MAX_EXTRA_KEYS)]


class WireEvent(msgspec.Struct, forbid_unknown_fields=True, rename="camel", gc=False):
    """An event as an agent sends it."""

    # gc=False (inherited by BusEvent): one is made per event, and its fields
    # (strings, a datetime, a dict of scalars) can never form a cycle, so
    # tracking it would only feed the cycle collector.

    org_id: Id128
    product_id: Id128
    session_id: Id128
    user_hash: Id128
    ts: Timestamp
    event_type: Literal["click", "scroll", "input_meta", "navigation", "focus_change", "custom"]
    screen_id: Annotated[str, Meta(min_length=1, max_length=256)]
    route: Annotated[str, Meta(max_length=2048)]
    device_type: Literal["desktop", "mobile", "tablet"]
    event_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    app_name: Str256 | None = None
    element_type: Str256 | None = None
    element_label_hash: Str256 | None = None
    error_code: Str256 | None = None
    os: Str256 | None = None
    browser: Str256 | None = None
    latency_ms: Annotated[float, Meta(ge=0)] | None = None
    extra: Extra | None = None
    # Click events only: the agent saw nothing respond to the click (a dead
    # click, docs/semantics.md). Last field: derive_event_id depends on it.
    dead: bool | None = None


class BusEvent(WireEvent, forbid_unknown_fields=True, rename="camel"):
    """An event as it travels on ``events.raw`` and in replay files: the agent's
    fields plus the ones the server stamps on it."""

    received_at: Timestamp | None = None
    agent_id: Str256 | None = None
    sdk_version: Str256 | None = None


class BusStamp(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """What the server stamps on every event of one request."""

    received_at: Timestamp | None = None
    agent_id: Str256 | None = None
    sdk_version: Str256 | None = None


class BusBatch(msgspec.Struct, forbid_unknown_fields=True):
    """One ``events.raw`` message as ``serve`` writes it: the events of one
    request that share a message key, in order, with the server's stamp once.
    ``batch`` comes first in the JSON, so a reader tells it from a single
    event (which may not have that field) by its first bytes."""

    batch: BusStamp
    events: list[WireEvent]


BUS_BATCH_PREFIX = b'{"batch":'


T = TypeVar("T")


class ContractError(ValueError):
    """A single event breaks the contract; the message is the reason."""


class BatchError(ValueError):
    """The batch as a whole is malformed (HTTP 400)."""


class BodyTooLarge(ValueError):
    """The body exceeds the size limit after decompression (HTTP 413)."""


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})\Z"
)
_EPOCH = datetime(1970, 1, 1).toordinal()


def parse_ts_ms(text: str) -> int:
    """RFC 3339 timestamp with time and zone -> UTC epoch milliseconds.

    Sub-millisecond digits are truncated, never rounded, so an event is never
    moved after a later one.
    """
    m = _RFC3339.match(text)
    if m is None:
        raise ContractError(f"ts {text[:64]!r} is not an RFC 3339 timestamp with time and zone")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    try:
        days = datetime(year, month, day).toordinal() - _EPOCH
    except ValueError:
        raise ContractError(f"ts {text[:64]!r} is not a valid date") from None
    if hour > 23 or minute > 59 or second > 60:
        raise ContractError(f"ts {text[:64]!r} is not a valid time")
    ms = int((frac + "00")[:3]) if frac else 0
    ts_ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset_min = int(zone[1:3]) * 60 + int(zone[4:6])
        if offset_min >= 24 * 60:
            raise ContractError(f"ts {text[:64]!r} has an invalid zone offset")
        ts_ms -= sign * offset_min * 60_000
    return ts_ms


_wire_decoder = msgspec.json.Decoder(WireEvent)
_bus_decoder = msgspec.json.Decoder(BusEvent)
_bus_batch_decoder = msgspec.json.Decoder(BusBatch)
_encoder = msgspec.json.Encoder()


_FRIENDLIER = {
    # msgspec >= 0.23 reports invalid UTF-8 inside a string as a DecodeError
    # with this text; earlier versions raise UnicodeDecodeError (below).
    "Invalid UTF-8 encoded string": "invalid UTF-8 in a JSON string",
    "Invalid RFC3339 encoded datetime": "not an RFC 3339 timestamp with time and zone",
    "Expected `datetime` with a timezone component": "RFC 3339 timestamp without a zone (add Z or ±hh:mm)",
}


# msgspec raises these besides DecodeError: UnicodeDecodeError for invalid
# UTF-8 inside a string, RecursionError for JSON nested deeper than it recurses.
DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _reason(err: Exception) -> str:
    if isinstance(err, UnicodeDecodeError):
        return "invalid UTF-8 in a JSON string"
    if isinstance(err, RecursionError):
        return "JSON is nested too deeply"
    # msgspec says "... - at `$.orgId`"; the path reads better first.
    text = str(err)
    for theirs, ours in _FRIENDLIER.items():
        text = text.replace(theirs, ours)
    if " - at `$." in text:
        text, _, path = text.rpartition(" - at `$.")
        path = path.rstrip("`")
        if path.startswith("events["):  # an event of a bus batch: "event <i>: <field>: ..."
            index, _, field = path[len("events["):].partition("]")
            return f"event {index}: {field.lstrip('.') + ': ' if field else ''}{text}"
        return f"{path}: {text}"
    return text


def derive_event_id(wire: WireEvent) -> str:
    """A deterministic id from the event's content, for agents that send none:
    a retried batch then carries the same ids and is not counted twice."""
    data = _encoder.encode(wire)
    if wire.dead is None:
        # Ids derived before `dead` existed must stay the same: drop its null.
        # It follows `extra` (whose keys could be "dead" too), and only the
        # server's string fields can come after it, so the last match is it.
        cut = data.rfind(b',"dead":null')
        data = data[:cut] + data[cut + len(b',"dead":null'):]
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def to_event(
    wire: WireEvent,
    *,
    now_ms: int | None,
    skew_ms: int = 0,
    received_at_ms: int | None = None,
    agent_id: str | None = None,
    sdk_version: str | None = None,
) -> Event:
    """Validate what msgspec cannot, and normalise to the domain ``Event``."""
    return _to_event(wire, now_ms, skew_ms, received_at_ms, agent_id, sdk_version)


def _to_event(wire: WireEvent, now_ms: int | None, skew_ms: int, received_at_ms: int | None, agent_id: str | None,
              sdk_version: str | None) -> Event:
    # ``to_event`` with positional arguments: decode_batch calls this once per
    # event, and six keywords per call cost more than the checks below.
    return _event(wire, _checked_ts_ms(wire, now_ms, skew_ms), received_at_ms, agent_id, sdk_version)


_IN_THE_FUTURE = "ts is more than 10 minutes in the future"


def _checked_ts_ms(wire: WireEvent, now_ms: int | None, skew_ms: int) -> int:
    """The checks msgspec cannot express; returns the event time in epoch ms."""
    ts_ms = datetime_to_ms(wire.ts) + skew_ms
    if now_ms is not None and ts_ms > now_ms + MAX_FUTURE_MS:
        raise ContractError(_IN_THE_FUTURE)
    _check_values(wire)
    return ts_ms


def _check_values(wire: WireEvent) -> None:
    if wire.dead is not None and wire.event_type != "click":
        raise ContractError(f"dead: only click events can be dead, not {wire.event_type}")
    if wire.latency_ms is not None and not math.isfinite(wire.latency_ms):
        raise ContractError("latencyMs must be a finite number")
    if wire.extra:
        for key, value in wire.extra.items():
            if isinstance(value, str) and len(value) > MAX_EXTRA_STRING:
                raise ContractError(f"extra.{key[:64]}: string longer than {MAX_EXTRA_STRING}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ContractError(f"extra.{key[:64]}: number must be finite")


def _event(wire: WireEvent, ts_ms: int, received_at_ms: int | None, agent_id: str | None,
           sdk_version: str | None) -> Event:
    # Positional: this runs once per event and keywords cost a third more.
    return Event(
        wire.event_id or derive_event_id(wire), wire.org_id, wire.product_id, wire.session_id, wire.user_hash,
        ts_ms, wire.event_type, wire.screen_id, wire.route, wire.device_type, wire.app_name, wire.element_type,
        wire.element_label_hash, wire.error_code, wire.os, wire.browser, wire.latency_ms, wire.extra or None,
        received_at_ms, agent_id, sdk_version, wire.dead,
    )


def _bus_to_event(wire: BusEvent, now_ms: int | None) -> Event:
    received_at_ms = datetime_to_ms(wire.received_at) if wire.received_at else None
    return _to_event(wire, now_ms, 0, received_at_ms, wire.agent_id, wire.sdk_version)


def decode_event_line(line: bytes, *, now_ms: int | None) -> Event:
    """One replay line (the bus format: wire fields plus server fields)."""
    return _decode_bus_event(line, now_ms, MAX_EVENT_BYTES)


def decode_event_lines(lines: list[bytes], *, now_ms: int | None) -> tuple[list[Event], list[tuple[int, str]]]:
    """Many replay lines: the events of the valid ones, in order, and
    ``(index, reason)`` for each invalid one, exactly as ``decode_event_line``
    would say for each line alone.

    Replay's hot loop: the per-line path costs five Python calls per event on
    top of the checks, about a third of the contract's time; here it is one.
    """
    events: list[Event] = []
    errors: list[tuple[int, str]] = []
    append = events.append
    decode = _bus_decoder.decode
    latest_ms = None if now_ms is None else now_ms + MAX_FUTURE_MS
    for index, line in enumerate(lines):
        try:
            wire = decode_one(decode, line, MAX_EVENT_BYTES)
            ts_ms = datetime_to_ms(wire.ts)
            if latest_ms is not None and ts_ms > latest_ms:
                raise ContractError(_IN_THE_FUTURE)
            if wire.latency_ms is not None or wire.extra or wire.dead is not None:
                _check_values(wire)
        except ContractError as err:
            errors.append((index, str(err)))
            continue
        received_at = wire.received_at
        append(_event(wire, ts_ms, datetime_to_ms(received_at) if received_at else None, wire.agent_id,
                      wire.sdk_version))
    return events, errors


def decode_one(decode: Callable[[bytes], T], data: bytes, max_bytes: int) -> T:
    """One event's JSON through a msgspec typed ``decode``, with its size
    limit, every fault as the contract's reason."""
    if len(data) > max_bytes:
        raise ContractError(f"event is larger than {max_bytes // 1024} KiB")
    try:
        return decode(data)
    except DECODE_ERRORS as err:
        raise ContractError(_reason(err)) from None


def _decode_bus_event(line: bytes, now_ms: int | None, max_bytes: int) -> Event:
    return _bus_to_event(decode_one(_bus_decoder.decode, line, max_bytes), now_ms)


def decode_bus_message(value: bytes) -> list[Event]:
    """One ``events.raw`` message: a single event in the bus format (one per
    message, as any producer may write), or a ``BusBatch`` (what ``serve``
    writes).

    A batch is all or nothing: if one of its events breaks the contract, the
    error names its index and no event of the message is returned, so every
    processor skips the same message whole.
    """
    if not value.startswith(BUS_BATCH_PREFIX):
        return [_decode_bus_event(value, None, MAX_BUS_EVENT_BYTES)]
    try:
        batch = _bus_batch_decoder.decode(value)
    except DECODE_ERRORS as err:
        raise ContractError(_reason(err)) from None
    if not batch.events:
        raise ContractError("a batch without events")
    stamp = batch.batch
    received_at_ms = datetime_to_ms(stamp.received_at) if stamp.received_at else None
    agent_id, sdk_version = stamp.agent_id, stamp.sdk_version
    # _to_event without the future check (the bus has no "now") and inlined:
    # the sessionizer and the aggregator each run this for every event, and
    # three calls per event cost as much as the checks.
    events: list[Event] = []
    append = events.append
    for index, wire in enumerate(batch.events):
        if wire.latency_ms is not None or wire.extra or wire.dead is not None:
            try:
                _check_values(wire)
            except ContractError as err:
                raise ContractError(f"event {index}: {err}") from None
        append(_event(wire, datetime_to_ms(wire.ts), received_at_ms, agent_id, sdk_version))
    return events


def bus_events_to_events(wires: list[BusEvent]) -> list[Event]:
    """Bus events already decoded by msgspec (as part of a larger message, in
    one call) -> ``Event``s, with the checks msgspec cannot express. The
    error names the first bad event's index."""
    events: list[Event] = []
    append = events.append
    for index, wire in enumerate(wires):
        try:
            append(_bus_to_event(wire, None))
        except ContractError as err:
            raise ContractError(f"event {index}: {err}") from None
    return events
