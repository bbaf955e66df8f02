"""events.raw carries the events of one request that share a key as one
message (a BusBatch: the server's stamp once, then the events); processors
read that and one event per message."""

from __future__ import annotations

import json

import pytest

from frictionkit import native
from frictionkit.bus import codec
from frictionkit.bus.codec import MAX_BUS_MESSAGE_BYTES, bus_key, bus_messages, checked_bus_messages, event_to_bus_json
from frictionkit.core.batch import check_batch, decode_batch
from frictionkit.core.contract import BUS_BATCH_PREFIX, MAX_EVENT_BYTES, ContractError, decode_bus_message, decode_event_line
from frictionkit.core.model import Event

T0 = 1_795_773_600_000


def _event(i: int, org: str = "acme", product: str = "crm", session: str = "s1", **kw) -> Event:
    return Event(f"e{i}", org, product, session, "u", T0 + i, "click", "home", "/", "desktop",
                 received_at_ms=T0 + 60_000, agent_id="agent", sdk_version="1.0", **kw)


def test_a_batch_becomes_one_message_per_key_in_arrival_order():
    events = [_event(0), _event(1, org="globex"), _event(2, session="s2"), _event(3), _event(4, org="globex")]
    messages = bus_messages(events)
    assert [key for key, _ in messages] == [b"acme:crm", b"globex:crm"]
    decoded = {key: decode_bus_message(value) for key, value in messages}
    assert decoded[b"acme:crm"] == [events[0], events[2], events[3]]
    assert decoded[b"globex:crm"] == [events[1], events[4]]
    assert all(bus_key(ev) == key for key, evs in decoded.items() for ev in evs)


def test_keyed_by_session_a_message_holds_one_session_key():
    events = [_event(0), _event(1, session="s2"), _event(2)]
    messages = bus_messages(events, with_session=True)
    assert [(key, [e.event_id for e in decode_bus_message(v)]) for key, v in messages] == [
        (b"acme:crm:s1", ["e0", "e2"]), (b"acme:crm:s2", ["e1"])]


def test_a_batch_message_is_the_stamp_once_then_the_events_without_it():
    events = [_event(i, extra={"k": i}, latency_ms=1.5) for i in range(3)]
    [(_, value)] = bus_messages(events)
    assert value.startswith(BUS_BATCH_PREFIX)
    body = json.loads(value)
    assert body["batch"] == {"receivedAt": "2026-11-27T10:01:00.000Z", "agentId": "agent", "sdkVersion": "1.0"}
    single = [json.loads(event_to_bus_json(ev)) for ev in events]
    assert body["events"] == [{k: v for k, v in e.items() if k not in ("receivedAt", "agentId", "sdkVersion")}
                              for e in single]


def test_events_of_different_requests_never_share_a_stamp():
    events = [_event(0), Event("e1", "acme", "crm", "s1", "u", T0, "click", "h", "/", "desktop",
                               received_at_ms=T0 + 1, agent_id="other", sdk_version="2.0"), _event(2)]
    messages = bus_messages(events)
    assert len(messages) == 2
    assert [e for _, v in messages for e in decode_bus_message(v)] == [events[0], events[2], events[1]]


def test_big_batches_are_split_under_the_message_limit_keeping_order(monkeypatch):
    monkeypatch.setattr(codec, "MAX_BUS_MESSAGE_BYTES", 2_000)
    events = [_event(i, extra={"pad": "x" * 200}) for i in range(40)]
    messages = bus_messages(events)
    assert len(messages) > 1 and all(len(v) <= 2_000 for _, v in messages)
    assert [e for _, v in messages for e in decode_bus_message(v)] == events
    # One event larger than the limit goes alone (Kafka's own limit then decides).
    big = _event(99, extra={"pad": "y" * 250, **{f"k{i}": "z" * 250 for i in range(10)}})
    assert [len(decode_bus_message(v)) for _, v in bus_messages([big])] == [1]
    assert MAX_BUS_MESSAGE_BYTES < 1_000_000  # Kafka's default message.max.bytes


def test_a_single_event_message_is_read_as_before():
    ev = _event(7)
    assert decode_bus_message(event_to_bus_json(ev)) == [ev]


def test_a_bad_event_rejects_its_whole_batch_naming_its_index():
    good = json.loads(event_to_bus_json(_event(0)))
    stamp = {k: good.pop(k) for k in ("receivedAt", "agentId", "sdkVersion")}
    for bad, reason in [
        (dict(good, orgId=3), "event 1: orgId: Expected `str`, got `int`"),
        (dict(good, foo=1), "event 1: Object contains unknown field `foo`"),
        (dict(good, receivedAt=stamp["receivedAt"]), "event 1: Object contains unknown field `receivedAt`"),
        (5, "event 1: Expected `object`, got `int`"),
        (dict(good, latencyMs=-1), "event 1: latencyMs: Expected `float` >= 0.0"),
        # The checks msgspec cannot express, run by the contract's own code:
        (dict(good, extra={"note": "x" * 257}), "event 1: extra.note: string longer than 256"),
    ]:
        with pytest.raises(ContractError) as info:
            decode_bus_message(json.dumps({"batch": stamp, "events": [good, bad]}).encode())
        assert str(info.value) == reason
    with pytest.raises(ContractError, match="without events"):
        decode_bus_message(json.dumps({"batch": stamp, "events": []}).encode())
    with pytest.raises(ContractError, match="truncated"):
        decode_bus_message(b'{"batch":{')
    with pytest.raises(ContractError, match="Expected `object`, got `array`"):
        decode_bus_message(b"[]")  # not a shape of ours: neither an event nor a batch


