"""Fuzzing the event contract (issue 7.1).

Properties (hypothesis): whatever bytes arrive, ``decode_batch`` and
``gunzip_capped`` raise nothing but the contract's own errors (``BatchError``,
``BodyTooLarge``), and every rejection carries a reason: a batch error has a
message, every rejected event is one ``"Event <i>: <reason>"`` with a valid,
unique index, and accepted + rejected = the events sent.

Then every hostile case of the issue through the real endpoint. Decisions
pinned here (docs/reliability.md):

* duplicate keys: the **last occurrence wins** (msgspec, like JSON.parse and
  Python's json); the org permission is checked on the value that won, so a
  duplicate ``orgId`` cannot smuggle events into another org;
* integers beyond 64 bits in ``extra`` are kept exactly (stored as JSON text);
  a ``latencyMs`` beyond 64 bits is a finite float and accepted; ``1e999``
  (infinite) is rejected; ``NaN``/``Infinity`` literals are not JSON: 400.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
import zlib

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from api_support import auth, batch, client, event, past_ms, session_events
from frictionkit.core.batch import decode_batch, gunzip_capped
from frictionkit.core.contract import (MAX_BODY_BYTES, BatchError, BodyTooLarge, decode_event_line, decode_event_lines,
                                       format_ts_ms)

EVENT_ERROR = re.compile(r"Event (\d+): (.+)", re.S)
NOW_MS = int(time.time() * 1000)


def _valid_batch() -> dict:
    t0 = past_ms()
    events = session_events(t0) + [event(t0 + 20_000, "click", "edit", errorCode="E1", latencyMs=12.5,
                                         extra={"a": 1, "b": "x", "c": None, "d": True, "e": 1.5})]
    # An agent clock an hour slow: the skew correction applies, and the
    # events (3 h old, moved 1 h forward) are accepted. A fixed date here
    # pushed every event past the 10-minute future limit days later.
    return batch(events, sentAt=format_ts_ms(NOW_MS - 3_600_000))


VALID = json.dumps(_valid_batch()).encode()


def check_decode(body: bytes) -> None:
    """The property: contract errors only, and every rejection has a reason."""
    try:
        result = decode_batch(body, received_at_ms=NOW_MS)
    except BatchError as err:
        assert str(err).strip(), "a batch error without a reason"
        return
    try:
        sent = len(msgspec.json.decode(body)["events"])
    except Exception:  # noqa: BLE001 - the decoder accepted it, so it is JSON with events
        sent = None
    indices = []
    for error in result.errors:
        m = EVENT_ERROR.fullmatch(error)
        assert m, f"rejection without 'Event <i>: <reason>': {error!r}"
        assert m.group(2).strip(), f"empty reason: {error!r}"
        indices.append(int(m.group(1)))
    assert len(indices) == len(set(indices))
    if sent is not None:
        assert len(result.accepted) + len(result.errors) == sent
        assert all(0 <= i < sent for i in indices)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_contract_errors_only(body):
    check_decode(body)
    try:
        gunzip_capped(body, 4096)
    except (BatchError, BodyTooLarge) as err:
        assert str(err)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    check_decode(bytes(body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
EVENT_FIELDS = list(_valid_batch()["events"][-1]) + ["eventId", "extra", "unknownField", "ts"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    check_decode(json.dumps(doc).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_replay_lines_give_contract_errors_only(line):
    from frictionkit.core.contract import ContractError

    try:
        decode_event_line(line, now_ms=NOW_MS)
    except ContractError as err:
        assert str(err).strip()


def _per_line(lines, now_ms):
    from frictionkit.core.contract import ContractError

    events, errors = [], []
    for index, line in enumerate(lines):
        try:
            events.append(decode_event_line(line, now_ms=now_ms))
        except ContractError as err:
            errors.append((index, str(err)))
    return events, errors


def _mutated_event(data) -> bytes:
    ev = dict(data.draw(st.sampled_from(_valid_batch()["events"])))
    ev.update(receivedAt="2026-11-29T10:00:01.5Z", agentId="agent-1", sdkVersion="1.0")
    for _ in range(data.draw(st.integers(0, 2))):
        field = data.draw(st.sampled_from(EVENT_FIELDS + ["receivedAt", "agentId", "sdkVersion"]))
        if data.draw(st.booleans()) and field in ev:
            del ev[field]
        else:
            # json_values never breaks the rules behind msgspec's back: add
            # values that only the contract's own checks reject.
            ev[field] = data.draw(json_values | st.sampled_from([_INFINITE, {"k": "x" * 300}, {"k": _INFINITE}]))
    return json.dumps(ev).encode().replace(str(_INFINITE).encode(), b"1e999")


_INFINITE = 12345.25  # written as 1e999: JSON with no finite value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_replay_lines_in_bulk_say_what_each_line_alone_says(data):
    """decode_event_lines (replay's loop) against decode_event_line on each
    line: the same events, and the same reason at the same index."""
    lines = data.draw(st.lists(st.binary(max_size=64).map(bytes) | st.builds(_mutated_event, st.data()),
                               min_size=1, max_size=12))
    now_ms = data.draw(st.sampled_from([None, NOW_MS, past_ms() - 3_600_000]))  # the last: every event is in its future
    assert decode_event_lines(lines, now_ms=now_ms) == _per_line(lines, now_ms)


def test_gzip_bomb_is_capped_in_memory():
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    data = b"".join(bomb.compress(chunk) for _ in range(64)) + bomb.flush()  # 64 MiB of zeros in ~64 KiB
    assert len(data) < 100_000
    with pytest.raises(BodyTooLarge):
        gunzip_capped(data, MAX_BODY_BYTES)


# ------------------------------------------------------------------ over HTTP


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with client(tmp_path_factory.mktemp("fuzz")) as c:
        yield c


def post(api, body: bytes, *, content_type: str | None = "application/json", key: str = "k-acme", **headers):
    h = {**auth(key), **headers}
    if content_type is not None:
        h["Content-Type"] = content_type
    return api.post("/v1/events/batch", content=body, headers=h)


def one_event(**fields) -> dict:
    return event(past_ms(), session=f"s-{time.monotonic_ns()}", **fields)


def raw_event_bytes(extra: bytes) -> bytes:
    base = json.dumps(one_event())[:-1].encode()
    return b'{"agentId":"a","sdkVersion":"1","events":[' + base + extra + b"}]}"


def assert_contract_reply(r, code: int) -> dict:
    assert r.status_code == code, r.text
    body = r.json()
    assert set(body) == {"status", "accepted", "rejected", "errors"}
    if code != 200:
        assert body["accepted"] == 0 and body["errors"] and all(e.strip() for e in body["errors"])
    return body


def test_invalid_utf8_in_a_string_rejects_the_event_not_the_server(api):
    body = assert_contract_reply(post(api, raw_event_bytes(b',"appName":"\xff\xfe"')), 200)
    assert body["accepted"] == 0 and body["errors"] == ["Event 0: invalid UTF-8 in a JSON string"]


def test_invalid_utf8_outside_strings_is_a_400(api):
    assert_contract_reply(post(api, b'{"agentId":"a\xff","sdkVersion":"1","events":[{}]}'), 400)
    assert_contract_reply(post(api, b"\xff\xfe{}"), 400)


def test_nan_and_infinity_literals_are_not_json(api):
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        assert_contract_reply(post(api, raw_event_bytes(b',"latencyMs":' + literal)), 400)


def test_numbers_out_of_range_are_rejected_per_event(api):
    body = assert_contract_reply(post(api, raw_event_bytes(b',"latencyMs":1e999')), 200)
    assert body["accepted"] == 0 and "latencyMs" in body["errors"][0]
    body = assert_contract_reply(post(api, raw_event_bytes(b',"extra":{"x":-1e999}')), 200)
    assert body["accepted"] == 0 and body["errors"][0].startswith("Event 0: ")


def test_integers_beyond_64_bits_are_kept_exactly(api):
    big = 2**80 + 1
    ev = one_event(extra={"n": big, "m": -(2**64)}, latencyMs=2**70)
    assert assert_contract_reply(post(api, json.dumps(batch([ev])).encode()), 200)["accepted"] == 1
    r = api.get(f"/v1/sessions/{ev['sessionId']}", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-acme"))
    assert r.status_code == 200, r.text
    stored = r.json()["events"][0]
    assert stored["extra"]["n"] == big and stored["extra"]["m"] == -(2**64)


def test_a_10_mb_string_is_413_and_a_large_one_inside_the_cap_rejects_its_event(api):
    huge = json.dumps(batch([one_event(appName="x" * (10 * 1024 * 1024))])).encode()
    assert_contract_reply(post(api, huge), 413)
    assert_contract_reply(post(api, gzip.compress(huge), **{"Content-Encoding": "gzip"}), 413)
    big = json.dumps(batch([one_event(appName="x" * (1024 * 1024)), one_event()])).encode()
    body = assert_contract_reply(post(api, big), 200)
    assert body["accepted"] == 1 and body["errors"][0].startswith("Event 0: ")


def test_json_nested_10000_deep(api):
    deep = b"[" * 10_000 + b"]" * 10_000
    # Too deep for the decoder anywhere in the body: the whole batch is malformed (400), with the reason.
    body = assert_contract_reply(post(api, raw_event_bytes(b',"extra":{"x":' + deep + b"}")), 400)
    assert body["errors"] == ["malformed batch: JSON is nested too deeply"]
    # Nesting the decoder can take is an event's problem only (extra holds scalars).
    body = assert_contract_reply(post(api, raw_event_bytes(b',"extra":{"x":' + b"[" * 100 + b"]" * 100 + b"}")), 200)
    assert body["accepted"] == 0 and body["errors"][0].startswith("Event 0: extra")
    assert_contract_reply(post(api, b'{"agentId":' * 10_000 + b"1" + b"}" * 10_000), 400)
    assert_contract_reply(post(api, b'{"agentId":"a","sdkVersion":"1","x":' + deep + b',"events":[{}]}'), 400)
    assert_contract_reply(post(api, deep), 400)


def test_duplicate_keys_last_wins_and_the_org_check_sees_the_winner(api):
    ev = one_event()
    text = json.dumps(ev)[:-1]
    # acme then globex: globex wins, and k-acme may not write globex.
    smuggled = ('{"agentId":"a","sdkVersion":"1","events":[' + text + ',"orgId":"globex"}]}').encode()
    body = assert_contract_reply(post(api, smuggled), 200)
    assert body["accepted"] == 0 and "orgId 'globex' is not permitted" in body["errors"][0]
    # globex then acme: acme wins and is stored as acme.
    ev2 = one_event(org="globex")
    text2 = json.dumps(ev2)[:-1]
    body = assert_contract_reply(post(api, ('{"agentId":"a","sdkVersion":"1","events":[' + text2 + ',"orgId":"acme"}]}')
                                      .encode()), 200)
    assert body["accepted"] == 1
    r = api.get(f"/v1/sessions/{ev2['sessionId']}", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-acme"))
    assert r.status_code == 200
    # Batch level too: the last agentId wins (an empty one is then a 400).
    dup = json.dumps(batch([one_event()]))[:-1] + ', "agentId": ""}'
    assert_contract_reply(post(api, dup.encode()), 400)


def test_gzip_bomb_is_413(api):
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data = b"".join(bomb.compress(b" " * (1 << 20)) for _ in range(200)) + bomb.flush()  # 200 MiB
    assert len(data) < 400_000
    started = time.monotonic()
    assert_contract_reply(post(api, data, **{"Content-Encoding": "gzip"}), 413)
    assert time.monotonic() - started < 5
    assert_contract_reply(post(api, data[: len(data) // 2], **{"Content-Encoding": "gzip"}), 413)
    small_truncated = gzip.compress(VALID)[:-20]
    assert_contract_reply(post(api, small_truncated, **{"Content-Encoding": "gzip"}), 400)
    assert_contract_reply(post(api, b"not gzip at all", **{"Content-Encoding": "gzip"}), 400)


def test_1001_events_is_400_and_1000_is_fine(api):
    t0 = past_ms()
    many = [event(t0 + i, session=f"m-{time.monotonic_ns()}", eventId=f"m{i}") for i in range(1001)]
    assert_contract_reply(post(api, json.dumps(batch(many)).encode()), 400)
    assert assert_contract_reply(post(api, json.dumps(batch(many[:1000])).encode()), 200)["accepted"] == 1000
    assert_contract_reply(post(api, json.dumps(batch([])).encode()), 400)


def test_empty_body_is_400(api):
    assert_contract_reply(post(api, b""), 400)
    assert_contract_reply(post(api, b"{}"), 400)
    assert_contract_reply(post(api, b"null"), 400)


def test_wrong_content_type_is_415(api):
    good = json.dumps(batch([one_event()])).encode()
    for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
               "application/jsonx", None):
        assert_contract_reply(post(api, good, content_type=ct), 415)
    assert_contract_reply(post(api, good, **{"Content-Encoding": "br"}), 415)
    assert assert_contract_reply(post(api, good, content_type="application/json; charset=utf-8"), 200)["accepted"] == 1


# --------------------------------------------- a body that lies about its length (real server, raw socket)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from workshop.load import start_server

    tmp = tmp_path_factory.mktemp("live")
    server = start_server("frictionkit", log_path=tmp / "server.log", store=f"duckdb:///{tmp}/s.duckdb",
                          keys="k-acme:acme", cpu=None, env={"FRICTIONKIT_BODY_TIMEOUT_S": "2",
                                                                "FRICTIONKIT_HEAD_TIMEOUT_S": "2"})
    yield server
    server.stop()


def exchange(port: int, raw: bytes, *, shut: bool = False, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        if shut:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if b"\r\n\r\n" in b"".join(chunks):
                    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                    m = re.search(rb"content-length: (\d+)", head, re.I)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except socket.timeout:
            pass
        return b"".join(chunks)


def request(port: int, body: bytes, length: int | str) -> bytes:
    return (f"POST /v1/events/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-acme\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode() + body


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def test_body_longer_than_declared_is_400(live):
    body = json.dumps(batch([one_event()])).encode()
    assert status_of(exchange(live.port, request(live.port, body, len(body) - 10))) == 400


def test_body_shorter_than_declared_times_out_with_408_and_stores_nothing(live):
    ev = one_event()
    body = json.dumps(batch([ev])).encode()
    started = time.monotonic()
    reply = exchange(live.port, request(live.port, body, len(body) + 1000))
    assert status_of(reply) == 408, reply
    assert time.monotonic() - started < 8
    # The server kept serving others meanwhile, and nothing of the liar is stored.
    import urllib.request

    q = urllib.request.Request(f"http://127.0.0.1:{live.port}/v1/sessions/{ev['sessionId']}?orgId=acme&productId=crm",
                               headers={"Authorization": "Bearer k-acme"})
    try:
        urllib.request.urlopen(q, timeout=10)
        raise AssertionError("the session of a body that never completed was stored")
    except urllib.error.HTTPError as err:
        assert err.code == 404


def _closed_after(sock: socket.socket, trickle: bytes, limit_s: float) -> float | None:
    """Send ``trickle`` a byte every 0.25 s (then nothing) until the server
    closes the connection; seconds until it did, or None if not within ``limit_s``."""
    started = time.monotonic()
    sock.settimeout(0.25)
    sent = 0
    while time.monotonic() - started < limit_s:
        try:
            if sent < len(trickle):
                sock.sendall(trickle[sent:sent + 1])
                sent += 1
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    return None


@pytest.mark.parametrize("trickle", [b"", b"POST /v1/events/batch HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200],
                         ids=["silent", "head a byte at a time"])
def test_a_request_head_that_never_completes_loses_its_connection(live, trickle):
    """Slowloris: uvicorn alone times a connection out only between requests
    (and any byte received cancels that timer). A head must be complete within
    FRICTIONKIT_HEAD_TIMEOUT_S (2 s here) of the connection or of its first
    byte, however it trickles in."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        closed_after = _closed_after(s, trickle, limit_s=15)
    assert closed_after is not None, "the server kept a connection whose head never completed"
    assert closed_after < 8, closed_after


def test_a_slow_but_complete_head_is_served_and_the_connection_kept(live):
    """The deadline is on the head, not the connection: a head that completes
    in time is answered, and so is a second request on the same connection
    after the first's deadline would have passed."""
    body = json.dumps(batch([one_event()])).encode()
    raw = request(live.port, body, len(body))
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        head, _, rest = raw.partition(b"\r\n\r\n")
        for i in range(0, len(head), 40):  # about a second for the head, under the 2 s deadline
            s.sendall(head[i:i + 40])
            time.sleep(0.1)
        s.sendall(b"\r\n\r\n" + rest)
        first = _one_response(s)
        assert status_of(first) == 200, first
        time.sleep(2.5)  # past the first head's deadline, within uvicorn's 5 s keep-alive
        s.sendall(raw)
        second = _one_response(s)
        assert status_of(second) == 200, second


def _one_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body) from a kept-alive connection."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"content-length: (\d+)", head, re.I)
            if m and len(body) >= int(m.group(1)):
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_body_cut_short_by_the_client_is_not_acknowledged(live):
    body = json.dumps(batch([one_event()])).encode()
    reply = exchange(live.port, request(live.port, body[:50], len(body)), shut=True)
    assert status_of(reply) in (0, 400), reply  # no answer, or 400: never 200


def test_declared_length_over_the_cap_is_413_before_reading(live):
    reply = exchange(live.port, request(live.port, b"{}", 50 * 1024 * 1024))
    assert status_of(reply) == 413, reply
    assert status_of(exchange(live.port, request(live.port, b"{}", "12abc"))) == 400
    assert status_of(exchange(live.port, request(live.port, b"{}", "-5"))) == 400
