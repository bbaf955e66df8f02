"""Replay writes each chunk on a thread of its own while the next one is
computed (pipeline.writebehind.WriteBehind). Over many chunks, runs that reload
stored history, a store that fails and a --strict stop, it must store exactly
what the one-thread pipeline stores, and never lose or hide a failure."""

from __future__ import annotations

import pytest

import frictionkit.pipeline.replay as replay_module
from frictionkit.generate import write_jsonl
from frictionkit.pipeline.embedded import EmbeddedPipeline
from frictionkit.pipeline.replay import StrictModeError, replay
from frictionkit.core.contract import decode_event_line
from frictionkit.store import open_store
from frictionkit.store.base import StoreError

from test_stream_support import assert_same_insights, store_insights

NOW_MS = 1_900_000_000_000


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "events.jsonl"
    count = write_jsonl(path, sessions=60, seed=5)
    assert count > 1500
    return path, count


def _rows(dsn: str) -> dict[str, int]:
    store = open_store(dsn)
    try:
        return {name: store.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                for name in ("events_raw", "fact_sessions", "fact_incidents", "fact_session_screens", "fact_task_runs")}
    finally:
        store.close()


def _one_thread_one_chunk(path, dsn: str) -> None:
    store = open_store(dsn)
    pipeline = EmbeddedPipeline(store)
    pipeline.process([decode_event_line(line.strip(), now_ms=NOW_MS) for line in path.read_bytes().split(b"\n") if line.strip()])
    pipeline.finish()
    store.close()


def test_many_chunks_written_behind_store_what_one_thread_stores(traffic, tmp_path, monkeypatch) -> None:
    path, count = traffic
    want = f"duckdb:///{tmp_path}/want.duckdb"
    _one_thread_one_chunk(path, want)
    monkeypatch.setattr(replay_module, "CHUNK_EVENTS", 97)  # ~20 chunks, most of them queued behind a write
    got = f"duckdb:///{tmp_path}/got.duckdb"
    for run in range(2):  # the second run reloads every key's stored history, so it waits for the writes
        store = open_store(got)
        report = replay([str(path)], store, now_ms=NOW_MS)
        store.close()
        assert report.read == count
        assert report.duplicates == (0 if run == 0 else count)
    assert _rows(got) == _rows(want)
    # Floats to 1e-9: a session written again sums in another order.
    assert_same_insights(store_insights(got), store_insights(want))


class _FailingStore:
    """A real store whose third transaction fails, as a full disk would."""

    def __init__(self, dsn: str) -> None:
        self.real = open_store(dsn)
        self.transactions = 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def transaction(self):
        self.transactions += 1
        return self.real.transaction()

    def insert_events(self, events, assume_new=False, *, table=None):
        if self.transactions == 3:
            raise StoreError("disk full")
        return self.real.insert_events(events, assume_new, table=table)


def test_a_store_failure_behind_the_replay_fails_it_and_keeps_the_chunks_before(traffic, tmp_path,
                                                                                monkeypatch) -> None:
    path, _ = traffic
    monkeypatch.setattr(replay_module, "CHUNK_EVENTS", 200)
    dsn = f"duckdb:///{tmp_path}/failing.duckdb"
    store = _FailingStore(dsn)
    with pytest.raises(StoreError, match="disk full"):
        replay([str(path)], store, now_ms=NOW_MS)
    # One transaction per chunk: chunks one and two were committed, the third
    # rolled back, and nothing after it was written.
    assert store.real.con.execute("SELECT count(*) FROM events_raw").fetchone()[0] == 400
    assert store.transactions == 3
    store.real.close()


def test_strict_stops_after_the_chunks_before_the_bad_line_are_written(traffic, tmp_path, monkeypatch) -> None:
    path, _ = traffic
    lines = path.read_bytes().splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines[:450]) + b'{"eventId": 1}\n' + b"".join(lines[450:]))
    monkeypatch.setattr(replay_module, "CHUNK_EVENTS", 100)
    dsn = f"duckdb:///{tmp_path}/strict.duckdb"
    store = open_store(dsn)
    with pytest.raises(StrictModeError, match=":451:"):
        replay([str(bad)], store, now_ms=NOW_MS, strict=True)
    store.close()  # the writer has finished: closing cannot race it
    store = open_store(dsn)
    assert store.con.execute("SELECT count(*) FROM events_raw").fetchone()[0] == 400
    store.close()
