"""Every CLI table read through a pipe at 80 and 120 columns (issue 20.2):
no line wider than the terminal, no task name or screen id cut, the key
columns there, no blank wrapped rows; the hidden columns named in a hint."""

from __future__ import annotations

import json
import re

import pytest

from conftest import FIXTURES, run_cli

WIDTHS = (80, 120)
# Longer than any demo name: a table that fits these at 80 columns fits real apps.
LONG_TASK = "reconcile_quarterly_invoices"
LONG_SCREEN = "billing/invoices/:invoiceId/line-items"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    dsn = f"duckdb:///{folder}/demo.duckdb"
    proc = run_cli("replay", str(FIXTURES / "demo.jsonl.gz"), "--store", dsn, "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    return dsn, ("--org", "acme", "--product", "crm")


@pytest.fixture(scope="module")
def long_names(tmp_path_factory):
    """small.jsonl with a long task name and a long screen id."""
    folder = tmp_path_factory.mktemp("long")
    text = (FIXTURES / "small.jsonl").read_text()
    events = folder / "long.jsonl"
    events.write_text(text.replace("create_deal", LONG_TASK).replace('"deal-edit"', json.dumps(LONG_SCREEN)))
    dsn = f"duckdb:///{folder}/long.duckdb"
    proc = run_cli("replay", str(events), "--store", dsn, "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    return dsn, ()


def cli(dsn: str, scope: tuple[str, ...], *args: str, columns: int = 120) -> str:
    proc = run_cli(*args, *scope, "--store", dsn, env={"COLUMNS": str(columns)})
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def check_fits(out: str, width: int) -> list[str]:
    lines = out.splitlines()
    assert lines, "no output"
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, f"wider than {width}: {too_wide}"
    assert "…" not in out, out  # rich's mark of a cut cell
    return lines


def table_body(lines: list[str]) -> list[str]:
    """The lines between the header rule and the hint (or the end)."""
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"}) + 1
    body = []
    for line in lines[start:]:
        if line.startswith("hidden:"):
            break
        body.append(line)
    return body


def header_and_hidden(lines: list[str]) -> tuple[str, list[str]]:
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    hint = next((line for line in lines if line.startswith("hidden: ")), "")
    hidden = hint[len("hidden: "):].split(" (")[0].split(", ") if hint else []
    return lines[rule - 1], hidden


def words_in(out: str) -> set[str]:
    return set(re.split(r"[\s,]+", out))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("data", ["demo", "long_names"])
def test_hotspots_fit_without_blank_rows(request, data, width):
    dsn, scope = request.getfixturevalue(data)
    out = cli(dsn, scope, "insights", "hotspots", columns=width)
    lines = check_fits(out, width)
    body = table_body(lines)
    assert all(line.strip() for line in body), "a blank row in the table:\n" + out
    header, hidden = header_and_hidden(lines)
    for key in ("screen", "sessions", "impact", "friction"):
        assert key in header.split(), header
    for name in hidden:
        assert name not in header.split()
    assert set(header.split()) - {"/"} | set(hidden) == {"screen", "sessions", "impact", "friction", "rage%", "dead%", "drop%",
                                                  "time/view", "symptoms"}
    if width == 120:
        assert not hidden, out
    assert "symptoms" not in hidden  # under the screen ("screen / symptoms") when the columns are too many
    items = json.loads(cli(dsn, scope, "insights", "hotspots", "--format", "json"))["items"]
    assert items
    for item in items:  # every screen id whole, on one line
        assert item["screenId"] in words_in(out), item["screenId"]
    errors = [i["errors"] for i in items if i["errors"]]
    assert errors and out.count(" error event") == len(errors)  # each screen's symptoms are there


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("data", ["demo", "long_names"])
def test_flows_top_keeps_task_names_median_and_dropoffs(request, data, width):
    dsn, scope = request.getfixturevalue(data)
    out = cli(dsn, scope, "flows", "top", columns=width)
    lines = check_fits(out, width)
    header, hidden = header_and_hidden(lines)
    for key in ("task", "path", "runs", "done", "median"):  # "task / path" when the task is stacked
        assert key in header.split(), header
    if width == 120:
        assert not hidden, out
    flows = json.loads(cli(dsn, scope, "flows", "top", "--format", "json"))["flows"]
    assert flows
    assert all(line.strip() for line in table_body(lines)), "a blank row in the table:\n" + out
    # a task name is never cut: each variant's first line starts with its task, whole
    tasks = [f["task"] or "(session)" for f in flows]
    assert [line.split()[0] for line in table_body(lines) if line.split()[0] in tasks] == tasks
    for f in flows:
        for screen in f["path"]:
            assert screen in words_in(out), screen
    dropped = [f for f in flows if f["dropoffs"]]
    assert dropped, "the fixture has a drop-off"
    assert out.count("drop-offs:") == len(dropped)
    for f in dropped:
        assert f["dropoffs"][0]["screenId"] in words_in(out)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("data", ["demo", "long_names"])
def test_flows_graph_and_overview_fit(request, data, width):
    dsn, scope = request.getfixturevalue(data)
    graph = json.loads(cli(dsn, scope, "flows", "graph", "--format", "json"))
    out = cli(dsn, scope, "flows", "graph", columns=width)
    lines = check_fits(out, width)
    header, hidden = header_and_hidden(lines)
    body = table_body(lines)
    assert not hidden
    if header.split() == ["from", "/", "to", "count", "median"]:  # from above to, when both do not fit side by side
        assert data == "long_names" and width == 80
        assert all(body[k].startswith("→ ") for k in range(1, len(body), 2)), out
        pairs = [(body[k].split()[0], body[k + 1].split()[1]) for k in range(0, len(body), 2)]
    else:
        assert header.split() == ["from", "to", "count", "median"], header
        pairs = [tuple(line.split()[:2]) for line in body]  # one line per edge: no screen id wrapped
    assert pairs == [(e["from"], e["to"]) for e in graph["edges"]]
    overview = cli(dsn, scope, "insights", "overview", columns=width)
    check_fits(overview, width)
    for h in json.loads(cli(dsn, scope, "insights", "overview", "--format", "json"))["topHotspots"]:
        assert h["screenId"] in words_in(overview)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("data", ["demo", "long_names"])
def test_changes_fit_with_every_screen_whole(request, data, width):
    dsn, scope = request.getfixturevalue(data)
    out = cli(dsn, scope, "insights", "changes", "--limit", "12", columns=width)
    lines = check_fits(out, width)
    header, hidden = header_and_hidden(lines)
    for key in ("screen", "signal", "now", "change"):
        assert key in header.split(), header
    assert "verdict" in header.split() or "verdict" in hidden  # the last to go, and named when it goes
    if width == 120:
        assert not hidden, out
    payload = json.loads(cli(dsn, scope, "insights", "changes", "--limit", "12", "--format", "json"))
    assert payload["items"]
    rows = table_body(lines)[:len(payload["items"])]
    # one line per item, in the payload's order, its screen id whole
    assert [line.split()[:2] for line in rows] == [[it["screenId"], it["signal"]] for it in payload["items"]]
    for edge in payload["transitions"]["rose"] + payload["transitions"]["fell"]:
        assert edge["from"] in words_in(out) and edge["to"] in words_in(out)


def test_replay_output_fits_80_columns(demo, tmp_path):
    proc = run_cli("replay", str(FIXTURES / "demo.jsonl.gz"), "--store", f"duckdb:///{tmp_path}/r.duckdb",
                   env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    check_fits(out, 80)
    assert "org / product in the store" in out and "top hotspots" in out
