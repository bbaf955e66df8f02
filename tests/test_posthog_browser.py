"""The real posthog-js (npm, pinned by tests/js/package-lock.json; commands/test
installs it) in Debian's Chromium, with ``api_host`` set to a running
``frictionkit serve``, embedded and on Kafka: the SDK is not changed or
imitated, only pointed at frictionkit.

A demo app on a second origin (CORS allowed for it) loads
``posthog-js/dist/array.full.js`` and calls ``posthog.init`` with autocapture
and exception capture on. The browser plays a user who clicks one button five
times fast, goes A → B → A in the SPA, and clicks a button that throws; the
insights must then show a session with a rage click, a backtrack and an
error. Two launch details make the automated browser look like a person's to
the SDK, which otherwise drops all traffic of bots: a desktop Chrome user
agent (headless Chromium says "HeadlessChrome") and
``--disable-blink-features=AutomationControlled`` (``navigator.webdriver``).

``FRICTIONKIT_RECORD_POSTHOG=1`` writes every capture request the SDK made to
artifacts/posthog-requests/ in the fixtures' format (fixtures/posthog/ holds
such recordings).
"""

from __future__ import annotations

import base64
import dataclasses
import http.server
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from api_support import serving  # noqa: E402
from frictionkit.api.settings import resolve_settings  # noqa: E402
from frictionkit.core.sessionizer import SessionizerConfig  # noqa: E402
from frictionkit.pipeline.embedded import PipelineConfig  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "tests" / "js" / "node_modules" / "posthog-js" / "dist" / "array.full.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-blink-features=AutomationControlled"]
DESKTOP_CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36")
TOKEN, READ_KEY, ORG, PRODUCT = "phc_browser_test", "fk-test-read", "demo-org", "shop"
ALIASES = [(r"app/orders/\d+", "app/orders/:id"), (r"app/orders/\d+/edit", "app/orders/:id/edit")]
RECORD = ROOT / "artifacts" / "posthog-requests"

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>orders</title></head>
<body><h1>Order</h1>
<button id="save" class="btn primary">Save <span>order</span></button>
<button id="to-b">Edit</button> <button id="back-a">Back</button>
<button id="boom">Break</button>
<script src="/posthog.js"></script>
<script>
posthog.init(%(token)s, {api_host: %(api)s, autocapture: true, capture_exceptions: true,
  defaults: '2025-05-24', person_profiles: 'identified_only'});
document.getElementById('to-b').addEventListener('click', () => history.pushState({}, '', '/app/orders/13/edit'));
document.getElementById('back-a').addEventListener('click', () => history.pushState({}, '', '/app/orders/12'));
document.getElementById('boom').addEventListener('click', () => { throw new TypeError('order total is undefined'); });
</script></body></html>"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_server(api: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    page = (PAGE % {"token": json.dumps(TOKEN), "api": json.dumps(api)}).encode()
    sdk = SDK.read_bytes()

    class Demo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body, kind = (sdk, "application/javascript") if self.path == "/posthog.js" else (page, "text/html")
            self.send_response(200 if self.path.startswith("/app/") or self.path == "/posthog.js" else 404)
            self.send_header("Content-Type", kind + "; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    port = _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Demo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def _settings(tmp_path: Path, **kw: Any):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (commands/test installs it: apt-get install chromium)")
    if not SDK.exists():
        pytest.skip("posthog-js is not installed: npm ci --prefix tests/js (commands/test does)")
    settings = resolve_settings(port=_free_port(), api_keys=f"posthog:{TOKEN}:{ORG}:{PRODUCT},{READ_KEY}:{ORG}:read",
                                aliases=ALIASES, **kw)
    settings.rate_per_s = 0
    return settings


