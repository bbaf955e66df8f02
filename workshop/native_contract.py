"""Micro-benchmark: the native contract check (frictionkit.native.check_batch)
against the Python reference (core.batch.check_batch: msgspec's typed decode
plus the contract's checks) on the same 100-event batch bodies, the ones
bench-ingest sends (workshop.load.Workload). Run by commands/bench-native.

Two mixes: every event valid (Python's one-call typed decode), and one event
in ten batches rejected (Python's per-event path, which names the bad one).
Each side is timed alone, then with the bus encoding that serve on Kafka runs
next (checked_bus_messages), since the native result is made for it. Both
sides must give every batch the same answer, or the run fails.
"""

from __future__ import annotations

import argparse
import json
import time

from frictionkit import native
from frictionkit.bus.codec import checked_bus_messages
from frictionkit.core.batch import check_batch
from workshop.load import Workload

DISTINCT = 200  # distinct bodies, cycled: 1M events would be 350 MB of JSON


def bodies(rejecting: bool) -> list[bytes]:
    workload = Workload(run="native", templates=DISTINCT)
    out = [workload.body(n) for n in range(DISTINCT)]
    if rejecting:  # every tenth batch: one event with a device type the contract does not know
        for i in range(0, DISTINCT, 10):
            doc = json.loads(out[i])
            doc["events"][i % len(doc["events"])]["deviceType"] = "tv"
            out[i] = json.dumps(doc, separators=(",", ":")).encode()
    return out


def same(a, b) -> bool:
    return (a.errors, [bytes(r) for r in a.raws], a.skew_ms, a.agent_id, a.sdk_version) == (
        b.errors, [bytes(r) for r in b.raws], b.skew_ms, b.agent_id, b.sdk_version) and a.events() == b.events()


def timed(fn, rounds: int):
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    now_ms = int(time.time() * 1000)
    print(f"{'mix / side':<58}{'wall s':>9}{'CPU s':>9}{'CPU µs/event':>14}")
    for rejecting in (False, True):
        series = bodies(rejecting)
        events = sum(len(json.loads(b)["events"]) for b in series)
        rounds = max(1, args.events // events)
        n = events * rounds
        for body in series:
            if not same(native.check_batch(body, received_at_ms=now_ms), check_batch(body, received_at_ms=now_ms)):
                raise SystemExit("bench-native: the native check and the Python reference disagree")
        mix = "1 batch in 10 with a rejected event" if rejecting else "every event valid"
        results = {}
        for side, check in (("python (core.batch.check_batch)", check_batch),
                            ("native (native.check_batch)", native.check_batch)):
            results[side] = timed(lambda: [check(b, received_at_ms=now_ms) for b in series], rounds)
            results[side + " + bus encoding"] = timed(
                lambda: [checked_bus_messages(check(b, received_at_ms=now_ms)) for b in series], rounds)
        print(f"{mix}: {n:,} events in {len(series) * rounds:,} batches")
        for side, (wall, cpu) in results.items():
            print(f"  {side:<56}{wall:>9.3f}{cpu:>9.3f}{cpu / n * 1e6:>14.3f}")
        py, nat = results["python (core.batch.check_batch)"], results["native (native.check_batch)"]
        py_bus = results["python (core.batch.check_batch) + bus encoding"]
        nat_bus = results["native (native.check_batch) + bus encoding"]
        print(f"  ratio python/native: check {py[1] / nat[1]:.1f}x CPU, check + bus encoding {py_bus[1] / nat_bus[1]:.1f}x CPU")


if __name__ == "__main__":
    main()
