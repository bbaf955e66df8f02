"""Benchmark: ``POST /v1/events/batch`` events/s with 100-event batches.

Three servers, one after the other, each in its own process pinned to CPU 0,
driven by the load generator (``bench.load``) in a process pinned to CPU 1,
with the same uvicorn settings (h11, no access log, log level warning):

* ``raw``: the reference, an ASGI app that only decodes the bodies (msgspec);
* ``embedded``: ``frictionkit serve`` without brokers: contract, keys, the
  embedded pipeline and a DuckDB transaction per batch before the 200;
* ``kafka``: ``frictionkit serve --brokers``: contract, keys, publish to a
  fresh ``events.raw`` topic (3 partitions) with acks=all, 200 after every
  delivery report.

The rate limit is off. Every run: a warm-up, then a closed loop of
``--connections`` connections for ``--seconds``. Results: a markdown table on
stdout and ``docs/bench-ingest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .load import RssSampler, run_client_process, start_server

ROOT = Path(__file__).resolve().parents[3]


def measure(kind: str, tmp: Path, *, seconds: float, warmup: float, connections: int, brokers: str | None = None,
            env: dict[str, str] | None = None) -> dict[str, Any]:
    """One target: start it, load it, stop it. ``kind``: raw, embedded or kafka."""
    run = f"b{uuid.uuid4().hex[:6]}"
    topic = None
    if kind == "kafka":
        from ..bus import kafka

        topic = f"bench.{run}.events.raw"
        kafka.create_topics(brokers, partitions=3, topics=[topic])
    server = start_server("raw" if kind == "raw" else "frictionkit", log_path=tmp / f"{kind}.log",
                          store=f"duckdb:///{tmp}/{kind}-{run}.duckdb", brokers=brokers if kind == "kafka" else None,
                          topic=topic, env=env)
    rss = RssSampler(server)
    load_before = os.getloadavg()[0]
    try:
        result = run_client_process(server.url, run=run, out=tmp / f"{kind}.json", connections=connections,
                                    seconds=seconds, warmup=warmup)
    finally:
        memory = rss.stop()
        server.stop()
    phase = result["phases"][0]
    return {"target": kind, **phase, "server_rss": memory, "loadavg_1m_before": round(load_before, 2)}


LABELS = {
    "raw": "raw ASGI app, decode only (reference)",
    "embedded": "`frictionkit serve`, embedded (DuckDB)",
    "kafka": "`frictionkit serve`, Kafka acks=all",
}


def table(rows: list[dict[str, Any]]) -> str:
    ref = next((r for r in rows if r["target"] == "raw"), None)
    out = ["| target | events/s | requests/s | p50 ms | p99 ms | × reference | errors | server peak RSS MB |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = f"{r['acked_events_per_s'] / ref['acked_events_per_s']:.2f}" if ref and ref["acked_events_per_s"] else "–"
        errors = r["requests"] - r["ok_requests"]
        out.append(f"| {LABELS[r['target']]} | {r['acked_events_per_s']:,.0f} | {r['requests_per_s']:,.1f} | "
                   f"{r['p50_ms']} | {r['p99_ms']} | {ratio} | {errors} | {r['server_rss']['peak_mb']} |")
    return "\n".join(out)


def write_doc(path: Path, rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    ref = next((r for r in rows if r["target"] == "raw"), None)
    verdict = []
    for r in rows:
        if r["target"] != "raw" and ref:
            ratio = r["acked_events_per_s"] / ref["acked_events_per_s"]
            verdict.append(f"* {LABELS[r['target']]}: **{ratio:.2f}×** the reference "
                           f"({'meets' if ratio >= 0.5 else 'below'} the ≥ 0.5× target).")
    text = f"""# Ingestion benchmark (`commands/bench-ingest`)

Events/s through `POST /v1/events/batch` with 100-event batches (the
generator's realistic traffic, every batch new sessions and event ids), from a
load generator in its own process on the other core (`bench/load.py`, pinned
to CPU 1; the server pinned to CPU 0), {args.connections} keep-alive
connections in a closed loop, {args.warmup:g} s warm-up then {args.seconds:g} s
measured per target. Same uvicorn settings for all (h11, no access log). Rate
limit off. A request counts when it got a 200 with every event accepted.

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {os.cpu_count()} cores,
Python {platform.python_version()}. **The machine was shared with other
engineers' test runs while this ran (1-minute load average before each run in
the JSON below), so the figures are noisy**: run `commands/bench-ingest` again
on a quiet machine for figures to quote.

{table(rows)}

{chr(10).join(verdict)}

What the targets do per batch:

* **reference**: read the body, `msgspec.json.decode` it to Python objects, answer.
* **embedded**: the key (SHA-256 + constant-time compare), the contract
  (`decode_batch`: typed decode and every §3 check), then the embedded
  pipeline (sessionizer; the batch's sessions close at once because the
  traffic is in the past: incidents, metrics, facts) and one DuckDB
  transaction (`events_raw` + fact tables) before the 200. All store work is
  on one thread, so this mode is bounded by the store, not by HTTP.
* **kafka**: the key and the contract, then one produce per event to a
  3-partition `events.raw` (idempotent producer, acks=all, lz4) and the 200
  only after every delivery report came back.

Where the time of `serve` goes, per 100-event batch on this machine
(in-process, one core): the reference's generic decode 0.10 ms; the contract's
typed decode with every check (`decode_batch`) 0.18 ms; encoding the events
for the bus (`bus/codec.event_to_bus_json`, two `format_ts_ms` per event) 0.59
ms; then 100 `produce` calls and 100 delivery callbacks in Python, and h11.
The Kafka mode is therefore CPU-bound near 600 batches/s on one core (the
broker's JVM shares both cores), far from a reference that only decodes: the
≥ 0.5× target holds only when the machine is busy enough to slow the
reference. The cheap next steps belong to the bus codec (one `receivedAt`
string per batch, a faster timestamp formatter); the embedded mode is bounded
by the store thread (one DuckDB transaction per group of batches since the
sink's group commit; ~18–20 ms per lone batch on an empty store, growing with
the store: docs/reliability.md). Figures from 07:02 and 07:23 (before group
commit): reference 399k / 419k, embedded 6.0k / 6.3k, Kafka 59k / 64k events/s.

Raw results:

```json
{json.dumps(rows, indent=1)}
```
"""
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="commands/bench-ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--targets", default="raw,embedded,kafka")
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "bench-ingest.md"), help="markdown report ('' = none)")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if "kafka" in targets:
        from ..bus import kafka

        if not kafka.check_broker(args.brokers, timeout_s=10):
            print(f"bench-ingest: no Kafka broker at {args.brokers} (commands/kafka start); skipping the kafka target",
                  file=sys.stderr)
            targets.remove("kafka")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for kind in targets:
            print(f"bench-ingest: {kind} ...", file=sys.stderr, flush=True)
            rows.append(measure(kind, Path(tmp), seconds=args.seconds, warmup=args.warmup,
                                connections=args.connections, brokers=args.brokers))
    print(table(rows))
    if args.out:
        write_doc(Path(args.out), rows, args)
        print(f"\nwritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
