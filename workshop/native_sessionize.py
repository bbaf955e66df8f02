"""Micro-benchmark: the native sessionizing kernel (frictionkit.native.session_seqs)
against today's Python sessionizer (SessionizerConfig().build(), on_event for
every event, close_all) on the same generated events. Run by commands/bench-native.

Each side gets its input ready-made: the Python sessionizer a list of Event
structs, the kernel Arrow columns (key index, ts_ms, event_id). Building either
input is timed apart, since on the product path a decoder would produce one or
the other. Both sides must give every event the same session, or the run fails.
"""

from __future__ import annotations

import argparse
import random
import time

import pyarrow as pa

from frictionkit import native
from frictionkit.core.model import Event
from frictionkit.core.sessionizer import DUPLICATE, SessionizerConfig, session_id_for

MINUTE_MS = 60_000
T0_MS = 1_795_773_600_000


def generate(n_events: int, events_per_key: int, seed: int) -> list[Event]:
    """Keys of ``events_per_key`` events with gaps around the 30 min split,
    1 % duplicates, and arrival shuffled within each key."""
    rng = random.Random(seed)
    gaps_ms = [0, 1_000, 5_000, 60_000, 30 * MINUTE_MS, 30 * MINUTE_MS + 1, 2 * 60 * MINUTE_MS]
    weights = [5, 40, 30, 15, 3, 3, 4]
    events: list[Event] = []
    key = 0
    while len(events) < n_events:
        sid, t = f"s-{key:07d}", T0_MS + rng.randrange(86_400_000)
        block = []
        for i in range(min(events_per_key, n_events - len(events))):
            t += rng.choices(gaps_ms, weights)[0]
            block.append(
                Event(
                    event_id=f"{sid}-{i:04d}", org_id="org-1", product_id="crm", session_id=sid, user_hash="u",
                    ts_ms=t, event_type="click", screen_id="A", route="/a", device_type="desktop",
                )
            )
        block += [block[rng.randrange(len(block))] for _ in range(len(block) // 100)]
        rng.shuffle(block)
        events += block
        key += 1
    return events


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def python_side(events: list[Event]) -> list[str | None]:
    logic = SessionizerConfig().build()
    statuses = [logic.on_event(e) for e in events]
    where = {(e.session_id, e.event_id): s.session_id for s in logic.close_all() for e in s.events}
    return [None if s == DUPLICATE else where[(e.session_id, e.event_id)] for e, s in zip(events, statuses)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--events-per-key", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    events, gen_s, _ = timed(lambda: generate(args.events, args.events_per_key, args.seed))
    n = len(events)

    def columns():
        index: dict[str, int] = {}
        return (
            pa.array([index.setdefault(e.session_id, len(index)) for e in events], pa.int64()),
            pa.array([e.ts_ms for e in events], pa.int64()),
            pa.array([e.event_id for e in events], pa.string()),
        )

    cols, col_wall, col_cpu = timed(columns)
    seqs, nat_wall, nat_cpu = timed(lambda: native.session_seqs(*cols))
    # The Python side also builds the per-event answer; only the sessionizer
    # part (on_event + close_all) is timed for it, like the kernel alone.
    logic = SessionizerConfig().build()

    def py_sessionize():
        for e in events:
            logic.on_event(e)
        return logic.close_all()

    sessions, py_wall, py_cpu = timed(py_sessionize)

    expected = python_side(events)
    got = [None if s is None else session_id_for(e.session_id, s) for e, s in zip(events, seqs.to_pylist())]
    if got != expected:
        raise SystemExit("bench-native: the kernel and the Python sessionizer disagree")

    print(f"events {n:,} in {len(set(g for g in got if g)):,} sessions ({len(sessions):,} from Python); generated in {gen_s:.1f} s")
    print(f"{'side':<44}{'wall s':>9}{'CPU s':>9}{'CPU µs/event':>14}")
    for name, wall, cpu in [
        ("python sessionizer (on_event+close_all)", py_wall, py_cpu),
        ("native kernel (session_seqs)", nat_wall, nat_cpu),
        ("  events -> Arrow columns (not on either)", col_wall, col_cpu),
    ]:
        print(f"{name:<44}{wall:>9.3f}{cpu:>9.3f}{cpu / n * 1e6:>14.3f}")
    print(f"ratio python/native: {py_wall / nat_wall:.1f}x wall, {py_cpu / nat_cpu:.1f}x CPU")


if __name__ == "__main__":
    main()
