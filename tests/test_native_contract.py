"""The native contract check (``frictionkit.native.check_batch``, Rust) held to
the Python reference (``core.batch.check_batch``, msgspec + the checks of
``core.contract``) on the fuzz corpus of the contract (tests/test_fuzz_contract.py)
plus byte mutations and inputs built at every limit: the same batch error or
the same accepted events (their JSON, keys and ``Event``s), the same
``Event <i>: <reason>`` list byte for byte, and never an exception besides
``BatchError`` (a panic in Rust would surface as RuntimeError and fail here).

Malformed JSON is handed by the native side to the reference (see
docs/native.md); ``test_the_native_side_answers_the_rejections_itself`` holds
it to answering every ordinary rejection on its own.
"""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionkit import native
from frictionkit.bus.codec import bus_messages, checked_bus_messages
from frictionkit.core.batch import check_batch as reference_check
from frictionkit.core.contract import MAX_EVENT_BYTES, BatchError, ContractError, decode_event_lines, format_ts_ms
from frictionkit.core.contract import decode_bus_message as reference_bus_message
from test_fuzz_contract import _INFINITE, EVENT_FIELDS, NOW_MS, VALID, _mutated_event, _valid_batch, json_values
from helpers import HOUR

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(check, body: bytes, now_ms: int):
    try:
        c = check(body, received_at_ms=now_ms)
    except BatchError as err:
        return ("batch error", str(err))
    # The bus messages first: the native batch builds them in Rust, before
    # any per-event view of it is made; keyed by product and by session. And
    # of every other accepted event (what split_by_org keeps), read back: a
    # subset may go on the bus encoded again (CheckedBatch.all_event_ids).
    every_other = c.subset(list(range(0, c.accepted, 2)), c.errors)
    buses = [checked_bus_messages(c, with_session=s) for s in (False, True)]
    buses += [[(k, reference_bus_message(v)) for k, v in checked_bus_messages(every_other, with_session=s)]
              for s in (False, True)]
    keys = [(w.org_id, w.product_id, w.session_id, w.event_id) for w in c.wires]
    return ("checked", c.errors, [bytes(r) for r in c.raws], keys, c.skew_ms, c.agent_id, c.sdk_version,
            c.passthrough, c.events(), [[type(v) for v in msgspec.structs.astuple(e)] for e in c.events()],
            c.accepted, buses, every_other.events())


def native_with_events(body: bytes, *, received_at_ms: int):
    # What embedded serve runs: the Events made by the native check's own scan.
    return native.check_batch(body, received_at_ms=received_at_ms, events=True)


def assert_parity(body: bytes, now_ms: int = NOW_MS) -> None:
    expected = outcome(reference_check, body, now_ms)
    assert outcome(native.check_batch, body, now_ms) == expected
    assert outcome(native_with_events, body, now_ms) == expected


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(body):
    assert_parity(body)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.sampled_from(["flip", "delete", "insert", "dup"]),
                          st.binary(min_size=1, max_size=8)), min_size=1, max_size=6))
def test_byte_mutations_of_a_valid_batch(mutations):
    body = bytearray(VALID)
    for pos, kind, data in mutations:
        pos = min(pos, len(body) - 1) if body else 0
        if kind == "flip" and body:
            body[pos] ^= data[0] or 1
        elif kind == "delete":
            del body[pos:pos + len(data)]
        elif kind == "insert":
            body[pos:pos] = data
        else:
            body[pos:pos] = body[pos:pos + len(data) * 4]
    assert_parity(bytes(body))


@FUZZ
@given(st.data())
def test_field_mutations_of_a_valid_batch(data):
    doc = _valid_batch()
    for _ in range(data.draw(st.integers(1, 5))):
        target = data.draw(st.sampled_from(["batch", "event", "event", "event"]))
        if target == "batch":
            obj = doc
            field = data.draw(st.sampled_from(["agentId", "sdkVersion", "sentAt", "events", "extra"]))
        else:
            if not isinstance(doc.get("events"), list) or not doc["events"]:
                continue
            obj = doc["events"][data.draw(st.integers(0, len(doc["events"]) - 1))]
            if not isinstance(obj, dict):
                continue
            field = data.draw(st.sampled_from(EVENT_FIELDS))
        if data.draw(st.booleans()) and field in obj:
            del obj[field]
        else:
            obj[field] = data.draw(json_values)
    assert_parity(json.dumps(doc, ensure_ascii=data.draw(st.booleans())).encode())


