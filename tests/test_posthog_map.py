"""PostHog bodies → events (core/posthog_wire.py, core/posthog.py, core/lzstring.py),
from bodies the real posthog-js produced (fixtures/posthog/)."""

from __future__ import annotations

import base64
import gzip
import json
from urllib.parse import quote

import pytest

from frictionkit.core.batch import check_batch
from frictionkit.core.contract import BatchError, BodyTooLarge, format_ts_ms, parse_ts_ms
from frictionkit.core.flow_paths import FlowConfig
from frictionkit.core.lzstring import decompress_from_base64
from frictionkit.core.posthog import Project, element_hash, first_element, map_events, screen_alias, screen_of, user_hash
from frictionkit.core.posthog_wire import decode_capture

from posthog_support import TOKEN, fixture, fixture_names, plain_batch

MB = 1024 * 1024
PROJECT = Project(org_id="acme", product_id="shop", user_salt=b"s3cret")


def decode(name: str, max_bytes: int = 2 * MB):
    doc = fixture(name)
    return decode_capture(doc["body"], content_type=doc["content_type"], content_encoding="",
                          query=doc["query_dict"], max_bytes=max_bytes)


@pytest.mark.parametrize("name", fixture_names())
def test_every_recorded_body_decodes_to_its_events(name):
    got = decode(name)
    twin = "json_clicks_navigation" if name == "lz64_form_array" else name
    expected = plain_batch(twin)["batch"]
    assert got.token == TOKEN
    assert [e["uuid"] for e in got.events] == [e["uuid"] for e in expected]
    assert got.events == expected


def test_gzip_by_header_query_or_magic_and_the_cap():
    raw = json.dumps({"api_key": TOKEN, "batch": plain_batch("json_exception")["batch"]}).encode()
    packed = gzip.compress(raw)
    for ct, ce, query in (("application/json", "gzip", {}), ("text/plain", "", {"compression": "gzip-js"}),
                          ("text/plain", "", {})):
        assert len(decode_capture(packed, content_type=ct, content_encoding=ce, query=query, max_bytes=MB).events) == 1
    with pytest.raises(BodyTooLarge):
        decode_capture(gzip.compress(b" " * (3 * MB) + raw), content_type="text/plain", content_encoding="",
                       query={}, max_bytes=2 * MB)


def test_shapes_token_places_and_sent_at():
    ev = {"event": "$pageview", "properties": {"$session_id": "s", "token": TOKEN}, "distinct_id": "d"}
    one = decode_capture(json.dumps({**ev, "api_key": TOKEN}).encode(), content_type="application/json",
                         content_encoding="", query={}, max_bytes=MB)
    assert one.token == TOKEN and len(one.events) == 1
    array = decode_capture(json.dumps([ev]).encode(), content_type="application/json", content_encoding="",
                           query={"_": "1796283800000"}, max_bytes=MB)
    assert array.token == TOKEN and array.sent_at_ms == 1796283800000
    bare = {"event": "x", "properties": {}}
    by_query = decode_capture(json.dumps({"batch": [bare]}).encode(), content_type="application/json",
                              content_encoding="", query={"token": "phc_q"}, max_bytes=MB)
    assert by_query.token == "phc_q"
    server = decode_capture(json.dumps({"api_key": "phc_s", "batch": [bare], "sent_at": "2026-12-03T07:00:00.000Z",
                                        "historical_migration": True}).encode(),
                            content_type="application/json", content_encoding="", query={}, max_bytes=MB)
    assert (server.token, server.sent_at_ms, server.historical) == ("phc_s", parse_ts_ms("2026-12-03T07:00:00Z"), True)


@pytest.mark.parametrize("body, query, reason", [
    (b"not json", {}, "not JSON"), (b'{"hello": 1}', {}, "expected an event"),
    (b'{"batch": 3}', {}, "array"), (b"data=%%%", {"compression": "base64"}, "base64"),
    (b"data=AAAA", {"compression": "lz64"}, "lz64"), (b"{}", {"compression": "brotli"}, "compression"),
    (b"\x1f\x8bnot gzip", {}, "gzip"), (b"compression=base64", {}, "data field"),
])
def test_malformed_bodies_say_why(body, query, reason):
    ct = "application/x-www-form-urlencoded" if b"=" in body[:12] else "application/json"
    with pytest.raises(BatchError, match=reason):
        decode_capture(body, content_type=ct, content_encoding="", query=query, max_bytes=MB)


