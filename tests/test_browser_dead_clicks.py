"""Dead clicks in a real browser: the agent (/sdk.js, served by the app) on
demo pages, each scenario on a page (its own tab, session and screen) of its
own, all clicked at once and then left alone past the 2.5 s window, so that no
scenario's sign of life can rescue another's click. Headless chromium through
Python playwright, as tests/test_browser.py; the server is the serve
application in embedded mode with a 4 s session gap."""

from __future__ import annotations

import http.server
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
INGEST_KEY, READ_KEY = "fk-dead-ingest", "fk-dead-read"
ORG, PRODUCT = "dead-org", "dead-app"

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{name}</title>
<script src="{fk}/sdk.js" data-key="{key}" data-org="{org}" data-product="{product}" data-flush-ms="300" defer></script>
</head><body data-fk-screen="t/{name}"><main style="min-height: 4000px">
<p id="text">A paragraph of plain text that the user selects with the mouse, from here to there.</p>
<button id="nothing">Does nothing</button>
<button id="open">Open dialog</button>
<dialog id="dlg"><p>Hello</p></dialog>
<a id="link" href="/elsewhere.html">A link whose page stays</a>
<button id="scroll">Go to the end</button>
<input id="field" name="field">
</main><script>
document.getElementById("open").addEventListener("click", function () {{ document.getElementById("dlg").showModal(); }});
document.getElementById("link").addEventListener("click", function (e) {{ e.preventDefault(); }});
document.getElementById("scroll").addEventListener("click", function () {{ window.scrollTo(0, 2500); }});
</script></body></html>"""

SCENARIOS = ("nothing", "dialog", "link", "selection", "scroll", "modifier", "input")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict[str, str]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (commands/test installs it: apt-get install chromium)")
    folder = tmp_path_factory.mktemp("dead")
    port, demo_port = _free_port(), _free_port()
    base, demo = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{demo_port}"
    settings = resolve_settings(store_dsn=f"duckdb:///{folder}/store.duckdb", port=port,
                                api_keys=f"{INGEST_KEY}:{ORG}:ingest,{READ_KEY}:{ORG}:read")
    settings.pipeline = PipelineConfig(sessionizer=SessionizerConfig(gap_ms=4000, allowed_lateness_ms=0))
    settings.watermark_interval_s = 0.5
    settings.cors_origins = (demo,)
    api = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    api_thread = threading.Thread(target=api.run, daemon=True)
    api_thread.start()
    fill = dict(fk=base, key=INGEST_KEY, org=ORG, product=PRODUCT)
    pages = {f"/{name}.html": PAGE.format(name=name, **fill).encode() for name in SCENARIOS}

    class Demo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: Any) -> None:
            pass

    demo_server = http.server.ThreadingHTTPServer(("127.0.0.1", demo_port), Demo)
    threading.Thread(target=demo_server.serve_forever, daemon=True).start()
    deadline = time.monotonic() + 20
    while not api.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield {"base": base, "demo": demo}
    finally:
        demo_server.shutdown()
        api.should_exit = True
        api_thread.join(timeout=10)


def _has_sessions(base: str) -> bool:
    """The store answers 404 until it holds a session of the product."""
    r = httpx.get(base + "/v1/sessions", params={"orgId": ORG, "productId": PRODUCT},
                  headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def _api(base: str, path: str, **params: Any) -> dict[str, Any]:
    r = httpx.get(base + path, params={"orgId": ORG, "productId": PRODUCT, **params},
                  headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _select_text(page) -> None:
    box = page.locator("#text").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=8)
    page.mouse.up()


ACTIONS = {
    "nothing": lambda page: page.click("#nothing"),
    "dialog": lambda page: page.click("#open"),
    "link": lambda page: page.click("#link"),
    "selection": _select_text,
    "scroll": lambda page: page.click("#scroll"),
    "modifier": lambda page: page.click("#nothing", modifiers=["Control"]),
    "input": lambda page: page.click("#field"),
}


def test_only_the_click_nothing_answers_is_a_dead_click(server):
    base, demo = server["base"], server["demo"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 700})
            pages = {}
            for name in SCENARIOS:
                page = pages[name] = context.new_page()
                page.goto(f"{demo}/{name}.html")
                page.wait_for_function("window.frictionkit && window.frictionkit.version")
            for name in SCENARIOS:
                ACTIONS[name](pages[name])
            assert pages["dialog"].evaluate("document.getElementById('dlg').open")
            assert pages["scroll"].evaluate("window.scrollY") > 0
            assert pages["selection"].evaluate("String(getSelection()).length") > 10
            # Past the 2.5 s window, and the 300 ms batch timer sends the verdicts.
            pages["nothing"].wait_for_timeout(3500)
        finally:
            browser.close()

    # Each tab is its own session. A click that reaches the server after its
    # tab's session closed (the 4 s gap) reopens it; the session is written
    # again once the gap has passed after the click, so wait for every click.
    deadline = time.monotonic() + 30
    while True:
        clicks: dict[str, list[Any]] = {}
        for item in _api(base, "/v1/sessions", limit=50)["items"] if _has_sessions(base) else []:
            detail = _api(base, "/v1/sessions/" + item["sessionId"].replace("#", "%23"))
            for e in detail["events"]:
                if e["eventType"] == "click":
                    clicks.setdefault(e["screenId"], []).append(e.get("dead"))
            if any(i["type"] == "dead_click" for i in detail["incidents"]):
                assert item["deadClicks"] == 1 and item["entryScreen"] == "t/nothing"
        if len(clicks) == len(SCENARIOS) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # Every scenario's click reached the server; only the dead one carries the mark.
    assert clicks == {"t/nothing": [True], "t/dialog": [None], "t/link": [None], "t/selection": [None],
                      "t/scroll": [None], "t/modifier": [None], "t/input": [None]}
    hot = {h["screenId"]: h for h in _api(base, "/v1/insights/hotspots")["items"]}
    assert (hot["t/nothing"]["deadClicks"], hot["t/nothing"]["deadClickRate"]) == (1, 1.0)
    assert all(hot[f"t/{name}"]["deadClicks"] == 0 for name in SCENARIOS if name != "nothing")
    assert _api(base, "/v1/insights/overview")["incidents"]["deadClick"] == 1
