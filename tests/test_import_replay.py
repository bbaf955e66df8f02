"""A real process-mining log through the whole embedded pipeline: import-log,
replay with the session gap, length cut and abandonment turned off (cases span
days), then the flows from the store equal the flow core run on the cases."""

import json
import shlex

import pytest

from frictionkit.core.flows import FlowConfig, discover_flows, flows_payload
from frictionkit.importers import read_task_runs

from conftest import SHARED_DATA, run_cli


def test_helpdesk_log_replayed_as_sessions_gives_the_same_flows_as_its_cases(tmp_path):
    log = SHARED_DATA / "helpdesk.xes.gz"
    if not log.exists():
        pytest.fail(f"{log} is missing: ../shared/data must sit beside the repository")
    events = tmp_path / "helpdesk.jsonl.gz"
    proc = run_cli("import-log", str(log), "--org", "it", "--product", "helpdesk", "--task", "ticket", "--out", str(events))
    assert proc.returncode == 0, proc.stderr.decode()
    dsn = f"duckdb:///{tmp_path}/h.duckdb"
    proc = run_cli("replay", str(events), "--store", dsn, "-q", "--session-gap", "off",
                   "--max-session-length", "off", "--abandon-after", "off")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "sessions 4,580" in proc.stderr.decode().replace("\n", " ")  # one session per case

    proc = run_cli("flows", "top", "--store", dsn, "--limit", "1000", "--task", "ticket", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    from_store = json.loads(proc.stdout)["flows"]

    runs = read_task_runs(str(log))
    direct = flows_payload(discover_flows(runs, FlowConfig(), limit=1000).flows)["flows"]
    # Same variants with the same counts (ties are ranked by id, which hashes the task name too).
    assert sorted((tuple(f["path"]), f["sessions"]) for f in from_store) == sorted(
        (tuple(f["path"]), f["sessions"]) for f in direct
    )
    assert sum(f["sessions"] for f in from_store) == 4580


# --- the default path: import-log --replay, and the hint import-log prints ------------

IMPORTED_FLAGS = ["--session-gap", "off", "--max-session-length", "off", "--abandon-after", "off"]


def _running_example():
    log = SHARED_DATA / "running-example.csv"
    if not log.exists():
        pytest.fail(f"{log} is missing: ../shared/data must sit beside the repository")
    return log


def _overview(dsn):
    proc = run_cli("insights", "overview", "--store", dsn, "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_import_log_replay_makes_one_session_and_one_completed_task_per_case(tmp_path):
    dsn = f"duckdb:///{tmp_path}/re.duckdb"
    proc = run_cli("import-log", str(_running_example()), "--org", "acme", "--replay", "--store", dsn)
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode()
    assert "sessions 6 " in err.replace("\n", " ") and "6 cases, 42 of 42 events" in err
    assert err.strip().splitlines()[-1] == f"next: frictionkit flows top --org acme --product running-example --store {dsn}"
    body = _overview(dsn)
    assert (body["sessions"], body["tasks"]["started"], body["tasks"]["completed"], body["tasks"]["abandoned"]) == (6, 6, 6, 0)
    assert body["tasks"]["completionRate"] == 1.0
    assert not list(tmp_path.glob("*.jsonl"))  # the events went through a temporary file only


def test_import_log_alone_prints_the_replay_command_that_gives_one_session_per_case(tmp_path):
    events = tmp_path / "re.jsonl"
    proc = run_cli("import-log", str(_running_example()), "--out", str(events))
    assert proc.returncode == 0, proc.stderr.decode()
    hint = proc.stderr.decode().strip().splitlines()[-1]
    assert hint.startswith("next: frictionkit replay ")
    command = shlex.split(hint.removeprefix("next: frictionkit "))
    assert command[-6:] == IMPORTED_FLAGS
    hinted = f"duckdb:///{tmp_path}/hinted.duckdb"
    assert run_cli(*command, "-q", "--store", hinted).returncode == 0
    assert _overview(hinted)["sessions"] == 6
    # Why the hint matters: the live defaults cut these cases (spanning days) apart.
    plain = f"duckdb:///{tmp_path}/plain.duckdb"
    assert run_cli("replay", str(events), "-q", "--store", plain).returncode == 0
    wrong = _overview(plain)
    assert wrong["sessions"] > 6 and wrong["tasks"]["completed"] < 6


def test_import_log_store_without_replay_is_refused_in_one_line(tmp_path):
    proc = run_cli("import-log", str(_running_example()), "--store", f"duckdb:///{tmp_path}/x.duckdb")
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().strip() == "error: --store goes with --replay (without it import-log only writes events)"