def test_server_fields_may_take_a_bus_event_past_the_agents_size_limit():
    """An agent's event of up to 32 KiB gains eventId, receivedAt, agentId and
    sdkVersion on the bus; that must not make the processors drop it. Replay
    lines keep the agent's limit."""
    ev = _event(0, extra={"k" * (MAX_EVENT_BYTES - 200): 1})
    line = event_to_bus_json(ev)
    assert len(line) > MAX_EVENT_BYTES
    assert decode_bus_message(line) == [ev]
    with pytest.raises(ContractError, match="32 KiB"):
        decode_event_line(line, now_ms=None)


def _by_key(events: list[Event], with_session: bool = False) -> dict[bytes, list[Event]]:
    out: dict[bytes, list[Event]] = {}
    for ev in events:
        out.setdefault(bus_key(ev, with_session=with_session), []).append(ev)
    return out


def _wire(i: int, **kw) -> dict:
    return {"orgId": "acme", "productId": "crm", "sessionId": "s1", "userHash": "u", "ts": "2026-11-27T10:00:00.000Z",
            "eventType": "click", "screenId": "home", "route": "/", "deviceType": "desktop", "eventId": f"e{i}", **kw}


BODIES = {
    "plain": {"agentId": "a-1", "sdkVersion": "2.0", "events": [_wire(i) for i in range(5)]},
    "two keys, zones, sub-ms digits, escapes, extras": {"agentId": "a\u00e9\"1", "sdkVersion": "2.0", "events": [
        _wire(0, ts="2026-11-27T12:00:00.123999+02:00", extra={"task_name": "t\u2603", "n": 1.5}),
        _wire(1, orgId="globex", ts="2026-11-27T09:59:59.9Z", latencyMs=3),
        _wire(2, sessionId="s2", screenId="\u00e9cran", extra={}),
        _wire(3, orgId="globex", elementLabelHash=None)]},
    "skew corrected": {"agentId": "a", "sdkVersion": "1", "sentAt": "2026-11-27T12:00:00Z",
                       "events": [_wire(i) for i in range(3)]},
    "ids derived by the server": {"agentId": "a", "sdkVersion": "1",
                                  "events": [_wire(0), {k: v for k, v in _wire(1).items() if k != "eventId"}]},
}


# The Python check, and the native one whose messages are built in Rust.
CHECKS = pytest.mark.parametrize("check", [check_batch, native.check_batch], ids=["python", "native"])


@CHECKS
@pytest.mark.parametrize("with_session", [False, True])
@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize("pretty", [False, True], ids=["compact", "pretty"])
def test_the_ingestion_path_puts_on_the_bus_exactly_the_events_the_contract_accepted(name, pretty, with_session, check):
    """Spliced (the agent's JSON plus the server's fields) or encoded again,
    every reader decodes the very events ``decode_batch`` makes of the body."""
    body = json.dumps(BODIES[name], indent=2 if pretty else None).encode()
    received_at_ms = T0 + 3_600_000
    checked = check(body, received_at_ms=received_at_ms)
    assert checked.passthrough == (name in ("plain", "two keys, zones, sub-ms digits, escapes, extras"))
    want = decode_batch(body, received_at_ms=received_at_ms).accepted
    assert len(want) == len(BODIES[name]["events"])
    messages = checked_bus_messages(checked, with_session=with_session)
    got = {key: decode_bus_message(value) for key, value in messages}
    assert len(got) == len(messages)  # one message per key
    assert got == _by_key(want, with_session)


@CHECKS
def test_spliced_messages_are_split_under_the_limit_too(monkeypatch, check):
    monkeypatch.setattr(codec, "MAX_BUS_MESSAGE_BYTES", 1_500)
    body = json.dumps({"agentId": "a", "sdkVersion": "1", "events": [_wire(i) for i in range(30)]}).encode()
    checked = check(body, received_at_ms=T0 + 3_600_000)
    messages = checked_bus_messages(checked)
    assert len(messages) > 2 and all(len(v) <= 1_500 for _, v in messages)
    assert [e for _, v in messages for e in decode_bus_message(v)] == decode_batch(body, received_at_ms=T0 + 3_600_000).accepted


def test_a_sessions_bus_array_is_the_single_event_encodings_joined():
    events = [_event(i, extra={"i": i}) for i in range(3)] + [Event("x", "acme", "crm", "s1", "u", T0, "click", "h", "/",
                                                                      "desktop")]
    assert codec.events_to_bus_array(events) == b"[" + b",".join(map(event_to_bus_json, events)) + b"]"
