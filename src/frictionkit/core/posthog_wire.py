"""A PostHog capture request body, whatever its encoding, as a list of events.

What the SDKs send (read from posthog-js's ``request.ts`` and the server
libraries, and recorded from the real SDK under ``fixtures/posthog/``):

* posthog-js today: ``{"api_key", "batch": [...], "sent_at"}``, as JSON, or
  gzip (``Content-Type: text/plain``, the gzip magic in the body, and on older
  releases ``?compression=gzip-js``);
* sendBeacon and the ``base64`` fallback: a form body ``data=<base64 JSON>``
  with ``?compression=base64``;
* older posthog-js: ``data=<LZString base64>`` with ``?compression=lz64``, or a
  bare JSON array of events;
* server libraries (posthog-python, -node, ...): ``POST /batch/`` with
  ``{"api_key", "batch": [...]}``, or ``/capture/`` with one event
  ``{"api_key", "event", "properties", "distinct_id"}``, sometimes
  ``Content-Encoding: gzip``.

The project token may be in the body (``api_key`` or ``token``), in the query
(``?token=`` / ``?api_key=``) or on the events (``properties.token``).
Everything is pure: bytes in, events out; every decompression is capped.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qs

import msgspec

from .batch import gunzip_capped
from .contract import DECODE_ERRORS, BatchError, ContractError, _reason, parse_ts_ms
from .lzstring import decompress_from_base64

GZIP_MAGIC = b"\x1f\x8b"
FORM_TYPE = "application/x-www-form-urlencoded"
COMPRESSIONS = ("gzip-js", "gzip", "lz64", "base64", "")  # ?compression=; "" is none
MAX_FORM_FIELDS = 16  # a capture form carries data, maybe compression and ver: no more


@dataclass
class CaptureBody:
    token: str | None
    events: list[Any]  # each should be an object; anything else is rejected by the mapping, with its index
    sent_at_ms: int | None = None
    historical: bool = False  # /batch/ with historical_migration: PostHog's import path, same mapping here


def decode_capture(body: bytes, *, content_type: str, content_encoding: str, query: Mapping[str, str],
                   max_bytes: int) -> CaptureBody:
    """Decode one capture request body (raw, as received) into events.

    ``BatchError`` for a body that is no capture request at all (the SDK
    would drop it on any answer, so the reason is for people);
    ``BodyTooLarge`` once any decompression passes ``max_bytes``.
    """
    compression = (query.get("compression") or "").strip().lower()
    if compression not in COMPRESSIONS:
        raise BatchError(f"compression {compression[:32]!r} is not one of gzip-js, gzip, lz64, base64")
    if content_encoding == "gzip" or compression in ("gzip-js", "gzip") or body[:2] == GZIP_MAGIC:
        body = gunzip_capped(body, max_bytes)
    if content_type == FORM_TYPE or body[:5] == b"data=":
        form = _form(body)
        data = form.get("data")
        if data is None:
            raise BatchError("form body without a data field")
        compression = (form.get("compression") or compression).strip().lower()
        payload = _unwrap(data, compression, max_bytes)
    elif compression in ("lz64", "base64"):
        payload = _unwrap(_text(body), compression, max_bytes)
    else:
        payload = body
    try:
        doc = msgspec.json.decode(payload)
    except DECODE_ERRORS as err:
        raise BatchError(f"body is not JSON: {_reason(err)}") from None
    return _shape(doc, query)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BatchError("body is not UTF-8 text") from None


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(_text(body), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as err:  # too many fields
        raise BatchError(f"form body: {err}") from None
    return {name: values[0] for name, values in fields.items()}


def _unwrap(data: str, compression: str, max_bytes: int) -> bytes:
    """The JSON inside a ``data`` value: LZString for lz64, base64 when asked
    for or when it is not JSON already (PostHog's own rule for a form body)."""
    if compression == "lz64":
        return decompress_from_base64(data, max_bytes).encode("utf-8")
    stripped = data.lstrip()
    if compression != "base64" and stripped[:1] in ("{", "["):
        return stripped.encode("utf-8")
    # btoa's output may lose its padding or gain URL-safe digits through proxies.
    digits = data.strip().replace("-", "+").replace("_", "/").replace(" ", "+")
    try:
        raw = base64.b64decode(digits + "=" * (-len(digits) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BatchError("data is not base64") from None
    # posthog-js base64-encodes the UTF-8 bytes of the JSON (its _base64Encode is utf8Encode + btoa).
    return raw


def _shape(doc: Any, query: Mapping[str, str]) -> CaptureBody:
    token = None
    sent_at_ms = _query_sent_at(query)
    historical = False
    if isinstance(doc, list):
        events = doc
    elif isinstance(doc, dict) and "batch" in doc:
        events = doc["batch"]
        if not isinstance(events, list):
            raise BatchError("batch must be an array of events")
        token = _str(doc.get("api_key")) or _str(doc.get("token"))
        sent_at_ms = _sent_at(doc.get("sent_at")) or sent_at_ms
        historical = doc.get("historical_migration") is True
    elif isinstance(doc, dict) and "event" in doc:
        events = [doc]
        sent_at_ms = _sent_at(doc.get("sent_at")) or sent_at_ms
    else:
        raise BatchError("expected an event, an array of events or {\"batch\": [...]}")
    token = token or _str(query.get("token")) or _str(query.get("api_key")) or _event_token(events)
    return CaptureBody(token=token, events=events, sent_at_ms=sent_at_ms, historical=historical)


def event_token(ev: Any) -> str | None:
    """The token an event carries itself, if any."""
    if not isinstance(ev, dict):
        return None
    props = ev.get("properties")
    return _str(ev.get("api_key")) or _str(ev.get("token")) or (_str(props.get("token")) if isinstance(props, dict) else None)


def _event_token(events: list[Any]) -> str | None:
    for ev in events:
        token = event_token(ev)
        if token:
            return token
    return None


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _sent_at(value: Any) -> int | None:
    if isinstance(value, str) and value:
        try:
            return parse_ts_ms(value)
        except ContractError:
            return None  # a bad sent_at only loses the skew correction, as in PostHog
    return None


def _query_sent_at(query: Mapping[str, str]) -> int | None:
    """``?sent_at=`` or ``?_=``: epoch milliseconds, as older releases send them."""
    for name in ("sent_at", "_"):
        value = (query.get(name) or "").strip()
        if value.isdigit() and 12 <= len(value) <= 14:
            return int(value)
    return None
