"""The dashboard over the demo data (the quick start's replay), in Chromium at
1280 and 390 px: no page scrolls sideways and every chart fits its card; the
overview says once that the previous window is empty and gives a rate's change
in percentage points; the hotspots subtitle follows the sort; flows with loops
(A → B → A) stay a left-to-right diagram; every timeline legend entry has a
visible marker; clicks on errors and error events carry different labels.

Screenshots of every page at both widths land in artifacts/layout/ for a human
to look at.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from conftest import FIXTURES  # noqa: E402
from api_support import serving  # noqa: E402
from frictionkit.api.settings import resolve_settings  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "layout"
KEY = "fk-layout-read"
SCOPE = "org=acme&product=crm"
PAGES = ("overview", "hotspots", "flows", "flows-loops", "sessions", "session")
LOOPS = "&task=export_report"  # the demo's runs of it go deals → reports → deals and the like


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (commands/test installs it: apt-get install chromium)")
    folder = tmp_path_factory.mktemp("layout")
    dsn = f"duckdb:///{folder}/demo.duckdb"
    replay = subprocess.run([sys.executable, "-m", "frictionkit.cli.main", "replay", str(FIXTURES / "demo.jsonl.gz"),
                             "-q", "--store", dsn], cwd=folder, capture_output=True, timeout=300)
    assert replay.returncode == 0, replay.stderr.decode()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = resolve_settings(store_dsn=dsn, port=port, api_keys=f"{KEY}:*:read")
    with serving(settings) as root:
        yield root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def _session_with_scrolls(base: str) -> str:
    """A session whose timeline has the most kinds of event (scrolls among them)."""
    headers = {"Authorization": f"Bearer {KEY}"}
    items = httpx.get(base + "/v1/sessions", params={"orgId": "acme", "productId": "crm", "limit": 50},
                      headers=headers, timeout=10).json()["items"]
    best, kinds = None, -1
    for item in items[:20]:
        sid = item["sessionId"]
        events = httpx.get(base + "/v1/sessions/" + sid.replace("#", "%23"), params={"orgId": "acme", "productId": "crm"},
                           headers=headers, timeout=10).json()["events"]
        n = len({e["eventType"] for e in events})
        if n > kinds:
            best, kinds = sid, n
    assert best is not None
    return best


def _open(page, base: str, name: str, query: str = "") -> None:
    page.goto(f"{base}/#/{name}?{SCOPE}{query}")
    page.wait_for_selector(f'body[data-ready="{name}"]', timeout=20_000)
    page.wait_for_timeout(300)  # plotly's transitions


def _overflow(page) -> dict[str, Any]:
    """How far the page, and each chart past its card, reaches beyond the viewport."""
    return page.evaluate("""() => ({
        page: document.scrollingElement.scrollWidth, inner: window.innerWidth,
        charts: [...document.querySelectorAll('#view .js-plotly-plot')].map(c => {
            const card = c.closest('.card').getBoundingClientRect(), svg = c.querySelector('svg.main-svg');
            const box = svg.getBoundingClientRect();
            return {id: c.id, left: box.left - card.left, right: card.right - box.right};
        })})""")


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_fits_the_screen(base, browser, width):
    sid = _session_with_scrolls(base)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for name in PAGES:
            query = {"session": "&id=" + sid.replace("#", "%23"), "flows-loops": LOOPS}.get(name, "")
            _open(page, base, name.split("-")[0], query)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            if name.startswith("flows"):  # the diagram alone, at full size
                page.locator("#flow-sankey").screenshot(path=str(SHOTS / f"{name}-{width}-sankey.png"))
            found = _overflow(page)
            assert found["page"] <= found["inner"], f"{name} at {width}px scrolls sideways: {found}"
            assert found["charts"] or name == "sessions", f"{name} has no chart"
            for chart in found["charts"]:
                assert chart["left"] >= 0 and chart["right"] >= 0, f"{name} at {width}px: a chart overflows its card {chart}"
    finally:
        page.close()


def test_overview_trends(base, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    try:
        # all dates: the previous window is before the first session, said once
        _open(page, base, "overview")
        text = page.inner_text("#view")
        assert text.lower().count("no sessions in the previous window") == 1, text
        assert page.locator(".kpi .trend").count() == 0 or all(
            "previous window" not in t for t in page.locator(".kpi").all_inner_texts())
        # a window whose previous window has sessions: a rate changes in percentage points
        _open(page, base, "overview", "&from=2026-11-04&to=2026-11-05")
        assert page.locator("#no-previous").count() == 0
        completion = page.text_content('[data-kpi="completion"] .trend')
        assert completion is not None and completion.endswith("pp vs previous"), completion
        assert completion[0] in "▲▼■" and ("+" in completion or "−" in completion)
        assert "%" not in completion
        sessions = page.text_content('[data-kpi="sessions"] .trend')
        assert sessions is not None and sessions.endswith("% vs previous"), sessions
        page.screenshot(path=str(SHOTS / "overview-trends-1280.png"), full_page=True)
        # clicks on errors (an incident) and error events (what hotspots count) are told apart
        assert page.text_content('[data-kpi="errorClick"] .name') == "Clicks on errors"
        assert "error clicks" not in page.inner_text("#view").lower()
        _open(page, base, "hotspots")
        chips = page.eval_on_selector_all("#view .chip.error", "cs => cs.map(c => c.textContent)")
        assert chips and all(c.startswith("error events ") for c in chips), chips
    finally:
        page.close()


def test_hotspots_subtitle_follows_the_sort(base, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    try:
        _open(page, base, "hotspots")
        subtitle = page.locator("#view p.subtitle")
        assert "ranked by sessions with a symptom" in subtitle.text_content()
        assert page.get_attribute("th:has(button:text-is('Symptoms'))", "aria-sort") == "descending"
        page.click("th button:text-is('Friction')")
        assert "ranked by friction;" in subtitle.text_content()
        page.click("th button:text-is('Friction')")
        assert "ranked by friction, lowest first" in subtitle.text_content()
    finally:
        page.close()


def test_flow_loops_and_timeline_legend(base, browser):
    sid = _session_with_scrolls(base)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    try:
        _open(page, base, "flows", LOOPS)
        assert int(page.get_attribute("#flow-sankey", "data-loops")) >= 1  # the demo's flows go back and forth
        # every band inside the plot's frame: none drawn around the outside
        bands = page.evaluate("""() => {
            const frame = document.querySelector('#flow-sankey svg.main-svg').getBoundingClientRect();
            return [...document.querySelectorAll('#flow-sankey path.sankey-link')].map(l => {
                const b = l.getBBox(), m = l.getScreenCTM();
                const left = m.e + b.x, top = m.f + b.y;
                return {out: left < frame.left - 1 || left + b.width > frame.right + 1 ||
                             top < frame.top - 1 || top + b.height > frame.bottom + 1, w: b.width};
            }); }""")
        assert bands, "no Sankey links drawn"
        assert not [b for b in bands if b["out"]], bands
        _open(page, base, "session", "&id=" + sid.replace("#", "%23"))
        legend = page.evaluate("""() => [...document.querySelectorAll('#view .legend .traces')].map(t => {
            const p = t.querySelector('.legendpoints path'), s = p && getComputedStyle(p), b = p && p.getBoundingClientRect();
            return {name: t.querySelector('.legendtext').textContent, w: b ? b.width : 0,
                    fill: s ? s.fill : 'none', fillOpacity: s ? s.fillOpacity : '0', stroke: s ? parseFloat(s.strokeWidth) : 0};
        })""")
        names = [e["name"] for e in legend]
        assert "scroll" in names, names
        for entry in legend:
            visible = entry["w"] > 0 and ((entry["fill"] != "none" and entry["fillOpacity"] != "0") or entry["stroke"] > 0)
            assert visible, entry
    finally:
        page.close()


def test_turning_narrow_keeps_every_page_in_the_screen(base, browser):
    """A window made narrow after the charts are drawn (plotly's responsive resize), not only one opened narrow."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    try:
        for name, query in (("overview", ""), ("hotspots", ""), ("flows", LOOPS)):
            page.set_viewport_size({"width": 1280, "height": 900})
            _open(page, base, name, query)
            page.set_viewport_size({"width": 390, "height": 844})
            try:  # plotly's resize handler is debounced: wait until every chart has redrawn narrower than 390 px
                page.wait_for_function("""() => [...document.querySelectorAll('#view .js-plotly-plot svg.main-svg')]
                    .every(s => s.getBoundingClientRect().width < 390)""", timeout=10_000)
            except sync_api.TimeoutError:
                pass  # the assertions below say what does not fit
            found = _overflow(page)
            assert found["page"] <= found["inner"], f"{name} turned narrow scrolls sideways: {found}"
            for chart in found["charts"]:
                assert chart["left"] >= 0 and chart["right"] >= 0, f"{name} turned narrow: a chart overflows its card {chart}"
    finally:
        page.close()
