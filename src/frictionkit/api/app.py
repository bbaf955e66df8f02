"""The `frictionkit serve` application: ingestion, the read API and /health.

``create_app`` builds everything eagerly (opens the embedded store, creates
the producer), so a locked store or a bad DSN fails before the server listens;
the lifespan only runs the wall-clock watermark and closes things on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import socket
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..store.base import StoreError
from . import errors, openapi
from .ingest import INGEST_PATH, handle, reply
from .ingest import router as ingest_router
from .ratelimit import RateLimiter
from .read import router as read_router
from .settings import Settings
from .kafka_sink import KafkaSink
from .sinks import EmbeddedSink, StoreAccess
from .state import AppState

log = logging.getLogger("frictionkit.serve")

HEALTH_STORE_TIMEOUT_S = 2.0
MAX_HEADER_BYTES = 16 * 1024  # request line + headers


class HeaderLimit:
    """Pure ASGI: a request whose target or header block exceeds ``max_bytes``
    gets 414 / 431 before any route sees it. h11's own cap only applies while
    a head is incomplete: a 100 KB head arriving in one read passes it."""

    def __init__(self, app: Any, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        refused = header_refusal(scope, self.max_bytes) if scope["type"] == "http" else None
        if refused is not None:
            await send_refusal(send, *refused)
            return
        await self.app(scope, receive, send)


def header_refusal(scope: dict, max_bytes: int = MAX_HEADER_BYTES) -> tuple[int, bytes] | None:
    """414 or 431 and its body for a request target or header block over ``max_bytes``."""
    if len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > max_bytes:
        return 414, b'{"error":"request target too long"}'
    if sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ())) > max_bytes:
        return 431, b'{"error":"request headers too large"}'
    return None


async def send_refusal(send: Any, code: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                            (b"content-length", str(len(text)).encode())]})
    await send({"type": "http.response.body", "body": text})


class FastIngest:
    """``POST /v1/events/batch`` before FastAPI: ``HeaderLimit``'s and
    ``OpaqueErrors``' decisions around the route's handler, in one frame.
    As two wrapping middlewares (two frames and a closure per request to
    track the response start) they cost 0.007 ms of serve's 0.30 ms of CPU
    per 100-event batch on Kafka."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        refused = header_refusal(scope)
        if refused is not None:
            await send_refusal(send, *refused)
            return
        try:
            answer = await handle(self.state, scope, receive)
        except Exception as err:  # noqa: BLE001 - the last line of defence, as OpaqueErrors
            errors.log_internal(scope, err)
            await errors.send_internal(send)
            return
        try:
            await reply(send, answer)
        except Exception as err:  # noqa: BLE001 - the answer had started: nothing more can be sent
            errors.log_internal(scope, err)


class FrictionkitApp(FastAPI):
    """FastAPI, with ``POST /v1/events/batch`` answered before FastAPI's own
    middleware and routing: those layers cost about as much per batch as
    decoding it. The fast path (``FastIngest``) gives the same handler's
    answers with ``HeaderLimit``'s and ``OpaqueErrors``' decisions, as the FastAPI route does; it
    is off when CORS is configured (the CORS middleware must see the request)."""

    fast_ingest: Any = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (self.fast_ingest is not None and scope["type"] == "http" and scope["path"] == INGEST_PATH
                and scope["method"] == "POST" and not scope.get("root_path")):
            await self.fast_ingest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _is_embedded_dsn(dsn: str | None) -> bool:
    from ..store import default_dsn

    return (dsn or default_dsn()).split("://", 1)[0] in ("duckdb", "chdb")


def build_state(settings: Settings) -> AppState:
    if settings.brokers:
        # The processors write the store; an embedded one is theirs (one
        # process at a time), so it is opened per read and let go right after.
        access = StoreAccess(settings.store_dsn, keep_open=not _is_embedded_dsn(settings.store_dsn))
        sink: EmbeddedSink | KafkaSink = KafkaSink(settings)
    else:
        access = StoreAccess(settings.store_dsn, keep_open=True)
        sink = EmbeddedSink(settings, access)
    try:
        sink.start()
    except BaseException:
        access.close()
        raise
    return AppState(settings=settings, keys=settings.keys, limiter=RateLimiter(settings.rate_per_s, settings.rate_burst),
                    sink=sink, access=access)


async def _watermark_loop(state: AppState) -> None:
    while True:
        await asyncio.sleep(state.settings.watermark_interval_s)
        try:
            await state.sink.tick()
        except Exception as err:  # noqa: BLE001 - retried at the next tick
            log.error("closing idle sessions failed: %s", err if isinstance(err, StoreError) else type(err).__name__)


