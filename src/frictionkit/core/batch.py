"""A ``POST /v1/events/batch`` body (docs/contract.md): the batch's own fields, clock
skew, and each event through the contract of ``core.contract``.

An invalid event is rejected alone, with its index, and the rest go in; so the
events are decoded one by one, each from its own JSON. Most batches, though,
have no invalid event at all, and for them ``check_batch`` first tries the
whole body in one typed decode: a hundred decoder calls from Python cost
about as much as the decoding itself. Only when that finds a fault does it
take the per-event path, which then names each bad event.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from .contract import (
    _EPOCH_UTC,
    _IN_THE_FUTURE,
    DECODE_ERRORS,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_BATCH,
    MAX_FUTURE_MS,
    SKEW_CORRECTION_THRESHOLD_MS,
    BatchError,
    BodyTooLarge,
    ContractError,
    Timestamp,
    WireEvent,
    _check_values,
    _event,
    _reason,
    _wire_decoder,
    datetime_to_ms,
    decode_one,
)
from .model import Event


class WireBatch(msgspec.Struct, rename="camel"):
    # Events stay raw so one bad event is rejected alone, with its index.
    agent_id: Annotated[str, Meta(min_length=1, max_length=128)]
    sdk_version: Annotated[str, Meta(min_length=1, max_length=64)]
    events: Annotated[list[msgspec.Raw], Meta(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]
    sent_at: Timestamp | None = None


class _TypedBatch(msgspec.Struct, rename="camel"):
    # The same body with every event typed, for the one-call path. Only read
    # once WireBatch has accepted the batch's own fields, so they are not
    # checked again here.
    events: list[WireEvent]


_batch_decoder = msgspec.json.Decoder(WireBatch)
_typed_batch_decoder = msgspec.json.Decoder(_TypedBatch)


class BatchResult(msgspec.Struct):
    accepted: list[Event]
    errors: list[str]  # "Event <i>: <reason>"

    @property
    def rejected(self) -> int:
        return len(self.errors)


class CheckedBatch:
    """A batch that went through every check of the contract, before any
    ``Event`` is made: the Kafka sink publishes most batches straight from
    here (the agent's JSON of each event plus the server's fields), and making
    and freeing a hundred ``Event``s cost as much again as that.

    The native check (``frictionkit.native.check_batch``) hands its accepted
    events over as one ``_native.AcceptedEvents`` (``native``): spans of the
    body and bus keys, from which the bus messages are built in Rust. Then
    ``typed`` is False, and ``wires`` (each event's ``org_id``,
    ``product_id``, ``session_id`` and ``event_id`` only) and ``raws``
    (bytes) are made from it when first read.
    """

    __slots__ = ("_wires", "_raws", "errors", "received_at_ms", "skew_ms", "agent_id", "sdk_version", "typed",
                 "all_event_ids", "native")

    def __init__(self, wires: list[Any] | None, raws: list[Any] | None, errors: list[str], received_at_ms: int,
                 skew_ms: int, agent_id: str, sdk_version: str, typed: bool = True,
                 all_event_ids: bool | None = None, native: Any = None) -> None:
        self._wires = wires
        self._raws = raws
        self.errors = errors  # "Event <i>: <reason>"
        self.received_at_ms = received_at_ms
        self.skew_ms = skew_ms
        self.agent_id = agent_id
        self.sdk_version = sdk_version
        self.typed = typed
        # Known already (the native check): does every accepted event have an
        # eventId? A subset keeps True (split_by_org); False may then be stale,
        # which only costs the passthrough.
        self.all_event_ids = all_event_ids
        self.native = native

    @property
    def wires(self) -> list[Any]:
        """The accepted events, in batch order (``WireEvent``s when ``typed``)."""
        if self._wires is None:
            self._wires = self.native.keys()
        return self._wires

    @property
    def raws(self) -> list[Any]:
        """Each accepted event's JSON as the agent sent it."""
        if self._raws is None:
            self._raws = self.native.raws()
        return self._raws

    @property
    def accepted(self) -> int:
        return len(self.native) if self._wires is None else len(self._wires)

    def subset(self, positions: list[int], errors: list[str]) -> CheckedBatch:
        """The accepted events at ``positions`` only, with these ``errors``."""
        if self.native is not None:
            return CheckedBatch(None, None, errors, self.received_at_ms, self.skew_ms, self.agent_id,
                                self.sdk_version, self.typed, self.all_event_ids, self.native.take(positions))
        wires, raws = self.wires, self.raws
        return CheckedBatch([wires[i] for i in positions], [raws[i] for i in positions], errors, self.received_at_ms,
                            self.skew_ms, self.agent_id, self.sdk_version, self.typed, self.all_event_ids)

    def events(self) -> list[Event]:
        received_at_ms, agent_id, sdk_version, skew_ms = self.received_at_ms, self.agent_id, self.sdk_version, self.skew_ms
        events = self.native.events() if self.native is not None else None
        if events is not None:
            # Made by the native check from the values it scanned; None where
            # the eventId is derived here (from msgspec's encoding of the event).
            if None in events:
                raws = self.raws
                for i in [i for i, ev in enumerate(events) if ev is None]:
                    wire = _wire_decoder.decode(raws[i])
                    events[i] = _event(wire, datetime_to_ms(wire.ts) + skew_ms, received_at_ms, agent_id, sdk_version)
            return events
        wires = self.wires if self.typed else [_wire_decoder.decode(raw) for raw in self.raws]
        return [_event(wire, datetime_to_ms(wire.ts) + skew_ms, received_at_ms, agent_id, sdk_version)
                for wire in wires]

    @property
    def passthrough(self) -> bool:
        """Is each accepted event, on the bus, the agent's JSON plus receivedAt,
        agentId and sdkVersion? Not when its ts was corrected for clock skew or
        the server derives its eventId."""
        if self.skew_ms != 0:
            return False
        if self.all_event_ids is not None:
            return self.all_event_ids
        return all(wire.event_id is not None for wire in self.wires)


