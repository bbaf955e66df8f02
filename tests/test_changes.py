"""What changed, end to end: two weeks of generated traffic, where in the
second week half the sessions that click on one screen (crm/contacts, clean
in the generator) rage-click there. Through the real pipeline and store, the
CLI and the HTTP API, that jump is the top change, and a screen whose
injected friction stayed the same (crm/deal-edit's rage clicks) is not
significant."""

from __future__ import annotations

import hashlib
import json

import msgspec
import pytest

from api_support import auth, client
from conftest import run_cli
from frictionkit.core.contract import format_ts_ms, parse_ts_ms
from frictionkit.core.incidents import INCIDENT_TYPES
from frictionkit.core.model import DEVICE_TYPES
from frictionkit.core.segment import Segment
from frictionkit.generate import iter_events
from frictionkit.insights.changes import changes, notes, parse_against
from frictionkit.insights.query import InsightError, resolve_query
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

NOW_MS = 1_900_000_000_000
WEEK1, WEEK2 = "2026-11-02", "2026-11-09"
JUMP_SCREEN, STEADY_SCREEN = "crm/contacts", "crm/deal-edit"
WINDOW = {"from": WEEK2, "to": "2026-11-15"}  # the previous window of equal length is week 1


def _picked(session_id: str) -> bool:
    return hashlib.blake2b(session_id.encode(), digest_size=1).digest()[0] < 128  # half of them


def rage_on(events: list[dict], screen: str) -> list[dict]:
    """For half the sessions, turn their first click on ``screen`` into a
    burst of three clicks 200 ms apart (a rage click by the default rule)."""
    done: set[str] = set()
    out = list(events)
    for ev in events:
        sid = ev["sessionId"]
        if ev["eventType"] == "click" and ev["screenId"] == screen and sid not in done and _picked(sid):
            done.add(sid)
            base_ms = parse_ts_ms(ev["ts"])
            for i in (1, 2):
                out.append({**ev, "eventId": f"{ev['eventId']}-rage{i}", "ts": format_ts_ms(base_ms + 200 * i)})
    out.sort(key=lambda e: (e["ts"], e["eventId"]))
    return out