# ------------------------------------------------------------ values at every limit

def _text(lengths: list[int]):
    chars = st.sampled_from(["a", "é", "😀", "\n", "'", '"', "\\", "\x01", "\u2028"])
    return st.builds(lambda n, c: c * n, st.sampled_from(lengths), chars) | st.text(max_size=70)


def _timestamps():
    part = st.sampled_from
    return st.builds(
        lambda y, mo, d, sep, h, mi, s, frac, tz: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{tz}",
        part(["0000", "0001", "1970", "2024", "2026", "9999"]), part(["00", "01", "02", "11", "12", "13"]),
        part(["00", "01", "27", "28", "29", "30", "31", "32"]), part(["T", "t", " ", "_"]),
        part(["00", "09", "23", "24"]), part(["00", "59", "60"]), part(["00", "59", "60"]),
        part(["", ".", ".1", ".123", ".123456", ".1234565", ".9999994", ".9999995", ".99999999999"]),
        part(["", "Z", "z", "+00:00", "-00:00", "+02:00", "+0200", "-23:59", "+24:00", "+02", "+02:60", "Zx"]),
    ) | st.builds(lambda delta: format_ts_ms(NOW_MS + delta),
                  st.sampled_from([-6_001, -5_001, -5_000, 0, 5_000, 5_001, 599_999, 600_000, 600_001, 3_600_000]))


def _numbers():
    # _INFINITE is written as 1e999 (limit_batches): no float holds it.
    return st.sampled_from([0, -0.0, -1, 1.5, 2**64, -(2**63), 10**30, 1e308, _INFINITE]) \
        | st.floats(allow_nan=False, allow_infinity=False) \
        | st.integers(-(2**70), 2**70)


LIMIT_VALUES = {
    "orgId": _text([0, 1, 128, 129]), "productId": _text([0, 1, 128, 129]), "sessionId": _text([128, 129]),
    "userHash": _text([1, 129]), "screenId": _text([0, 1, 256, 257]), "route": _text([0, 2048, 2049]),
    "eventId": _text([0, 1, 64, 65]) | st.none(), "appName": _text([0, 256, 257]) | st.none(),
    "errorCode": _text([256, 257]), "ts": _timestamps(), "latencyMs": _numbers() | st.none() | st.text(max_size=3),
    "eventType": st.sampled_from(["click", "scroll", "Click", "", "custom "]) | _text([1, 3]),
    "deviceType": st.sampled_from(["desktop", "mobile", "tablet", "tv"]) | st.integers() | _numbers(),
    "extra": st.none() | st.lists(st.tuples(st.sampled_from(["a", "b", "é", "K" * 70]) | st.text(max_size=4),
                                            _text([0, 256, 257]) | _numbers() | st.booleans() | st.none()
                                            | st.just([1])),
                                  max_size=34),
    "receivedAt": _timestamps(), "unknownField": st.integers(),
    "dead": st.none() | st.booleans() | st.sampled_from([0, 1, "true"]),
}


def _event_json(fields: dict) -> str:
    parts = []
    for key, value in fields.items():
        if key == "extra" and isinstance(value, list):  # pairs: repeated keys stay repeated
            value_text = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in value) + "}"
        else:
            value_text = json.dumps(value)
        parts.append(f"{json.dumps(key)}:{value_text}")
    return "{" + ",".join(parts) + "}"