def _browse(demo: str) -> list[dict[str, Any]]:
    """The user, in the demo app; returns every request the SDK sent to frictionkit."""
    sent: list[dict[str, Any]] = []
    answers: list[int] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(user_agent=DESKTOP_CHROME)

            def on_request(request) -> None:
                if not request.url.startswith(demo):
                    body = request.post_data_buffer
                    sent.append({"method": request.method, "url": request.url,
                                 "content_type": request.headers.get("content-type"),
                                 "body_b64": base64.b64encode(body).decode() if body else None})

            page.on("request", on_request)
            page.on("response", lambda r: answers.append(r.status) if not r.url.startswith(demo) else None)
            with page.expect_response(lambda r: "/config" in r.url):  # remote config: autocapture may start
                page.goto(demo + "/app/orders/12")
            page.wait_for_function("window.posthog && window.posthog.__loaded")
            page.wait_for_timeout(500)
            for _ in range(5):  # one button, five fast clicks
                page.click("#save")
            page.wait_for_timeout(400)
            page.click("#to-b")  # A -> B
            page.wait_for_timeout(600)
            page.click("#back-a")  # B -> A, well within the backtrack dwell
            page.wait_for_timeout(400)
            page.click("#boom")  # throws a TypeError
            # posthog-js sends its queue every 3 s; wait until an exception went out
            deadline = time.monotonic() + 20
            while not any(_has_event(r, "$exception") for r in sent):
                assert time.monotonic() < deadline, f"no $exception sent: {[r['url'] for r in sent]}"
                page.wait_for_timeout(250)
            page.wait_for_timeout(500)
        finally:
            browser.close()
    assert answers and all(code == 200 for code in answers), answers
    if os.environ.get("FRICTIONKIT_RECORD_POSTHOG"):
        _record(sent)
    return sent


def _has_event(request: dict[str, Any], name: str) -> bool:
    import gzip

    if not request["body_b64"]:
        return False
    body = base64.b64decode(request["body_b64"])
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return f'"event":"{name}"'.encode() in body


def _record(sent: list[dict[str, Any]]) -> None:
    RECORD.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(x for x in sent if x["method"] == "POST"):
        u = urlsplit(r["url"])
        doc = {"recorded_from": "posthog-js (npm) in Chromium, tests/test_posthog_browser.py", "note": "",
               "method": "POST", "path": u.path, "query": u.query, "content_type": r["content_type"],
               "body_b64": r["body_b64"]}
        (RECORD / f"request-{i:02d}.json").write_text(json.dumps(doc, indent=1))


