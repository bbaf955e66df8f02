"""bench-replay on a small file: every side sees every event, and the report
carries the CPU figures that make runs on a noisy machine comparable."""

from __future__ import annotations

import os

from workshop import replay as bench_replay


def test_each_side_processes_the_whole_file_and_reports_cpu(tmp_path):
    result = bench_replay.bench(3_000, str(tmp_path))
    events = result["events"]
    ours, reference, floor = result["ours"], result["reference"], result["floor"]
    assert events > 2_000
    assert ours["events"] == events
    # The generated traffic has no session over 24 h: the SQL gap split and
    # the sessionizer must agree, or the reference is not the same work.
    assert ours["sessions"] == reference["sessions"] > 0
    assert floor["rows"] == events  # the floor stored every event, so its cost is not understated
    for cpu_s in (ours["cpu_s"], reference["cpu_s"], floor["decode_cpu_s"], floor["store_cpu_s"]):
        assert cpu_s > 0


def test_cpu_budget_is_the_target_spread_over_every_core():
    assert bench_replay.cpu_budget_us(2) == 10.0
    assert bench_replay.cpu_budget_us(4, events_per_s=100_000) == 40.0
    assert bench_replay.cpu_us_per_event({"cpu_s": 3.0}, 1_000_000) == 3.0


def test_report_has_the_floor_and_the_budget(tmp_path):
    out = tmp_path / "bench.md"
    bench_replay.main(["--events", "2000", "--also", "0", "--out", str(out)])
    text = out.read_text()
    assert "ours: CPU µs/event" in text and "DuckDB SQL: CPU µs/event" in text
    floor_rows = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 7
                  and line[2].isdigit()]
    assert len(floor_rows) == 1
    cells = [c.strip() for c in floor_rows[0].strip("|").split("|")]
    decode_us, store_us, floor_us, budget_us = map(float, cells[1:5])
    assert abs(decode_us + store_us - floor_us) <= 0.11
    assert budget_us == bench_replay.cpu_budget_us(os.cpu_count() or 1)
