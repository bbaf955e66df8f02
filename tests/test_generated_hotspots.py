"""Generated traffic through the real pipeline: the places where friction was
injected come out as the top hotspots, with the symptom that was injected."""

import pytest

from frictionkit.generate import INJECTED, write_jsonl
from frictionkit.insights.query import resolve_query
from frictionkit.insights.report import hotspots, overview
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

NOW_MS = 1_900_000_000_000

SYMPTOM_FIELD = {
    "rage_click": "rageClicks",
    "backtrack": "backtracks",
    "error_click": "errors",
    "abandoned_task": "abandonedTasks",
}


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen")
    path = folder / "traffic.jsonl.gz"
    write_jsonl(str(path), sessions=600, seed=11)
    dsn = f"duckdb:///{folder}/gen.duckdb"
    store = open_store(dsn)
    report = replay([str(path)], store, now_ms=NOW_MS)
    assert report.rejected == 0 and report.sessions > 0
    yield store
    store.close()


@pytest.mark.parametrize("org, product", sorted({(o, p) for o, p, _ in INJECTED}))
def test_injected_screens_are_the_top_hotspots_with_their_symptoms(generated_store, org, product):
    q = resolve_query(generated_store, org_id=org, product_id=product, from_text=None, to_text=None)
    items = hotspots(generated_store, q, 20)["items"]
    injected = {screen: kinds for (o, p, screen), kinds in INJECTED.items() if (o, p) == (org, product)}
    top = [item["screenId"] for item in items[: len(injected)]]
    assert set(top) == set(injected), f"top hotspots {top}, injected {sorted(injected)}"
    by_screen = {item["screenId"]: item for item in items}
    others = [item for item in items if item["screenId"] not in injected]
    for screen, kinds in injected.items():
        item = by_screen[screen]
        for kind in kinds:
            field = SYMPTOM_FIELD[kind]
            # The injected symptom dominates: more than on any other screen of the product.
            assert item[field] > max((o[field] for o in others), default=0), (screen, field)
        if "rage_click" in kinds:
            assert item["rageClickRate"] > 0.3
        if "abandoned_task" in kinds:
            assert item["dropoffRate"] > max(o["dropoffRate"] for o in others)
    ov = overview(generated_store, q)
    assert ov["topHotspots"][0]["screenId"] in injected
