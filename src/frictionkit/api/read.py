"""The read API (docs/api.md, "Read API"): insights, flows and session drill-down.

Every route authenticates a key with the ``read`` scope, refuses an org the
key may not read (403) and resolves org, product and window exactly as the CLI
does (``insights.query.resolve_query``), restricted to the key's orgs. All
store work runs through ``StoreAccess`` (one thread) and binds its parameters.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Optional

from fastapi import APIRouter, Depends, Query, Request

from ..core.model import DEVICE_TYPES
from ..insights.changes import changes, parse_against
from ..insights.flows import flows_graph, flows_top
from ..insights.query import InsightError, InsightQuery, choose_scope, make_segment, resolve_query
from ..insights.report import DEFAULT_SORT, HOTSPOT_SORTS, hotspots, overview
from ..insights.sessions import MAX_PAGE, session_detail, sessions_list
from ..store.base import Store, StoreError
from .auth import ApiKey, bearer_token
from .errors import ApiError
from .state import AppState

router = APIRouter(tags=["insights"])

_PARAMS = {"org": "orgId", "product": "productId", "device_type": "deviceType", "app_name": "appName",
           "app_version": "appVersion"}
_SEGMENT_TEXT = {"min_length": 1, "max_length": 256}
# Enums in the OpenAPI document; the values are core's and insights'.
DeviceType = Literal[DEVICE_TYPES]  # type: ignore[valid-type]
HotspotSort = Literal[HOTSPOT_SORTS]  # type: ignore[valid-type]


def read_key(request: Request) -> ApiKey:
    state: AppState = request.app.state.fk
    key = state.keys.authenticate(bearer_token(request.headers.get("authorization"), request.headers.get("x-api-key")))
    if key is None:
        raise ApiError(401, "missing or unknown API key", headers={"WWW-Authenticate": "Bearer"})
    if "read" not in key.scopes:
        raise ApiError(403, "this API key has no read scope")
    return key


class Filters:
    """orgId, productId, from, to and the segment: the filters every read
    route takes (a new view route takes them all with ``f: Filters = Depends()``)."""

    def __init__(
        self,
        orgId: Optional[str] = Query(None, description="org (optional when the key reads one org with data)"),
        productId: Optional[str] = Query(None, description="product (optional when the org has one)"),
        from_: Optional[str] = Query(None, alias="from", description="YYYY-MM-DD or RFC 3339; session start ≥ from"),
        to: Optional[str] = Query(None, description="exclusive; a date includes that whole day (UTC)"),
        deviceType: Optional[DeviceType] = Query(None, description="segment: only sessions on this device type"),
        browser: Optional[str] = Query(None, description="segment: only sessions in this browser, exact match",
                                       **_SEGMENT_TEXT),
        os: Optional[str] = Query(None, description="segment: only sessions on this OS, exact match", **_SEGMENT_TEXT),
        appName: Optional[str] = Query(None, description="segment: only sessions of this appName, exact match",
                                       **_SEGMENT_TEXT),
        appVersion: Optional[str] = Query(None, description="segment: only sessions of this app version "
                                          "(extra.app_version of the first event, else its sdkVersion)",
                                          **_SEGMENT_TEXT),
    ) -> None:
        self.org_id, self.product_id, self.from_text, self.to_text = orgId, productId, from_, to
        self.segment_values = {"device_type": deviceType, "browser": browser, "os": os, "app_name": appName,
                               "app_version": appVersion}


def _check_org(key: ApiKey, org_id: str | None) -> None:
    if org_id is not None and not key.permits_org(org_id):
        raise ApiError(403, "orgId is not permitted for this API key", "orgId")


async def _answer(request: Request, work: Callable[[Store], Any]) -> Any:
    state: AppState = request.app.state.fk
    try:
        return await state.access.run(work)
    except InsightError as err:
        param = _PARAMS.get(err.param, err.param) if err.param else None
        message = str(err).replace("--org/--product", "orgId/productId")
        raise ApiError(404 if err.not_found else 400, message, param) from None
    except StoreError:
        raise ApiError(503, "the store is unavailable", headers={"Retry-After": str(state.settings.retry_after_s)}) from None


def _resolver(key: ApiKey, f: Filters) -> Callable[[Store], InsightQuery]:
    _check_org(key, f.org_id)
    try:  # a bad segment value is a 400 before the store is asked
        segment = make_segment(**f.segment_values)
    except InsightError as err:
        raise ApiError(400, str(err).replace(f"{err.param}:", f"{_PARAMS.get(err.param, err.param)}:", 1),
                       _PARAMS.get(err.param, err.param)) from None

    def resolve(store: Store) -> InsightQuery:
        return resolve_query(store, org_id=f.org_id, product_id=f.product_id, from_text=f.from_text,
                             to_text=f.to_text, allowed_orgs=key.orgs, segment=segment)

    return resolve


@router.get("/v1/insights/overview", summary="Sessions, users, scores, incidents, tasks and top hotspots")
async def get_overview(request: Request, f: Filters = Depends(), key: ApiKey = Depends(read_key)) -> dict[str, Any]:
    resolve = _resolver(key, f)
    return await _answer(request, lambda s: overview(s, resolve(s)))


@router.get("/v1/insights/hotspots", summary="Screens ranked by friction")
async def get_hotspots(request: Request, f: Filters = Depends(), key: ApiKey = Depends(read_key),
                       limit: int = Query(20, ge=1, le=1000),
                       sort: HotspotSort = Query(DEFAULT_SORT, description=(
                           "impact: impactSessions desc (default); rate: impactSessions / sessions desc; "
                           "friction: avgFriction desc"))) -> dict[str, Any]:
    resolve = _resolver(key, f)
    return await _answer(request, lambda s: hotspots(s, resolve(s), limit, sort))


@router.get("/v1/insights/changes", summary="What changed against a baseline window, tested and ranked")
async def get_changes(
    request: Request,
    f: Filters = Depends(),
    key: ApiKey = Depends(read_key),
    against: Optional[str] = Query(None, min_length=3, max_length=128, description=(
        "baseline window FROM:TO, each a date or RFC 3339 timestamp; default: the previous window of equal length "
        "(the window's two halves when that holds no session)")),
    limit: int = Query(20, ge=1, le=1000, description="how many screen × signal items"),
    transitions: int = Query(10, ge=0, le=1000, description="how many flow transitions that rose, and that fell"),
) -> dict[str, Any]:
    resolve = _resolver(key, f)
    config = request.app.state.fk.settings.flows

    def work(s: Store) -> dict[str, Any]:
        baseline = parse_against(against) if against else None
        return changes(s, resolve(s), against=baseline, limit=limit, transitions_limit=transitions, flow_config=config)

    return await _answer(request, work)


@router.get("/v1/flows/top", summary="Flow variants ranked by instances")
async def get_flows_top(request: Request, f: Filters = Depends(), key: ApiKey = Depends(read_key),
                        limit: int = Query(10, ge=1, le=1000),
                        task: Optional[str] = Query(None, min_length=1, max_length=256)) -> dict[str, Any]:
    resolve = _resolver(key, f)
    config = request.app.state.fk.settings.flows
    return await _answer(request, lambda s: flows_top(s, resolve(s), limit=limit, task=task, config=config))


@router.get("/v1/flows/graph", summary="The directly-follows graph of screens")
async def get_flows_graph(request: Request, f: Filters = Depends(), key: ApiKey = Depends(read_key),
                          task: Optional[str] = Query(None, min_length=1, max_length=256)) -> dict[str, Any]:
    resolve = _resolver(key, f)
    config = request.app.state.fk.settings.flows
    return await _answer(request, lambda s: flows_graph(s, resolve(s), task=task, config=config))


@router.get("/v1/sessions", summary="Sessions, newest first, with filters and paging")
async def get_sessions(
    request: Request,
    f: Filters = Depends(),
    key: ApiKey = Depends(read_key),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=1_000_000),
    cursor: Optional[str] = Query(None, max_length=512, description="nextCursor of the previous page"),
    userHash: Optional[str] = Query(None, min_length=1, max_length=128),
    minFrustration: Optional[float] = Query(None, ge=0, le=1),
    screenId: Optional[str] = Query(None, min_length=1, max_length=256,
                                    description="only sessions with an event on this screen"),
) -> dict[str, Any]:
    resolve = _resolver(key, f)
    return await _answer(request, lambda s: sessions_list(
        s, resolve(s), limit=limit, offset=offset, cursor=cursor, user_hash=userHash, min_frustration=minFrustration,
        screen_id=screenId))


@router.get("/v1/sessions/{session_id:path}", summary="One session's events and incidents in time order")
async def get_session(
    request: Request,
    session_id: str,
    key: ApiKey = Depends(read_key),
    orgId: str = Query(..., min_length=1, max_length=128),
    productId: str = Query(..., min_length=1, max_length=128),
) -> dict[str, Any]:
    _check_org(key, orgId)
    found = await _answer(request, lambda s: session_detail(s, orgId, productId, session_id))
    if found is None:
        # An org/product without data says so (and lists the pairs), as the other routes do.
        await _answer(request, lambda s: choose_scope(
            [sc for sc in s.scopes() if key.orgs is None or sc.org_id in key.orgs], orgId, productId))
        raise ApiError(404, "no such session", "sessionId")
    return found
