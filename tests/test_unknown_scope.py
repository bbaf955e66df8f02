"""An org or product without data, and a window left open on the side that
misses the data, say so in one line (CLI exit 1; API 404 or 400 naming the
parameter), never an empty answer over a 1970 window."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_support import auth, client
from frictionkit.cli.main import app
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "small.jsonl"
KNOWN = "known org/product pairs: demo/crm, other/hr"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scopes")
    other = folder / "other.jsonl"
    other.write_text(SMALL.read_text().replace('"orgId":"demo","productId":"crm"', '"orgId":"other","productId":"hr"'))
    store = open_store(f"duckdb:///{folder}/store.duckdb")
    try:
        replay([str(SMALL), str(other)], store, now_ms=2_000_000_000_000)
    finally:
        store.close()
    return folder


def cli(folder, *args):
    result = CliRunner().invoke(app, [*args, "--store", f"duckdb:///{folder}/store.duckdb"], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("filters", "message"), [
    (["--org", "nosuch", "--product", "crm"], f"no data for org 'nosuch'; {KNOWN}"),
    (["--org", "nosuch"], f"no data for org 'nosuch'; {KNOWN}"),
    (["--org", "demo", "--product", "hr"], f"no data for product 'hr' in org 'demo'; {KNOWN}"),
    (["--product", "nosuch"], f"no data for product 'nosuch'; {KNOWN}"),
])
@pytest.mark.parametrize("command", [["insights", "overview"], ["insights", "hotspots"], ["flows", "top"]])
def test_cli_says_the_org_or_product_has_no_data_and_lists_the_pairs(store_dir, command, filters, message):
    code, out, err = cli(store_dir, *command, *filters)
    assert code == 1 and out == ""
    assert err.strip() == f"error: {message}"


def test_cli_from_after_the_data_says_so_instead_of_to_before_from(store_dir):
    code, out, err = cli(store_dir, "insights", "overview", "--org", "demo", "--from", "2027-01-01")
    assert code == 1 and out == ""
    assert "to must be after from" not in err
    assert "from 2027-01-01 is after the last session" in err and "2026-11-02" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(store_dir, "insights", "overview", "--org", "demo", "--to", "2020-01-01")
    assert code == 1 and "to 2020-01-01 is before the first session" in err
    # Both bounds given: the window is the user's, even where it holds nothing.
    code, out, _ = cli(store_dir, "insights", "overview", "--org", "demo", "--from", "2027-01-01", "--to", "2027-02-01",
                       "--format", "json")
    assert code == 0 and '"sessions": 0' in out
    code, _, err = cli(store_dir, "insights", "overview", "--org", "demo", "--from", "2027-01-02", "--to", "2027-01-01")
    assert code == 1 and "to must be after from" in err


def test_cli_known_pair_still_answers(store_dir):
    code, out, _ = cli(store_dir, "insights", "overview", "--org", "other", "--format", "json")
    assert code == 0 and '"orgId": "other"' in out and '"productId": "hr"' in out


@pytest.fixture(scope="module")
def api(store_dir):
    with client(store_dir) as c:
        yield c


ROUTES = ["/v1/insights/overview", "/v1/insights/hotspots", "/v1/flows/top", "/v1/flows/graph", "/v1/sessions"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("params", "param", "message"), [
    ({"orgId": "nosuch", "productId": "crm"}, "orgId", f"no data for org 'nosuch'; {KNOWN}"),
    ({"orgId": "nosuch"}, "orgId", f"no data for org 'nosuch'; {KNOWN}"),
    ({"orgId": "demo", "productId": "hr"}, "productId", f"no data for product 'hr' in org 'demo'; {KNOWN}"),
])
def test_api_answers_404_with_the_same_message(api, route, params, param, message):
    r = api.get(route, params=params, headers=auth("k-all"))
    assert r.status_code == 404
    assert r.json() == {"error": message, "param": param}


def test_api_session_detail_of_an_unknown_org_says_so(api):
    r = api.get("/v1/sessions/s1", params={"orgId": "nosuch", "productId": "crm"}, headers=auth("k-all"))
    assert r.status_code == 404 and r.json()["error"] == f"no data for org 'nosuch'; {KNOWN}"
    r = api.get("/v1/sessions/nope", params={"orgId": "demo", "productId": "crm"}, headers=auth("k-all"))
    assert r.status_code == 404 and r.json() == {"error": "no such session", "param": "sessionId"}


def test_api_from_after_the_data_names_from(api):
    r = api.get("/v1/insights/overview", params={"orgId": "demo", "from": "2027-01-01"}, headers=auth("k-all"))
    assert r.status_code == 400 and r.json()["param"] == "from"
    assert r.json()["error"].startswith("from 2027-01-01 is after the last session")


def test_api_lists_only_the_pairs_the_key_may_read(api, store_dir):
    # k-acme reads only acme, which has no data here: nothing of demo or other leaks.
    r = api.get("/v1/insights/overview", params={"productId": "crm"}, headers=auth("k-acme"))
    assert "demo" not in r.text and "other" not in r.text
