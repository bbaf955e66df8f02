"""ClickHouse DDL: the single-node schema (run for real on chdb by `db init`)
and the cluster form (checked statement by statement: no cluster here)."""

import re

import pytest

from frictionkit.store.base import migrations, split_statements
from frictionkit.store.ddl import DDLError, cluster_statements, migration_statements

from conftest import run_cli

pytest.importorskip("chdb")

SPEC_TABLES = ("events_raw", "fact_sessions", "fact_incidents", "fact_session_screens", "fact_task_runs",
               "fact_screen_hotspots", "mp_ux_friction_daily")
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)(?: ON CLUSTER `\w+`)? \((.*)\)\s*ENGINE = (\w+)(.*)", re.S)
_ADD = re.compile(r"ALTER TABLE (\w+)\s+ADD COLUMN IF NOT EXISTS (\w+) (.*)", re.S)
_MORE = re.compile(r",\s*ADD COLUMN IF NOT EXISTS (\w+) ")


def _added(statement):
    """(table, [(column, type)]) of an ALTER TABLE ... ADD COLUMN statement,
    one or several columns, or None."""
    m = _ADD.match(statement)
    if not m:
        return None
    parts = _MORE.split(f"{m[2]} {m[3]}")
    first, rest = parts[0].partition(" ")[::2], parts[1:]
    return m[1], [first] + [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]


def _tables(statements):
    out = {}
    for s in statements:
        m = _CREATE.match(s)
        if m:
            columns = {}
            for line in m[2].splitlines():
                line = line.strip().rstrip(",")
                if line and not line.startswith("INDEX"):
                    name, _, typ = line.partition(" ")
                    columns[name] = typ
            out[m[1]] = {"columns": columns, "engine": m[3], "tail": m[4]}
        added = _added(s)
        if added:  # a later migration's columns, after the table's own
            for name, typ in added[1]:
                out[added[0]]["columns"][name] = typ
    return out


def _duckdb_columns():
    ddl = "\n".join(sql for _, sql in migrations("duckdb"))
    out = {}
    for s in split_statements(ddl):
        m = re.match(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)", s, re.S)
        if m:
            out[m[1]] = [line.strip().split()[0] for line in m[2].splitlines() if line.strip()]
        added = _added(s)
        if added:
            out[added[0]].extend(name for name, _ in added[1])
    return out


SINGLE = _tables(cluster_statements(None))


def test_every_spec_table_has_the_duckdb_columns():
    duck = _duckdb_columns()
    for table in SPEC_TABLES:
        if table == "fact_incidents":  # see 001_schema.sql: children carry versions
            ch = list(SINGLE[table]["columns"])
            assert "version" in ch and [c for c in ch if c != "version"] == duck[table], table
        else:  # the same columns, added by migrations in the same order
            assert list(SINGLE[table]["columns"]) == duck[table], table


def test_engines_dedup_keys_and_types():
    assert SINGLE["events_raw"]["engine"] == "ReplacingMergeTree"
    assert "ORDER BY (org_id, product_id, session_id, event_id)" in SINGLE["events_raw"]["tail"]
    for table in ("fact_sessions", "fact_incidents", "fact_session_screens", "fact_task_runs"):
        assert SINGLE[table]["engine"] == "ReplacingMergeTree" and SINGLE[table]["tail"].startswith("(version)"), table
        assert SINGLE[table]["tail"].split("ORDER BY ")[1].startswith("(org_id, product_id, session_id"), table
    assert SINGLE["fact_screen_hotspots"]["engine"] == "SummingMergeTree"
    # Additive counters only: sums and counts, never an average or a rate.
    for name in SINGLE["fact_screen_hotspots"]["columns"]:
        assert not re.search(r"avg|mean|rate|median|p\d+", name), name
    for table, spec in SINGLE.items():
        for name, typ in spec["columns"].items():
            if "DateTime" in typ:
                assert "DateTime64(3, 'UTC')" in typ, (table, name)
    assert SINGLE["events_raw"]["columns"]["org_id"] == "LowCardinality(String)"