def test_lz64_matches_lz_string_and_is_capped():
    # Outputs of lz-string 1.5.0's compressToBase64 (node), including non-Latin text and a surrogate pair.
    assert decompress_from_base64("IY18ZUUA", 100) == "a" * 42
    text = "héllo wörld € 😀 " * 20
    packed = LZ_UNICODE
    assert decompress_from_base64(packed, 10_000) == text
    with pytest.raises(BodyTooLarge):
        decompress_from_base64(packed, 100)
    with pytest.raises(BatchError):
        decompress_from_base64("IY18", 100)  # cut short: no end marker


# lz-string 1.5.0 (node): LZString.compressToBase64("héllo wörld € 😀 ".repeat(20))
LZ_UNICODE = "BYS4NmD2AEDuBvAnMATagagmoXg3AAe9UEMCyamu+4UcSqG2eBVxtZDlRNp9Fh1Jd5Rh36seTTgLa9mXQez4tuQhbKniRS+TMljhiudImjl241qObDGg+v1q9q6EA==="


def test_form_base64_tolerates_missing_padding_and_urlsafe_digits():
    raw = json.dumps({"api_key": TOKEN, "batch": [{"event": "$pageview", "properties": {"a": "?>?>"}}]}).encode()
    digits = base64.b64encode(raw).decode().rstrip("=").replace("+", "-").replace("/", "_")
    got = decode_capture(f"data={quote(digits)}".encode(), content_type="application/x-www-form-urlencoded",
                         content_encoding="", query={"compression": "base64"}, max_bytes=MB)
    assert got.events[0]["properties"]["a"] == "?>?>"


def mapped_fixture(name: str, **kw):
    body = decode(name)
    received = body.sent_at_ms + 40
    return map_events(body.events, project=PROJECT, token=TOKEN, received_at_ms=received, sent_at_ms=body.sent_at_ms,
                      **kw), body


def test_clicks_navigation_and_rageclick_map_as_the_table_says():
    mapped, body = mapped_fixture("gzip_clicks_navigation", alias=screen_alias(
        FlowConfig(alias_rules=[(r"app/orders/\d+", "app/orders/:id")])))
    events = mapped.batch["events"]
    kinds = [(e["eventType"], e["screenId"]) for e in events]
    assert kinds == [("click", "app/orders/:id")] * 5 + [("navigation", "app/orders/13/edit"),
                                                         ("navigation", "app/orders/:id"), ("click", "app/orders/:id")]
    assert [e["route"] for e in events if e["eventType"] == "navigation"] == ["/app/orders/13/edit", "/app/orders/12"]
    # The SDK's own $rageclick is dropped, with its reason: our detector decides from the five clicks.
    assert [(d["event"], d["count"]) for d in mapped.dropped_summary()] == [("$rageclick", 1)]
    save = events[0]
    assert save["elementType"] == "button"
    assert save["elementLabelHash"] == element_hash({"tag": "button", "id": "save", "classes": "btn primary",
                                                     "text": "Save order"})
    assert len({e["elementLabelHash"] for e in events[:5]}) == 1 and events[-1]["elementLabelHash"] != save["elementLabelHash"]
    assert "Save order" not in json.dumps(mapped.batch)  # raw element text is never stored
    sdk = [e for e in body.events if e["event"] != "$rageclick"]
    assert [e["eventId"] for e in events] == [e["uuid"] for e in sdk]
    assert {e["sessionId"] for e in events} == {sdk[0]["properties"]["$session_id"]}
    assert {e["userHash"] for e in events} == {user_hash(sdk[0]["properties"]["distinct_id"], PROJECT.user_salt)}
    assert sdk[0]["properties"]["distinct_id"] not in json.dumps(mapped.batch)
    assert (save["deviceType"], save["os"], save["browser"]) == ("desktop", "Linux", "Chrome")
    assert mapped.batch["agentId"] == "posthog-web" and mapped.batch["sdkVersion"] == "1.449.2"
    # Through the same contract as our own batches: everything accepted.
    checked = check_batch(json.dumps(mapped.batch).encode(), received_at_ms=body.sent_at_ms + 40)
    assert (len(checked.wires), checked.errors) == (len(events), [])


def test_exception_maps_to_an_error_without_its_message():
    mapped, _ = mapped_fixture("json_exception")
    (error,) = mapped.batch["events"]
    assert (error["eventType"], error["errorCode"], error["screenId"]) == ("custom", "TypeError", "app/orders/12")
    assert "order total" not in json.dumps(mapped.batch)


