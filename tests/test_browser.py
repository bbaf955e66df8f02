"""The dashboard and the browser agent in a real browser (Debian's headless
chromium driven by Python playwright; commands/test installs chromium).

The test starts the serve application (``create_app``, what ``frictionkit
serve`` runs) under uvicorn on a free localhost port, embedded mode, on a
temporary DuckDB store, with known keys. Its one test-only setting is a short
session gap (4 s, lateness 0, the idle watermark every 0.5 s), so the session
the browser makes closes a few seconds after its last event instead of 30
minutes (docs/dashboard.md). A demo app on a second origin (CORS allowed for
it) loads /sdk.js with a 60 s batch timer, so every event reaches the server
through the agent's page-hide flush (keepalive fetch); the browser plays a user who rage-clicks a broken button,
bounces A → B → A, starts a task and leaves it, and hits a JS error after a
click. Then the dashboard, in the same browser, must show each incident on
its screen, the API must agree, and screenshots of every dashboard page at
1280 and 390 px land in artifacts/screenshots/.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from frictionkit.api.app import create_app  # noqa: E402
from frictionkit.api.settings import resolve_settings  # noqa: E402
from frictionkit.core.sessionizer import SessionizerConfig  # noqa: E402
from frictionkit.pipeline.embedded import PipelineConfig  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
INGEST_KEY, READ_KEY = "fk-test-ingest", "fk-test-read"
ORG, PRODUCT = "demo-org", "demo-app"
ODD_SCREEN = 'demo/<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
SECRETS = ("secret-typed-value-9931", "CONFIDENTIAL", "Save order", "Private thing")

APP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo orders</title>
<script src="{fk}/sdk.js" data-key="{key}" data-org="{org}" data-product="{product}" data-flush-ms="60000" defer></script></head>
<body><main id="root" data-fk-screen="demo/orders">
<h1>Orders</h1><p>CONFIDENTIAL page text 4417</p>
<label for="note">Note</label> <input id="note" name="note">
<button id="save" aria-label="Save order">Save</button>
<button id="private" data-fk-ignore>Private thing</button>
<a id="to-b" href="/app/orders/42">Open order 42</a>
<button id="back-a">Back to orders</button>
<button id="start-task">Export orders</button>
<button id="to-odd">Odd screen</button>
<a id="to-reports" href="/reports.html">Reports</a>
</main><script>
var ODD = {odd};
function show() {{
  var p = location.pathname, s = p.indexOf("/app/orders/") === 0 ? "demo/order-detail" : p === "/app/odd" ? ODD : "demo/orders";
  document.getElementById("root").setAttribute("data-fk-screen", s);
}}
function go(path) {{ history.pushState({{}}, "", path); show(); }}
document.getElementById("to-b").addEventListener("click", function (e) {{ e.preventDefault(); go("/app/orders/42"); }});
document.getElementById("back-a").addEventListener("click", function () {{ go("/app/orders"); }});
document.getElementById("to-odd").addEventListener("click", function () {{ go("/app/odd"); }});
document.getElementById("start-task").addEventListener("click", function () {{ frictionkit.startTask("export_orders"); }});
window.addEventListener("popstate", show);
show();
</script></body></html>"""

REPORTS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo reports</title>
<script src="{fk}/sdk.js" data-key="{key}" data-org="{org}" data-product="{product}" data-flush-ms="60000" defer></script></head>
<body data-fk-screen="demo/reports"><h1>Reports</h1>
<button id="run">Run report</button>
<script>document.getElementById("run").addEventListener("click", function () {{ null.run(); }});</script>
</body></html>"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (commands/test installs it: apt-get install chromium)")
    folder = tmp_path_factory.mktemp("browser")
    port, demo_port = _free_port(), _free_port()
    base, demo = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{demo_port}"
    settings = resolve_settings(store_dsn=f"duckdb:///{folder}/store.duckdb", port=port,
                                api_keys=f"{INGEST_KEY}:{ORG}:ingest,{READ_KEY}:{ORG}:read")
    # Test-only: sessions close 4 s after their last event (the default gap is 30 minutes).
    settings.pipeline = PipelineConfig(sessionizer=SessionizerConfig(gap_ms=4000, allowed_lateness_ms=0))
    settings.watermark_interval_s = 0.5
    settings.cors_origins = (demo,)
    api_server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    api_thread = threading.Thread(target=api_server.run, daemon=True)
    api_thread.start()

    # "</" would end the inline script that holds the odd screen id
    fill = dict(fk=base, key=INGEST_KEY, org=ORG, product=PRODUCT, odd=json.dumps(ODD_SCREEN).replace("</", "<\\/"))
    pages = {"/reports.html": REPORTS_PAGE.format(**fill).encode()}
    app_page = APP_PAGE.format(**fill).encode()

    class Demo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = app_page if self.path.startswith("/app/") else pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: Any) -> None:
            pass

    demo_server = http.server.ThreadingHTTPServer(("127.0.0.1", demo_port), Demo)
    threading.Thread(target=demo_server.serve_forever, daemon=True).start()
    deadline = time.monotonic() + 20
    while not api_server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield {"base": base, "demo": demo}
    finally:
        demo_server.shutdown()
        api_server.should_exit = True
        api_thread.join(timeout=10)