@st.composite
def limit_batches(draw):
    events = []
    for base in draw(st.lists(st.sampled_from(_valid_batch()["events"]), min_size=1, max_size=4)):
        ev = dict(base)
        for field in draw(st.lists(st.sampled_from(sorted(LIMIT_VALUES)), max_size=3, unique=True)):
            if draw(st.integers(0, 5)) == 0:
                ev.pop(field, None)
            else:
                ev[field] = draw(LIMIT_VALUES[field])
        events.append(_event_json(ev))
    head = {"agentId": draw(st.sampled_from(["a", "", "x" * 128, "x" * 129, "é" * 128])),
            "sdkVersion": draw(st.sampled_from(["1", "", "v" * 64, "v" * 65]))}
    sent_at = draw(st.none() | _timestamps() | st.just(5))
    if sent_at is not None:
        head["sentAt"] = sent_at
    head_text = json.dumps(head)[:-1]
    return f'{head_text},"events":[{",".join(events)}]}}'.encode().replace(str(_INFINITE).encode(), b"1e999")


@FUZZ
@given(limit_batches())
def test_values_at_the_limits(body):
    assert_parity(body)


def test_event_size_limit():
    ev = _valid_batch()["events"][0]
    base = len(json.dumps({**ev, "x": ""}))
    for size in (MAX_EVENT_BYTES - 1, MAX_EVENT_BYTES, MAX_EVENT_BYTES + 1):
        big = json.dumps({**ev, "x": "p" * (size - base)})
        assert len(big) == size
        assert_parity(json.dumps({"agentId": "a", "sdkVersion": "1", "events": [json.loads(big), ev]}).encode())


ORDINARY_REJECTIONS = [
    {"orgId": ""}, {"orgId": "o" * 129}, {"orgId": 5}, {"ts": "2026-11-27"}, {"ts": "2026-11-27T10:00:00"},
    {"ts": format_ts_ms(NOW_MS + 600_001)}, {"eventType": "hover"}, {"deviceType": None}, {"latencyMs": -1},
    {"latencyMs": "1"}, {"extra": {"k": "x" * 257}}, {"extra": {f"k{i}": i for i in range(33)}},
    {"extra": {"a": [1]}}, {"extra": []}, {"email": "someone@example.com"}, {"route": "/" * 2049},
    {"eventType": "scroll", "dead": True}, {"dead": 1}, {"dead": "yes"},
]


@pytest.mark.parametrize("change", ORDINARY_REJECTIONS, ids=lambda c: ",".join(c))
def test_the_native_side_answers_the_rejections_itself(change):
    """Not handed to the reference: the native check words these itself."""
    ev = {**_valid_batch()["events"][0], **change}
    body = json.dumps({"agentId": "a", "sdkVersion": "1", "events": [ev, _valid_batch()["events"][0]]}).encode()
    answer = native._native().check_batch(body, NOW_MS)
    assert isinstance(answer, tuple), answer
    assert answer[4] == reference_check(body, received_at_ms=NOW_MS).errors
    assert len(answer[4]) == 1


def test_batch_errors_are_answered_natively_and_malformed_json_by_the_reference():
    for body in (b"{}", b"[]", b'{"agentId":"a","sdkVersion":"1","events":[]}', b'{"agentId":1}'):
        answer = native._native().check_batch(body, NOW_MS)
        assert isinstance(answer, str)
        with pytest.raises(BatchError) as err:
            reference_check(body, received_at_ms=NOW_MS)
        assert answer == str(err.value)
    deep = b"[" * 10_000 + b"]" * 10_000
    for body in (b"", b"{", b'{"agentId":"a",}', VALID[:-1] + b',"x":' + deep + b"}"):
        assert native._native().check_batch(body, NOW_MS) is None
        assert_parity(body)


def test_the_result_reads_as_the_references_on_the_bus():
    for skew in ("", ',"sentAt":"2020-01-01T00:00:00Z"'):
        body = VALID[:-1] + skew.encode() + b"}"
        for with_session in (False, True):
            assert (checked_bus_messages(native.check_batch(body, received_at_ms=NOW_MS), with_session=with_session)
                    == checked_bus_messages(reference_check(body, received_at_ms=NOW_MS), with_session=with_session))


# ------------------------------------------------------------ replay lines (the bus format)

