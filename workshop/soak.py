"""Soak: the distributed pipeline under steady load, processors restarted.

``frictionkit serve`` publishing to Kafka (fresh topics with a prefix of
their own, 3 partitions), the three processors as separate
``frictionkit process`` processes (own consumer groups, a DuckDB store written
by the aggregator), and the open-loop load generator (``bench.load``) at a
steady rate. Every ``--restart-every`` seconds one processor is restarted, in
turn sessionizer → metrics-aggregator, alternately with
SIGTERM (drain, flush, commit) and SIGKILL (nothing: the group hands its
partitions over and the new instance starts from the last commit).

At the end: the load stops, the processors drain (every group's lag 0; the
idle watermark closes the last sessions), stop with SIGTERM, and the store is
checked: every event acknowledged with 200 is in ``events_raw`` exactly once,
and the insights (overview and hotspots of every scope) equal a replay
(``pipeline.replay.replay`` into a fresh DuckDB) of the acknowledged events.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

from workshop.load import RssSampler, Workload, run_client_process, start_server
from workshop.verdict import finish

PROCESSORS = ["sessionizer", "metrics-aggregator"]


class Processor:
    def __init__(self, name: str, *, brokers: str, prefix: str, dsn: str, log_dir: Path) -> None:
        self.name, self.brokers, self.prefix, self.dsn, self.log_dir = name, brokers, prefix, dsn, log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"{self.name}.log", "ab")
        cmd = [sys.executable, "-m", "frictionkit.cli.main", "process", self.name, "--brokers", self.brokers,
               "--topic-prefix", self.prefix, "--group-prefix", self.prefix, "--store", self.dsn,
               "--idle-after-ms", "1500", "--session-timeout-ms", "6000", "--key-retention-min", "60"]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def insights_of(store) -> list:
    from frictionkit.insights import report
    from frictionkit.insights.query import resolve_query

    out = []
    for scope in store.scopes():
        q = resolve_query(store, org_id=scope.org_id, product_id=scope.product_id, from_text=None, to_text=None)
        out.append([scope.org_id, scope.product_id, report.overview(store, q), report.hotspots(store, q, 50)])
    return out


def differences(got: Any, want: Any, path: str = "$") -> list[str]:
    """Where two payloads differ; floats equal within 1e-9 relative (stores sum in row order)."""
    if isinstance(got, float) or isinstance(want, float):
        ok = isinstance(got, (int, float)) and isinstance(want, (int, float)) and math.isclose(got, want, rel_tol=1e-9)
        return [] if ok else [f"{path}: {got!r} != {want!r}"]
    if isinstance(got, dict) and isinstance(want, dict):
        if got.keys() != want.keys():
            return [f"{path}: keys {sorted(got)} != {sorted(want)}"]
        return [d for k in got for d in differences(got[k], want[k], f"{path}.{k}")]
    if isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)):
        if len(got) != len(want):
            return [f"{path}: {len(got)} items != {len(want)}"]
        return [d for i, (a, b) in enumerate(zip(got, want)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def _raw_has_messages(brokers: str, topic: str) -> bool:
    from frictionkit.bus import kafka

    ck = kafka.confluent()
    consumer = ck.Consumer(kafka.consumer_config(brokers, f"soak-probe-{uuid.uuid4().hex[:6]}"))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return any(consumer.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)[1] > 0 for p in partitions)
    finally:
        consumer.close()


def run_soak(tmp: Path, *, seconds: float, restart_every: float, rate: float, brokers: str,
             drain_timeout_s: float = 300, processors_first: bool = True) -> dict[str, Any]:
    """``processors_first=False`` starts the processors once events flow, so
    no partition sits idle before its first event (the trigger of soak bug 2,
    fixed; docs/reliability.md): kept to compare the two orders."""
    from frictionkit.bus import kafka
    from frictionkit.pipeline.replay import replay
    from frictionkit.store import open_store
    from frictionkit.stream import StreamSettings, Topics
    from frictionkit.stream.lag import wait_drained

    run = f"k{uuid.uuid4().hex[:6]}"
    prefix = f"soak{run}."
    topics = Topics.with_prefix(prefix)
    kafka.create_topics(brokers, partitions=3, topics=topics.all())
    dsn = f"duckdb:///{tmp}/soak.duckdb"
    templates = max(200, int(rate * seconds / 100) + 10)  # no round wraps: event time only moves forward
    server = start_server("frictionkit", log_path=tmp / "serve.log", brokers=brokers, topic=topics.raw,
                          store=f"duckdb:///{tmp}/serve-unused.duckdb", cpu=None, log_level="info")
    processors = {name: Processor(name, brokers=brokers, prefix=prefix, dsn=dsn, log_dir=tmp) for name in PROCESSORS}
    if processors_first:
        for p in processors.values():
            p.start()
    rss = RssSampler(server, interval_s=1.0)
    restarts: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    error: list[BaseException] = []

    def load() -> None:
        try:
            result.update(run_client_process(server.url, run=run, out=tmp / "load.json", cpu=None,
                                             phases=f"{rate:.0f}:{seconds}", names="steady", templates=templates,
                                             timeout=30, acked_out=tmp / "acked.txt"))
        except BaseException as err:  # noqa: BLE001
            error.append(err)

    started = time.monotonic()
    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    turn = 0
    try:
        if not processors_first:
            while loader.is_alive() and not _raw_has_messages(brokers, topics.raw):
                time.sleep(0.2)
            for p in processors.values():
                p.start()
        while loader.is_alive():
            loader.join(timeout=1.0)
            elapsed = time.monotonic() - started
            if loader.is_alive() and elapsed >= restart_every * (turn + 1) and elapsed < seconds - 2:
                name = PROCESSORS[turn % len(PROCESSORS)]
                sig = signal.SIGTERM if turn % 2 == 0 else signal.SIGKILL
                t = time.monotonic()
                code = processors[name].stop(sig)
                processors[name].start()
                restarts.append({"at_s": round(elapsed, 1), "processor": name, "signal": signal.Signals(sig).name,
                                 "exit_code": code, "stopped_in_s": round(time.monotonic() - t, 2)})
                turn += 1
        if error:
            raise error[0]
        settings = StreamSettings(brokers=brokers, topics=topics, group_prefix=prefix, store_dsn=dsn)
        drain_s = wait_drained(settings, drain_timeout_s)
    finally:
        exit_codes = {name: p.stop(signal.SIGTERM) for name, p in processors.items()}
        memory = rss.stop()
        server.stop()
    acked = [int(x) for x in (tmp / "acked.txt").read_text().split()]
    workload = Workload(run=run, templates=templates)
    replay_file = tmp / "acked.jsonl"
    encoder = msgspec.json.Encoder()
    with open(replay_file, "wb") as out:
        for n in acked:
            for ev in workload.events(n):
                out.write(encoder.encode(ev) + b"\n")
    acked_ids = {eid for n in acked for eid in workload.event_ids(n)}
    store = open_store(dsn)
    try:
        rows, distinct = store.con.execute(
            "SELECT count(*), count(DISTINCT (org_id, product_id, session_id, event_id)) FROM events_raw "
            "WHERE starts_with(event_id, ?)", [run + "-"]).fetchone()
        stored_ids = {r[0] for r in store.con.execute(
            "SELECT event_id FROM events_raw WHERE starts_with(event_id, ?)", [run + "-"]).fetchall()}
        got = insights_of(store)
        sessions = store.con.execute("SELECT count(*) FROM fact_sessions").fetchone()[0]
    finally:
        store.close()
    reference = open_store(f"duckdb:///{tmp}/replay.duckdb")
    try:
        report = replay([str(replay_file)], reference, now_ms=int(time.time() * 1000))
        want = insights_of(reference)
    finally:
        reference.close()
    diff = differences(got, want)
    phase = result["phases"][0]
    return {"run": run, "seconds": seconds, "rate_events_per_s": rate, "load": phase, "restarts": restarts,
            "processor_starts": {n: p.starts for n, p in processors.items()}, "final_exit_codes": exit_codes,
            "drain_s": round(drain_s, 1), "server_rss": memory,
            "acked_events": len(acked_ids), "events_raw_rows": rows, "events_raw_distinct": distinct,
            "acked_missing": len(acked_ids - stored_ids), "stored_not_acked": len(stored_ids - acked_ids),
            "sessions": sessions, "replay_sessions": report.sessions,
            "insights_equal_replay": not diff, "insight_differences": diff[:20]}


def check(report: dict[str, Any]) -> list[str]:
    problems = []
    load = report["load"]
    if load["ok_requests"] != load["requests"]:
        problems.append(f"not every request was acknowledged: {load['codes']} (timeouts {load['timeouts']})")
    if report["acked_missing"]:
        problems.append(f"{report['acked_missing']} acknowledged events are not in events_raw")
    if report["events_raw_rows"] != report["events_raw_distinct"]:
        problems.append(f"events_raw holds duplicates: {report['events_raw_rows']} rows, "
                        f"{report['events_raw_distinct']} distinct")
    if not report["insights_equal_replay"]:
        problems.append("insights differ from a replay of the acknowledged events:\n    "
                        + "\n    ".join(report["insight_differences"]))
    if not report["restarts"]:
        problems.append("no processor was restarted")
    return problems


def summary(report: dict[str, Any]) -> str:
    load = report["load"]
    kinds = {}
    for r in report["restarts"]:
        kinds[r["signal"]] = kinds.get(r["signal"], 0) + 1
    return "\n".join([
        "| figure | value |", "|---|---|",
        f"| duration, target rate | {report['seconds']:g} s at {report['rate_events_per_s']:,.0f} events/s |",
        f"| requests (codes) | {load['requests']:,} ({', '.join(f'{c}: {n:,}' for c, n in load['codes'].items())}) |",
        f"| ingest latency p50 / p99 | {load['p50_ms']} ms / {load['p99_ms']} ms |",
        f"| processor restarts | {len(report['restarts'])} ({', '.join(f'{k} {v}' for k, v in kinds.items())}) |",
        f"| events acknowledged | {report['acked_events']:,} |",
        f"| events_raw rows / distinct / acknowledged missing | {report['events_raw_rows']:,} / "
        f"{report['events_raw_distinct']:,} / {report['acked_missing']} |",
        f"| sessions (stream / replay) | {report['sessions']:,} / {report['replay_sessions']:,} |",
        f"| insights equal replay | {'yes' if report['insights_equal_replay'] else 'NO'} |",
        f"| drain after the load stopped | {report['drain_s']} s |",
        f"| serve RSS start / peak / end | {report['server_rss']['start_mb']} / {report['server_rss']['peak_mb']} / "
        f"{report['server_rss']['end_mb']} MB |",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="commands/soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--restart-every", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000, help="events/s, in 100-event batches")
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument("--json", help="write the full report here")
    parser.add_argument("--keep", help="keep logs and stores in this directory")
    parser.add_argument("--processors-after-load", action="store_true",
                        help="start the processors once events flow (default: before the load, as deployed)")
    args = parser.parse_args(argv)
    from frictionkit.bus import kafka

    if not kafka.check_broker(args.brokers, timeout_s=10):
        sys.exit(f"soak: no Kafka broker at {args.brokers} (commands/kafka start)")
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        report = run_soak(Path(args.keep), seconds=args.seconds, restart_every=args.restart_every, rate=args.rate,
                          brokers=args.brokers, processors_first=not args.processors_after_load)
    else:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            report = run_soak(Path(tmp), seconds=args.seconds, restart_every=args.restart_every, rate=args.rate,
                              brokers=args.brokers, processors_first=not args.processors_after_load)
    finish("soak", summary(report), report, check(report), args.json)


if __name__ == "__main__":
    main()
