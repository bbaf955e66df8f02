"""Message formats of ``events.sessionized`` and ``events.incidents``.

A sessionized message carries the closed session whole. Format v2 (what the
sessionizer writes) holds the events as the core's own ``Event`` records,
which msgspec encodes and decodes in one call each and losslessly (``ts_ms``
and ``received_at_ms`` are integers, floats round-trip exactly): the detector
and the aggregator get back exactly the events the sessionizer closed, and
every derived fact is computed from them. The events were checked against
the contract when the sessionizer read them from ``events.raw``. Format v1
(the events in the ``events.raw`` bus format, each checked by the contract
again on the way in) is still read, so messages written before an upgrade
are processed. Encoding is deterministic (events in the session's
(ts, event id) order, fixed field order), so a re-emitted session is
byte-identical to the first emission.
"""

from __future__ import annotations

import operator

import msgspec

from ..bus.codec import events_to_bus_array
from ..core.contract import DECODE_ERRORS, BusEvent, ContractError, bus_events_to_events, format_ts_ms
from ..core.model import Event, Incident, Session

FORMAT_VERSION = 2  # of events.sessionized; 1 is still read
INCIDENT_FORMAT_VERSION = 1


class _SessionHead(msgspec.Struct, rename="camel"):
    # What a person reads first, in both formats; the events follow.
    v: int
    org_id: str
    product_id: str
    client_session_id: str
    session_id: str
    seq: int
    event_count: int
    start_ts: str
    end_ts: str


class _SessionV1(_SessionHead, rename="camel"):
    # Decoded with the header in one call (the contract's typed struct), not
    # one call per event.
    events: list[BusEvent]


class _SessionV2(_SessionHead, rename="camel"):
    events: list[Event]  # as core.model.Event encodes


class _LateV2(msgspec.Struct, rename="camel"):
    # Events that came too late for their key's closed session: stored in
    # events_raw (as replay stores them), never sessionized.
    v: int
    kind: str
    org_id: str
    product_id: str
    client_session_id: str
    event_count: int
    events: msgspec.Raw  # decoded once the header is checked


class LateEvents(msgspec.Struct, frozen=True):
    """A late message of ``events.sessionized``, decoded."""

    org_id: str
    product_id: str
    client_session_id: str
    events: list[Event]


LATE_KIND = "late"


class _IncidentMessage(msgspec.Struct, rename="camel"):
    v: int
    incident_id: str
    org_id: str
    product_id: str
    session_id: str
    incident_type: str
    screen_id: str
    route: str
    ts_ms: int
    end_ts_ms: int
    first_event_id: str
    click_count: int = 0
    duration_ms: int = 0
    task_name: str | None = None


_encoder = msgspec.json.Encoder()
_session_decoder = msgspec.json.Decoder(_SessionV2)
_events_decoder = msgspec.json.Decoder(list[Event])
_session_v1_decoder = msgspec.json.Decoder(_SessionV1)
_late_decoder = msgspec.json.Decoder(_LateV2)
_incident_decoder = msgspec.json.Decoder(_IncidentMessage)


class MessageError(ValueError):
    """A message on our own topics that cannot be decoded; the text is the reason."""


def message_key(org_id: str, product_id: str, session_id: str) -> bytes:
    """The Kafka key of a message about one session: ``org:product:session``."""
    return f"{org_id}:{product_id}:{session_id}".encode()


def session_key(session: Session) -> bytes:
    """Keyed by the client's key, not ``session_id#n``: every session of a key
    and its late-events messages land on one partition of
    ``events.sessionized``, in the order they were produced, so the aggregator
    never rebuilds a key from the store while an older session of it is still
    queued on another partition."""
    return message_key(session.org_id, session.product_id, session.client_session_id)


def encode_session(session: Session) -> bytes:
    events = session.events
    return _encoder.encode(_SessionV2(
        FORMAT_VERSION, session.org_id, session.product_id, session.client_session_id, session.session_id,
        session.seq, len(events), format_ts_ms(events[0].ts_ms), format_ts_ms(events[-1].ts_ms), events,
    ))


def encode_late(events: list[Event]) -> bytes:
    """The late message of events of one session key, in the order given."""
    first = events[0]
    return _encoder.encode(_LateV2(FORMAT_VERSION, LATE_KIND, first.org_id, first.product_id, first.session_id,
                                   len(events), events))


def encode_session_v1(session: Session) -> bytes:
    """The v1 message of a session (what earlier versions wrote), for tests
    of reading it."""
    events = session.events
    head = _encoder.encode(
        {
            "v": 1,
            "orgId": session.org_id,
            "productId": session.product_id,
            "clientSessionId": session.client_session_id,
            "sessionId": session.session_id,
            "seq": session.seq,
            "eventCount": len(events),
            "startTs": format_ts_ms(events[0].ts_ms),
            "endTs": format_ts_ms(events[-1].ts_ms),
        }
    )
    return head[:-1] + b',"events":' + events_to_bus_array(events) + b"}"