def write_two_weeks(path) -> None:
    week1 = list(iter_events(1200, seed=21, start=WEEK1))
    week2 = rage_on(list(iter_events(1200, seed=22, start=WEEK2)), JUMP_SCREEN)
    with open(path, "wb") as f:
        for ev in week1 + week2:
            f.write(msgspec.json.encode(ev) + b"\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("changes")
    path = folder / "two-weeks.jsonl"
    write_two_weeks(path)
    store = open_store(f"duckdb:///{folder}/store.duckdb")
    report = replay([str(path)], store, now_ms=NOW_MS)
    assert report.rejected == 0
    store.close()
    return folder, path


@pytest.fixture(scope="module")
def payload(data):
    folder, _ = data
    store = open_store(f"duckdb:///{folder}/store.duckdb")
    try:
        q = resolve_query(store, org_id="acme", product_id="crm", from_text=WINDOW["from"], to_text=WINDOW["to"])
        return changes(store, q, limit=1000)
    finally:
        store.close()


def _item(payload, screen, signal):
    return next(it for it in payload["items"] if it["screenId"] == screen and it["signal"] == signal)


def test_the_rage_click_jump_is_the_top_change(payload):
    assert payload["baseline"] == "previous"
    assert payload["window"]["from"].startswith(WEEK2) and payload["against"]["from"].startswith(WEEK1)
    top = payload["items"][0]
    assert (top["screenId"], top["signal"]) == (JUMP_SCREEN, "rage_click")
    assert top["significant"] and top["direction"] == "up"
    assert top["previous"]["value"] < 0.05 < 0.3 < top["current"]["value"]
    assert top["z"] > 5


def test_a_steady_screen_is_not_significant(payload):
    steady = _item(payload, STEADY_SCREEN, "rage_click")
    # injected in both weeks at the same rate: tested, large shares, no change
    assert steady["z"] is not None and steady["previous"]["value"] > 0.3
    assert not steady["significant"]
    # and nothing on crm/home (which nobody touched) is significant either
    assert not any(it["significant"] for it in payload["items"] if it["screenId"] == "crm/home")


def test_every_registered_incident_type_is_a_signal(payload):
    for kind in INCIDENT_TYPES:
        assert kind in payload["signals"]
        assert any(it["signal"] == kind for it in payload["items"])
    assert {"error", "dropoff", "mean_dwell"} <= set(payload["signals"])


def test_the_note_names_the_jump(payload, data):
    note = payload["notes"][0]
    assert note["relatedScreens"] == [JUMP_SCREEN] and note["title"] == f"Rage clicks up on {JUMP_SCREEN}"
    assert note["severity"] == "high" and note["confidence"] > 0.99
    assert len(payload["notes"]) <= 3
    folder, _ = data
    store = open_store(f"duckdb:///{folder}/store.duckdb")
    try:
        q = resolve_query(store, org_id="acme", product_id="crm", from_text=WINDOW["from"], to_text=WINDOW["to"])
        assert notes(store, q) == payload["notes"]
        # Over all the data there is no earlier window: the halves are compared,
        # and the jump (second week against first) is still found.
        whole = resolve_query(store, org_id="acme", product_id="crm", from_text=None, to_text=None)
        halves = changes(store, whole)
        assert halves["baseline"] == "halves"
        assert (halves["items"][0]["screenId"], halves["items"][0]["signal"]) == (JUMP_SCREEN, "rage_click")
    finally:
        store.close()


def test_transitions_are_ranked_by_the_change_of_their_share(payload):
    rose, fell = payload["transitions"]["rose"], payload["transitions"]["fell"]
    assert [e["difference"] for e in rose] == sorted((e["difference"] for e in rose), reverse=True)
    assert [e["difference"] for e in fell] == sorted(e["difference"] for e in fell)
    assert all(e["difference"] > 0 for e in rose) and all(e["difference"] < 0 for e in fell)
    for e in rose + fell:
        assert e["current"]["share"] == pytest.approx(e["current"]["count"] / e["current"]["exits"])


def _by_device(store, device: str | None):
    q = resolve_query(store, org_id="acme", product_id="crm", from_text=WINDOW["from"], to_text=WINDOW["to"],
                      segment=Segment(device_type=device))
    return changes(store, q, limit=1000)


def test_a_segment_compares_its_own_sessions_and_segments_add_up(data, payload):
    folder, _ = data
    store = open_store(f"duckdb:///{folder}/store.duckdb")
    try:
        parts = [_by_device(store, d) for d in DEVICE_TYPES]
    finally:
        store.close()
    whole = {(it["screenId"], it["signal"]): it for it in payload["items"] if it["signal"] != "mean_dwell"}
    for key, it in whole.items():
        for side in ("previous", "current"):
            got = [next((p[side] for p in (x for x in part["items"] if (x["screenId"], x["signal"]) == key)), None)
                   for part in parts]
            # every session is in exactly one device segment, so the counts add up to the unfiltered ones
            assert sum(g["sessions"] for g in got if g) == it[side]["sessions"], (key, side)
            assert sum(g["affected"] for g in got if g) == it[side]["affected"], (key, side)
    # the desktop-only answer is not the whole one: the filter reached the store
    assert parts[0]["items"] != payload["items"]


def test_against_names_the_baseline():
    assert parse_against("2026-11-02:2026-11-08") == (1_793_577_600_000, 1_794_182_400_000)
    assert parse_against("2026-11-02T00:00:00Z:2026-11-02T12:00:00.5Z") == (1_793_577_600_000, 1_793_620_800_500)
    for bad in ("2026-11-02", "2026-11-08:2026-11-02", "x:y"):
        with pytest.raises(InsightError) as err:
            parse_against(bad)
        assert err.value.param == "against"


def test_cli_json_is_the_payload_and_the_table_leads_with_the_jump(data, payload):
    folder, _ = data
    dsn = f"duckdb:///{folder}/store.duckdb"
    args = ["insights", "changes", "--store", dsn, "--org", "acme", "--product", "crm", "--from", WINDOW["from"],
            "--to", WINDOW["to"]]
    out = run_cli(*args, "--format", "json", "--limit", "1000")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(msgspec.json.encode(payload))
    table = run_cli(*args, "--limit", "3", env={"COLUMNS": "200"})
    assert table.returncode == 0
    first_row = next(line for line in table.stdout.decode().splitlines() if "rage_click" in line)
    assert JUMP_SCREEN in first_row and "significant" in first_row
    same = run_cli(*args, "--against", "2026-11-02:2026-11-08", "--format", "json", "--limit", "1")
    assert json.loads(same.stdout)["items"][0]["signal"] == "rage_click"
    bad = run_cli(*args, "--against", "2026-11-02")
    assert bad.returncode == 1 and bad.stderr.decode().count("\n") == 1 and "against" in bad.stderr.decode()


def test_api_route_openapi_and_overview_notes(data, payload):
    folder, _ = data
    with client(folder) as c:
        params = {"orgId": "acme", "productId": "crm", **WINDOW, "limit": 1000}
        body = c.get("/v1/insights/changes", params=params, headers=auth("k-acme")).json()
        assert body == json.loads(msgspec.json.encode(payload))
        bad = c.get("/v1/insights/changes", params={**params, "against": "nope"}, headers=auth("k-acme"))
        assert bad.status_code == 400 and bad.json()["param"] == "against"
        assert c.get("/v1/insights/changes", params=params, headers=auth("k-globex")).status_code == 403
        overview = c.get("/v1/insights/overview", params={"orgId": "acme", "productId": "crm", **WINDOW},
                         headers=auth("k-acme")).json()
        assert overview["notes"] == body["notes"]
        op = c.get("/openapi.json").json()["paths"]["/v1/insights/changes"]["get"]
        assert {"against", "limit", "transitions", "from", "to"} <= {p["name"] for p in op["parameters"]}


def test_clickhouse_answers_like_duckdb(data, payload, tmp_path):
    pytest.importorskip("chdb")
    from test_store_parity import assert_same

    _, path = data
    store = open_store(f"chdb:///{tmp_path}/ch")
    try:
        assert replay([str(path)], store, now_ms=NOW_MS).rejected == 0
        q = resolve_query(store, org_id="acme", product_id="crm", from_text=WINDOW["from"], to_text=WINDOW["to"])
        assert_same(changes(store, q, limit=1000), payload)
        duck = open_store(f"duckdb:///{data[0]}/store.duckdb")
        try:
            assert_same(_by_device(store, "mobile"), _by_device(duck, "mobile"))
        finally:
            duck.close()
    finally:
        store.close()


@pytest.mark.slow
def test_dashboard_overview_shows_the_notes(data):
    sync_api = pytest.importorskip("playwright.sync_api")
    uvicorn = pytest.importorskip("uvicorn")
    import shutil
    import socket
    import threading
    import time
    from pathlib import Path

    from frictionkit.api.app import create_app
    from frictionkit.api.settings import resolve_settings

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("chromium is not installed")
    folder, _ = data
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = resolve_settings(store_dsn=f"duckdb:///{folder}/store.duckdb", port=port, api_keys="fk-notes:*:read")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}/#/overview?org=acme&product=crm"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                for width in (1280, 390):
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.add_init_script("sessionStorage.setItem('frictionkit.readKey', 'fk-notes')")
                    page.goto(f"{base}&from={WINDOW['from']}&to={WINDOW['to']}")
                    page.wait_for_selector('body[data-ready="overview"]', timeout=20_000)
                    notes = page.locator("#notes li")
                    assert notes.count() == 1
                    text = notes.first.inner_text()
                    assert f"Rage clicks up on {JUMP_SCREEN}" in text and "from 1.0 %" in text
                    assert page.locator("#notes .severity.high").count() == 1
                    assert page.get_attribute("#notes a.screen", "href").endswith("screen=" + JUMP_SCREEN.replace("/", "%2F"))
                    shots = Path(__file__).resolve().parents[1] / "artifacts" / "changes"
                    shots.mkdir(parents=True, exist_ok=True)  # for a human to look at
                    page.locator("#notes").screenshot(path=str(shots / f"overview-notes-{width}.png"))
                    width_used = page.evaluate("document.scrollingElement.scrollWidth")
                    assert width_used <= width, f"the overview scrolls sideways at {width}px"
                    page.close()
                # the first week alone (its halves): nothing changed
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.add_init_script("sessionStorage.setItem('frictionkit.readKey', 'fk-notes')")
                page.goto(f"{base}&from={WEEK1}&to=2026-11-08")
                page.wait_for_selector('body[data-ready="overview"]', timeout=20_000)
                assert page.inner_text("#notes li") == "No significant change found for this window."
                page.close()
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
