"""bench-ingest's summary: medians over rounds, each ratio against its own round's reference."""

from __future__ import annotations

from workshop.ingest import summarize, table


def _row(round_no, target, events_per_s, cpu_ms):
    return {"round": round_no, "target": target, "acked_events_per_s": events_per_s, "requests_per_s": events_per_s / 100,
            "p50_ms": 10.0, "p99_ms": 20.0, "requests": 1000, "ok_requests": 1000,
            "server_cpu_ms_per_request": cpu_ms, "server_rss": {"peak_mb": 60.0}}


def test_each_round_is_compared_with_its_own_reference():
    # The machine slows down in round 2: both sides drop, the ratio does not.
    rows = [_row(1, "raw", 300_000, 0.30), _row(1, "kafka", 165_000, 0.55),
            _row(2, "raw", 200_000, 0.45), _row(2, "kafka", 110_000, 0.82),
            _row(3, "raw", 310_000, 0.29), _row(3, "kafka", 150_000, 0.60)]
    by_target = {r["target"]: r for r in summarize(rows)}
    kafka = by_target["kafka"]
    assert kafka["ratios"] == [0.55, 0.55, round(150_000 / 310_000, 3)]
    assert kafka["ratio"] == 0.55  # the median round, not 150k/300k or a ratio of medians (150k/300k = 0.50)
    assert kafka["acked_events_per_s"] == 150_000 and kafka["server_cpu_ms_per_request"] == 0.60
    assert kafka["rounds"] == 3 and kafka["errors"] == 0
    assert by_target["raw"]["ratio"] == 1.0
    assert "| 0.55 | 0.55 / 0.55 / 0.48 |" in table(summarize(rows))
