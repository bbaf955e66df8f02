"""What posthog-js asks for at start, answered "no flags, no remote config".

posthog-js loads ``/array/<token>/config.js`` (or ``/array/<token>/config``)
and may call ``/flags/?v=2`` (``/decide/`` in older releases). frictionkit has
no feature flags, surveys, session recording or site apps, so the answers say
so. Two fields are not "nothing", because without them the SDK would send
less than its own configuration asks for:

* ``autocapture_opt_out: false``: posthog-js starts autocapture only once a
  remote config has said the project has not opted out;
* ``supportedCompression: ["gzip-js"]``: without it the SDK drops to plain
  JSON after the config arrives.

Exception and dead-click capture keys are left out on purpose: the SDK then
follows its own ``capture_exceptions`` / ``capture_dead_clicks`` settings.
None of these answers reveals anything, so they need no valid token.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,200}\Z")

REMOTE_CONFIG: dict[str, Any] = {
    "supportedCompression": ["gzip-js"],
    "autocapture_opt_out": False,
    "elementsChainAsString": True,  # $elements_chain only: the element list would be sent twice otherwise
    "sessionRecording": False,
    "heatmaps": False,
    "surveys": False,
    "productTours": False,
    "conversations": False,
    "hasFeatureFlags": False,
    "capturePerformance": False,
    "siteApps": [],
    "toolbarParams": {},
    "isAuthenticated": False,
}
NO_FLAGS: dict[str, Any] = {
    "flags": {},  # /flags/?v=2
    "featureFlags": {}, "featureFlagPayloads": {},  # /decide/ and /flags/ v1
    "errorsWhileComputingFlags": False,
    "quotaLimited": [],
}
_NO_STORE = {"Cache-Control": "no-store"}


def _config(token: str) -> dict[str, Any]:
    return {"token": token, **REMOTE_CONFIG}


async def _flags(_request: Request) -> JSONResponse:
    # The body (distinct_id, person properties) is never read: nothing here depends on it.
    return JSONResponse({**NO_FLAGS, **REMOTE_CONFIG, "config": {"enable_collect_everything": True}},
                        headers=_NO_STORE)


async def _array_config(request: Request) -> Response:
    token = request.path_params["token"]
    if not _TOKEN.match(token):
        return JSONResponse({"error": "not a project token"}, status_code=404)
    return JSONResponse(_config(token), headers=_NO_STORE)


async def _array_config_js(request: Request) -> Response:
    token = request.path_params["token"]
    if not _TOKEN.match(token):
        return Response("/* not a project token */", status_code=404, media_type="application/javascript")
    # The shape PostHog's config.js has: the SDK reads window._POSTHOG_REMOTE_CONFIG[token].config.
    doc = json.dumps({"config": _config(token), "siteApps": []}, ensure_ascii=True)
    script = ("(function(){window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};"
              f"window._POSTHOG_REMOTE_CONFIG[{json.dumps(token)}]={doc};}})();")
    return Response(script, media_type="application/javascript", headers=_NO_STORE)


_TOKEN_PARAM = {"parameters": [{"name": "token", "in": "path", "required": True, "description": "the project token",
                                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,200}$"}}]}


def install(app: FastAPI) -> None:
    for path in ("/flags/", "/flags", "/decide/", "/decide"):
        for method in ("GET", "POST"):
            app.add_api_route(path, _flags, methods=[method], tags=["posthog"],
                              operation_id=f"posthog_{path.strip('/')}_{method.lower()}{'' if path.endswith('/') else '_'}",
                              summary="PostHog flags/decide: no feature flags; the remote config",
                              include_in_schema=path.endswith("/"))
    app.add_api_route("/array/{token}/config", _array_config, methods=["GET"], tags=["posthog"],
                      summary="PostHog remote config: nothing enabled but autocapture and gzip",
                      openapi_extra=_TOKEN_PARAM)
    app.add_api_route("/array/{token}/config.js", _array_config_js, methods=["GET"], tags=["posthog"],
                      summary="PostHog remote config as the script posthog-js loads", openapi_extra=_TOKEN_PARAM)
