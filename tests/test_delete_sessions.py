"""Store.delete_sessions, which a late event's recompute calls (pipeline/recompute.py):
every fact row of every session of the given keys goes, other keys' rows stay,
on both stores."""

from __future__ import annotations

import pytest

from frictionkit.core.metrics import CoreConfig
from frictionkit.native import session_facts
from frictionkit.store import open_store

from helpers import click, nav, session, task


def _results():
    a1 = [nav(0, "home", id="a1", session="a"), task(1000, "t", "start", "home", id="a2", session="a"),
          click(2000, "home", id="a3", session="a")]
    a2 = [nav(3 * 3_600_000, "home", id="a4", session="a"), click(3 * 3_600_000 + 500, "home", id="a5", session="a")]
    b1 = [nav(0, "home", id="b1", session="b"), task(1000, "t", "start", "home", id="b2", session="b")]
    return session_facts([session(a1, "a"), session(a2, "a#2", 2), session(b1, "b")], CoreConfig())


def _sessions(store):
    if store.dsn.startswith("duckdb"):
        rows = store.con.execute("SELECT session_id FROM fact_sessions").fetchall()
        runs = store.con.execute("SELECT DISTINCT session_id FROM fact_session_screens").fetchall()
    else:
        rows = store.query("SELECT session_id FROM fact_sessions FINAL").result_rows
        runs = store.query("SELECT DISTINCT session_id FROM fact_session_screens FINAL").result_rows
    return sorted(r[0] for r in rows), sorted(r[0] for r in runs)


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_delete_sessions_drops_every_session_of_the_keys_only(tmp_path, scheme):
    if scheme == "chdb":
        pytest.importorskip("chdb")
    store = open_store(f"duckdb:///{tmp_path}/d.duckdb" if scheme == "duckdb" else f"chdb:///{tmp_path}/ch")
    try:
        with store.transaction():
            store.write_results(_results(), replace=False)
        assert _sessions(store) == (["a", "a#2", "b"], ["a", "a#2", "b"])
        key = ("org-1", "prod-1", "a")
        with store.transaction():
            store.delete_sessions([key, ("org-1", "prod-1", "absent")])
        assert _sessions(store) == (["b"], ["b"])
        store.delete_sessions([])
    finally:
        store.close()
