"""The web dashboard and the browser agent, served by ``frictionkit serve``.

* ``GET /``: the dashboard (one HTML page; hash routes; static assets under
  ``/dashboard/static/``, shipped in ``frictionkit/static/dashboard``).
* ``GET /dashboard/vendor/plotly.min.js``: plotly.js, read from the installed
  ``plotly`` Python package (no CDN, nothing copied into this repository).
* ``GET /dashboard/bootstrap``: the generated development key, only when
  serve generated one and the browser is on this machine (see docs/dashboard.md).
* ``GET /dashboard/scopes``: the org/product pairs a read key may see.
* ``GET /dashboard/segments``: one org/product's segment values (the filter bar's menus).
* ``GET /sdk.js``: the browser agent (``frictionkit/static/sdk/sdk.js``).

The dashboard reads the JSON API with a key kept in the tab's
sessionStorage; nothing here reads data any other way.

Part of the API package: its routes sit on the API app (create_app mounts
them) and read through the API's keys and answers (auth, read).
"""

from __future__ import annotations

import gzip
import ipaddress
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from .auth import ApiKey
from .errors import ApiError
from .read import _answer, read_key
from ..core.contract import format_ts_ms
from ..core.segment import value_counts

router = APIRouter(include_in_schema=False)

STATIC = Path(str(resources.files("frictionkit") / "static"))
DASHBOARD_DIR = STATIC / "dashboard"
SDK_PATH = STATIC / "sdk" / "sdk.js"

# What the dashboard page may load and talk to: itself only. Plotly sets
# inline styles on the elements it draws, hence style-src 'unsafe-inline'.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
DASHBOARD_HEADER = "x-frictionkit-dashboard"


def _no_store(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}


@router.get("/")
async def dashboard_page() -> Response:
    html = (DASHBOARD_DIR / "index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8",
                    headers=_no_store({"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer",
                                       "X-Frame-Options": "DENY"}))


@lru_cache(maxsize=1)
def _plotly_bundle() -> tuple[bytes, bytes] | None:
    """plotly.min.js from the installed plotly package, plain and gzipped."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        return None
    raw = path.read_bytes()
    return raw, gzip.compress(raw, compresslevel=6, mtime=0)


def plotly_version() -> str | None:
    try:
        import plotly
    except ImportError:
        return None
    return plotly.__version__


@router.get("/dashboard/vendor/plotly.min.js")
async def plotly_js(request: Request) -> Response:
    bundle = _plotly_bundle()
    if bundle is None:
        return Response("/* plotly is not installed: pip install 'frictionkit[serve]' */\n", status_code=404,
                        media_type="application/javascript")
    raw, packed = bundle
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(packed, media_type="application/javascript", headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type="application/javascript", headers=headers)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@router.get("/dashboard/bootstrap")
async def bootstrap(request: Request) -> JSONResponse:
    """What the page needs before it has a key.

    ``devKey`` is the key serve generated because none was configured, handed
    out only to a browser on this machine (loopback peer, loopback Host) and
    only to a same-origin script (the custom header forces a CORS preflight
    that no other origin passes). Configured keys are never sent anywhere.
    """
    settings = request.app.state.fk.settings
    dev_key = None
    host_header = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
    if (settings.dev_key and request.headers.get(DASHBOARD_HEADER) == "1"
            and _is_loopback(request.client.host if request.client else None) and _is_loopback(host_header)):
        dev_key = settings.dev_key
    return JSONResponse({"devKey": dev_key, "mode": settings.mode, "plotly": plotly_version()}, headers=_no_store())


@router.get("/dashboard/scopes")
async def scopes(request: Request, key: ApiKey = Depends(read_key)) -> JSONResponse:
    """The org/product pairs with sessions that this key may read (the filter menus)."""
    found = await _answer(request, lambda s: s.scopes())
    items: list[dict[str, Any]] = [
        {"orgId": s.org_id, "productId": s.product_id, "sessions": int(s.sessions),
         "firstStart": format_ts_ms(int(s.first_start_ms)), "lastStart": format_ts_ms(int(s.last_start_ms))}
        for s in found if key.permits_org(s.org_id)
    ]
    return JSONResponse({"items": items}, headers=_no_store())


@router.get("/dashboard/segments")
async def segments(request: Request, key: ApiKey = Depends(read_key),
                   orgId: str = Query(..., min_length=1, max_length=128),
                   productId: str = Query(..., min_length=1, max_length=128)) -> JSONResponse:
    """The values each segment filter can take in one org/product, with their
    sessions, most first: ``{deviceType: [{value, sessions}], browser, os,
    appName, appVersion}`` (the filter bar's suggestions; any text is accepted)."""
    if not key.permits_org(orgId):
        raise ApiError(403, "orgId is not permitted for this API key", "orgId")
    rows = await _answer(request, lambda s: s.segment_values(orgId, productId))
    return JSONResponse(value_counts(rows), headers=_no_store())


@router.get("/sdk.js")
async def sdk_js() -> Response:
    return Response(SDK_PATH.read_bytes(), media_type="application/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
                             "Cross-Origin-Resource-Policy": "cross-origin"})


def mount(app: FastAPI) -> None:
    """Add the dashboard, its assets and /sdk.js to the serve application."""
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=DASHBOARD_DIR), name="dashboard-static")
