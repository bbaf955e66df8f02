"""A real process-mining log through the whole embedded pipeline: import-log,
replay with the session gap, length cut and abandonment turned off (cases span
days), then the flows from the store equal the flow core run on the cases."""

import json

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
