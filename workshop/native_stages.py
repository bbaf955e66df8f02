"""Micro-benchmark: each native stage against the Python it replaced (the
executable reference under tests/reference/), on the same generated events
(default 1M), CPU per event. Run by commands/bench-native.

Stages, in replay's order: the sessionizer with its clock (events fed in
replay's 50,000-event chunks, advanced after each), the compute stage (facts
of every closed session), and the ``events_raw`` rows as Arrow. Each pair must
give the same result (the same sessions, the same fact tables, the same
columns), or the run fails. First, the decode of replay lines into ``Event``s
(``core.contract.decode_event_lines``, msgspec's C decoder and the contract's
checks, against ``native.decode_event_lines``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime

from frictionkit import native
from frictionkit.core.contract import decode_event_lines
from frictionkit.core.metrics import CoreConfig
from frictionkit.core.sessionizer import SessionizerConfig
from frictionkit.generate import write_jsonl
from frictionkit.store.arrow import events_table

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from reference import sessionizer as reference_sessionizer  # noqa: E402 - the reference lives with the tests
from reference.metrics import process_session as reference_process_session  # noqa: E402
from reference.tables import events_table as reference_events_table, result_tables  # noqa: E402

CHUNK = 50_000


def cpu(fn):
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def sessionize(build, events):
    logic, closed = build(SessionizerConfig()), []
    for i in range(0, len(events), CHUNK):
        chunk = events[i:i + CHUNK]
        if hasattr(logic, "on_events"):
            logic.on_events(chunk)
        else:
            for ev in chunk:
                logic.on_event(ev)
        closed += logic.advance()
    return closed + logic.close_all()


def shape(sessions):
    return [(s.session_id, s.seq, [e.event_id for e in s.events]) for s in sessions]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args, _ = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "events.jsonl")
        write_jsonl(path, sessions=max(1, args.events // 45), seed=42,
                    start=datetime.fromisoformat("2026-06-01T08:00:00+00:00"))
        with open(path, "rb") as fh:
            lines = fh.read().splitlines()
    (events, errors), ref_s = cpu(lambda: decode_event_lines(lines, now_ms=None))
    (nat_events, nat_errors), nat_s = cpu(lambda: native.decode_event_lines(lines, now_ms=None))
    if nat_events != events or nat_errors != errors or errors:
        raise SystemExit("decode: the native decode and the reference disagree")
    del lines, nat_events
    n = len(events)
    rows = [("replay lines to Events (contract decode and checks)", ref_s, nat_s)]

    ref_sessions, ref_s = cpu(lambda: sessionize(reference_sessionizer.build, events))
    nat_sessions, nat_s = cpu(lambda: sessionize(native.sessionizer, events))
    if shape(nat_sessions) != shape(ref_sessions):
        raise SystemExit("the native sessionizer and the reference disagree")
    rows.append(("sessionizer + clock", ref_s, nat_s))

    ref_tables, ref_s = cpu(lambda: result_tables([reference_process_session(s) for s in ref_sessions]))
    nat_facts, nat_s = cpu(lambda: native.session_facts(nat_sessions, CoreConfig()))
    for name, table in nat_facts.tables.items():
        if table.num_rows != ref_tables[name].num_rows:
            raise SystemExit(f"{name}: the native facts and the reference disagree")
    rows.append(("facts of closed sessions", ref_s, nat_s))

    chunks = [events[i:i + CHUNK] for i in range(0, n, CHUNK)]
    ref_cols, ref_s = cpu(lambda: [reference_events_table(c) for c in chunks])
    nat_cols, nat_s = cpu(lambda: [events_table(c) for c in chunks])
    if any(not a.equals(b) for a, b in zip(nat_cols, ref_cols)):
        raise SystemExit("events_raw columns: native and reference disagree")
    rows.append(("events_raw rows as Arrow", ref_s, nat_s))

    print(f"{n:,} events, {len(nat_sessions):,} sessions; CPU per event (process time)")
    print(f"| stage | Python reference | native | speed-up |\n|---|---:|---:|---:|")
    for name, ref, nat in rows:
        print(f"| {name} | {ref / n * 1e6:.2f} µs | {nat / n * 1e6:.2f} µs | {ref / nat:.1f}× |")


if __name__ == "__main__":
    main()
