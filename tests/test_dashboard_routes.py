"""The dashboard's routes and assets and GET /sdk.js, in-process (ASGI)."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import pytest

from api_support import KEYS, auth, batch, client, past_ms, session_events

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from frictionkit.api.app import create_app
from frictionkit.api.settings import resolve_settings

STATIC = Path(__file__).resolve().parents[1] / "src" / "frictionkit" / "static"


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash")
    with client(folder) as c:
        events = session_events(past_ms(4))
        assert c.post("/v1/events/batch", json=batch(events), headers=auth("k-acme")).status_code == 200
        yield c


def test_dashboard_page_is_served_at_root_with_a_strict_policy(c):
    r = c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store"
    assert '<script src="/dashboard/vendor/plotly.min.js"' in r.text and "/dashboard/static/app.js" in r.text
    assert "<script>" not in r.text  # no inline script: the policy forbids it
    for key in KEYS.split(","):
        assert key.split(":")[0] not in r.text


@pytest.mark.parametrize("name,kind", [("app.js", "javascript"), ("app.css", "text/css"), ("index.html", "text/html")])
def test_static_assets_ship_in_the_package(c, name, kind):
    r = c.get(f"/dashboard/static/{name}")
    assert r.status_code == 200 and kind in r.headers["content-type"]
    assert r.content == (STATIC / "dashboard" / name).read_bytes()


def test_static_files_do_not_escape_their_folder(c):
    for path in ("/dashboard/static/../sdk/sdk.js", "/dashboard/static/%2e%2e/%2e%2e/api/auth.py", "/dashboard/static/nope.js"):
        r = c.get(path)
        assert r.status_code == 404 or "frictionkit browser agent" not in r.text, path


def test_the_dashboard_never_writes_data_as_html():
    app_js = (STATIC / "dashboard" / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in app_js, sink


def test_plotly_comes_from_the_installed_package(c):
    plotly = pytest.importorskip("plotly")
    bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    plain = c.get("/dashboard/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "javascript" in plain.headers["content-type"]
    assert plain.content == bundle and "max-age" in plain.headers["cache-control"]
    packed = c.get("/dashboard/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.content == bundle  # httpx inflates it
    assert int(packed.headers["content-length"]) < len(bundle) // 2
    assert not list(STATIC.rglob("plotly*")), "plotly.js is served from the package, never copied in"


def test_scopes_need_a_read_key_and_show_only_its_orgs(c):
    assert c.get("/dashboard/scopes").status_code == 401
    assert c.get("/dashboard/scopes", headers=auth("k-wo")).status_code == 403
    items = c.get("/dashboard/scopes", headers=auth("k-ro")).json()["items"]
    assert [(i["orgId"], i["productId"], i["sessions"]) for i in items] == [("acme", "crm", 1)]
    assert c.get("/dashboard/scopes", headers=auth("k-globex")).json()["items"] == []


def test_bootstrap_never_hands_out_configured_keys(c):
    r = c.get("/dashboard/bootstrap", headers={"X-Frictionkit-Dashboard": "1"})
    assert r.status_code == 200 and r.json()["devKey"] is None and r.headers["cache-control"] == "no-store"


def _dev_client(tmp_path, peer: str) -> tuple[TestClient, str]:
    settings = resolve_settings(store_dsn=f"duckdb:///{tmp_path}/dev.duckdb", api_keys="")
    assert settings.dev_key
    return TestClient(create_app(settings), client=(peer, 40000), base_url="http://127.0.0.1:8000"), settings.dev_key


def test_bootstrap_gives_the_generated_key_to_a_same_origin_page_on_this_machine(tmp_path, monkeypatch):
    monkeypatch.delenv("API_KEYS", raising=False)
    c, dev_key = _dev_client(tmp_path, "127.0.0.1")
    with c:
        assert c.get("/dashboard/bootstrap", headers={"X-Frictionkit-Dashboard": "1"}).json()["devKey"] == dev_key
        # no custom header (a cross-origin simple request could send that): nothing
        assert c.get("/dashboard/bootstrap").json()["devKey"] is None
        # a Host that is not loopback (DNS rebinding, a proxy): nothing
        assert c.get("/dashboard/bootstrap", headers={"X-Frictionkit-Dashboard": "1",
                                                      "Host": "evil.example:8000"}).json()["devKey"] is None


def test_bootstrap_refuses_a_remote_peer(tmp_path, monkeypatch):
    monkeypatch.delenv("API_KEYS", raising=False)
    c, _dev_key = _dev_client(tmp_path, "10.1.2.3")
    with c:
        assert c.get("/dashboard/bootstrap", headers={"X-Frictionkit-Dashboard": "1"}).json()["devKey"] is None


def test_sdk_js_is_served_small_and_plain(c):
    r = c.get("/sdk.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    source = r.text
    assert source == (STATIC / "sdk" / "sdk.js").read_text()
    # (10 000 / 4 000 before dead-click detection, issue 18)
    assert len(r.content) < 11_000 and len(gzip.compress(r.content)) < 4_400
    # never reads what users typed or the page's text beyond an element's label, which is hashed
    assert not re.search(r"\.value\b", source) and "innerText" not in source and "innerHTML" not in source
    for api in ("startTask", "completeTask", "failTask", "keepalive", "data-fk-ignore",
                "/v1/events/batch", "pushState", "replaceState", "popstate", "visibilitychange", "unhandledrejection",
                "MutationObserver", "selectionchange", "dead"):
        assert api in source, api


def test_the_api_and_docs_still_answer_beside_the_dashboard(c):
    assert c.get("/health").status_code == 200
    assert c.get("/openapi.json").status_code == 200
    assert c.get("/v1/insights/overview", params={"orgId": "acme"}, headers=auth("k-acme")).json()["sessions"] == 1
