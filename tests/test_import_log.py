"""Importers and import-log, validated against the reference figures of shared/data/README.md."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import msgspec
import pytest
import typer
from typer.testing import CliRunner

from frictionkit.cli.importlog import register
from frictionkit.core.flow_paths import FlowConfig
from frictionkit.core.flows import discover_flows
from frictionkit.importers import (
    ImportLogError,
    LogColumns,
    read_event_log,
    read_task_runs,
    task_runs_from_columns,
)

DATA_DIR = Path(__file__).parents[2] / "shared" / "data"
# Repeats kept and nothing cut: the setting the reference figures were computed in.
AS_REFERENCE = FlowConfig(collapse_repeats=False, max_steps=1_000_000)


def data_file(name: str) -> Path:
    path = DATA_DIR / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must provide shared/data")
        pytest.skip(f"{path} not present")
    return path


def figures(runs):
    found = discover_flows(runs, AS_REFERENCE, with_timing=False)
    largest = found.flows[0]
    return {
        "variants": len(found.flows),
        "largest": largest.sessions,
        "largest_path": largest.path,
        "edges": len(found.graph.edges),
        "edge_sum": sum(edge.count for edge in found.graph.edges),
    }


# --- reference figures (shared/data/README.md) -------------------------------------


def test_helpdesk_matches_reference():
    runs = read_task_runs(data_file("helpdesk.xes.gz"))
    assert len(runs) == 4_580 and sum(len(r.path) for r in runs) == 21_348
    assert figures(runs) == {
        "variants": 226,
        "largest": 2_366,
        "largest_path": ["Assign seriousness", "Take in charge ticket", "Resolve ticket", "Closed"],
        "edges": 55,
        "edge_sum": 16_768,
    }


def test_bpic2012_complete_events_match_reference():
    parsed = read_event_log(data_file("bpic2012.xes.gz"), LogColumns(lifecycle="COMPLETE"))
    assert (parsed.events_read, parsed.event_count, parsed.events_filtered_out) == (262_200, 164_506, 97_694)
    runs = task_runs_from_columns(parsed.case_ids, parsed.activities, parsed.timestamps_ms)
    assert len(runs) == 13_087
    result = figures(runs)
    # The README gives the count; the path is the reference library's answer too.
    assert result == {
        "variants": 4_336,
        "largest": 3_429,
        "largest_path": ["A_SUBMITTED", "A_PARTLYSUBMITTED", "A_DECLINED"],
        "edges": 138,
        "edge_sum": 151_419,
    }


def test_running_example_matches_reference():
    runs = read_task_runs(data_file("running-example.csv"))
    assert len(runs) == 6 and sum(len(r.path) for r in runs) == 42
    result = figures(runs)
    assert (result["edges"], result["edge_sum"]) == (16, 36)


# --- ordering, timestamps, layouts -------------------------------------------------

CSV_HEADER = "case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_offsets_become_utc_and_order_events_across_a_dst_change(tmp_path):
    log = write(
        tmp_path / "dst.csv",
        CSV_HEADER
        + "c1,late,2011-10-30T02:30:00+01:00,complete\n"  # 01:30 UTC
        + "c1,early,2011-10-30T02:45:00+02:00,complete\n",  # 00:45 UTC
    )
    (run,) = read_task_runs(log)
    assert run.path == ["early", "late"]
    assert run.path_ts_ms == [1319935500000, 1319938200000]
    assert run.duration_ms == 45 * 60 * 1000


def test_ties_keep_file_order_and_repeats_are_kept(tmp_path):
    log = write(
        tmp_path / "ties.csv",
        CSV_HEADER + "c,b,2020-01-01T00:00:01Z,x\nc,a,2020-01-01T00:00:00Z,x\nc,z,2020-01-01T00:00:01Z,x\n"
        "c,z,2020-01-01T00:00:01Z,x\n",
    )
    (run,) = read_task_runs(log)
    assert run.path == ["a", "b", "z", "z"]


def test_interleaved_cases_are_grouped_in_first_seen_order():
    runs = task_runs_from_columns(["2", "1", "2", "1"], ["a", "x", "b", "y"], [0, 5, 1, 3])
    assert [(r.session_id, r.path, r.path_ts_ms) for r in runs] == [("2", ["a", "b"], [0, 1]), ("1", ["y", "x"], [3, 5])]


def test_contiguous_cases_out_of_time_order_are_sorted_alone():
    # Case "1" starts later than "0" ends earlier; only case "2" is itself out of order.
    runs = task_runs_from_columns(
        ["0", "0", "1", "1", "2", "2", "2"], ["a", "b", "c", "d", "e", "f", "g"], [50, 60, 10, 20, 9, 7, 9]
    )
    assert [r.path for r in runs] == [["a", "b"], ["c", "d"], ["f", "e", "g"]]
    assert [r.duration_ms for r in runs] == [10, 10, 2]


def test_lifecycle_filter_is_case_insensitive_and_gzip_is_detected(tmp_path):
    text = CSV_HEADER + "c,a,2020-01-01T00:00:00Z,start\nc,a,2020-01-01T00:00:01Z,COMPLETE\n"
    log = tmp_path / "log.csv.gz"
    log.write_bytes(gzip.compress(text.encode()))
    parsed = read_event_log(log, LogColumns(lifecycle="complete"))
    assert (parsed.event_count, parsed.events_filtered_out) == (1, 1)


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" {ns}>
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <trace>
    <event><string key="concept:name" value="A"/><date key="time:timestamp" value="2020-01-01T00:00:00.000+01:00"/>
      <list key="meta"><string key="concept:name" value="nested, ignored"/></list></event>
    <event><string key="concept:name" value="B"/><date key="time:timestamp" value="2020-01-01T00:00:00.250+01:00"/></event>
    <string key="concept:name" value="case-after-events"/>
  </trace>
  <trace><string key="concept:name" value="no-events"/></trace>
</log>"""


