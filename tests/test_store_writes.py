"""The store's write paths on both engines: events kept once by key and id
whatever the batch holds, and facts replaced whole for sessions written again
while new sessions are only added."""

from __future__ import annotations

import msgspec
import pytest

from frictionkit.core.metrics import CoreConfig
from frictionkit.native import session_facts
from frictionkit.core.model import Session
from frictionkit.store import open_store
from frictionkit.store.arrow import EVENT_COLUMNS, events_table

from helpers import MINUTE, SECOND, ev, nav


@pytest.fixture(params=["duckdb", "chdb"])
def store(request, tmp_path):
    dsn = f"duckdb:///{tmp_path}/w.duckdb" if request.param == "duckdb" else f"chdb:///{tmp_path}/w.chdb"
    s = open_store(dsn)
    yield s
    s.close()


def _stored_ids(store) -> list[tuple[str, str, str]]:
    sql = "SELECT session_id, event_id, screen_id FROM events_raw ORDER BY session_id, event_id"
    if store.engine == "duckdb":
        return [tuple(r) for r in store.con.execute(sql).fetchall()]
    return [tuple(r) for r in store.query(sql.replace("events_raw", "events_raw FINAL")).result_rows]


def test_an_event_repeated_within_a_batch_is_kept_once_and_an_id_shared_by_two_sessions_twice(store) -> None:
    a = ev(0, session="a", id="e1")
    batch = [a, ev(SECOND, session="a", id="e2"), a, ev(0, session="b", id="e1", screen="B")]
    with store.transaction():
        assert store.insert_events(batch, assume_new=True) == 3
    with store.transaction():
        # Already stored, repeated, and one new: only the new one is added.
        assert store.insert_events([a, a, ev(2 * SECOND, session="a", id="e3")]) == 1
    assert _stored_ids(store) == [("a", "e1", "A"), ("a", "e2", "A"), ("a", "e3", "A"), ("b", "e1", "B")]


def _session(sid: str, events) -> Session:
    return Session(org_id=events[0].org_id, product_id=events[0].product_id, client_session_id=sid,
                   session_id=sid, seq=1, events=sorted(events, key=lambda e: (e.ts_ms, e.event_id)))


def _facts(store) -> dict[str, list[tuple]]:
    tables = {"fact_sessions": "session_id, event_count, rage_clicks",
              "fact_incidents": "session_id, incident_type",
              "fact_session_screens": "session_id, screen_id, views",
              "fact_task_runs": "session_id, outcome"}
    return {table: [tuple(r) for r in store.con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()]
            for table, cols in tables.items()}


def test_facts_written_again_replace_the_old_rows_and_new_sessions_are_added(tmp_path) -> None:
    # DuckDB deletes and rewrites; ClickHouse writes a new version (its
    # readers are tested by the parity tests).
    store = open_store(f"duckdb:///{tmp_path}/facts.duckdb")
    config = CoreConfig()
    rage = [nav(0, "A", session="old")] + [ev(i * 200, "click", "A", "save", session="old") for i in range(1, 5)]
    first = _session("old", rage)
    with store.transaction():
        store.write_results(session_facts([first], config))
    assert _facts(store)["fact_incidents"] == [("old", "rage_click")]
    # The same session recomputed with its clicks spread out (no rage click
    # any more, a second screen), written together with a session never seen.
    calm = [nav(0, "A", session="old")] + [ev(i * 2 * SECOND, "click", "A", "save", session="old")
                                          for i in range(1, 5)] + [nav(MINUTE, "B", session="old")]
    again = _session("old", calm)
    new = _session("new", [nav(0, "C", session="new"), ev(SECOND, "click", "C", session="new")])
    with store.transaction():
        store.write_results(session_facts([again, new], config), replace=True)
    facts = _facts(store)
    assert facts["fact_sessions"] == [("new", 2, 0), ("old", 6, 0)]
    assert facts["fact_incidents"] == []
    assert facts["fact_session_screens"] == [("new", "C", 1), ("old", "A", 1), ("old", "B", 1)]


def _awkward_events() -> list:
    """Events whose every column has something to get wrong on the way from
    JSON: quotes and non-ASCII, unset and set optional fields, float
    formats, an empty extra (stored as NULL), nested extra values."""
    return [
        ev(0, session="j", id="q\"uote", screen="Écran \u2028 ✓", label="lbl\\x", extra={"state": "focus"}),
        ev(1, session="j", id="n1", extra={"f": 1.5, "big": 1e300, "neg": -0.0, "int": 12345678901234567, "s": "é"}),
        ev(2, session="j", id="n2", extra={}, error="E42", element_type="button", device="tablet"),
        msgspec.structs.replace(ev(3, session="j", id="n3"), latency_ms=0.1 + 0.2, received_at_ms=1_795_773_600_123,
                                agent_id="agent-1", sdk_version="2.0.0", os="Linux", browser="Firefox",
                                app_name="CRM", user_hash="u" * 64),
    ]


def test_events_given_as_prepared_rows_are_stored_as_events_alone_are(tmp_path) -> None:
    """``insert_events`` with the rows ``prepare_events`` built (the sink's
    path) and without them (the store builds its own) store the same rows."""
    events = _awkward_events()
    stores = [open_store(f"duckdb:///{tmp_path}/{name}.duckdb") for name in ("prepared", "alone")]
    hints = [stores[0].prepare_events(events), None]
    for store, hint in zip(stores, hints):
        with store.transaction():
            assert store.insert_events(events, table=hint) == len(events)
    columns = ", ".join(name for name, _ in EVENT_COLUMNS)
    rows = [s.con.execute(f"SELECT {columns} FROM events_raw ORDER BY event_id").fetchall() for s in stores]
    assert rows[1] == rows[0]
    extra = [name for name, _ in EVENT_COLUMNS].index("extra")
    assert [r[extra] for r in rows[1]] == [msgspec.json.encode(events[1].extra).decode(), None, None,
                                           '{"state":"focus"}']
    # Read back, they are the events written (an empty extra is no extra).
    written = [msgspec.structs.replace(e, extra=e.extra or None) for e in events]
    assert stores[1].load_history([("org-1", "prod-1", "j")]) == sorted(written, key=lambda e: (e.ts_ms, e.event_id))
    for store in stores:
        store.close()
