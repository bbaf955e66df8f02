"""The one store sink (pipeline.storesink) the embedded pipeline and the stream
aggregator write with: one transaction per flush, events then facts; a refused
batch held again with a growing backoff and written whole later; written
behind, in order, one step behind."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest

from frictionkit.core.model import Session
from frictionkit.pipeline.storesink import Backoff, SinkUnavailable, StoreSink
from frictionkit.store import open_store
from frictionkit.store.base import StoreError

from helpers import ORG, PRODUCT, SECOND, ev, nav

TP0, TP1 = ("events.sessionized", 0), ("events.sessionized", 1)


def _session(sid: str) -> Session:
    events = [nav(0, "home", session=sid, id=f"{sid}-0"), ev(SECOND, "click", "home", session=sid, id=f"{sid}-1")]
    return Session(ORG, PRODUCT, sid, sid, 1, events)


class _Recording:
    """A real DuckDB store that records its calls and refuses while ``down`` is set."""

    def __init__(self, dsn: str) -> None:
        self.real = open_store(dsn)
        self.calls: list[str] = []
        self.down = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def __getattr__(self, name):
        return getattr(self.real, name)

    @contextmanager
    def transaction(self):
        self.gate.wait()
        self.calls.append("begin")
        with self.real.transaction():
            yield
        self.calls.append("commit")

    def insert_events(self, events, assume_new=False, *, table=None):
        if self.down.is_set():
            raise StoreError("connection refused\nsecond line")
        self.calls.append(f"events:{len(events)}")
        return self.real.insert_events(events, assume_new, table=table)

    def write_results(self, facts, replace=True):
        self.calls.append(f"facts:{facts.sessions}")
        return self.real.write_results(facts, replace)

    def counts(self) -> tuple[int, int]:
        con = self.real.con
        return (con.execute("SELECT count(*) FROM events_raw").fetchone()[0],
                con.execute("SELECT count(*) FROM fact_sessions").fetchone()[0])


@pytest.fixture
def store(tmp_path):
    recording = _Recording(f"duckdb:///{tmp_path}/sink.duckdb")
    yield recording
    recording.real.close()


def _add(sink: StoreSink, tp, sid: str) -> None:
    session = _session(sid)
    sink.add(tp, events=session.events, sessions=[session])


def test_one_flush_is_one_transaction_events_then_facts_of_every_partition(store) -> None:
    sink = StoreSink(store)
    sink.assign([TP0, TP1])
    _add(sink, TP0, "a")
    _add(sink, TP1, "b")
    _add(sink, TP1, "c")
    assert sink.held() == 3
    assert sink.flush() is False
    assert store.calls == ["begin", "events:6", "facts:3", "commit"]
    assert store.counts() == (6, 3) and sink.held() == 0


def test_a_refused_batch_is_held_again_with_a_growing_backoff_and_written_whole_later(store) -> None:
    sink = StoreSink(store, hold_refused=True, backoff=Backoff(initial_s=0.5, max_s=1.5))
    sink.assign([TP0, TP1])
    _add(sink, TP0, "a")
    store.down.set()
    waits = []
    for _ in range(4):
        with pytest.raises(SinkUnavailable, match="^connection refused$") as refused:
            sink.flush()
        waits.append(refused.value.retry_after_s)
        _add(sink, TP1, f"late{len(waits)}")  # keeps arriving meanwhile
    assert waits == [0.5, 1.0, 1.5, 1.5]
    assert sink.held() == 5 and store.counts() == (0, 0)
    store.down.clear()
    assert sink.flush() is False
    # Nothing lost, nothing twice; the held batch and what came since in one transaction.
    assert store.counts() == (10, 5)
    assert store.calls[-4:] == ["begin", "events:10", "facts:5", "commit"]
    assert sink.held() == 0 and sink.down_since_s is None


def test_a_revoked_partitions_refused_batch_is_left_to_its_next_owner(store) -> None:
    sink = StoreSink(store, hold_refused=True)
    sink.assign([TP0, TP1])
    _add(sink, TP0, "a")
    _add(sink, TP1, "b")
    store.down.set()
    with pytest.raises(SinkUnavailable):
        sink.flush()
    sink.revoke([TP1])
    store.down.clear()
    sink.flush()
    assert store.counts() == (2, 1)


def test_without_hold_the_stores_own_error_is_raised_and_the_batch_dropped(store) -> None:
    sink = StoreSink(store)
    sink.assign([TP0])
    _add(sink, TP0, "a")
    store.down.set()
    with pytest.raises(StoreError, match="connection refused"):
        sink.flush()
    assert sink.held() == 0


def test_written_behind_flush_returns_before_the_write_and_the_next_waits_for_it(store) -> None:
    sink = StoreSink(store, write_behind=True, hold_refused=True)
    sink.assign([TP0])
    store.gate.clear()  # the writer thread blocks at its transaction
    _add(sink, TP0, "a")
    assert sink.flush(final=False) is True  # handed over, still being written
    assert not sink.idle and store.counts() == (0, 0)
    _add(sink, TP0, "b")
    flushed = threading.Thread(target=lambda: sink.flush(final=False))
    flushed.start()
    flushed.join(0.3)
    assert flushed.is_alive(), "the next flush must wait for the batch being written"
    store.gate.set()
    flushed.join()
    sink.settle()
    assert sink.idle
    # In order: the first batch's transaction, then the second's.
    assert store.calls == ["begin", "events:2", "facts:1", "commit", "begin", "events:2", "facts:1", "commit"]
    assert store.counts() == (4, 2)
    sink.close()


def test_a_write_behind_that_fails_is_raised_at_the_next_flush_and_held_again(store) -> None:
    sink = StoreSink(store, write_behind=True, hold_refused=True)
    sink.assign([TP0])
    _add(sink, TP0, "a")
    store.down.set()
    assert sink.flush(final=False) is True
    _add(sink, TP0, "b")
    with pytest.raises(SinkUnavailable):
        sink.flush(final=False)
    assert sink.held() == 2  # the failed batch, back before what came since
    store.down.clear()
    assert sink.flush(final=False) is False  # the store was away: this write is waited for
    assert store.counts() == (4, 2)
    sink.close()
