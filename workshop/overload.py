"""Overload: ingestion at ~80 % of capacity, then 200 %, then 80 % again.

``frictionkit serve`` (embedded, a fresh DuckDB store) pinned to CPU 0, the
open-loop load generator (``bench.load``) pinned to CPU 1. Capacity is
measured first exactly as ``commands/bench-ingest`` does (closed loop, 100-event
batches), unless ``--capacity`` gives it. Then, open loop (a fixed schedule,
whatever the server answers; latency from the scheduled send time; a request
not answered within ``--timeout`` is a failure):

1. ``low`` (80 %) for ``--seconds``: every request must get a 200;
2. ``high`` (200 %) for ``--seconds``: the server must shed what it cannot
   take with 429/503 (admission control) — no timeouts, no connection errors;
3. ``recovery`` (80 %) for ``--recovery-seconds``: 200s again at once.

Afterwards the server is stopped and the store opened: every event of every
batch answered 200 must be in ``events_raw`` (never a 200 for an event that
was not stored). Server RSS is sampled throughout.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path
from typing import Any

from workshop.load import RssSampler, Workload, run_client_process, start_server
from workshop.verdict import finish



def stored_ids(dsn: str, run: str) -> set[str]:
    from frictionkit.store import open_store

    store = open_store(dsn)
    try:
        rows = store.con.execute("SELECT event_id FROM events_raw WHERE starts_with(event_id, ?)", [run + "-"]).fetchall()
        return {r[0] for r in rows}
    finally:
        store.close()


def recovered_after_s(phase: dict[str, Any]) -> int | None:
    """Seconds from the load dropping to the first second in which every
    request got a 200 (0: the very first second); None when none did."""
    for second, codes in sorted((int(k), v) for k, v in phase["timeline"].items()):
        if set(codes) == {"200"}:
            return second
    return None


def run_overload(tmp: Path, *, seconds: float, recovery_seconds: float, capacity: float | None = None,
                 measure_seconds: float = 10, low: float = 0.8, high: float = 2.0, timeout: float = 10.0,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    run = f"o{uuid.uuid4().hex[:6]}"
    dsn = f"duckdb:///{tmp}/overload-{run}.duckdb"
    server = start_server("frictionkit", log_path=tmp / "overload-server.log", store=dsn, env=env, log_level="info")
    rss = RssSampler(server)
    try:
        measured = None
        first = 0
        if capacity is None:
            result = run_client_process(server.url, run=run, out=tmp / "capacity.json", connections=32,
                                        seconds=measure_seconds, warmup=2)
            measured = result["phases"][0]
            capacity = measured["acked_events_per_s"]
            first = result["next_batch"]  # event time goes on from there, as live traffic's would
        rss_before = server.rss_mb()
        phases = f"{capacity * low:.0f}:{seconds},{capacity * high:.0f}:{seconds},{capacity * low:.0f}:{recovery_seconds}"
        names = f"{low:.0%},{high:.0%},recovery {low:.0%}"
        result = run_client_process(server.url, run=run, out=tmp / "overload.json", phases=phases, names=names,
                                    first=first, timeout=timeout, acked_out=tmp / "acked.txt", templates=200)
    finally:
        memory = rss.stop()
        code = server.stop()
    acked = [int(x) for x in (tmp / "acked.txt").read_text().split()] if (tmp / "acked.txt").exists() else []
    workload = Workload(run=run, templates=1)
    expected = {eid for n in acked for eid in workload.event_ids(n)}
    stored = stored_ids(dsn, run)
    missing = expected - stored
    log_tail = (tmp / "overload-server.log").read_text()[-1500:]
    return {"run": run, "capacity_events_per_s": round(capacity, 1), "capacity_measurement": measured,
            "phases": result["phases"], "server_rss": {**memory, "before_phases_mb": round(rss_before, 1)},
            "server_exit_code": code, "acked_events": len(expected), "stored_events": len(stored),
            "acked_but_not_stored": len(missing), "missing_sample": sorted(missing)[:5],
            "recovery_after_s": recovered_after_s(result["phases"][2]),
            "server_log_tail": log_tail}


def check(report: dict[str, Any], *, max_rss_mb: float = 1024) -> list[str]:
    """What the overload contract says, as a list of violations."""
    low, high, recovery = report["phases"]
    problems = []
    if low["ok_requests"] != low["requests"]:
        problems.append(f"at {low['phase']} not every request succeeded: {low['codes']}")
    shed = {c: n for c, n in high["codes"].items() if c != "200"}
    if set(shed) - {"429", "503"}:
        problems.append(f"at {high['phase']} load was shed with something else than 429/503: {high['codes']}")
    if not shed:
        problems.append(f"at {high['phase']} nothing was shed (was the load really above capacity?): {high['codes']}")
    for p in (low, high, recovery):
        if p["timeouts"] or p["connection_errors"]:
            problems.append(f"{p['phase']}: {p['timeouts']} timeouts, {p['connection_errors']} connection errors")
    if report["recovery_after_s"] is None or report["recovery_after_s"] > 2:
        problems.append(f"no recovery within 2 s of the load dropping: {recovery['timeline']}")
    if recovery["ok_requests"] < 0.95 * recovery["requests"]:
        problems.append(f"after the load dropped, less than 95 % of the requests succeeded: {recovery['codes']}")
    if report["acked_but_not_stored"]:
        problems.append(f"{report['acked_but_not_stored']} events answered 200 are not in events_raw: "
                        f"{report['missing_sample']}")
    if report["server_rss"]["peak_mb"] > max_rss_mb:
        problems.append(f"server RSS reached {report['server_rss']['peak_mb']} MB (bound {max_rss_mb} MB)")
    return problems


def table(report: dict[str, Any]) -> str:
    out = ["| phase | target events/s | requests | events acked | acked events/s | p50 ms | p99 ms | answers by code | timeouts |",
           "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for p in report["phases"]:
        codes = ", ".join(f"{c}: {n:,}" for c, n in p["codes"].items())
        out.append(f"| {p['phase']} | {p['target_events_per_s']:,.0f} | {p['requests']:,} | {p['events_acked']:,} | "
                   f"{p['acked_events_per_s']:,.0f} | {p['p50_ms']} | {p['p99_ms']} | {codes} | {p['timeouts']} |")
    r = report["server_rss"]
    out.append("")
    out.append(f"Capacity {report['capacity_events_per_s']:,.0f} events/s; server RSS {r['start_mb']} MB at start, "
               f"{r['before_phases_mb']} MB before the phases, peak {r['peak_mb']} MB, {r['end_mb']} MB at the end; "
               f"{report['acked_events']:,} events acknowledged, {report['acked_but_not_stored']} of them missing from "
               f"events_raw; recovery after {report['recovery_after_s']} s.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="commands/overload", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the 80 %% and the 200 %% phases")
    parser.add_argument("--recovery-seconds", type=float, default=15)
    parser.add_argument("--capacity", type=float, help="events/s (default: measured first, as bench-ingest does)")
    parser.add_argument("--measure-seconds", type=float, default=15)
    parser.add_argument("--timeout", type=float, default=10.0, help="client deadline per request, s")
    parser.add_argument("--json", help="write the full report here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="overload-") as tmp:
        report = run_overload(Path(tmp), seconds=args.seconds, recovery_seconds=args.recovery_seconds,
                              capacity=args.capacity, measure_seconds=args.measure_seconds, timeout=args.timeout)
    finish("overload", table(report), report, check(report), args.json)


if __name__ == "__main__":
    main()