def _line_from(data) -> bytes:
    """A replay line: a mutated bus event, a limit batch's event with the
    server's fields, or bytes."""
    kind = data.draw(st.sampled_from(["mutated", "limits", "bytes"]))
    if kind == "mutated":
        return _mutated_event(data)
    if kind == "bytes":
        return data.draw(st.binary(max_size=96))
    body = json.loads(data.draw(limit_batches()).decode())  # valid JSON: built by json.dumps
    ev = body["events"][0]
    if isinstance(ev, dict):
        ev.update(receivedAt=data.draw(_timestamps()), agentId=data.draw(_text([0, 256, 257])))
    return json.dumps(ev, ensure_ascii=data.draw(st.booleans())).encode()


@FUZZ
@given(st.data())
def test_replay_lines_decoded_natively(data):
    """``native.decode_event_lines`` (replay's decode): the same ``Event``s,
    field for field and type for type, and the same reasons, on the same
    corpus."""
    lines = data.draw(st.lists(st.builds(_line_from, st.data()), min_size=1, max_size=8))
    now_ms = data.draw(st.sampled_from([None, NOW_MS, NOW_MS - 2 * HOUR]))
    events, errors = decode_event_lines(lines, now_ms=now_ms)
    native_events, native_errors = native.decode_event_lines(lines, now_ms=now_ms)
    assert native_errors == errors
    assert native_events == events
    for mine, theirs in zip(native_events, events):
        assert [type(v) for v in msgspec.structs.astuple(mine)] == [type(v) for v in msgspec.structs.astuple(theirs)]
        if mine.extra:
            assert list(mine.extra.items()) == list(theirs.extra.items())
            assert [type(v) for v in mine.extra.values()] == [type(v) for v in theirs.extra.values()]


# ------------------------------------------------------------ events.raw messages

def _bus_message(data) -> bytes:
    """An ``events.raw`` message: a replay line as a single bus event, the
    batch messages ``serve`` writes for valid events, or one of those with a
    byte changed."""
    lines = data.draw(st.lists(st.builds(_line_from, st.data()), min_size=1, max_size=6))
    kind = data.draw(st.sampled_from(["single", "batch", "mutated batch"]))
    if kind == "single":
        return lines[0]
    events, _ = decode_event_lines(lines, now_ms=None)
    if not events:
        return lines[0]
    messages = bus_messages(events)
    message = messages[data.draw(st.integers(0, len(messages) - 1))][1]
    if kind == "mutated batch":
        at = data.draw(st.integers(0, len(message) - 1))
        message = message[:at] + bytes([data.draw(st.integers(0, 255))]) + message[at + 1:]
    return message


def _outcome(decode, message):
    try:
        return decode(message)
    except ContractError as err:
        return str(err)


@FUZZ
@given(st.data())
def test_bus_messages_decoded_natively(data):
    """``native.decode_bus_message`` (the stream sessionizer's decode): the
    same ``Event``s, type for type, or the same error, as the reference."""
    message = _bus_message(data)
    mine, theirs = _outcome(native.decode_bus_message, message), _outcome(reference_bus_message, message)
    assert mine == theirs
    if isinstance(mine, list):
        for a, b in zip(mine, theirs):
            assert [type(v) for v in msgspec.structs.astuple(a)] == [type(v) for v in msgspec.structs.astuple(b)]


def test_the_events_are_made_by_the_checks_own_scan():
    """Asked for them (embedded serve), the native check makes the accepted
    events' Events as it scans; only an event without eventId is left to the
    reference, which derives its id."""
    body = json.loads(VALID)
    del body["events"][1]["eventId"]
    body = json.dumps(body).encode()
    checked = native.check_batch(body, received_at_ms=NOW_MS, events=True)
    made = checked.native.events()
    assert checked.accepted > 2 and made is not None
    without_id = ["eventId" not in ev for ev in json.loads(body)["events"]]
    assert checked.accepted == len(without_id) and any(without_id) and not all(without_id)
    assert [ev is None for ev in made] == without_id
    assert checked.events() == reference_check(body, received_at_ms=NOW_MS).events()
    assert native.check_batch(body, received_at_ms=NOW_MS).native.events() is None  # the Kafka path makes none
