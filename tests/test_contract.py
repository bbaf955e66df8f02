"""SPEC §3: the event contract, wire format v1 — every rule with its message."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frictionkit.core.batch import check_batch, decode_batch, gunzip_capped
from frictionkit.core.contract import (
    MAX_EVENT_BYTES,
    BatchError,
    BodyTooLarge,
    ContractError,
    datetime_to_ms,
    decode_event_line,
    format_ts_ms,
    parse_ts_ms,
)

RECEIVED = parse_ts_ms("2026-11-27T10:00:00.000Z")
SECOND, MINUTE = 1000, 60_000


def wire(**fields):
    """A valid wire event; ``field=None`` removes a field."""
    e = {
        "orgId": "org-1",
        "productId": "prod-1",
        "sessionId": "s-1",
        "userHash": "u-1",
        "ts": "2026-11-27T09:59:00.000Z",
        "eventType": "click",
        "screenId": "Checkout",
        "route": "/checkout",
        "deviceType": "desktop",
    }
    e.update(fields)
    return {k: v for k, v in e.items() if v is not None}


def body(*events, **batch):
    b = {"agentId": "agent-7", "sdkVersion": "1.2.0", "events": list(events)}
    b.update(batch)
    return json.dumps(b, separators=(",", ":")).encode()


def decode(*events, received_at_ms=RECEIVED, **batch):
    return decode_batch(body(*events, **batch), received_at_ms=received_at_ms)


def accepted(event, **kw):
    res = decode(event, **kw)
    assert res.errors == []
    [e] = res.accepted
    return e


def rejected(event, field, **kw):
    """The event is rejected with "Event 0: <reason>" and the reason names ``field``."""
    res = decode(event, **kw)
    assert res.accepted == []
    [err] = res.errors
    assert err.startswith("Event 0: ")
    assert field in err[len("Event 0: "):], err
    return err


# -- a valid event ----------------------------------------------------------------


def test_valid_event_is_normalised_with_server_fields():
    e = accepted(wire(elementType="button", elementLabelHash="h1", latencyMs=12.5, extra={"k": "v"}, eventId="ev-1"))
    assert e.event_id == "ev-1"
    assert (e.org_id, e.product_id, e.session_id, e.user_hash) == ("org-1", "prod-1", "s-1", "u-1")
    assert e.ts_ms == RECEIVED - MINUTE
    assert (e.event_type, e.screen_id, e.route, e.device_type) == ("click", "Checkout", "/checkout", "desktop")
    assert (e.element_type, e.element_label_hash, e.latency_ms, e.extra) == ("button", "h1", 12.5, {"k": "v"})
    assert (e.received_at_ms, e.agent_id, e.sdk_version) == (RECEIVED, "agent-7", "1.2.0")


# -- ts -------------------------------------------------------------------------------


def test_parse_ts_utc_and_offsets():
    assert parse_ts_ms("1970-01-01T00:00:00Z") == 0
    assert parse_ts_ms("1970-01-01T00:00:00.001z") == 1
    # 12:00 at +02:00 is 10:00 UTC; 04:30 at -05:30 is 10:00 UTC.
    assert parse_ts_ms("2026-11-27T12:00:00+02:00") == RECEIVED
    assert parse_ts_ms("2026-11-27T04:30:00-05:30") == RECEIVED
    assert parse_ts_ms("2026-11-28T00:00:00+14:00") == RECEIVED
    assert parse_ts_ms("2026-11-27T10:00:00+00:00") == RECEIVED
    # An offset can move the date back across midnight.
    assert format_ts_ms(parse_ts_ms("2026-01-01T01:00:00+03:00")) == "2025-12-31T22:00:00.000Z"


def test_parse_ts_fractions_are_truncated_to_ms():
    assert parse_ts_ms("2026-11-27T10:00:00.1Z") == RECEIVED + 100
    assert parse_ts_ms("2026-11-27T10:00:00.12Z") == RECEIVED + 120
    assert parse_ts_ms("2026-11-27T10:00:00.123Z") == RECEIVED + 123
    # Never rounded up: .999999 stays in the same millisecond (and second).
    assert parse_ts_ms("2026-11-27T10:00:00.1239Z") == RECEIVED + 123
    assert parse_ts_ms("2026-11-27T10:00:00.999999999Z") == RECEIVED + 999


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27",  # date only
        "2026-11-27T10:00:00",  # no zone
        "2026-11-27T10:00Z",  # no seconds
        "2026-11-27T10:00:00.Z",  # empty fraction
        "2026-02-30T10:00:00Z",  # no such date
        "2026-11-27T24:00:00Z",
        "2026-11-27T10:60:00Z",
        "2026-11-27T10:00:00+24:00",
        "2026-11-27T10:00:00+0200",
        "1764237600000",
        " 2026-11-27T10:00:00Z",
        "",
    ],
)
def test_parse_ts_rejects(text):
    with pytest.raises(ContractError):
        parse_ts_ms(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27",
        "2026-11-27T10:00:00",
        "2026-11-27T10:00Z",
        "2026-11-27T10:00:00.Z",
        "2026-02-30T10:00:00Z",
        "2026-11-27T24:00:00Z",
        "2026-11-27T10:00:00+24:00",
        "1764237600000",
        "",
    ],
)
def test_batch_rejects_ts_that_is_not_rfc3339_with_time_and_zone(text):
    rejected(wire(ts=text), "ts")


def test_date_only_ts_is_rejected_by_the_batch():
    err = rejected(wire(ts="2026-11-27"), "ts")
    assert "RFC 3339" in err


def test_ts_offset_is_stored_as_utc():
    assert accepted(wire(ts="2026-11-27T11:59:00.5+02:00")).ts_ms == RECEIVED - MINUTE + 500


@pytest.mark.parametrize(
    "fraction,ms", [("", 0), (".1", 100), (".12", 120), (".123999", 123), (".1234567", 123), (".999999", 999)]
)
def test_sub_ms_digits_are_truncated_on_decode(fraction, ms):
    expected = RECEIVED - SECOND + ms
    assert accepted(wire(ts=f"2026-11-27T09:59:59{fraction}Z")).ts_ms == expected
    assert accepted(wire(ts=f"2026-11-27T11:59:59{fraction}+02:00")).ts_ms == expected
    assert decode_event_line(line(ts=f"2026-11-27T09:59:59{fraction}Z"), now_ms=None).ts_ms == expected


@pytest.mark.xfail(
    strict=True,
    reason="known, documented in docs/semantics.md: msgspec rounds to the microsecond before "
    "the core truncates, so 7+ fraction digits ending ...9999995+ carry into the next millisecond",
)
@pytest.mark.parametrize("fraction", [".9999995", ".999999999"])
def test_nanosecond_fractions_are_not_carried_into_the_next_ms(fraction):
    assert accepted(wire(ts=f"2026-11-27T09:59:59{fraction}Z")).ts_ms == RECEIVED - 1


def test_format_ts_round_trips():
    for ts in (0, RECEIVED, RECEIVED + 999, 253402300799999):
        assert parse_ts_ms(format_ts_ms(ts)) == ts


# -- the future and clock skew --------------------------------------------------------


def test_ts_up_to_10_minutes_in_the_future_is_accepted_one_ms_more_is_not():
    assert accepted(wire(ts=format_ts_ms(RECEIVED + 10 * MINUTE))).ts_ms == RECEIVED + 10 * MINUTE
    err = rejected(wire(ts=format_ts_ms(RECEIVED + 10 * MINUTE + 1)), "ts")
    assert "future" in err


def test_no_skew_correction_up_to_5_seconds():
    ts = RECEIVED - MINUTE
    for sent_at in (RECEIVED - 5 * SECOND, RECEIVED + 5 * SECOND, RECEIVED):
        assert accepted(wire(ts=format_ts_ms(ts)), sentAt=format_ts_ms(sent_at)).ts_ms == ts


def test_skew_over_5_seconds_corrects_ts_by_received_minus_sent():
    ts = RECEIVED - MINUTE
    # Agent clock 5.001 s behind: its events move 5.001 s later.
    assert accepted(wire(ts=format_ts_ms(ts)), sentAt=format_ts_ms(RECEIVED - 5001)).ts_ms == ts + 5001
    # Agent clock an hour ahead: events move an hour earlier...
    e = accepted(wire(ts=format_ts_ms(ts + 3600 * SECOND)), sentAt=format_ts_ms(RECEIVED + 3600 * SECOND))
    assert e.ts_ms == ts
    # ...and the future check applies after the correction.
    ahead = wire(ts=format_ts_ms(RECEIVED + 3600 * SECOND + 9 * MINUTE))
    assert accepted(ahead, sentAt=format_ts_ms(RECEIVED + 3600 * SECOND)).ts_ms == RECEIVED + 9 * MINUTE
    assert decode(ahead).errors  # without sentAt it is 69 minutes in the future
    behind = wire(ts=format_ts_ms(RECEIVED + 5 * MINUTE))
    rejected(behind, "future", sentAt=format_ts_ms(RECEIVED - 6 * MINUTE))


def test_skew_correction_keeps_the_events_order():
    evs = [wire(ts=format_ts_ms(RECEIVED + 3600 * SECOND + i * 7)) for i in range(3)]
    res = decode(*evs, sentAt=format_ts_ms(RECEIVED + 3600 * SECOND + 30))
    assert [e.ts_ms for e in res.accepted] == [RECEIVED - 30, RECEIVED - 23, RECEIVED - 16]


# -- required fields, unknown fields --------------------------------------------------


@pytest.mark.parametrize(
    "field", ["orgId", "productId", "sessionId", "userHash", "ts", "eventType", "screenId", "route", "deviceType"]
)
def test_required_fields(field):
    err = rejected(wire(**{field: None}), field)
    assert "missing" in err


def test_unknown_fields_are_rejected():
    rejected(wire(email="someone@example.com"), "email")
    rejected(wire(org_id="org-1"), "org_id")  # snake_case is not the wire format


def test_wrong_types_are_rejected():
    rejected(wire(orgId=5), "orgId")
    rejected(wire(latencyMs="12"), "latencyMs")
    rejected(wire(extra=["a"]), "extra")


# -- lengths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,lo,hi",
    [
        ("orgId", 1, 128),
        ("productId", 1, 128),
        ("sessionId", 1, 128),
        ("userHash", 1, 128),
        ("screenId", 1, 256),
        ("route", 0, 2048),
        ("eventId", 1, 64),
        ("appName", 0, 256),
        ("elementType", 0, 256),
        ("elementLabelHash", 0, 256),
        ("errorCode", 0, 256),
        ("os", 0, 256),
        ("browser", 0, 256),
    ],
)
def test_length_limits(field, lo, hi):
    accepted(wire(**{field: "x" * hi}))
    rejected(wire(**{field: "x" * (hi + 1)}), field)
    if lo == 1:
        rejected(wire(**{field: ""}), field)
    else:
        accepted(wire(**{field: ""}))


# -- enums, numbers, extra ------------------------------------------------------------


@pytest.mark.parametrize("value", ["click", "scroll", "input_meta", "navigation", "focus_change", "custom"])
def test_event_types(value):
    assert accepted(wire(eventType=value)).event_type == value


@pytest.mark.parametrize("value", ["desktop", "mobile", "tablet"])
def test_device_types(value):
    assert accepted(wire(deviceType=value)).device_type == value


@pytest.mark.parametrize("field,value", [("eventType", "tap"), ("eventType", "Click"), ("deviceType", "watch"), ("deviceType", "")])
def test_enum_values_outside_the_list_are_rejected(field, value):
    rejected(wire(**{field: value}), field)


def test_latency_ms():
    assert accepted(wire(latencyMs=0)).latency_ms == 0
    assert accepted(wire(latencyMs=250.5)).latency_ms == 250.5
    rejected(wire(latencyMs=-1), "latencyMs")
    rejected(wire(latencyMs=-0.001), "latencyMs")
    # A number too large for a float (1e999) is not finite.
    res = decode_batch(body(wire(latencyMs=7)).replace(b'"latencyMs":7', b'"latencyMs":1e999'), received_at_ms=RECEIVED)
    assert res.accepted == [] and res.errors[0].startswith("Event 0: latencyMs")


def test_extra_scalars_are_accepted():
    extra = {"s": "x" * 256, "i": 3, "f": 1.5, "b": True, "n": None}
    assert accepted(wire(extra=extra)).extra == extra


def test_extra_key_count_limit():
    assert len(accepted(wire(extra={f"k{i}": i for i in range(32)})).extra) == 32
    rejected(wire(extra={f"k{i}": i for i in range(33)}), "extra")


def test_extra_string_limit():
    err = rejected(wire(extra={"note": "x" * 257}), "extra")
    assert "note" in err


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], {}])
def test_extra_nested_values_are_rejected(value):
    rejected(wire(extra={"nested": value}), "extra")


def test_extra_number_must_be_finite():
    raw = body(wire(extra={"x": 7})).replace(b'"x":7', b'"x":1e999')
    res = decode_batch(raw, received_at_ms=RECEIVED)
    assert res.accepted == [] and res.errors[0].startswith("Event 0: extra")


# -- event size ---------------------------------------------------------------------


def _event_of_size(n: int) -> dict:
    e = wire(extra={"": 1})
    pad = n - len(json.dumps(e, separators=(",", ":")))
    e = wire(extra={"k" * pad: 1})
    assert len(json.dumps(e, separators=(",", ":"))) == n
    return e


def test_event_of_exactly_32_kib_is_accepted_one_byte_more_is_not():
    accepted(_event_of_size(MAX_EVENT_BYTES))
    err = rejected(_event_of_size(MAX_EVENT_BYTES + 1), "32 KiB")
    assert "larger" in err


# -- derived event ids -------------------------------------------------------------


def test_derived_event_id_is_deterministic():
    a = accepted(wire())
    b = accepted(wire())
    assert a.event_id == b.event_id and 1 <= len(a.event_id) <= 64
    # A retry of the batch, later and with another sentAt, gets the same id.
    c = accepted(wire(), received_at_ms=RECEIVED + 30 * SECOND, sentAt=format_ts_ms(RECEIVED + 29 * SECOND))
    assert c.event_id == a.event_id


def test_derived_event_id_depends_on_content():
    base = accepted(wire()).event_id
    assert accepted(wire(ts="2026-11-27T09:59:00.001Z")).event_id != base
    assert accepted(wire(screenId="Other")).event_id != base
    assert accepted(wire(extra={"a": 1})).event_id != base
    assert accepted(wire(sessionId="s-2")).event_id != base


def test_given_event_id_is_kept():
    assert accepted(wire(eventId="client-id-1")).event_id == "client-id-1"


# -- batches ---------------------------------------------------------------------------


def test_batch_errors_name_the_event_index():
    res = decode(wire(), wire(orgId=""), wire(), wire(deviceType="watch"), wire(bogus=1), 7)
    assert len(res.accepted) == 2 and res.rejected == 4
    assert [e.split(":")[0] for e in res.errors] == ["Event 1", "Event 3", "Event 4", "Event 5"]
    assert "orgId" in res.errors[0] and "deviceType" in res.errors[1] and "bogus" in res.errors[2]
    assert "object" in res.errors[3]  # an event that is not a JSON object


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"",
        b"[]",
        b'{"sdkVersion":"1","events":[{}]}',  # missing agentId
        b'{"agentId":"","sdkVersion":"1","events":[{}]}',
        b'{"agentId":"a","events":[{}]}',  # missing sdkVersion
        b'{"agentId":"a","sdkVersion":"1","events":[]}',
        b'{"agentId":"a","sdkVersion":"1","events":{}}',
        b'{"agentId":"a","sdkVersion":"1"}',
    ],
)
def test_malformed_batches_raise(raw):
    with pytest.raises(BatchError):
        decode_batch(raw, received_at_ms=RECEIVED)


def test_agent_id_limit():
    assert decode(wire(), agentId="a" * 128).accepted
    with pytest.raises(BatchError, match="agentId"):
        decode(wire(), agentId="a" * 129)
    with pytest.raises(BatchError, match="sdkVersion"):
        decode(wire(), sdkVersion="1" * 65)


def test_batch_of_1000_events_is_accepted_1001_is_not():
    assert len(decode(*[wire()] * 1000).accepted) == 1000
    with pytest.raises(BatchError, match="events"):
        decode(*[wire()] * 1001)


def test_invalid_sent_at_is_a_batch_error():
    with pytest.raises(BatchError, match="sentAt"):
        decode(wire(), sentAt="yesterday")


# -- replay lines (bus format) ------------------------------------------------------


def line(**fields):
    return json.dumps(wire(**fields), separators=(",", ":")).encode()


def test_event_line_with_server_fields():
    e = decode_event_line(
        line(eventId="e1", receivedAt="2026-11-27T10:00:00.000Z", agentId="agent-7", sdkVersion="1.2.0"), now_ms=None
    )
    assert (e.event_id, e.received_at_ms, e.agent_id, e.sdk_version) == ("e1", RECEIVED, "agent-7", "1.2.0")
    assert e.ts_ms == RECEIVED - MINUTE


def test_event_line_rules():
    with pytest.raises(ContractError, match="unknown field"):
        decode_event_line(line(foo=1), now_ms=None)
    with pytest.raises(ContractError, match="orgId"):
        decode_event_line(line(orgId=None), now_ms=None)
    with pytest.raises(ContractError, match="32 KiB"):
        decode_event_line(json.dumps(_event_of_size(MAX_EVENT_BYTES + 1), separators=(",", ":")).encode(), now_ms=None)
    with pytest.raises(ContractError):
        decode_event_line(b"{not json", now_ms=None)
    future = line(ts=format_ts_ms(RECEIVED + 10 * MINUTE + 1))
    with pytest.raises(ContractError, match="future"):
        decode_event_line(future, now_ms=RECEIVED)
    assert decode_event_line(future, now_ms=None).ts_ms == RECEIVED + 10 * MINUTE + 1  # replay of old data
    assert decode_event_line(line(ts=format_ts_ms(RECEIVED + 10 * MINUTE)), now_ms=RECEIVED)


def test_event_line_derived_id_is_deterministic():
    assert decode_event_line(line(), now_ms=None).event_id == decode_event_line(line(), now_ms=None).event_id


# -- gzip -----------------------------------------------------------------------------


def test_gunzip_round_trip_and_exact_cap():
    raw = body(wire())
    assert gunzip_capped(gzip.compress(raw)) == raw
    assert gunzip_capped(gzip.compress(b"x" * 1000), max_bytes=1000) == b"x" * 1000
    with pytest.raises(BodyTooLarge):
        gunzip_capped(gzip.compress(b"x" * 1001), max_bytes=1000)


def test_gzip_bomb_raises_body_too_large():
    bomb = gzip.compress(b"\0" * (6 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 64 * 1024
    with pytest.raises(BodyTooLarge, match="5 MiB"):
        gunzip_capped(bomb)


def test_gunzip_rejects_invalid_and_truncated_gzip():
    with pytest.raises(BatchError):
        gunzip_capped(b"plain text, not gzip")
    with pytest.raises(BatchError):
        gunzip_capped(gzip.compress(b"x" * 5000)[:-12])


@settings(max_examples=300, deadline=None)
@given(now_s=st.integers(1_600_000_000, 2_000_000_000), clock_ahead_s=st.sampled_from([0, 0, 3, -3, 3_600, -7_200]),
       offset_us=st.integers(-3_000, 3_000), zone=st.sampled_from(["Z", "+02:00", "-05:30"]))
def test_the_future_limit_of_a_batch_is_the_per_event_rule_to_the_microsecond(now_s, clock_ahead_s, offset_us, zone):
    """check_batch compares each datetime with one limit computed per batch;
    the rule is floor_ms(ts) + skew > now + 10 min, as replay and the bus
    apply it, whatever the zone, the skew and the sub-millisecond digits."""
    now_ms = now_s * 1000 + 537
    sent_ms = (now_s + clock_ahead_s) * 1000
    skew_ms = now_ms - sent_ms if abs(now_ms - sent_ms) > 5 * SECOND else 0  # SPEC §3
    tz = timezone.utc if zone == "Z" else timezone(timedelta(hours=int(zone[:3]), minutes=int(zone[0] + zone[4:])))
    edge = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=now_ms + 10 * MINUTE - skew_ms)
    ts = (edge + timedelta(microseconds=offset_us)).astimezone(tz)
    event = dict(wire(), ts=ts.isoformat(timespec="microseconds"), eventId="e")
    body = {"agentId": "a", "sdkVersion": "1", "sentAt": format_ts_ms(sent_ms), "events": [event]}
    checked = check_batch(json.dumps(body).encode(), received_at_ms=now_ms)
    assert checked.skew_ms == skew_ms
    ts_ms = datetime_to_ms(ts) + skew_ms
    assert (len(checked.wires) == 1) == (ts_ms <= now_ms + 10 * MINUTE), (ts, skew_ms, checked.errors)
    if checked.wires:
        assert checked.events()[0].ts_ms == ts_ms


# An event of each kind the per-event path tells apart: valid ones (with and
# without the fields the value checks read) and one broken each way.
_KINDS = {
    "plain": lambda i: wire(eventId=f"e{i}"),
    "no id": lambda i: wire(elementType=f"button-{i}"),
    "extras": lambda i: wire(eventId=f"e{i}", latencyMs=12.5, extra={"k": "v" * 256, "n": 3, "f": 1.5, "b": None}),
    "long extra string": lambda i: wire(eventId=f"e{i}", extra={"k": "v" * 257}),
    "infinite latency": lambda i: wire(eventId=f"e{i}", latencyMs="@INF@"),
    "infinite extra": lambda i: wire(eventId=f"e{i}", extra={"x": "@INF@"}),
    "future": lambda i: wire(eventId=f"e{i}", ts="2026-11-27T10:10:00.001Z"),
    "edge of the future": lambda i: wire(eventId=f"e{i}", ts="2026-11-27T10:10:00.000999Z"),
    "unknown field": lambda i: wire(eventId=f"e{i}", colour="red"),
    "no zone": lambda i: wire(eventId=f"e{i}", ts="2026-11-27T09:59:00"),
    "not an object": lambda i: [i],
    "too large": lambda i: wire(eventId=f"e{i}", extra={"k" * MAX_EVENT_BYTES: 1}),
}


@settings(max_examples=200, deadline=None)
@given(kinds=st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=12), sent_at=st.sampled_from([None, 0, 60]))
def test_a_batch_gets_the_same_answer_in_one_decode_as_event_by_event(kinds, sent_at):
    """check_batch decodes a batch in one call when none of its events is
    bad; that path must accept exactly what the event-by-event path accepts,
    so a check it forgot would show here as a batch accepted whole."""
    from frictionkit.core import batch as batch_module

    events = [_KINDS[kind](i) for i, kind in enumerate(kinds)]
    extra = {} if sent_at is None else {"sentAt": format_ts_ms(RECEIVED - sent_at * SECOND)}
    raw_body = body(*events, **extra).replace(b'"@INF@"', b"1e400")  # JSON has no infinity; msgspec reads 1e400 as one
    checked = check_batch(raw_body, received_at_ms=RECEIVED)
    parsed = batch_module._batch_decoder.decode(raw_body)
    wires, raws, errors = batch_module._each_checked(parsed.events, batch_module._future_limit(RECEIVED, checked.skew_ms))
    assert checked.errors == errors
    assert checked.wires == wires
    assert [bytes(r) for r in checked.raws] == [bytes(r) for r in raws]
    expected_bad = {"long extra string", "infinite latency", "infinite extra", "future", "unknown field", "no zone",
                    "not an object", "too large"}
    if sent_at != 60:  # a minute of skew moves "future" back into the allowed range
        assert len(errors) == sum(kind in expected_bad for kind in kinds)
