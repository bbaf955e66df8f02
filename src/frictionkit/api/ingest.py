"""``POST /v1/events/batch`` (docs/contract.md).

Checks run cheapest first: key, content type and encoding, the rate limit's
"anything left?", the declared length; then the body is read with a hard cap
(whatever Content-Length claimed), decompressed with a cap, decoded, charged
to the rate limit per event, filtered by the key's orgs, and handed to the
sink. 200 goes out only once the sink says every accepted event is durable.

The handler works on the ASGI scope and ``receive`` and returns status, body
and headers, so it serves two callers with one behaviour: the FastAPI route
(documented in OpenAPI; used when CORS is on) and ``app.FastIngest``, a
pure ASGI app that ``app.FrictionkitApp`` calls before FastAPI's middleware
and routing, which cost about as much per batch as decoding it (``reply``
sends its answer).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from ..core.batch import CheckedBatch, gunzip_capped
from ..core.contract import BatchError, BodyTooLarge
from .auth import ApiKey, bearer_token
from .sinks import SinkUnavailable
from .state import AppState

router = APIRouter(tags=["ingestion"])

INGEST_PATH = "/v1/events/batch"
_EVENT_INDEX = re.compile(r"Event (\d+):")
# While the store pauses, up to this many times the in-flight limit may wait.
STALL_DEPTH = 4
# The request headers the handler reads (ASGI gives them lower-cased).
_WANTED = frozenset((b"authorization", b"x-api-key", b"content-type", b"content-encoding", b"content-length"))

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["agentId", "sdkVersion", "events"],
            "properties": {
                "agentId": {"type": "string", "minLength": 1, "maxLength": 128},
                "sdkVersion": {"type": "string", "minLength": 1, "maxLength": 64},
                "sentAt": {"type": ["string", "null"], "format": "date-time"},
                # Each event is checked alone: one that breaks the contract (not
                # even an object, say) is rejected with its index, the rest go in.
                "events": {"type": "array", "minItems": 1, "maxItems": 1000,
                           "items": {"description": "an event (fields: docs/contract.md); an invalid one is listed in errors"}},
            },
        }}},
    }
}


Answer = tuple[int, bytes, "dict[str, str] | None"]


def _reply(code: int, status: str, *, accepted: int = 0, rejected: int = 0, errors: list[str] | None = None,
           headers: dict[str, str] | None = None) -> Answer:
    # Rendered as Starlette's JSONResponse renders, so both callers answer the same bytes.
    if not errors:  # the usual answer, without json.dumps: the same bytes
        return code, b'{"status":"%s","accepted":%d,"rejected":%d,"errors":[]}' % (
            status.encode(), accepted, rejected), headers
    body = {"status": status, "accepted": accepted, "rejected": rejected, "errors": errors}
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
    return code, text.encode("utf-8"), headers


def _fail(code: int, reason: str, headers: dict[str, str] | None = None) -> Answer:
    return _reply(code, "error", errors=[reason], headers=headers)


def _headers(scope: dict[str, Any]) -> dict[bytes, str]:
    """The wanted request headers, the first of each name (as Starlette's
    ``Headers.get``), decoded as latin-1."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


