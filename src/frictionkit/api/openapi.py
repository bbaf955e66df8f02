"""The OpenAPI document says what the API really answers.

FastAPI's generated document lists a 422 nobody sends (validation errors are
400 here) and none of the error answers. This completes it, once, from the
routes' documented behaviour (docs/api.md): every status code a route can
give, with its body schema and headers, and the bearer key. Checked by
``tests/test_api_schema_fuzz.py`` (schemathesis against a running server).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = "/docs/assets"

INGEST_REPLY = {
    "type": "object",
    "required": ["status", "accepted", "rejected", "errors"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "partial", "rejected", "error"]},
        "accepted": {"type": "integer", "minimum": 0},
        "rejected": {"type": "integer", "minimum": 0},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "param": {"type": "string"}},
}
HEALTH = {
    "type": "object",
    "required": ["status", "mode", "bus", "store"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "mode": {"type": "string", "enum": ["embedded", "distributed"]},
        "bus": {"type": "object"},
        "store": {"type": "object"},
    },
}
OBJECT = {"type": "object"}

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_AUTHENTICATE = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}

INGEST_CODES = {
    "200": "every event is either accepted (durably stored) or listed in errors",
    "400": "malformed batch",
    "401": "missing or unknown API key",
    "403": "the key has no ingest scope",
    "408": "the body did not arrive in time",
    "413": "body too large",
    "415": "unsupported content type or encoding",
    "429": "rate limit exceeded for this key",
    "503": "bus or store unavailable, or the server is overloaded: nothing acknowledged",
}
POSTHOG_REPLY = {
    "type": "object",
    "required": ["status", "accepted", "rejected", "errors", "dropped"],
    "properties": {
        **INGEST_REPLY["properties"],
        "dropped": {"type": "array", "items": {
            "type": "object", "required": ["event", "reason", "count"],
            "properties": {"event": {"type": "string"}, "reason": {"type": "string"},
                           "count": {"type": "integer", "minimum": 1}}}},
    },
}
POSTHOG_CODES = {  # docs/posthog.md: the SDK drops a batch on 4xx and retries on 5xx
    "200": "every event accepted (durably stored), rejected (in errors) or dropped as unused (in dropped)",
    "400": "not a capture request (not JSON, bad compression, no events)",
    "401": "missing or unknown project token",
    "408": "the body did not arrive in time",
    "413": "body too large (2 MiB; 20 MiB on /batch/), or too large decompressed",
    "415": "unsupported Content-Encoding",
    "503": "bus or store unavailable, the server overloaded, or the token's rate limit exceeded: nothing "
           "acknowledged, the SDK retries after Retry-After",
}
READ_CODES = {
    "400": "a missing or bad parameter (named in param)",
    "401": "missing or unknown API key",
    "403": "an org the key may not read, or a key without the read scope",
    "404": "an orgId or productId with no data (named in param; the error lists the known org/product pairs)",
    "503": "the store is unavailable",
}


def _response(description: str, schema: dict[str, Any], headers: dict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _headers(code: str) -> dict | None:
    if code in ("429", "503"):
        return _RETRY_AFTER
    if code == "401":
        return _AUTHENTICATE
    return None


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "an API key (X-API-Key: <key> is accepted too)"}
    schemas = doc["components"].get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if path == "/health":
                responses["200"] = _response("ingestion works", HEALTH)
                responses["503"] = _response("ingestion cannot work (bus or store down)", HEALTH)
                continue
            if op.get("tags") == ["posthog"]:
                _posthog(path, responses)
                continue
            if not path.startswith("/v1/"):
                continue
            op["security"] = [{"bearer": []}]
            responses["414"] = _response("request target longer than 16 KiB", ERROR)
            responses["431"] = _response("request headers larger than 16 KiB", ERROR)
            responses["500"] = _response("internal error (opaque; logged with the route and exception type)", ERROR)
            if path == "/v1/events/batch":
                for code, text in INGEST_CODES.items():
                    responses[code] = _response(text, INGEST_REPLY, _headers(code))
                continue
            responses["200"] = _response("the payload (docs/api.md)", OBJECT)
            for code, text in READ_CODES.items():
                responses[code] = _response(text, ERROR, _headers(code))
            if "{" in path:
                responses["404"] = _response("no such session, or an orgId/productId with no data", ERROR)
    return doc


def _posthog(path: str, responses: dict[str, Any]) -> None:
    responses["414"] = _response("request target longer than 16 KiB", ERROR)
    responses["431"] = _response("request headers larger than 16 KiB", ERROR)
    responses["500"] = _response("internal error (opaque; logged with the route and exception type)", ERROR)
    if path.endswith("/config.js"):
        responses["200"] = {"description": "the remote config script posthog-js loads",
                            "content": {"application/javascript": {"schema": {"type": "string"}}}}
        responses["404"] = {"description": "not a project token",
                            "content": {"application/javascript": {"schema": {"type": "string"}}}}
    elif path.endswith("/config"):
        responses["200"] = _response("the remote config: nothing enabled but autocapture and gzip", OBJECT)
        responses["404"] = _response("not a project token", ERROR)
    elif path in ("/flags/", "/decide/"):
        responses["200"] = _response("no feature flags; the remote config", OBJECT)
    else:
        for code, text in POSTHOG_CODES.items():
            responses[code] = _response(text, POSTHOG_REPLY, _RETRY_AFTER if code in ("429", "503") else None)


def swagger_ui_dir() -> Path | None:
    """Swagger UI's bundle as the ``fastapi-offline`` package ships it (a
    dependency of the serve extra), so /docs needs no CDN; None without it."""
    try:
        folder = Path(str(resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        return None
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI) -> None:
    """GET /docs: Swagger UI over /openapi.json, every asset served from here.
    (The app is built with docs_url=None: FastAPI's own page loads Swagger UI
    from a CDN and is blank offline.)"""
    folder = swagger_ui_dir()
    if folder is not None:
        app.mount(DOCS_ASSETS, StaticFiles(directory=folder), name="docs-assets")

    async def docs_page() -> Response:
        if folder is None:
            return Response("Swagger UI is not installed: pip install 'frictionkit[serve]'\n", status_code=404,
                            media_type="text/plain; charset=utf-8")
        page: HTMLResponse = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            # no validator badge: it would call validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None})
        return page

    app.add_api_route("/docs", docs_page, methods=["GET"], include_in_schema=False)


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(get_openapi(title=app.title, version=app.version, summary=app.summary,
                                                      description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
