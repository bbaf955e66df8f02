"""`frictionkit flows top|graph` in every format; json is exactly the HTTP payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_support import auth, client
from frictionkit.cli.main import app
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "small.jsonl"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flows")
    store = open_store(f"duckdb:///{folder}/store.duckdb")
    try:
        replay([str(SMALL)], store, now_ms=2_000_000_000_000)
    finally:
        store.close()
    return folder


def run(folder, *args):
    result = CliRunner().invoke(app, ["flows", *args, "--store", f"duckdb:///{folder}/store.duckdb"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_json_is_exactly_the_http_payload(store_dir):
    top = json.loads(run(store_dir, "top", "--format", "json"))
    graph = json.loads(run(store_dir, "graph", "--format", "json", "--task", "create_deal"))
    assert top["flows"] and graph["nodes"] and graph["edges"]
    with client(store_dir) as c:
        assert c.get("/v1/flows/top", headers=auth("k-all")).json() == top
        assert c.get("/v1/flows/graph", params={"task": "create_deal"}, headers=auth("k-all")).json() == graph
    limited = json.loads(run(store_dir, "top", "--format", "json", "--limit", "1"))
    assert limited["flows"] == top["flows"][:1]


def test_mermaid_and_dot_render_the_graph(store_dir):
    graph = json.loads(run(store_dir, "graph", "--format", "json"))
    mermaid = run(store_dir, "graph", "--format", "mermaid")
    assert mermaid.startswith("flowchart LR\n")
    assert mermaid.count("-->") == len(graph["edges"])
    for node in graph["nodes"]:
        assert f'["{node["screenId"]} ({node["visits"]})"]' in mermaid
    dot = run(store_dir, "graph", "--format", "dot")
    assert dot.startswith("digraph flows {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(graph["edges"])
    top_dot = run(store_dir, "top", "--format", "dot")
    assert top_dot.startswith("digraph flows {") and " -> " in top_dot


def test_table_and_aliases(store_dir):
    table = run(store_dir, "top")
    assert "create_deal" in table and "runs" in table
    assert "transitions" in run(store_dir, "graph")
    screens = {n["screenId"] for n in json.loads(run(store_dir, "graph", "--format", "json"))["nodes"]}
    some = sorted(screens)[0]
    aliased = json.loads(run(store_dir, "graph", "--format", "json", "--alias", f"{some}=ALIAS"))
    assert "ALIAS" in {n["screenId"] for n in aliased["nodes"]} and some not in {n["screenId"] for n in aliased["nodes"]}


def test_errors_are_one_line(store_dir):
    result = CliRunner().invoke(app, ["flows", "top", "--from", "nope", "--store", f"duckdb:///{store_dir}/store.duckdb"])
    assert result.exit_code == 1 and "from" in result.output and "Traceback" not in result.output
