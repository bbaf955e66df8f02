"""Stream benchmark (commands/bench-stream): events/s through the three
processors against a raw confluent-kafka consume -> produce passthrough on the
same broker and data, and the consumer lag of a burst.

1. throughput: N events already on ``events.raw``; the passthrough (one
   process, no parsing) copies them to another topic and commits (twice: the
   first warms the broker up, the second is measured); the three
   processors (one process each, DuckDB store) run until every group has
   committed everything. events/s = N / wall time from start to drained.
2. burst: the processors run idle on fresh topics, N events are published as
   fast as the producer goes, and the lag (uncommitted messages per group) is
   sampled until it is back to zero.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid

from frictionkit.bus import kafka
from frictionkit.generate import iter_events
from frictionkit.stream.lag import total_lag, wait_drained
from frictionkit.stream.settings import PROCESSORS, StreamSettings, Topics
from workshop import loadgen
from workshop.load import process_cpu_s


def _settings(brokers: str, tmp: str, partitions: int) -> StreamSettings:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    topics = Topics.with_prefix(prefix)
    kafka.create_topics(brokers, partitions=partitions, topics=topics.all() + [prefix + "passthrough"])
    return StreamSettings(brokers=brokers, topics=topics, group_prefix=prefix, idle_after_ms=1000,
                          store_dsn=f"duckdb:///{tmp}/{prefix}duckdb")


def passthrough(settings: StreamSettings, n: int, group: str = "passthrough") -> float:
    ck = kafka.confluent()
    out_topic = settings.group_prefix + "passthrough"
    consumer = ck.Consumer(kafka.consumer_config(settings.brokers, settings.group_prefix + group,
                                                 **{"enable.auto.offset.store": True}))
    producer = ck.Producer(kafka.producer_config(settings.brokers))
    consumer.subscribe([settings.topics.raw])
    seen, started = 0, time.perf_counter()
    while seen < n:
        msgs = consumer.consume(2000, 1.0)
        for msg in msgs:
            if msg.error():
                continue
            while True:
                try:
                    producer.produce(out_topic, msg.value(), msg.key())
                    break
                except BufferError:
                    producer.poll(0.05)
            seen += 1
        producer.poll(0)
        if msgs:
            producer.flush()
            consumer.commit(asynchronous=False)
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def _spawn(settings: StreamSettings) -> list[subprocess.Popen]:
    prefix = settings.group_prefix
    procs = []
    for name in PROCESSORS:
        args = [sys.executable, "-m", "frictionkit.cli.main", "process", name, "--brokers", settings.brokers,
                "--topic-prefix", prefix, "--group-prefix", prefix, "--store", settings.store_dsn,
                "--idle-after-ms", str(settings.idle_after_ms)]
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def _broker_pid(brokers: str) -> int | None:
    """The local broker's pid, if ``commands/kafka`` started it: its pid file,
    in the state dir that script uses for the port of ``brokers``."""
    port = brokers.split(",")[0].rsplit(":", 1)[-1]
    state = os.environ.get("FRICTIONKIT_KAFKA_DIR", f"/tmp/frictionkit-kafka-{port}")
    try:
        with open(os.path.join(state, "kafka.pid")) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(120)


def _wait_joined(settings: StreamSettings, timeout: float = 60) -> None:
    """Until each group has a member with partitions (an empty commit cannot tell)."""
    admin = kafka.admin_client(settings.brokers)
    deadline = time.monotonic() + timeout
    groups = [settings.group_id(n) for n in PROCESSORS]
    while time.monotonic() < deadline:
        try:
            described = admin.describe_consumer_groups(groups)
            if all(f.result().members and all(m.assignment.topic_partitions for m in f.result().members)
                   for f in described.values()):
                return
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.3)
    raise TimeoutError("processors did not join their groups")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench-stream")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--brokers", default=kafka.brokers_from_env())
    ap.add_argument("--shape", choices=SHAPES, default="single",
                    help="events.raw messages: one event each (any producer), or as serve writes them "
                         "(the events of one 100-event request that share a key, as one batch message)")
    ap.add_argument("--out", default="docs/bench-stream.md")
    ap.add_argument("--no-burst", action="store_true", help="only the throughput part (quick comparisons)")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-stream-")
    sessions = max(1, args.events // 43)
    t = time.perf_counter()
    events = loadgen.events_from_wire(iter_events(sessions=sessions, seed=99))
    values = _messages(events, args.shape)
    n = len(events)
    print(f"generated {n:,} events ({sessions:,} sessions, {len(values):,} messages) in "
          f"{time.perf_counter() - t:.1f}s", file=sys.stderr)

    # 1. throughput on data already on the bus
    s1 = _settings(args.brokers, tmp, args.partitions)
    t = time.perf_counter()
    _publish(s1, values)
    publish_s = time.perf_counter() - t
    # A first copy warms the broker up (a JVM just started serves the first
    # pass much slower, which flattered the ratio); the second is measured.
    warmup_s = passthrough(s1, len(values), group="passthrough-warmup")
    print(f"passthrough, warm-up {n / warmup_s:,.0f} events/s", file=sys.stderr)
    ref_s = passthrough(s1, len(values))
    print(f"passthrough {n / ref_s:,.0f} events/s", file=sys.stderr)
    broker = _broker_pid(args.brokers)
    broker_cpu = process_cpu_s(broker) if broker else float("nan")
    procs = _spawn(s1)
    try:
        # From the spawn to the first lag poll that saw every group drained
        # (a second poll confirms it, and is not counted).
        proc_s = wait_drained(s1, 1200, settle_s=0.5, poll_s=0.5)
        # Read before the stop: a stopped process's /proc entry is gone.
        cpu = {name: process_cpu_s(p.pid) for name, p in zip(PROCESSORS, procs)}
        cpu["broker"] = (process_cpu_s(broker) - broker_cpu) if broker else float("nan")
    finally:
        _stop(procs)
    print(f"processors {n / proc_s:,.0f} events/s", file=sys.stderr)

    burst = None if args.no_burst else _burst(args.brokers, tmp, args.partitions, values)
    table = _table(n, len(values), args.shape, args.partitions, publish_s, ref_s, proc_s, cpu, burst)
    print(table)
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write(table)
    return 0


def _burst(brokers: str, tmp: str, partitions: int, values: list[tuple[bytes, bytes]]) -> tuple:
    """Lag of a burst on running processors: (seconds to publish it, lag when
    it was published, peak lag, seconds until every group is at lag 0)."""
    s2 = _settings(brokers, tmp, partitions)
    procs = _spawn(s2)
    samples: list[tuple[float, dict[str, int]]] = []
    try:
        _wait_joined(s2)
        t0 = time.perf_counter()
        _publish(s2, values)
        burst_s = time.perf_counter() - t0
        while True:
            lag = total_lag(s2)
            samples.append((time.perf_counter() - t0, lag))
            if not any(lag.values()) and len(samples) > 1 and not any(samples[-2][1].values()):
                break
            if time.perf_counter() - t0 > 1200:
                break
            time.sleep(1.0)
    finally:
        _stop(procs)
    at_end = min(samples, key=lambda s: abs(s[0] - burst_s))[1]
    peak = {name: max(s[1][name] for s in samples) for name in PROCESSORS}
    return burst_s, at_end, peak, samples[-1][0]


SHAPES = ("single", "batches")
REQUEST_EVENTS = 100  # events per HTTP request, as bench-ingest's load generator sends


def _messages(events: list, shape: str) -> list[tuple[bytes, bytes]]:
    """``(value, key)`` messages for ``events.raw`` in the chosen shape."""
    from frictionkit.bus.codec import bus_key, bus_messages, event_to_bus_json

    if shape == "single":
        return [(event_to_bus_json(ev), bus_key(ev)) for ev in events]
    return [(value, key) for lo in range(0, len(events), REQUEST_EVENTS)
            for key, value in bus_messages(events[lo:lo + REQUEST_EVENTS])]


def _publish(settings: StreamSettings, values: list[tuple[bytes, bytes]]) -> None:
    ck = kafka.confluent()
    producer = ck.Producer(kafka.producer_config(settings.brokers))
    for value, key in values:
        while True:
            try:
                producer.produce(settings.topics.raw, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120):
        raise kafka.KafkaUnavailable("burst not delivered")


def _table(n, messages, shape, partitions, publish_s, ref_s, proc_s, cpu, burst) -> str:
    ratio = ref_s / proc_s
    lines = [
        "# Stream benchmark",
        "",
        f"`commands/bench-stream --events {n} --shape {shape}` on one local KRaft broker, {partitions} partitions, "
        f"{os.cpu_count()} cores shared by broker, producer and processors; processors one process each, "
        "DuckDB store; idle watermark after 1 s.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| events | {n:,} |",
        f"| messages on events.raw ({'one event each' if shape == 'single' else 'serve batches'}) | {messages:,} |",
        f"| publish (idempotent producer, acks=all) | {n / publish_s:,.0f} events/s |",
        f"| reference: raw consume→produce passthrough | {n / ref_s:,.0f} events/s |",
        f"| the processors ({len(PROCESSORS)}), raw → store drained | {n / proc_s:,.0f} events/s |",
        f"| ratio to the passthrough (target ≥ 0.3) | {ratio:.2f} |",
        "| CPU per event while draining (" + " / ".join((*PROCESSORS, "broker")) + ") | "
        + " / ".join(f"{cpu[name] / n * 1e6:.1f}" for name in (*PROCESSORS, "broker")) + " µs |",
        f"| CPU used of the {os.cpu_count()} cores' capacity while draining | "
        f"{sum(cpu.values()) / (proc_s * (os.cpu_count() or 1)):.0%} |",
    ]
    if burst is not None:
        burst_s, at_end, peak, drained_s = burst
        lines += [
            f"| burst published in | {burst_s:.1f} s |",
            "| lag at the end of the burst (" + " / ".join(PROCESSORS) + ") | "
            + " / ".join(f"{at_end.get(p, 0):,}" for p in PROCESSORS) + " |",
            "| peak lag (" + " / ".join(PROCESSORS) + ") | " + " / ".join(f"{peak[p]:,}" for p in PROCESSORS) + " |",
            f"| burst start → every group at lag 0 | {drained_s:.1f} s |",
            "",
            "Lag counts messages (not events) not yet committed by a group on its input topics; the sessionizer "
            "commits",
            "no further than the first offset of a key it still holds, so its lag only reaches 0 once the",
            "idle watermark has closed and forgotten every session.",
        ]
    lines += [
        "",
        "CPU is read from /proc for each processor and for the broker (from `commands/kafka`'s pid file) between "
        "the start",
        "of the processors and the drain; it includes each process's start-up.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