def _api(base: str, path: str, **params: Any) -> dict[str, Any]:
    r = httpx.get(base + path, params={"orgId": ORG, "productId": PRODUCT, **params},
                  headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _closed_sessions(base: str) -> int:
    r = httpx.get(base + "/v1/sessions", params={"orgId": ORG, "productId": PRODUCT},
                  headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10)
    return r.json()["total"] if r.status_code == 200 else 0  # 400 (or 404) while the store has no session yet


def _session(base: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while _closed_sessions(base) < 1:
        assert time.monotonic() < deadline, "no session was closed"
        time.sleep(0.5)
    sessions = _api(base, "/v1/sessions")
    assert sessions["total"] == 1, sessions
    return _api(base, "/v1/sessions/" + sessions["items"][0]["sessionId"].replace("#", "%23"))


def _assert_friction(base: str, detail: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    incidents = {(i["type"], i["screenId"]) for i in detail["incidents"]}
    assert ("rage_click", "app/orders/:id") in incidents, incidents
    assert ("backtrack", "app/orders/:id/edit") in incidents, incidents
    rage = next(i for i in detail["incidents"] if i["type"] == "rage_click")
    assert rage["clickCount"] == 5
    events = detail["events"]
    assert [e["screenId"] for e in events if e["eventType"] == "navigation"] == [
        "app/orders/:id", "app/orders/:id/edit", "app/orders/:id"]
    assert any(e.get("errorCode") == "TypeError" and e["screenId"] == "app/orders/:id" for e in events)
    assert all(e.get("elementLabelHash") and e.get("elementType") == "button"
               for e in events if e["eventType"] == "click")
    raw = json.dumps(events)
    assert "Save order" not in raw and "order total is undefined" not in raw
    hot = {h["screenId"]: h for h in _api(base, "/v1/insights/hotspots")["items"]}
    assert hot["app/orders/:id"]["rageClicks"] == 1 and hot["app/orders/:id"]["errors"] >= 1
    assert hot["app/orders/:id/edit"]["backtracks"] == 1
    # What the SDK sent: its own compression after our remote config, every event on /e/.
    posts = [r for r in sent if r["method"] == "POST"]
    assert {urlsplit(r["url"]).path for r in posts} <= {"/e/", "/flags/"}
    assert any(base64.b64decode(r["body_b64"])[:2] == b"\x1f\x8b" for r in posts if r["body_b64"])


def test_posthog_js_into_embedded_serve(tmp_path):
    settings = _settings(tmp_path, store_dsn=f"duckdb:///{tmp_path}/store.duckdb")
    # Test-only: sessions close 4 s after their last event (the default gap is 30 minutes).
    settings.pipeline = PipelineConfig(sessionizer=SessionizerConfig(gap_ms=4000, allowed_lateness_ms=0))
    settings.watermark_interval_s = 0.5
    demo_server, demo = _demo_server(f"http://127.0.0.1:{settings.port}")
    settings.cors_origins = (demo,)
    try:
        with serving(settings) as base:
            sent = _browse(demo)
            _assert_friction(base, _session(base, 25), sent)
    finally:
        demo_server.shutdown()


def _session_processed(stream, timeout_s: float) -> None:
    """A session is on events.sessionized and every processor after the
    sessionizer has committed everything (twice, 1 s apart). Not ``wait_drained``: the
    sessionizer keeps its offset at the first event of the key's closed-session
    marker, which live traffic holds for as long as the test runs."""
    from frictionkit.bus import kafka
    from frictionkit.stream.lag import group_lag
    from frictionkit.stream.settings import PROCESSORS

    downstream = [name for name in PROCESSORS if name != "sessionizer"]

    ck = (getattr(kafka, "confluent", None) or kafka._ck)()  # confluent_kafka, however this tree names the getter
    deadline = time.monotonic() + timeout_s
    clean = 0
    while clean < 2:
        assert time.monotonic() < deadline, "the session did not get through the processors"
        time.sleep(1)
        consumer = ck.Consumer(kafka.consumer_config(stream.brokers, stream.group_id("probe")))
        try:
            _low, high = consumer.get_watermark_offsets(ck.TopicPartition(stream.topics.sessionized, 0), timeout=10)
        finally:
            consumer.close()
        lags = [sum(group_lag(stream, name).values()) for name in downstream]
        clean = clean + 1 if high > 0 and not any(lags) else 0


@pytest.mark.kafka
def test_posthog_js_into_serve_on_kafka(tmp_path):
    from test_stream_support import InProcess, fresh_settings, require_broker

    require_broker()
    stream = fresh_settings(tmp_path, partitions=1, idle_after_ms=1000,
                            sessionizer=SessionizerConfig(gap_ms=4000, allowed_lateness_ms=0))
    settings = _settings(tmp_path, brokers=stream.brokers, store_dsn=stream.store_dsn)
    settings = dataclasses.replace(settings, raw_topic=stream.topics.raw)
    demo_server, demo = _demo_server(f"http://127.0.0.1:{settings.port}")
    settings.cors_origins = (demo,)
    try:
        with serving(settings) as base:
            processors = InProcess("all", stream)
            try:
                sent = _browse(demo)  # 200 from serve: every event is on events.raw (acks=all)
                _session_processed(stream, timeout_s=60)
            finally:
                processors.finish()
            # The processors let go of the embedded store: serve reads it per request.
            _assert_friction(base, _session(base, 5), sent)
    finally:
        demo_server.shutdown()
