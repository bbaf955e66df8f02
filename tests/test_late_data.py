"""Late data is never lost from the insights (docs/semantics.md, "Late events"):
agents offline for hours send their buffered sessions, each of 30 events split
over three requests seconds apart, interleaved with live traffic of the same
product. Embedded ``serve`` over HTTP ends with the same sessions as ``replay``
of the same events: all 30 events in each, same ids and numbering."""

from __future__ import annotations

import json
import time

from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

from api_support import auth, batch, client, event

SESSIONS_SQL = ("SELECT session_id, event_count, epoch_ms(start_ts), duration_ms, frustration_score FROM fact_sessions "
                "ORDER BY session_id")


def _offline_and_live(now_ms: int) -> tuple[list[list[dict]], list[dict]]:
    """Requests in arrival order, and every event sent."""
    requests: list[list[dict]] = []
    for agent in range(3):
        t0 = now_ms - (3 + agent) * 3_600_000  # hours old
        # Two sessions per agent key 40 min apart: the late parts must keep their numbering.
        buffered = [event(t0 + i * 1000, "click", f"screen{i % 4}", session=f"off{agent}", eventId=f"off{agent}-{i}")
                    for i in range(30)]
        buffered += [event(t0 + 40 * 60_000 + i * 1000, "click", "home", session=f"off{agent}",
                           eventId=f"off{agent}-b{i}") for i in range(30)]
        for part in range(6):
            requests.append(buffered[part * 10:(part + 1) * 10])
            live_ts = now_ms - 30_000 + agent * 6_000 + part * 1000
            requests.append([event(live_ts, "click", "home", session=f"live{agent}-{part}",
                                   eventId=f"live{agent}-{part}")])
    return requests, [ev for req in requests for ev in req]


def test_buffered_sessions_hours_old_sent_in_parts_get_the_facts_replay_gives(tmp_path):
    now_ms = int(time.time() * 1000)
    requests, sent = _offline_and_live(now_ms)
    later = time.time() + 3 * 3600  # at the end every session has closed by the wall clock
    clock_s = [time.time()]
    with client(tmp_path, clock=lambda: clock_s[0]) as c:
        for req in requests:
            clock_s[0] += 2  # a few seconds apart
            r = c.post("/v1/events/batch", content=json.dumps(batch(req)).encode(),
                       headers={"Content-Type": "application/json", **auth("k-acme")})
            assert r.status_code == 200, r.text
        # Hours later by the server's clock, without a restart (a restart
        # reloads keys whose events are newer than their facts, and would
        # hide the loss): one more live event moves the watermark past all.
        clock_s[0] = later
        last = event(int(later * 1000) - 5_000, session="after", eventId="after")
        sent.append(last)
        r = c.post("/v1/events/batch", content=json.dumps(batch([last])).encode(),
                   headers={"Content-Type": "application/json", **auth("k-acme")})
        assert r.status_code == 200, r.text
        served = c.app.state.fk.access.call_sync(lambda s: s.con.execute(SESSIONS_SQL).fetchall())

    path = tmp_path / "sent.jsonl"
    path.write_text("".join(json.dumps(ev) + "\n" for ev in sent))
    store = open_store(f"duckdb:///{tmp_path}/replay.duckdb")
    replay([str(path)], store, now_ms=int(later * 1000))
    replayed = [row for row in store.con.execute(SESSIONS_SQL).fetchall() if row[0] != "after"]
    store.close()

    offline = [(row[0], row[1]) for row in replayed if row[0].startswith("off")]
    assert offline == [(f"off{a}{suffix}", 30) for a in range(3) for suffix in ("", "#2")]
    assert [row for row in served if row[0] != "after"] == replayed  # "after" is still open when served