def _sessions_total(base: str) -> int:
    """0 while the store answers 404 (it holds no session of the product yet)."""
    r = httpx.get(base + "/v1/sessions", params={"orgId": ORG, "productId": PRODUCT},
                  headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10)
    assert r.status_code in (200, 404), r.text
    return r.json()["total"] if r.status_code == 200 else 0


def _api(base: str, path: str, **params: Any) -> dict[str, Any]:
    r = httpx.get(base + path, params={"orgId": ORG, "productId": PRODUCT, **params},
                  headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _wait_view(page, name: str) -> None:
    page.wait_for_selector(f'body[data-ready="{name}"]', timeout=15_000)
    page.wait_for_timeout(300)  # plotly's transitions


def _shoot(page, name: str, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def _row_text(page, screen: str) -> str:
    """The hotspots table row whose screen link reads exactly ``screen``."""
    return page.evaluate("""(s) => {
        const a = [...document.querySelectorAll('#view tbody a.screen')].find(a => a.textContent === s);
        return a ? a.closest('tr').textContent : null; }""", screen)


def test_agent_to_dashboard_in_a_real_browser(server):
    base, demo = server["base"], server["demo"]
    t0 = time.monotonic()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))

            # ---- the user, in the demo app (another origin) with the agent loaded
            page.goto(demo + "/app/orders")
            page.wait_for_function("window.frictionkit && window.frictionkit.version")
            page.fill("#note", SECRETS[0])
            for _ in range(5):  # the broken button, five quick clicks
                page.click("#save")
            page.wait_for_timeout(2700)  # nothing answers them within 2.5 s: five dead clicks
            page.click("#private")  # data-fk-ignore: not captured
            page.click("#to-b")  # A -> B
            page.wait_for_timeout(300)
            page.click("#back-a")  # B -> A, well within 20 s
            page.click("#start-task")  # started, never finished
            page.click("#to-odd")
            page.wait_for_timeout(200)
            page.click("#to-reports")  # full-page navigation: the SPA page's rest goes out as it hides
            page.wait_for_function("window.frictionkit && window.frictionkit.version")
            page.click("#run")  # throws a TypeError
            page.wait_for_timeout(2700)  # and shows nothing: a dead click too

            # ---- the dashboard, same browser; the page hiding flushes the agent's last events
            page.goto(base + "/")
            page.wait_for_selector("#login-key")
            deadline = time.monotonic() + 25
            while _sessions_total(base) < 1:  # the 4 s gap passes, the watermark closes it
                assert time.monotonic() < deadline, "the session was not closed"
                time.sleep(0.5)
            page.fill("#login-key", READ_KEY)
            page.keyboard.press("Enter")
            _wait_view(page, "overview")

            # The API first: each incident on its screen.
            sessions = _api(base, "/v1/sessions")
            assert sessions["total"] == 1, sessions
            sid = sessions["items"][0]["sessionId"]
            detail = _api(base, "/v1/sessions/" + sid.replace("#", "%23"))
            incidents = {(i["type"], i["screenId"]) for i in detail["incidents"]}
            assert ("rage_click", "demo/orders") in incidents
            assert ("backtrack", "demo/order-detail") in incidents
            assert ("error_click", "demo/reports") in incidents
            assert ("abandoned_task", "demo/reports") in incidents
            rage = next(i for i in detail["incidents"] if i["type"] == "rage_click")
            assert rage["clickCount"] == 5
            events = detail["events"]
            assert any(e.get("errorCode") == "TypeError" and e["screenId"] == "demo/reports" for e in events)
            assert any(e["screenId"] == ODD_SCREEN for e in events)
            # save x5, to-b, start-task, to-odd (fill() types without a click): the ignored button is not there
            assert sum(1 for e in events if e["eventType"] == "click" and e["screenId"] == "demo/orders") == 8
            assert all(e.get("elementLabelHash") for e in events if e["eventType"] == "click")
            raw = json.dumps(events)
            for secret in SECRETS:
                assert secret not in raw, secret
            hot = {h["screenId"]: h for h in _api(base, "/v1/insights/hotspots")["items"]}
            assert hot["demo/orders"]["rageClicks"] == 1
            assert hot["demo/order-detail"]["backtracks"] == 1
            assert hot["demo/reports"]["errors"] >= 1 and hot["demo/reports"]["abandonedTasks"] == 1
            # Dead: the broken button's clicks and the one that threw. Alive or not considered: the links,
            # the buttons that navigate, and "Export orders" (the next click navigates within 1 s).
            save_hash = next(e for e in events if e["eventId"] == rage["firstEventId"])["elementLabelHash"]
            saves = [e for e in events if e["eventType"] == "click" and e["elementLabelHash"] == save_hash]
            assert len(saves) == 5 and all(e.get("dead") is True for e in saves)
            [run] = [e for e in events if e["eventType"] == "click" and e["screenId"] == "demo/reports"]
            assert run.get("dead") is True
            dead = sum(1 for e in events if e.get("dead"))
            assert hot["demo/orders"]["deadClicks"] == dead - 1 and hot["demo/reports"]["deadClicks"] == 1
            overview = _api(base, "/v1/insights/overview")
            assert overview["incidents"] == {"rageClick": 1, "backtrack": 1, "abandonedTask": 1, "errorClick": 1,
                                             "loop": 0, "deadClick": dead}

            # ---- overview: the same numbers
            for kpi in ("rageClick", "backtrack", "abandonedTask", "errorClick"):
                assert page.text_content(f'[data-kpi="{kpi}"] .value') == "1", kpi
            assert page.text_content('[data-kpi="deadClick"] .value') == str(dead)
            assert page.text_content('[data-kpi="loop"] .value') == "0"
            assert page.text_content('[data-kpi="sessions"] .value') == "1"
            assert "/v1/" not in page.url and READ_KEY not in page.url and "org=demo-org" in page.url
            _shoot(page, "overview", 1280)

            # ---- hotspots: each symptom on its row; the odd screen id is text
            page.click('.tabs a[data-view="hotspots"]')
            _wait_view(page, "hotspots")
            assert "rage clicks 1" in _row_text(page, "demo/orders")
            assert f"dead clicks {dead - 1}" in _row_text(page, "demo/orders")
            assert "backtracks 1" in _row_text(page, "demo/order-detail")
            reports_row = _row_text(page, "demo/reports")
            assert "error events" in reports_row and "drop-offs 1" in reports_row
            assert _row_text(page, ODD_SCREEN) is not None
            assert page.evaluate("window.__xss") is None
            assert page.locator("#view img").count() == 0 and page.locator("#view script").count() == 0
            # sort from the keyboard
            header = page.locator("th", has=page.locator("button", has_text="Friction"))
            header.locator("button").focus()
            page.keyboard.press("Enter")
            assert header.get_attribute("aria-sort") == "descending"
            page.keyboard.press("Enter")
            assert header.get_attribute("aria-sort") == "ascending"
            _shoot(page, "hotspots", 1280)

            # ---- a row opens the screen's sessions, a session its timeline
            page.locator("#view tbody a.screen", has_text="demo/order-detail").click()
            _wait_view(page, "sessions")
            assert page.text_content("[data-screen-filter]") == "demo/order-detail"
            assert page.locator("#view tbody tr").count() == 1
            _shoot(page, "sessions", 1280)
            page.locator("#view tbody tr a").first.click()
            _wait_view(page, "session")
            kinds = page.eval_on_selector_all("#timeline tr.incident",
                                              "rows => rows.map(r => [r.dataset.kind, r.dataset.screen])")
            assert ["rage_click", "demo/orders"] in kinds
            assert ["backtrack", "demo/order-detail"] in kinds
            assert ["error_click", "demo/reports"] in kinds
            assert ["abandoned_task", "demo/reports"] in kinds
            # the incident and the error event behind it are labelled apart
            what = page.eval_on_selector_all("#timeline tr[data-screen='demo/reports'] td[data-label='What']",
                                             "cells => cells.map(c => c.textContent)")
            assert "click on an error" in what and "error event" in what, what
            assert page.locator("#view .js-plotly-plot").count() == 1
            assert page.locator("#view img").count() == 0 and page.evaluate("window.__xss") is None
            _shoot(page, "session", 1280)

            # ---- flows: the task and its drop-off in the Sankey
            page.click('.tabs a[data-view="flows"]')
            _wait_view(page, "flows")
            assert page.locator('.taskbar button[aria-pressed="true"]').text_content().startswith("export_orders")
            assert page.get_attribute("#flow-sankey", "data-drop-links") == "yes"
            assert page.locator("#flow-sankey .sankey").count() == 1
            _shoot(page, "flows", 1280)

            # ---- a shared link reproduces the view; narrow screens
            shared = page.url
            page.set_viewport_size({"width": 390, "height": 844})
            for name in ("overview", "hotspots", "flows", "sessions", "session"):
                target = shared.replace("#/flows", f"#/{name}") + (f"&id={sid.replace('#', '%23')}" if name == "session" else "")
                page.goto(target)
                _wait_view(page, name)
                width = page.evaluate("document.scrollingElement.scrollWidth")
                assert width <= 390, f"{name} is {width}px wide at 390"
                _shoot(page, name, 390)
            assert not errors, errors
        finally:
            browser.close()
    assert time.monotonic() - t0 < 90
