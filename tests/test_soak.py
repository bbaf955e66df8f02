"""Soak, CI version of commands/soak: 60 s of steady load through serve →
Kafka → the three processors (each its own `frictionkit process`) → DuckDB,
one processor restarted every 15 s (SIGTERM and SIGKILL in turn). Then every
acknowledged event is in events_raw exactly once and the insights equal a
replay of the acknowledged events. Figures of the full version: docs/reliability.md.
"""

from __future__ import annotations

import os

import pytest

from frictionkit.bus import kafka

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_soak_with_processor_restarts_loses_nothing_and_equals_replay(tmp_path):
    brokers = kafka.brokers_from_env()
    if not kafka.check_broker(brokers, timeout_s=10):
        message = f"no Kafka broker at {brokers} (start one with: commands/kafka start)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from frictionkit.bench.soak import check, run_soak, summary

    report = run_soak(tmp_path, seconds=60, restart_every=15, rate=600, brokers=brokers)
    print(summary(report))
    problems = check(report)
    assert not problems, "\n".join(problems) + "\n" + summary(report)
    assert len(report["restarts"]) >= 3
    assert {r["signal"] for r in report["restarts"]} == {"SIGTERM", "SIGKILL"}
