"""The ClickHouse store on the real engine (chdb, in-process, through
clickhouse-connect): writes, dedup, versions, bound parameters, errors.

chdb runs one engine directory per process at a time: every test opens its
own tmp directory and closes it before the next one opens another.
"""

import subprocess
import sys
import textwrap

import msgspec
import pytest

from frictionkit.core.metrics import CoreConfig
from frictionkit.native import session_facts
from frictionkit.store import default_dsn, open_store
from frictionkit.store.base import StoreError

from conftest import run_cli
from helpers import T0, click, nav, session, task

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

FAR = 10**13


@pytest.fixture
def ch(tmp_path):
    store = open_store(f"chdb:///{tmp_path}/ch")
    yield store
    store.close()


def _events():
    return [
        nav(0, "home", id="a1"), task(1000, "create", "start", "home", id="a2"),
        nav(2000, "edit", id="a3"), click(2500, "edit", id="a4"), click(2600, "edit", id="a5"),
        click(2700, "edit", id="a6"), nav(5000, "home", id="a7"),
        msgspec.structs.replace(click(6000, "home", id="a8"), extra={"k": "v", "n": 1.5, "b": True, "z": None},
                                received_at_ms=T0 + 6100, latency_ms=12.5, agent_id="ag", sdk_version="1.0"),
    ]


def test_insert_events_counts_only_new_ones_and_load_history_round_trips(ch):
    events = _events()
    assert not ch.has_events()
    assert ch.insert_events(events[:5]) == 5
    assert ch.has_events()
    # Already stored, new, and a duplicate inside the batch.
    assert ch.insert_events(events[3:] + [events[-1]]) == 3
    assert ch.query("SELECT count() FROM events_raw").result_rows[0][0] == len(events)
    history = ch.load_history([("org-1", "prod-1", "s-1"), ("org-1", "prod-1", "nope")])
    assert history == sorted(events, key=lambda e: (e.ts_ms, e.event_id))
    assert ch.load_history([]) == []


def _result(events):
    return session_facts([session(events)], CoreConfig())


def _reads(store):
    return (store.overview_totals("org-1", "prod-1", 0, FAR), sorted(store.screen_stats("org-1", "prod-1", 0, FAR),
            key=lambda r: r["screen_id"]), store.task_runs("org-1", "prod-1", 0, FAR, None))


def test_a_recomputed_session_replaces_its_rows_and_drops_vanished_children(ch, tmp_path):
    events = _events()
    # Version 1: the rage burst on "edit" and an abandoned task.
    v1 = _result(events)
    # Version 2 (more events, higher version): the task completes, the user never
    # visited "edit" at all in this recomputation (the child rows must vanish).
    v2 = _result([e for e in events if e.screen_id != "edit"] + [
        task(7000, "create", "complete", "home", id="b1"), click(7100, "home", id="b2"),
        click(7200, "home", id="b3"), nav(7300, "list", id="b4"), click(7400, "list", id="b5"),
        click(7500, "list", id="b6")])
    version = lambda f: f.tables["fact_sessions"]["version"][0].as_py()  # noqa: E731
    assert version(v2) > version(v1) and v1.incidents
    duck = open_store(f"duckdb:///{tmp_path}/d.duckdb")
    try:
        for store in (ch, duck):
            store.write_results(v1)
            store.write_results(v2)
            store.write_results(v2)  # a retry: the same rows again
        assert _reads(ch) == _reads(duck)
        screens = {r["screen_id"] for r in ch.screen_stats("org-1", "prod-1", 0, FAR)}
        assert "edit" not in screens and ch.overview_totals("org-1", "prod-1", 0, FAR)["sessions"] == 1
        # A stale writer delivering the old version late does not win (version, not arrival).
        ch.write_results(v1)
        assert _reads(ch) == _reads(duck)
        ch.command("OPTIMIZE TABLE fact_session_screens FINAL")
        ch.command("OPTIMIZE TABLE fact_sessions FINAL")
        assert _reads(ch) == _reads(duck)
    finally:
        duck.close()


def test_every_parameter_is_bound_not_pasted(ch):
    ch.write_results(_result(_events()))
    hostile = "org-1' OR 1=1 --"
    assert ch.overview_totals(hostile, "prod-1", 0, FAR)["sessions"] == 0
    assert ch.screen_stats(hostile, "prod-1", 0, FAR) == []
    assert ch.task_runs("org-1", "prod-1", 0, FAR, "x' OR '1'='1") == []
    assert [r.task_name for r in ch.task_runs("org-1", "prod-1", 0, FAR, "create")] == ["create"]
    assert ch.overview_totals("org-1", "prod-1", 0, FAR)["sessions"] == 1


def test_transaction_is_a_no_op_context(ch):
    with ch.transaction():
        assert ch.insert_events(_events()[:2]) == 2
    assert ch.has_events()


def test_clickhouse_url_names_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("FRICTIONKIT_STORE", raising=False)
    monkeypatch.setenv("CLICKHOUSE_URL", f"chdb:///{tmp_path}/env")
    assert default_dsn() == f"chdb:///{tmp_path}/env"
    store = open_store()
    try:
        assert store.engine == "clickhouse" and store.scopes() == []
    finally:
        store.close()


@pytest.mark.parametrize("dsn", ["http://127.0.0.1:1/frictionkit", "clickhouse://bob:s3cret@127.0.0.1:1/fk"])
def test_an_unreachable_server_is_one_clear_error_naming_the_dsn(dsn):
    with pytest.raises(StoreError) as err:
        open_store(dsn)
    message = str(err.value)
    assert "127.0.0.1:1" in message and "\n" not in message and "s3cret" not in message
    result = run_cli("insights", "overview", "--store", dsn)
    assert result.returncode == 1 and b"Traceback" not in result.stderr and b"127.0.0.1:1" in result.stderr


def test_a_chdb_dir_locked_by_another_process_says_so(tmp_path):
    path = tmp_path / "locked"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from frictionkit.store import open_store
            store = open_store("chdb:///{path}")
            print("ready", flush=True)
            sys.stdin.readline()
            store.close()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"ready"
        with pytest.raises(StoreError, match="locked by another process"):
            open_store(f"chdb:///{path}")
        result = run_cli("insights", "overview", "--store", f"chdb:///{path}")
        assert result.returncode == 1
        lines = result.stderr.decode().strip().splitlines()
        assert "locked by another process" in " ".join(lines) and "Traceback" not in result.stderr.decode()
        assert not any("DB::Exception" in line for line in lines)
    finally:
        holder.communicate(b"\n", timeout=60)
    # Once the other process is gone the directory opens (and this process can
    # still open chdb stores after the failed attempt).
    store = open_store(f"chdb:///{path}")
    store.close()


def test_missing_driver_names_the_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "clickhouse_connect", None)
    with pytest.raises(StoreError, match=r"pip install 'frictionkit\[clickhouse\]'"):
        open_store(f"chdb:///{tmp_path}/x")