def _future_limit(now_ms: int, skew_ms: int) -> datetime:
    """The first instant at which a ``ts`` is too far in the future: the
    contract's rule (``floor_ms(ts) + skew > now + 10 min``) is exactly
    ``ts >= (now + 10 min - skew + 1 ms)``. ``check_batch`` compares each
    event's datetime with it instead of converting each to milliseconds."""
    return _EPOCH_UTC + timedelta(milliseconds=now_ms + MAX_FUTURE_MS - skew_ms + 1)


def check_batch(body: bytes, *, received_at_ms: int) -> CheckedBatch:
    """Decode and check a ``POST /v1/events/batch`` body (already decompressed).

    Raises ``BatchError`` when the batch as a whole is malformed; otherwise
    one reason per rejected event, and the accepted ones.
    """
    try:
        batch = _batch_decoder.decode(body)
    except DECODE_ERRORS as err:
        raise BatchError(_reason(err)) from None
    skew_ms = 0
    if batch.sent_at is not None:
        sent_at_ms = datetime_to_ms(batch.sent_at)
        if abs(received_at_ms - sent_at_ms) > SKEW_CORRECTION_THRESHOLD_MS:
            skew_ms = received_at_ms - sent_at_ms
    too_late = _future_limit(received_at_ms, skew_ms)
    raws = batch.events
    wires = _all_valid(body, raws, too_late)
    if wires is not None:
        return CheckedBatch(wires, raws, [], received_at_ms, skew_ms, batch.agent_id, batch.sdk_version)
    wires, raws, errors = _each_checked(raws, too_late)
    return CheckedBatch(wires, raws, errors, received_at_ms, skew_ms, batch.agent_id, batch.sdk_version)


def _all_valid(body: bytes, raws: list[msgspec.Raw], too_late: datetime) -> list[WireEvent] | None:
    """Every event of the body, typed in one decode, if none breaks the
    contract; ``None`` if one does (the per-event path then says which).
    The same decoder type and the same checks as ``_each_checked``, so a
    batch gets the same answer on either path."""
    if max(map(len, raws)) > MAX_EVENT_BYTES:
        return None
    try:
        wires = _typed_batch_decoder.decode(body).events
        for wire in wires:
            _check_wire(wire, too_late)
    except (*DECODE_ERRORS, ContractError):
        return None
    return wires


def _check_wire(wire: WireEvent, too_late: datetime) -> None:
    """The checks msgspec cannot express, on a decoded event of the batch."""
    if wire.ts >= too_late:
        raise ContractError(_IN_THE_FUTURE)
    if wire.latency_ms is not None or wire.extra or wire.dead is not None:
        _check_values(wire)


def _each_checked(raws: list[msgspec.Raw], too_late: datetime) -> tuple[list[WireEvent], list[msgspec.Raw], list[str]]:
    wires: list[WireEvent] = []
    accepted: list[msgspec.Raw] = []
    errors: list[str] = []
    decode = _wire_decoder.decode
    for index, raw in enumerate(raws):
        try:
            wire = decode_one(decode, raw, MAX_EVENT_BYTES)
            _check_wire(wire, too_late)
        except ContractError as err:
            errors.append(f"Event {index}: {err}")
            continue
        wires.append(wire)
        accepted.append(raw)
    return wires, accepted, errors


def decode_batch(body: bytes, *, received_at_ms: int) -> BatchResult:
    """``check_batch``, with the accepted events as ``Event``s."""
    checked = check_batch(body, received_at_ms=received_at_ms)
    return BatchResult(accepted=checked.events(), errors=checked.errors)


def gunzip_capped(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """Decompress gzip without ever holding more than ``max_bytes`` of output,
    so a small bomb cannot exhaust memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as err:
        raise BatchError(f"body is not valid gzip: {err}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise BodyTooLarge(f"body exceeds {max_bytes // (1024 * 1024)} MiB after decompression")
    if not inflater.eof:
        raise BatchError("body is truncated gzip")
    return out
