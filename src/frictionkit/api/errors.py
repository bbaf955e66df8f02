"""Error answers: JSON everywhere, 400 naming the parameter, opaque 500s.

An unexpected exception becomes ``{"error": "internal error"}`` and one log
line with the route and the exception type only: its message may quote data
(an org, a user hash, a key) and must not reach logs at the default level; the
traceback is logged at DEBUG.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("frictionkit.serve")

INTERNAL = b'{"error":"internal error"}'


class ApiError(Exception):
    def __init__(self, status: int, error: str, param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.param = param
        self.headers = headers


def error_body(error: str, param: str | None = None) -> dict[str, Any]:
    return {"error": error, "param": param} if param is not None else {"error": error}


class OpaqueErrors:
    """Pure ASGI middleware: Starlette's own 500 handler re-raises, and the
    server would then print the traceback; this one answers and stops there."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as err:  # noqa: BLE001 - the last line of defence
            log_internal(scope, err)
            if started:
                return
            await send_internal(send)


def log_internal(scope: dict, err: Exception) -> None:
    """One line with the route and the exception's type; its message may quote data."""
    log.error("internal error on %s %s: %s", scope.get("method"), scope.get("path"), type(err).__name__)
    log.debug("internal error details", exc_info=True)


async def send_internal(send: Any) -> None:
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(INTERNAL)).encode())]})
    await send({"type": "http.response.body", "body": INTERNAL})


def _param_of(loc: tuple) -> str | None:
    names = [str(x) for x in loc if x not in ("query", "path", "body", "header")]
    return names[-1] if names else None


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.error, exc.param), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = _param_of(tuple(first.get("loc", ())))
        message = first.get("msg", "invalid request")
        return JSONResponse(error_body(f"{param}: {message}" if param else message, param), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    app.add_middleware(OpaqueErrors)
