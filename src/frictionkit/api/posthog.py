"""The capture routes posthog-js and PostHog's server libraries call
(docs/posthog.md): ``POST /e/``, ``/i/v0/e/``, ``/capture/`` and ``/batch/``.

The same semantics as ``POST /v1/events/batch`` (api/ingest.py), whose pieces
are reused: admission control, a capped body read with a deadline, capped
decompression, the rate limit per token and event, and the sink; 200 only
once every accepted event is durable, 503 with ``Retry-After`` when the bus or
store is down (the SDK retries 5xx and drops a batch on 4xx, so nothing the
SDK could fix by retrying gets a 4xx, and an unused event is a 200 with its
reason under ``dropped``).

The project token is usually in the body, so the body is read before the
token is checked; the read is capped like any other.
"""

from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import parse_qsl

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from ..core.batch import CheckedBatch
from ..native import check_batch
from ..core.contract import MAX_EVENTS_PER_BATCH, BatchError, BodyTooLarge
from ..core.posthog import Mapped, Project, map_events, screen_alias
from ..core.posthog_wire import decode_capture
from .auth import ApiKey
from .ingest import STALL_DEPTH, Answer, _read_capped
from .posthog_flags import install as install_flags
from .sinks import SinkUnavailable
from .state import AppState

MB = 1024 * 1024
EVENT_BODY_BYTES = 2 * MB  # PostHog's limits: 2 MB on an event route,
BATCH_BODY_BYTES = 20 * MB  # 20 MB on /batch/
EVENT_ROUTES = ("/e/", "/i/v0/e/", "/capture/", "/track/")
BATCH_ROUTES = ("/batch/",)
_EVENT_INDEX = re.compile(r"Event (\d+):")
_WANTED = frozenset((b"content-type", b"content-encoding", b"content-length"))
_JSON = "application/json"

_BODY_DOC = {
    "parameters": [
        {"name": "compression", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["gzip-js", "gzip", "lz64", "base64"]},
         "description": "how the body is compressed (gzip is also recognised by its magic bytes)"},
        {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "the project token, when the body does not carry it (api_key, token or properties.token)"},
        {"name": "_", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "the client's send time in epoch ms (older posthog-js), used for clock-skew correction"},
    ],
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"oneOf": [
            {"type": "object", "required": ["batch"], "properties": {
                "api_key": {"type": "string"}, "batch": {"type": "array", "items": {"type": "object"}},
                "sent_at": {"type": "string", "format": "date-time"}}},
            {"type": "array", "items": {"type": "object"}},
            {"type": "object", "required": ["event"], "properties": {"event": {"type": "string"}}},
        ]}},
        "text/plain": {"schema": {"type": "string", "format": "binary", "description": "gzip of the JSON"}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "data": {"type": "string", "description": "base64 or LZString base64 of the JSON"}}}},
    }},
}