@pytest.mark.parametrize("namespace", ['xmlns="http://www.xes-standard.org/"', ""])
def test_xes_with_or_without_namespace(tmp_path, namespace):
    log = write(tmp_path / "small.xes", XES.format(ns=namespace))
    (run,) = read_task_runs(log)
    assert (run.session_id, run.path, run.path_ts_ms) == ("case-after-events", ["A", "B"], [1577833200000, 1577833200250])


# --- import-log command ---------------------------------------------------------------


def invoke(*args: str):
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Throwaway app: register() adds import-log to whatever app the CLI has."""

    return CliRunner().invoke(app, ["import-log", *args])


def test_import_log_writes_valid_wire_events_in_case_order(tmp_path):
    out = tmp_path / "events.jsonl"
    result = invoke(str(data_file("running-example.csv")), "--org", "acme", "--task", "claim", "--out", str(out))
    assert result.exit_code == 0, result.output
    summary, hint = result.stderr.splitlines()
    assert "6 cases, 42 of 42 events" in summary and hint.startswith(f"next: frictionkit replay {out} --session-gap off")
    events = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
    assert len(events) == 42 + 2 * 6
    first_case = [e for e in events if e["sessionId"] == events[0]["sessionId"]]
    assert [e["eventId"] for e in first_case] == sorted(e["eventId"] for e in first_case)
    assert first_case[0]["extra"] == {"task_name": "claim", "action": "start"}
    assert first_case[-1]["extra"] == {"task_name": "claim", "action": "complete"}
    navigation = first_case[1]
    assert navigation["eventType"] == "navigation" and navigation["route"] == "/" + navigation["screenId"]
    assert navigation["ts"] == "2010-12-30T13:32:00.000Z" and navigation["orgId"] == "acme"
    assert navigation["productId"] == "running-example" and navigation["deviceType"] == "desktop"
    assert navigation["userHash"] != navigation["sessionId"]
    # Deterministic: importing again gives the same bytes.
    again = tmp_path / "again.jsonl"
    invoke(str(data_file("running-example.csv")), "--org", "acme", "--task", "claim", "--out", str(again))
    assert again.read_bytes() == out.read_bytes()


def test_import_log_events_pass_the_event_contract(tmp_path):
    contract = pytest.importorskip("frictionkit.core.contract")
    out = tmp_path / "events.jsonl.gz"
    assert invoke(str(data_file("helpdesk.xes.gz")), "--out", str(out)).exit_code == 0
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert len(lines) == 21_348 + 2 * 4_580
    for line in lines[:2000]:
        contract.decode_event_line(line, now_ms=None)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp: [str(tmp / "missing.xes")], "no such file"),
        (lambda tmp: [str(data_file("running-example.csv")), "--activity", "nope"], "no column 'nope'"),
        (lambda tmp: [str(write(tmp / "bad.xes", "<log><trace><event></trace></log>"))], "not valid XML"),
        (lambda tmp: [str(write(tmp / "bad.csv", CSV_HEADER + "c,a,yesterday,x\n"))], "line 2: bad timestamp"),
        (lambda tmp: [str(write(tmp / "x.csv", CSV_HEADER)), "--lifecycle", "c", "--out", str(tmp / "no/dir/x")],
         "cannot write"),
    ],
)
def test_import_log_errors_are_one_line_without_traceback(tmp_path, make_args, message):
    result = invoke(*make_args(tmp_path))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output


def test_reader_errors_name_the_missing_xes_attribute():
    with pytest.raises(ImportLogError, match="no trace has the case id attribute 'case:nope'"):
        read_event_log(data_file("helpdesk.xes.gz"), LogColumns(case="case:nope"))