async def _read_capped(receive: Any, cap: int) -> bytes:
    """At most ``cap`` bytes (plus one chunk) are ever held, whatever the
    client declared. Reads ``receive`` as Starlette's ``Request.stream`` does."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge(f"body exceeds {cap // (1024 * 1024)} MiB")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def split_by_org(key: ApiKey, checked: CheckedBatch) -> CheckedBatch:
    """Reject the events of orgs the key may not write, keeping the batch index
    in the reason (accepted events come back without their index, so it is
    rebuilt from the indices the contract rejected)."""
    if key.orgs is None:
        return checked
    errors = checked.errors
    rejected_at = {int(m.group(1)) for m in map(_EVENT_INDEX.match, errors) if m}
    total = checked.accepted + len(errors)
    indices = [i for i in range(total) if i not in rejected_at]
    keep: list[int] = []
    extra: list[tuple[int, str]] = []
    for position, (index, wire) in enumerate(zip(indices, checked.wires)):
        if key.permits_org(wire.org_id):
            keep.append(position)
        else:
            extra.append((index, f"Event {index}: orgId {wire.org_id[:128]!r} is not permitted for this API key"))
    if not extra:
        return checked
    merged = [(int(m.group(1)) if (m := _EVENT_INDEX.match(e)) else -1, e) for e in errors] + extra
    return checked.subset(keep, [e for _i, e in sorted(merged, key=lambda item: item[0])])


async def handle(state: AppState, scope: dict[str, Any], receive: Any) -> Answer:
    settings = state.settings
    headers = _headers(scope)
    key = state.keys.authenticate(bearer_token(headers.get(b"authorization"), headers.get(b"x-api-key")))
    if key is None:
        return _fail(401, "missing or unknown API key", {"WWW-Authenticate": "Bearer"})
    if "ingest" not in key.scopes:
        return _fail(403, "this API key has no ingest scope")
    content_type = headers.get(b"content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _fail(415, "Content-Type must be application/json")
    encoding = headers.get(b"content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        return _fail(415, "Content-Encoding must be gzip or absent")
    wait = state.limiter.check(key.name)
    if wait:
        return _fail(429, "rate limit exceeded for this API key", {"Retry-After": str(wait)})
    limit = settings.max_inflight
    if limit and state.inflight >= limit and not (state.inflight < STALL_DEPTH * limit and state.sink.stalled()):
        # Admission control: shed load at once instead of queueing without
        # bound; a deeper queue only while the store pauses (api/stall.py).
        return _fail(503, "the server is overloaded; retry later", {"Retry-After": "1"})
    state.inflight += 1
    try:
        return await _ingest(state, key, headers.get(b"content-length"), encoding, receive)
    finally:
        state.inflight -= 1


async def _ingest(state: AppState, key: ApiKey, declared: str | None, encoding: str, receive: Any) -> Answer:
    settings = state.settings
    cap = settings.max_body_bytes
    if declared is not None:
        if not declared.strip().isdigit():
            return _fail(400, "Content-Length is not a number")
        if int(declared) > cap:
            return _fail(413, f"body exceeds {cap // (1024 * 1024)} MiB")
    try:
        try:
            body = await state.body_deadlines.within(settings.body_timeout_s, _read_capped(receive, cap))
        except TimeoutError:
            return _fail(408, f"the body did not arrive within {settings.body_timeout_s:g} s")
        if encoding == "gzip":
            body = gunzip_capped(body, cap)
        received_at_ms = int(settings.clock() * 1000)
        checked = state.check_batch(body, received_at_ms=received_at_ms, events=state.sink.takes_events)
    except BodyTooLarge as err:
        return _fail(413, str(err))
    except BatchError as err:
        return _fail(400, f"malformed batch: {err}")
    except ClientDisconnect:
        return _fail(400, "the client went away before the body was complete")
    wait = state.limiter.take(key.name, checked.accepted + len(checked.errors))
    if wait:
        return _fail(429, "rate limit exceeded for this API key", {"Retry-After": str(wait)})
    checked = split_by_org(key, checked)
    accepted, errors = checked.accepted, checked.errors
    try:
        await state.sink.publish_checked(checked)
    except SinkUnavailable as err:
        # The agent retries the whole batch: nothing of it is acknowledged.
        return _reply(503, "error", accepted=0, rejected=0, errors=[str(err)],
                      headers={"Retry-After": str(settings.retry_after_s)})
    status = "ok" if not errors else ("partial" if accepted else "rejected")
    return _reply(200, status, accepted=accepted, rejected=len(errors), errors=errors)


@router.post(INGEST_PATH, openapi_extra=_BODY_DOC, summary="Ingest a batch of UI events")
async def ingest_batch(request: Request) -> Any:
    code, body, headers = await handle(request.app.state.fk, request.scope, request.receive)
    return Response(body, status_code=code, headers=headers, media_type="application/json")


async def reply(send: Any, answer: Answer) -> None:
    """Send an answer as pure ASGI, with the headers Starlette's ``Response``
    would send (extra headers, then content-length and content-type)."""
    code, body, headers = answer
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] if headers else []
    raw.append((b"content-length", str(len(body)).encode("latin-1")))
    raw.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": code, "headers": raw})
    await send({"type": "http.response.body", "body": body})
