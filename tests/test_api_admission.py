"""Admission control of the ingest route: the in-flight limit sheds overload
with 503 at once, but a store that pauses (a DuckDB checkpoint inside a
commit) is waited out with a deeper queue (api/stall.py), since the 60-s
overload run lost 4 % of its requests at 80 % load to one such pause."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from api_support import batch, client, past_ms, session_events

from frictionkit.api.ingest import STALL_DEPTH
from frictionkit.api.stall import StallWatch


def _post(c, n: int):
    return c.post("/v1/events/batch", json=batch(session_events(past_ms(), session=f"s{n}", prefix=f"p{n}-")),
                  headers={"Authorization": "Bearer k-all"})


def _pause_store(fk) -> threading.Event:
    """Every store insert waits for the returned gate: a commit that hangs."""
    gate = threading.Event()
    real = fk.access.call_sync(lambda s: s.insert_events)

    def paused(events, assume_new=False, *, table=None):
        gate.wait(30)
        return real(events, assume_new=assume_new, table=table)

    fk.access.call_sync(lambda s: setattr(s, "insert_events", paused))
    return gate


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def test_requests_arriving_during_a_store_pause_wait_for_it_and_are_stored(tmp_path):
    with client(tmp_path, max_inflight=2) as c:
        fk = c.app.state.fk
        gate = _pause_store(fk)
        with ThreadPoolExecutor(16) as pool:
            first = pool.submit(_post, c, 0)
            _until(fk.sink.stalled, "the sink saw the pause")
            more = STALL_DEPTH * 2 - 1  # up to the deeper limit, well past the plain one
            rest = [pool.submit(_post, c, n) for n in range(1, 1 + more)]
            _until(lambda: fk.inflight == 1 + more, "every request in flight")
            gate.set()
            codes = [f.result().status_code for f in [first, *rest]]
        assert codes == [200] * (1 + more)
        stored = fk.access.call_sync(lambda s: s.con.execute("SELECT count(DISTINCT session_id) FROM events_raw").fetchone()[0])
        assert stored == 1 + more


def test_without_a_pause_the_plain_limit_sheds_at_once(tmp_path):
    with client(tmp_path, max_inflight=2) as c:
        fk = c.app.state.fk
        fk.sink.stall = StallWatch(min_stall_s=float("inf"))  # the commit is slow, but no slower than predicted
        gate = _pause_store(fk)
        with ThreadPoolExecutor(4) as pool:
            held = [pool.submit(_post, c, n) for n in range(2)]
            _until(lambda: fk.inflight == 2, "two requests in flight")
            shed = _post(c, 2)
            assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
            gate.set()
            assert [f.result().status_code for f in held] == [200, 200]


def test_stall_watch_tells_a_pause_from_a_big_commit():
    now = [0.0]
    watch = StallWatch(min_stall_s=0.25, factor=3.0, grace_s=5.0, clock=lambda: now[0])
    for _ in range(5):  # learn: 1 ms per 100 events
        watch.commit_started(100)
        now[0] += 0.001
        watch.commit_ended()
    watch.commit_started(100_000)  # a big group: ~1 s predicted
    now[0] += 2.0
    assert not watch.stalled(), "a commit as slow as its size predicts is not a pause"
    watch.commit_ended()
    watch.commit_started(100)
    now[0] += 0.3
    assert watch.stalled(), "a 100-event commit running 0.3 s is a pause"
    now[0] += 2.0
    watch.commit_ended()
    now[0] += 4.9
    assert watch.stalled(), "the backlog of the pause still drains"
    now[0] += 0.2
    assert not watch.stalled()
    watch.commit_started(100)  # the pause did not teach it that commits are slow
    now[0] += 0.3
    assert watch.stalled()