def _reply(code: int, status: str, *, accepted: int = 0, errors: list[str] | None = None,
           dropped: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> Answer:
    body = {"status": status, "accepted": accepted, "rejected": len(errors or []) if code == 200 else 0,
            "errors": errors or [], "dropped": dropped or []}
    return code, msgspec.json.encode(body), headers


def _fail(code: int, reason: str, headers: dict[str, str] | None = None) -> Answer:
    return _reply(code, "error", errors=[reason], headers=headers)


def _headers(scope: dict[str, Any]) -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


class Capture:
    """The capture handler of one app: its state and the flows' path rules."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.alias: Callable[[str], str] = screen_alias(state.settings.flows)

    async def handle(self, scope: dict[str, Any], receive: Any, cap: int) -> Answer:
        state = self.state
        limit = state.settings.max_inflight
        if limit and state.inflight >= limit and not (state.inflight < STALL_DEPTH * limit and state.sink.stalled()):
            return _fail(503, "the server is overloaded; retry later", {"Retry-After": "1"})
        state.inflight += 1
        try:
            return await self._capture(scope, receive, cap)
        finally:
            state.inflight -= 1

    async def _capture(self, scope: dict[str, Any], receive: Any, cap: int) -> Answer:
        state, settings = self.state, self.state.settings
        headers = _headers(scope)
        encoding = headers.get(b"content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            return _fail(415, "Content-Encoding must be gzip or absent")
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return _fail(400, "Content-Length is not a number")
            if int(declared) > cap:
                return _fail(413, f"body exceeds {cap // MB} MiB")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        content_type = headers.get(b"content-type", "").split(";")[0].strip().lower()
        try:
            try:
                raw = await state.body_deadlines.within(settings.body_timeout_s, _read_capped(receive, cap))
            except TimeoutError:
                return _fail(408, f"the body did not arrive within {settings.body_timeout_s:g} s")
            # Decompressed, a body may grow to our own batch route's limit (or the route's, if larger).
            body = decode_capture(raw, content_type=content_type, content_encoding=encoding, query=query,
                                  max_bytes=max(cap, settings.max_body_bytes))
        except BodyTooLarge as err:
            return _fail(413, str(err))
        except BatchError as err:
            return _fail(400, f"malformed request: {err}")
        except ClientDisconnect:
            return _fail(400, "the client went away before the body was complete")
        key = settings.posthog_tokens.authenticate(body.token)
        if key is None:
            return _fail(401, "missing or unknown project token (map it to an org and product: docs/posthog.md)")
        wait = state.limiter.take(key.name, len(body.events))
        if wait:
            # 503, not our batch route's 429: posthog-js drops a batch on any 4xx and retries 5xx.
            return _fail(503, "rate limit exceeded for this project token", {"Retry-After": str(wait)})
        received_at_ms = int(settings.clock() * 1000)
        mapped = map_events(body.events, project=_project(key, settings.posthog_salt), token=body.token or "",
                            received_at_ms=received_at_ms, sent_at_ms=body.sent_at_ms, alias=self.alias)
        checked, errors = _checked(mapped, received_at_ms, events=state.sink.takes_events)
        dropped = mapped.dropped_summary()
        if checked is not None:
            try:
                await state.sink.publish_checked(checked)
            except SinkUnavailable as err:
                # The SDK retries the whole request: nothing of it is acknowledged.
                return _reply(503, "error", errors=[str(err)], headers={"Retry-After": str(settings.retry_after_s)})
        accepted = checked.accepted if checked is not None else 0
        status = "ok" if not errors else ("partial" if accepted else "rejected")
        return _reply(200, status, accepted=accepted, errors=errors, dropped=dropped)


def _project(key: ApiKey, salt: bytes | None) -> Project:
    (org,) = key.orgs or {""}
    # Without a configured salt the token's digest keys the hash: stable across restarts, but a
    # project token is public, so FRICTIONKIT_POSTHOG_SALT is what keeps user hashes unguessable.
    return Project(org_id=org, product_id=key.product or "", user_salt=salt or key.digest)


def _checked(mapped: Mapped, received_at_ms: int, *, events: bool) -> tuple[CheckedBatch | None, list[str]]:
    """The mapped events through the contract, 1000 at a time (its batch
    limit), merged back into one batch; errors carry the PostHog index."""
    events = mapped.batch["events"]
    indexed = [(int(m.group(1)) if (m := _EVENT_INDEX.match(e)) else -1, e) for e in mapped.errors]
    merged: CheckedBatch | None = None
    for start in range(0, len(events), MAX_EVENTS_PER_BATCH):
        part = {**mapped.batch, "events": events[start:start + MAX_EVENTS_PER_BATCH]}
        checked = check_batch(msgspec.json.encode(part), received_at_ms=received_at_ms, events=events)
        for error in checked.errors:
            m = _EVENT_INDEX.match(error)
            index = mapped.origin[start + int(m.group(1))] if m else -1
            indexed.append((index, _EVENT_INDEX.sub(f"Event {index}:", error, count=1)))
        if merged is None:
            merged = checked
        else:
            merged = CheckedBatch(merged.wires + checked.wires, merged.raws + checked.raws, merged.errors,
                                  merged.received_at_ms, merged.skew_ms, merged.agent_id, merged.sdk_version,
                                  typed=merged.typed and checked.typed)
    if merged is not None and not merged.accepted:
        merged = None
    return merged, [e for _i, e in sorted(indexed, key=lambda item: item[0])]


def install(app: FastAPI) -> None:
    """Add the capture routes, and the remote-config and flags answers, to ``app``."""
    capture = Capture(app.state.fk)

    def route(cap: int) -> Callable[[Request], Any]:
        async def capture_route(request: Request) -> Response:
            code, body, headers = await capture.handle(request.scope, request.receive, cap)
            return Response(body, status_code=code, headers=headers, media_type=_JSON)
        return capture_route

    for paths, cap, summary in ((EVENT_ROUTES, EVENT_BODY_BYTES, "PostHog capture: events from posthog-js"),
                                (BATCH_ROUTES, BATCH_BODY_BYTES, "PostHog batch: events from server libraries")):
        for path in paths:
            # With and without the trailing slash: a redirect would cost the SDK a round trip (or its body).
            for variant in (path, path.rstrip("/")):
                app.add_api_route(variant, route(cap), methods=["POST"], tags=["posthog"], summary=summary,
                                  operation_id="posthog_" + variant.strip("/").replace("/", "_") + (
                                      "" if variant == path else "_"),
                                  openapi_extra=_BODY_DOC, include_in_schema=variant == path)
    install_flags(app)
