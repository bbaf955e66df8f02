"""Every registered incident type (core/incidents.py INCIDENT_KINDS) reaches
every view: a type added to the registry and forgotten in a query, a payload,
the CLI or the dashboard fails here (docs/semantics.md, "Adding an incident
type").

The data holds at least one incident of each type, so the counts are checked
against the incidents stored, not only the keys' presence."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import msgspec
import pytest

from conftest import run_cli
from frictionkit.core.incidents import INCIDENT_KINDS, INCIDENT_TYPES, snake
from frictionkit.generate import iter_events
from frictionkit.insights.changes import changes
from frictionkit.insights.query import resolve_query
from frictionkit.insights.report import hotspots, overview
from frictionkit.insights.sessions import sessions_list
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

NOW_MS = 1_900_000_000_000
APP_JS = Path(__file__).resolve().parents[1] / "src" / "frictionkit" / "static" / "dashboard" / "app.js"
T = "2026-11-03T10:{:02d}:{:02d}.000Z"


def _signals_session() -> list[dict]:
    """A loop (cart -> address -> shipping -> cart), a dead click and a click
    on an error, which the generator makes rarely or never."""
    def ev(i: int, kind: str, screen: str, **more) -> dict:
        return {"orgId": "acme", "productId": "crm", "sessionId": "loop-1", "userHash": "u-1",
                "ts": T.format(i // 60, i % 60), "eventType": kind, "screenId": screen, "route": f"/{screen}",
                "deviceType": "desktop", "eventId": f"loop-{i:03d}", **more}
    return [ev(0, "navigation", "cart"), ev(10, "navigation", "address"),
            ev(12, "click", "address", elementType="button", dead=True), ev(20, "navigation", "shipping"),
            ev(30, "navigation", "cart"), ev(40, "navigation", "pay"), ev(41, "click", "pay", elementType="button"),
            ev(42, "custom", "pay", errorCode="E500")]


@pytest.fixture(scope="module")
def dsn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    path = folder / "events.jsonl"
    with open(path, "wb") as f:
        for e in [*iter_events(300, seed=5, start="2026-11-02"), *_signals_session()]:
            f.write(msgspec.json.encode(e) + b"\n")
    dsn = f"duckdb:///{folder}/s.duckdb"
    store = open_store(dsn)
    try:
        assert replay([str(path)], store, now_ms=NOW_MS).rejected == 0
    finally:
        store.close()
    return dsn


@pytest.fixture(scope="module")
def views(dsn):
    store = open_store(dsn)
    try:
        q = resolve_query(store, org_id="acme", product_id="crm", from_text=None, to_text=None)
        stored = collections.Counter(
            kind for (kind,) in store.con.execute(
                "SELECT incident_type FROM fact_incidents WHERE org_id = 'acme' AND product_id = 'crm'").fetchall())
        return {"stored": stored, "overview": overview(store, q), "hotspots": hotspots(store, q, 1000),
                "sessions": sessions_list(store, q, limit=500), "changes": changes(store, q, limit=1000)}
    finally:
        store.close()


def test_the_registry_is_the_list_of_types():
    assert INCIDENT_TYPES == tuple(kind.name for kind in INCIDENT_KINDS)
    assert len(set(INCIDENT_TYPES)) == len(INCIDENT_TYPES)
    for kind in INCIDENT_KINDS:  # each key names its column
        assert snake(kind.session_key).islower() and snake(kind.hotspot_key).islower()


def test_the_data_has_every_type(views):
    assert set(views["stored"]) == set(INCIDENT_TYPES), views["stored"]


@pytest.mark.parametrize("kind", INCIDENT_KINDS, ids=lambda k: k.name)
def test_every_type_counts_the_same_in_every_view(views, kind):
    stored = views["stored"][kind.name]
    assert views["overview"]["incidents"][kind.overview_key] == stored
    assert sum(item[kind.hotspot_key] for item in views["hotspots"]["items"]) == stored
    items = views["sessions"]["items"]
    assert len(items) == views["sessions"]["total"]  # every session on the one page
    assert sum(item[kind.session_key] for item in items) == stored
    assert kind.name in views["changes"]["signals"]


def test_the_cli_overview_names_every_type(dsn):
    out = run_cli("insights", "overview", "--store", dsn, "--org", "acme", "--product", "crm", env={"COLUMNS": "120"})
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.decode().split())
    for kind in INCIDENT_KINDS:
        assert kind.label in text, kind.label
    as_json = json.loads(run_cli("insights", "overview", "--store", dsn, "--org", "acme", "--product", "crm", "--format", "json").stdout)
    assert set(as_json["incidents"]) == {kind.overview_key for kind in INCIDENT_KINDS}


def test_the_dashboard_shows_every_type():
    source = APP_JS.read_text()
    for kind in INCIDENT_KINDS:
        # the overview's card and chart read the overview key; a session's chips the sessions key
        assert f"incidents.{kind.overview_key}" in source or f'"{kind.overview_key}"' in source, kind.name
        assert f"r.{kind.session_key}" in source, kind.name