def test_cluster_ddl_has_on_cluster_replicated_engines_and_distributed_tables():
    statements = cluster_statements("prod")
    assert all(" ON CLUSTER `prod` " in s for s in statements)
    tables = _tables(statements)
    for table in SPEC_TABLES:
        local = tables[f"{table}_local"]
        assert local["engine"] == "Replicated" + SINGLE[table]["engine"]
        assert local["tail"].startswith("('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'")
        if "(version)" in SINGLE[table]["tail"]:
            assert local["tail"].startswith("('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)")
        dist = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER")]
        assert len(dist) == 1 and f"AS {table}_local ENGINE = Distributed('prod', currentDatabase(), '{table}_local'" in dist[0]
    # A session and all its children on one shard: FINAL and the version join stay shard-local.
    for table in ("events_raw", "fact_sessions", "fact_incidents", "fact_session_screens", "fact_task_runs"):
        assert any(s.endswith("cityHash64(org_id, product_id, session_id))") and f" {table} ON" in s for s in statements)
    assert statements[0].startswith("CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER `prod`")
    assert "ReplicatedReplacingMergeTree" in statements[0]


def test_cluster_ddl_rejects_bad_names_and_alters_both_tables():
    with pytest.raises(DDLError):
        cluster_statements("prod`; DROP TABLE x; --")
    assert migration_statements("ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS x UInt8;", "c") == [
        "ALTER TABLE fact_sessions_local ON CLUSTER `c` ADD COLUMN IF NOT EXISTS x UInt8",
        "ALTER TABLE fact_sessions ON CLUSTER `c` ADD COLUMN IF NOT EXISTS x UInt8",
    ]
    with pytest.raises(DDLError):
        migration_statements("DROP TABLE fact_sessions;", "c")


def test_db_init_on_chdb_is_idempotent_and_creates_the_engines(tmp_path):
    dsn = f"chdb:///{tmp_path}/ch"
    first = run_cli("db", "init", "--store", dsn)
    assert first.returncode == 0, first.stderr
    names = [name for name, _ in migrations("clickhouse")]
    assert names[:2] == ["001_schema.sql", "002_rollups.sql"]
    assert "applied " + ", ".join(names) in " ".join(first.stderr.decode().split())
    again = run_cli("db", "init", "--store", dsn)
    assert again.returncode == 0 and "schema is up to date" in " ".join(again.stderr.decode().split())

    from frictionkit.store.clickhouse import ClickHouseStore

    store = ClickHouseStore(dsn)
    try:
        engines = dict(store.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()").result_rows)
        recorded = [r[0] for r in store.query("SELECT name FROM schema_migrations FINAL ORDER BY name").result_rows]
    finally:
        store.close()
    assert recorded == names
    for table in SPEC_TABLES:
        assert engines[table] == SINGLE[table]["engine"]


def test_a_store_at_an_older_version_is_upgraded(tmp_path, monkeypatch):
    from frictionkit.store import clickhouse
    from frictionkit.store.ddl import migration_plan

    store = clickhouse.ClickHouseStore(f"chdb:///{tmp_path}/ch")
    try:
        monkeypatch.setattr(clickhouse, "migration_plan", lambda cluster=None: migration_plan(cluster)[:1])
        assert store.init_schema() == ["001_schema.sql"]
        monkeypatch.setattr(clickhouse, "migration_plan", migration_plan)
        assert store.init_schema() == [name for name, _ in migrations("clickhouse")][1:]
        assert store.init_schema() == []
    finally:
        store.close()


def test_cluster_flag_prints_sql_or_refuses_an_embedded_store(tmp_path):
    printed = run_cli("db", "init", "--cluster", "prod", "--print-sql")
    assert printed.returncode == 0 and b"ReplicatedReplacingMergeTree" in printed.stdout
    refused = run_cli("db", "init", "--cluster", "prod", "--store", f"chdb:///{tmp_path}/ch")
    assert refused.returncode == 1 and b"Traceback" not in refused.stderr
    assert "--cluster needs a ClickHouse server" in " ".join(refused.stderr.decode().split())
