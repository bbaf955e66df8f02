"""The dashboard's segment filter bar and hotspot ranking, in Chromium over the
demo data: a segment chosen in the filter bar narrows every view (what the
page shows equals the API's answer for that segment), the fields suggest the
scope's values, "All sessions" clears them, and "Rank screens by" asks the API
for its order (issue 18.3, 18.5)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from test_dashboard_layout import KEY, SCOPE, _open, base, browser, httpx  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def _api(base_url: str, path: str, **params) -> dict:
    reply = httpx.get(base_url + path, params={"orgId": "acme", "productId": "crm", **params},
                      headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _hash_params(page) -> dict[str, str]:
    fragment = urlsplit(page.url).fragment
    return {k: v[0] for k, v in parse_qs(fragment.partition("?")[2]).items()}


def _wait_ready(page, name: str) -> None:
    page.wait_for_selector(f'body[data-ready="{name}"]', timeout=20_000)


def test_the_filter_bar_narrows_every_view_to_a_segment(base, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    try:
        _open(page, base, "overview")
        suggestions = page.eval_on_selector_all("#l-browser option", "os => os.map(o => o.value)")
        known = [v["value"] for v in _api(base, "/dashboard/segments")["browser"]]
        assert suggestions == known and "Safari" in known
        assert page.text_content("#f-segment summary") == "Segment: all sessions"
        page.click("#f-segment summary")  # the fields fold away until asked for
        page.select_option("#f-device", "mobile")
        page.fill("#f-browser", "Safari")
        page.click("#filters button[type=submit]")
        page.wait_for_function("() => location.hash.includes('device=mobile')")
        _wait_ready(page, "overview")
        assert {"device": "mobile", "browser": "Safari"}.items() <= _hash_params(page).items()
        want = _api(base, "/v1/insights/overview", deviceType="mobile", browser="Safari")
        everyone = _api(base, "/v1/insights/overview")
        assert 0 < want["sessions"] < everyone["sessions"]
        assert page.text_content('[data-kpi="sessions"] .value') == f"{want['sessions']:,}"
        assert "mobile · Safari" in page.text_content("#view p.subtitle")
        assert page.text_content("#f-segment summary") == "Segment: mobile · Safari"
        # the sessions page keeps the segment: its count is the segment's
        page.click("nav a[data-view=sessions]")
        _wait_ready(page, "sessions")
        assert f"of {want['sessions']:,} sessions shown" in page.inner_text("#view")
        # "All sessions" drops the segment and keeps the page
        page.click("#f-any")
        page.wait_for_function("() => !location.hash.includes('device=')")
        _wait_ready(page, "sessions")
        assert f"of {everyone['sessions']:,} sessions shown" in page.inner_text("#view")
    finally:
        page.close()


def test_hotspots_rank_by_asks_the_api_for_its_order(base, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(f"sessionStorage.setItem('frictionkit.readKey', '{KEY}')")
    try:
        _open(page, base, "hotspots", "&device=mobile")
        for sort, header in (("rate", "Hit rate"), ("friction", "Friction"), ("impact", "Symptoms")):
            page.select_option("#hs-sort", sort)
            if sort == "impact":
                page.wait_for_function("() => !location.hash.includes('sort=')")
            else:
                page.wait_for_function(f"() => location.hash.includes('sort={sort}')")
            _wait_ready(page, "hotspots")
            items = _api(base, "/v1/insights/hotspots", deviceType="mobile", sort=sort, limit=200)["items"]
            shown = page.eval_on_selector_all("#view table tbody tr td:first-child", "ts => ts.map(t => t.textContent)")
            assert shown == [i["screenId"] for i in items], sort
            assert page.get_attribute(f"th:has(button:text-is('{header}'))", "aria-sort") == "descending"
            assert page.input_value("#hs-sort") == sort
    finally:
        page.close()


def test_dashboard_segments_route_needs_a_permitted_org(base):
    reply = httpx.get(base + "/dashboard/segments", params={"orgId": "acme", "productId": "crm"}, timeout=10)
    assert reply.status_code == 401
    values = _api(base, "/dashboard/segments")
    assert set(values) == {"deviceType", "browser", "os", "appName", "appVersion"}
    total = _api(base, "/v1/insights/overview")["sessions"]
    assert sum(v["sessions"] for v in values["deviceType"]) == total
