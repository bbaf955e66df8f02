"""Overload, short CI version of commands/overload (embedded serve, real HTTP,
server and load generator in separate processes on separate cores): 80 % of
the measured capacity, then 200 %, then 80 % again, 5 s each phase.

The capacity is measured closed-loop (32 connections). Until serve's
connections had Nagle turned off, every request waited ~50 ms for the
client's delayed ACK, the measure understated the server by half, and this
test had to ask for 400 % to see shedding; at 400 % of the true measure the
backlog left behind (up to four times the in-flight limit while the store
pauses) made the recovery phase shed for a second or more on a busy machine.

At 80 % every request gets a 200; at 200 % the excess is shed with 429/503
(no timeout, no connection error: never a hang); every event answered 200 is
in events_raw; the server's RSS stays bounded; 200s come back within 2 s of
the load dropping. The figures of the full version are in docs/reliability.md.
"""

from __future__ import annotations

import pytest

from workshop.overload import check, run_overload, table

pytestmark = pytest.mark.slow


def test_overload_sheds_with_503_and_never_acknowledges_what_it_did_not_store(tmp_path):
    report = run_overload(tmp_path, seconds=5, recovery_seconds=4, measure_seconds=4, high=2.0)
    print(table(report))
    problems = check(report, max_rss_mb=1024)
    assert not problems, "\n".join(problems) + "\n" + table(report) + "\n" + report["server_log_tail"]
    assert report["acked_events"] > 0
    assert report["phases"][1]["codes"].get("503", 0) > 0