async def _health(request: Request) -> JSONResponse:
    state: AppState = request.app.state.fk
    bus = await state.sink.health()
    if state.settings.brokers and not state.access.keep_open:
        store: dict[str, Any] = {"ok": None, "dsn": state.access.display_dsn,
                                 "note": "embedded store owned by the processors; not opened by health checks"}
    else:
        try:
            await asyncio.wait_for(state.access.run(lambda s: s.has_events()), HEALTH_STORE_TIMEOUT_S)
            store = {"ok": True, "dsn": state.access.display_dsn}
        except Exception as err:  # noqa: BLE001 - health reports, it does not fail
            store = {"ok": False, "dsn": state.access.display_dsn,
                     "error": str(err).splitlines()[0] if isinstance(err, StoreError) else type(err).__name__}
    # Healthy means ingestion works: the bus in distributed mode, the store in embedded mode.
    ok = bool(bus["ok"]) and (store["ok"] is not False or bool(state.settings.brokers))
    body = {"status": "ok" if ok and store["ok"] is not False else ("degraded" if ok else "unavailable"),
            "mode": state.settings.mode, "bus": bus, "store": store}
    return JSONResponse(body, status_code=200 if ok else 503)


def create_app(settings: Settings, state: AppState | None = None) -> FastAPI:
    state = state or build_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ticker = asyncio.create_task(_watermark_loop(state)) if isinstance(state.sink, EmbeddedSink) else None
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            state.close()

    app = FrictionkitApp(
        title="frictionkit",
        summary="Ingest UI events; read friction insights, flows and sessions.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # openapi.install_docs serves /docs without a CDN
        redoc_url=None,  # ReDoc would load from a CDN too: /docs is the one page
    )
    app.state.fk = state
    errors.install(app)
    if settings.cors_origins:
        # Off unless configured: browsers then get CORS headers for these origins only.
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "Content-Encoding"])
    app.include_router(ingest_router)
    from .posthog import install as install_posthog

    install_posthog(app)  # POST /e/, /batch/, ... and posthog-js's start-up calls: docs/posthog.md
    app.include_router(read_router)
    app.add_api_route("/health", _health, methods=["GET"], tags=["health"], summary="Bus and store status")
    from .dashboard import mount as mount_dashboard

    mount_dashboard(app)  # GET / (the dashboard), /dashboard/*, /sdk.js: docs/dashboard.md
    openapi.install(app)  # every answer documented: tests/test_api_schema_fuzz.py
    openapi.install_docs(app)  # GET /docs, offline: tests/test_docs_offline.py
    app.add_middleware(HeaderLimit)  # outermost
    if not settings.cors_origins:
        app.fast_ingest = FastIngest(state)
    return app


def listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound here rather than by uvicorn so that a port
    in use is one line (OSError, which the CLI prints) before anything else is
    printed, not uvicorn's logged traceback-like error after the dev key."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: accepted sockets inherit it, and asyncio sets
    # TCP_NODELAY only on sockets whose proto says TCP. Without it Nagle holds
    # the response's body behind its head until the client's delayed ACK:
    # ~50 ms per request (serve at 0.07-0.16x of the raw app until found).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise OSError(f"port {port} on {host} is in use (another server?): stop it or pass --port") from None
        raise OSError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


def run_server(settings: Settings, *, log_level: str = "info", access_log: bool = False) -> None:
    """Build the app (failing early and in one line) and serve it with uvicorn.

    The access log is off by default: request lines carry query strings, and
    those may hold a user hash.
    """
    import sys

    import uvicorn

    from .protocol import head_timeout_protocol

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sock = listen_socket(settings.host, settings.port)
    app = create_app(settings)
    state: AppState = app.state.fk
    where = f"Kafka at {settings.brokers}" if settings.brokers else "the embedded pipeline"
    print(f"frictionkit serve: {settings.mode} mode, events to {where}, store {state.access.display_dsn}, "
          f"http://{settings.host}:{settings.port} (dashboard at /, API docs at /docs)", file=sys.stderr)
    if settings.dev_key:
        print(f"no API keys configured: generated a development key for this run (every org, ingest+read):\n"
              f"    {settings.dev_key}", file=sys.stderr)
    # Everything built so far (FastAPI, pydantic models, the routes) lives as
    # long as the server: frozen, the collector's full passes stop walking it
    # again and again under load.
    gc.freeze()
    # h11 (not httptools, whatever is installed) so the header block is capped at
    # MAX_HEADER_BYTES: a larger one gets 400 at once; and a protocol on h11
    # whose head must also arrive within head_timeout_s (api/protocol.py).
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level, access_log=access_log,
                            http=head_timeout_protocol(settings.head_timeout_s),
                            h11_max_incomplete_event_size=MAX_HEADER_BYTES)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:  # the lifespan failed (uvicorn has logged why): what uvicorn.run exits with
        sys.exit(3)
