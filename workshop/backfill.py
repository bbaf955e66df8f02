"""What a backfill of past-dated events costs (docs/semantics.md, "Backfill cost").

Sessions of 30 events, hours or days old (``--age-hours``), go through the embedded pipeline (what replay
and embedded ``serve`` run) into DuckDB, three ways:

* ``empty``:    into an empty store, in one pass (a replay);
* ``live``:     into a store already holding live data, with the watermark at
                the wall clock (embedded serve): each session arrives whole;
* ``in-parts``: the same, but each session in three requests (an offline
                agent's retry queue): parts 2 and 3 are late, and their keys
                are recomputed from the store (pipeline/recompute.py).

    commands/bench-backfill [--events 1000000] [--live 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from frictionkit.core.model import Event
from frictionkit.core.sessionizer import SessionizerConfig
from frictionkit.pipeline.embedded import EmbeddedPipeline, PipelineConfig
from frictionkit.store import open_store

CHUNK = 10_000


def sessions(n_events: int, t0_ms: int, prefix: str) -> list[list[Event]]:
    out = []
    for s in range(n_events // 30):
        start = t0_ms + s * 1000
        out.append([Event(event_id=f"{prefix}{s}-{i}", org_id="acme", product_id="crm", session_id=f"{prefix}{s}",
                          user_hash=f"u{s % 500}", ts_ms=start + i * 1000, event_type="click",
                          screen_id=f"S{i % 5}", route=f"/s{i % 5}", device_type="desktop")
                    for i in range(30)])
    return out


def run(store, chunks: list[list[Event]], now_ms: int | None) -> tuple[float, dict]:
    """``now_ms`` None: replay's clock (event time only); else embedded serve's
    (idle rule at 0: what is due by the wall clock closes at every chunk)."""
    config = PipelineConfig(sessionizer=SessionizerConfig(idle_after_ms=None if now_ms is None else 0))
    pipeline = EmbeddedPipeline(store, config)
    t = time.perf_counter()
    for chunk in chunks:
        pipeline.process(chunk, now_ms=now_ms)
    stats = pipeline.finish()
    return time.perf_counter() - t, {"late": stats.late, "sessions": stats.sessions}


def chunked(events: list[Event]) -> list[list[Event]]:
    return [events[i:i + CHUNK] for i in range(0, len(events), CHUNK)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--live", type=int, default=200_000)
    # Under 24 h, a key's closed-session marker is still held, so parts 2 and 3
    # are late and recomputed; older, the key was forgotten and is reloaded.
    ap.add_argument("--age-hours", type=float, default=6)
    args = ap.parse_args()
    now_ms = int(time.time() * 1000)
    old = sessions(args.events, now_ms - int(args.age_hours * 3_600_000), "old")
    whole = [ev for s in old for ev in s]
    # Each session in three parts; part k of every session goes out in pass k.
    parts = [ev for k in range(3) for s in old for ev in s[k * 10:(k + 1) * 10]]
    live = [ev for s in sessions(args.live, now_ms - 3_600_000, "live") for ev in s]
    with tempfile.TemporaryDirectory() as tmp:
        for name, events, with_live, wm in (("empty", whole, False, None), ("live", whole, True, now_ms),
                                             ("in-parts", parts, True, now_ms)):
            store = open_store(f"duckdb:///{tmp}/{name}.duckdb")
            if with_live:
                run(store, chunked(live), None)
            seconds, stats = run(store, chunked(events), wm)
            facts = store.con.execute("SELECT count(*), sum(event_count) FROM fact_sessions "
                                      "WHERE session_id LIKE 'old%'").fetchone()
            store.close()
            print(f"{name:9} {len(events):>9} events {seconds:7.1f} s {len(events) / seconds:>9.0f} ev/s "
                  f"late {stats['late']:>8} sessions {facts[0]} events in facts {facts[1]}", flush=True)


if __name__ == "__main__":
    main()
