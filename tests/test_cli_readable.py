"""Numbers a newcomer reads without a calculator (issue 20.6 and 20.7):
durations as "12 min 5 s" and "1d 4h" in tables, Mermaid and DOT while JSON
keeps the numbers; a replayed-again file is "already stored"; the window
header says the window as asked; clicks on errors are not error events."""

from __future__ import annotations

import json
import re

import pytest

from conftest import FIXTURES, run_cli
from frictionkit.core.timefmt import format_duration_ms

SECOND, MINUTE, HOUR = 1000, 60_000, 3_600_000


@pytest.mark.parametrize("ms, text", [
    (None, "—"), (0, "0 ms"), (850, "850 ms"), (4_200, "4.2 s"), (59_900, "59.9 s"), (60_000, "1 min"),
    (12 * MINUTE + 5 * SECOND, "12 min 5 s"), (3 * HOUR + 20 * MINUTE + 40 * SECOND, "3h 21 min"),
    (2 * HOUR, "2h"), (28 * HOUR, "1d 4h"), (3 * 24 * HOUR + 10 * MINUTE, "3d"),
])
def test_durations_read_in_two_units_at_most(ms, text):
    assert format_duration_ms(ms) == text


def _event(i: int, ts: str, screen: str, **fields) -> str:
    return json.dumps({"eventId": f"c{i}", "orgId": "demo", "productId": "claims", "sessionId": "s1",
                       "userHash": "u1", "ts": ts, "eventType": "navigation", "screenId": screen,
                       "route": "/" + screen, "deviceType": "desktop", **fields})


@pytest.fixture(scope="module")
def long_claim(tmp_path_factory):
    """One claim handled over 28 hours: intake, review 12 min 5 s later, approval the next day."""
    folder = tmp_path_factory.mktemp("claim")
    task = {"eventType": "custom"}
    lines = [
        _event(1, "2026-11-02T08:00:00.000Z", "intake"),
        _event(2, "2026-11-02T08:00:01.000Z", "intake", **task, extra={"task_name": "claim", "action": "start"}),
        _event(3, "2026-11-02T08:12:06.000Z", "review"),
        _event(4, "2026-11-03T12:00:00.000Z", "approve"),
        _event(5, "2026-11-03T12:00:01.000Z", "approve", **task, extra={"task_name": "claim", "action": "complete"}),
    ]
    (folder / "claim.jsonl").write_text("\n".join(lines) + "\n")
    dsn = f"duckdb:///{folder}/claim.duckdb"
    proc = run_cli("replay", str(folder / "claim.jsonl"), "--store", dsn, "-q", "--session-gap", "off",
                   "--max-session-length", "off", "--abandon-after", "off")
    assert proc.returncode == 0, proc.stderr.decode()
    return dsn


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    dsn = f"duckdb:///{tmp_path_factory.mktemp('small')}/small.duckdb"
    proc = run_cli("replay", str(FIXTURES / "small.jsonl"), "--store", dsn, "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    return dsn


def cli(dsn: str, *args: str) -> str:
    proc = run_cli(*args, "--store", dsn, env={"COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_graph_durations_in_table_mermaid_and_dot_json_keeps_numbers(long_claim):
    graph = json.loads(cli(long_claim, "flows", "graph", "--format", "json"))
    medians = {(e["from"], e["to"]): e["medianMs"] for e in graph["edges"]}
    assert medians == {("intake", "review"): 12 * MINUTE + 5 * SECOND, ("review", "approve"): 100_074_000}
    table = cli(long_claim, "flows", "graph")
    assert re.search(r"intake\s+review\s+1\s+12 min 5 s", table), table
    assert re.search(r"review\s+approve\s+1\s+1d 4h", table), table
    mermaid = cli(long_claim, "flows", "graph", "--format", "mermaid")
    assert '-->|"1 · 12 min 5 s"|' in mermaid and '-->|"1 · 1d 4h"|' in mermaid
    dot = cli(long_claim, "flows", "graph", "--format", "dot")
    assert '[label="1 · 12 min 5 s"]' in dot and '[label="1 · 1d 4h"]' in dot
    assert "725000" not in table + mermaid + dot


def test_flow_durations_in_the_top_table(long_claim):
    (flow,) = json.loads(cli(long_claim, "flows", "top", "--format", "json"))["flows"]
    assert flow["avgDurationSec"] == flow["medianDurationSec"] == 28 * 3600
    row = next(line for line in cli(long_claim, "flows", "top").splitlines() if line.startswith("claim"))
    assert row.split()[-4:] == ["1d", "4h", "1d", "4h"]  # avg, median


def test_hotspots_time_per_view_is_a_duration(small):
    items = json.loads(cli(small, "insights", "hotspots", "--format", "json"))["items"]
    table = cli(small, "insights", "hotspots")
    deal = next(i for i in items if i["screenId"] == "deal-edit")
    assert round(deal["avgTimeSpentMs"], 1) == 10666.7  # docs/golden.md
    row = next(line for line in table.splitlines() if line.startswith("deal-edit"))
    assert "10.7 s" in row


def test_a_file_replayed_again_is_already_stored(tmp_path):
    dsn = f"duckdb:///{tmp_path}/again.duckdb"
    first = run_cli("replay", str(FIXTURES / "small.jsonl"), "--store", dsn, "-q").stderr.decode()
    assert "accepted 22 (21 new, 1 already stored)" in first  # e.g. f3 is in the file twice
    again = run_cli("replay", str(FIXTURES / "small.jsonl"), "--store", dsn, "-q")
    assert again.returncode == 0
    err = again.stderr.decode()
    assert "all 22 already stored" in err and "duplicates" not in err and "accepted" not in err


def _header(out: str) -> str:
    return out.splitlines()[0]


def test_window_header_shows_the_window_as_asked(small):
    to_only = _header(cli(small, "insights", "overview", "--to", "2026-11-05"))
    assert "→ 2026-11-05" in to_only and "2026-11-06" not in to_only
    both = _header(cli(small, "insights", "overview", "--from", "2026-11-01", "--to", "2026-11-02"))
    assert "2026-11-01 → 2026-11-02" in both and "2026-11-03" not in both
    payload = json.loads(cli(small, "insights", "overview", "--format", "json", "--to", "2026-11-02"))
    assert payload["to"] == "2026-11-03T00:00:00.000Z"  # JSON keeps the exclusive end


def test_window_header_without_dates_is_the_range_of_the_data(long_claim):
    # The only session starts on 2026-11-02 and runs into 2026-11-03.
    header = _header(cli(long_claim, "insights", "overview"))
    assert "all dates (sessions 2026-11-02 → 2026-11-02)" in header, header


def test_clicks_on_errors_and_error_events_have_their_own_labels(small):
    overview = cli(small, "insights", "overview")
    assert re.search(r"clicks on errors\s+1\b", overview), overview  # docs/golden.md: one click an error followed
    assert "error clicks" not in overview
    hotspots = cli(small, "insights", "hotspots")
    deal = next(line for line in hotspots.splitlines() if line.startswith("deal-edit"))
    rows = hotspots.splitlines()
    symptoms = " ".join(rows[rows.index(deal):rows.index(deal) + 4])
    assert "1 error event" in symptoms, hotspots
    assert "error click" not in hotspots