def test_timestamps_follow_offset_then_sent_at_skew_beyond_5_s():
    ev = {"event": "$pageview", "uuid": "u1", "distinct_id": "d", "timestamp": "2026-12-03T07:00:10.000Z",
          "properties": {"$session_id": "s", "$pathname": "/a"}}
    t = parse_ts_ms("2026-12-03T07:00:10.000Z")

    def ts(received, sent_at, **over):
        m = map_events([{**ev, **over}], project=PROJECT, token=TOKEN, received_at_ms=received, sent_at_ms=sent_at)
        return parse_ts_ms(m.batch["events"][0]["ts"])

    assert ts(t + 3000, t + 1000) == t  # 2 s of skew: below the threshold, as our own batches
    assert ts(t + 3_600_000, t + 1000) == t + 3_600_000 - 1000  # the client clock is an hour slow
    assert ts(t + 50_000, None, offset=1500) == t + 50_000 - 1500
    no_ts = {k: v for k, v in ev.items() if k != "timestamp"}
    m = map_events([no_ts], project=PROJECT, token=TOKEN, received_at_ms=t, sent_at_ms=None)
    assert m.batch["events"][0]["ts"] == format_ts_ms(t)


def test_unused_events_are_counted_with_reasons_and_bad_ones_named_by_index():
    base = {"distinct_id": "d", "timestamp": "2026-12-03T07:00:10.000Z", "properties": {"$session_id": "s"}}
    events = [{**base, "event": "$identify"}, {**base, "event": "$set"}, {**base, "event": "order_placed"},
              {**base, "event": "$dead_click"}, {**base, "event": "$pageleave"}, "junk",
              {**base, "event": "$pageview", "properties": {}},
              {**base, "event": "$pageview", "properties": {"$session_id": "s", "token": "phc_other"}},
              {**base, "event": "$pageview", "timestamp": "yesterday"},
              {**base, "event": "$pageview", "uuid": "ok"}]
    m = map_events(events, project=PROJECT, token=TOKEN, received_at_ms=parse_ts_ms("2026-12-03T07:00:11Z"),
                   sent_at_ms=None)
    assert [e["eventId"] for e in m.batch["events"]] == ["ok"] and m.origin == [9]
    assert m.errors[0] == "Event 5: expected an object" and m.errors[1].startswith("Event 8: ts 'yesterday'")
    reasons = {d["event"]: d["reason"] for d in m.dropped_summary()}
    assert set(reasons) == {"$identify", "$set", "order_placed", "$dead_click", "$pageleave", "$pageview"}
    assert "custom event" in reasons["order_placed"] and "person" in reasons["$identify"]
    assert sum(d["count"] for d in m.dropped_summary()) == 7


def test_element_chain_parsing_handles_quotes_and_semicolons_in_text():
    chain = 'a.nav.active:attr__href="/x"attr__id="go"text="Say \\"hi\\"; then go";div.card:nth-child="1"'
    assert first_element(chain) == {"tag": "a", "id": "go", "classes": "active nav", "text": 'Say "hi"; then go'}
    assert first_element("") is None
    assert screen_of("/") == "/" and screen_of("/app/orders/12/?q=1") == "app/orders/12"


def test_older_elements_list_screens_and_change_events():
    base = {"distinct_id": 42, "timestamp": "2026-12-03T07:00:10.000Z"}
    events = [
        {**base, "event": "$autocapture", "properties": {"$session_id": "s", "$event_type": "click", "$pathname": "/x",
                                                          "$elements": [{"tag_name": "A", "attr__id": "go", "classes": ["nav"],
                                                                         "$el_text": "Go"}, {"tag_name": "div"}]}},
        {**base, "event": "$autocapture", "properties": {"$session_id": "s", "$event_type": "change", "$pathname": "/x",
                                                          "$elements_chain": 'input.q:attr__id="q"nth-child="1"',
                                                          "$input_value": "typed secret"}},
        {**base, "event": "$autocapture", "properties": {"$session_id": "s", "$event_type": "submit"}},
        {**base, "event": "$screen", "properties": {"$session_id": "s", "$screen_name": "Checkout",
                                                     "$device_type": "Mobile", "$current_url": "app://x"}},
    ]
    m = map_events(events, project=PROJECT, token=TOKEN, received_at_ms=parse_ts_ms("2026-12-03T07:00:11Z"),
                   sent_at_ms=None)
    click, change, screen = m.batch["events"]
    assert click["elementLabelHash"] == element_hash({"tag": "a", "id": "go", "classes": "nav", "text": "Go"})
    assert (change["eventType"], change["elementType"]) == ("input_meta", "input")
    assert "typed secret" not in json.dumps(m.batch)
    assert (screen["eventType"], screen["screenId"], screen["route"], screen["deviceType"]) == (
        "navigation", "Checkout", "Checkout", "mobile")
    assert click["userHash"] == user_hash("42", PROJECT.user_salt)  # a numeric distinct_id
    assert [d["event"] for d in m.dropped_summary()] == ["$autocapture"]