_event_key = operator.attrgetter("org_id", "product_id", "session_id")  # Event.key, without a Python call each


def decode_sessionized(value: bytes) -> Session | LateEvents:
    """Any message of ``events.sessionized``: a closed session, or late events."""
    try:
        head = _session_decoder.decode(value)
    except DECODE_ERRORS as err:
        return _decode_not_v2_session(value, err)
    return _from_head(head, head.events)


def _decode_not_v2_session(value: bytes, err: Exception) -> Session | LateEvents:
    """Late events, a v1 session, or a MessageError that says what it is."""
    version, kind = _version_of(value)
    if kind == LATE_KIND and version == FORMAT_VERSION:
        return _decode_late(value)
    return _from_head(_decode_other(value, version, err))


def _decode_events(raw: msgspec.Raw, what: str) -> list[Event]:
    try:
        return _events_decoder.decode(raw)
    except DECODE_ERRORS as err:
        raise MessageError(f"{what}: not a list of events: {err}") from None


def decode_session(value: bytes) -> Session:
    """A session message; late events are an error here."""
    decoded = decode_sessionized(value)
    if isinstance(decoded, LateEvents):
        raise MessageError("a late-events message, not a session")
    return decoded


def _decode_late(value: bytes) -> LateEvents:
    try:
        msg = _late_decoder.decode(value)
    except DECODE_ERRORS as err:
        raise MessageError(f"not a late-events message: {err}") from None
    what = f"late events of {msg.client_session_id}"
    events = _decode_events(msg.events, what)
    _check_events(events, msg.event_count, (msg.org_id, msg.product_id, msg.client_session_id), what)
    return LateEvents(msg.org_id, msg.product_id, msg.client_session_id, events)


def _check_events(events: list[Event], event_count: int, key: tuple[str, str, str], what: str) -> None:
    """What every message with events must hold: the count its header gives,
    none missing, all of the one session key."""
    if not events or len(events) != event_count:
        raise MessageError(f"{what}: {len(events)} events, header says {event_count}")
    if set(map(_event_key, events)) != {key}:
        raise MessageError(f"{what}: an event belongs to another session key")


def _decode_other(value: bytes, version: int | None, err: Exception) -> _SessionV1:
    if version == 1:
        return _decode_v1(value)
    if version is not None and version != FORMAT_VERSION:
        raise MessageError(f"sessionized message format v{version} is not supported "
                           f"(expected v1 or v{FORMAT_VERSION})") from None
    raise MessageError(f"not a sessionized message: {err}") from None


def _from_head(head: _SessionHead, events: list[Event] | None = None) -> Session:
    """The session of a decoded message: a v1 head, or a v2 head whose events are given."""
    if head.v not in (1, FORMAT_VERSION) or (head.v == 1) != isinstance(head, _SessionV1):
        raise MessageError(f"sessionized message format v{head.v} is not supported (expected v1 or v{FORMAT_VERSION})")
    if isinstance(head, _SessionV1):
        try:
            events = bus_events_to_events(head.events)
        except ContractError as err:
            raise MessageError(f"session {head.session_id}: event breaks the contract: {err}") from None
    _check_events(events, head.event_count, (head.org_id, head.product_id, head.client_session_id),
                  f"session {head.session_id}")
    return Session(
        org_id=head.org_id,
        product_id=head.product_id,
        client_session_id=head.client_session_id,
        session_id=head.session_id,
        seq=head.seq,
        events=events,
    )


def _decode_v1(value: bytes) -> _SessionV1:
    try:
        return _session_v1_decoder.decode(value)
    except DECODE_ERRORS as err:
        raise MessageError(f"not a sessionized message: {err}") from None


class _Version(msgspec.Struct):
    v: int | None = None
    kind: str | None = None


def _version_of(value: bytes) -> tuple[int | None, str | None]:
    """The format version and kind of a message that does not decode as a
    session: late events, or a newer format that should say so rather than
    look like garbage."""
    try:
        found = msgspec.json.decode(value, type=_Version)
    except DECODE_ERRORS:
        return None, None
    return found.v, found.kind


def incident_key(inc: Incident) -> bytes:
    return message_key(inc.org_id, inc.product_id, inc.session_id)


def encode_incident(inc: Incident) -> bytes:
    return _encoder.encode(_IncidentMessage(v=INCIDENT_FORMAT_VERSION, **msgspec.structs.asdict(inc)))


def decode_incident(value: bytes) -> Incident:
    try:
        msg = _incident_decoder.decode(value)
    except msgspec.DecodeError as err:
        raise MessageError(f"not an incident message: {err}") from None
    fields = msgspec.structs.asdict(msg)
    fields.pop("v")
    return Incident(**fields)
