"""ClickHouse DDL for one node or a cluster, derived from ``sql/clickhouse/NNN_*.sql``.

The migration files hold the single-node DDL, which is what ``chdb://`` and a
lone server run. For a cluster, each ``CREATE TABLE name`` becomes

* ``name_local ON CLUSTER c`` with the ``Replicated`` form of its engine (one
  ZooKeeper/Keeper path per shard, one replica name per server), and
* ``name ON CLUSTER c`` as a ``Distributed`` table over ``name_local``,

so the queries keep their table names. Every fact table is sharded by
session (``cityHash64(org_id, product_id, session_id)``): a session's rows and
all its versions live on one shard, which is what makes FINAL (replacing is
per shard) and the ``(session_id, version) IN`` filter of the readers correct
with ``distributed_product_mode = 'local'``.
"""

from __future__ import annotations

import re

from .base import migrations, split_statements

MIGRATIONS_TABLE = "schema_migrations"
_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
    "ENGINE = ReplacingMergeTree ORDER BY name"
)
_SESSION_SHARD = "cityHash64(org_id, product_id, session_id)"
SHARDING_KEYS = {
    "events_raw": _SESSION_SHARD,
    "fact_sessions": _SESSION_SHARD,
    "fact_incidents": _SESSION_SHARD,
    "fact_session_screens": _SESSION_SHARD,
    "fact_task_runs": _SESSION_SHARD,
    "fact_screen_hotspots": "cityHash64(org_id, product_id)",
    "mp_ux_friction_daily": "cityHash64(task_type)",
}
# Keeper paths use the server's macros; {database}/{table} are built in, {shard}
# and {replica} come from each server's <macros> section.
REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CREATE = re.compile(
    r"CREATE TABLE IF NOT EXISTS (?P<name>\w+)\s*\((?P<columns>.*)\)\s*"
    r"ENGINE\s*=\s*(?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?(?P<tail>.*)",
    re.DOTALL,
)
_ALTER = re.compile(r"ALTER TABLE (?P<name>\w+)\s+(?P<rest>.*)", re.DOTALL)


class DDLError(ValueError):
    """A migration statement the cluster transform does not understand."""


def check_cluster_name(cluster: str) -> str:
    # Identifiers cannot be bound as parameters in DDL: only a plain name gets in.
    if not _NAME.match(cluster or ""):
        raise DDLError(f"cluster name {cluster!r} must be a plain identifier (letters, digits, _)")
    return cluster


def _clustered(statement: str, cluster: str) -> list[str]:
    m = _CREATE.match(statement)
    if m:
        name, engine, args = m["name"], m["engine"], (m["args"] or "").strip()
        if name not in SHARDING_KEYS:
            raise DDLError(f"table {name} has no sharding key in store/ddl.py SHARDING_KEYS")
        engine_args = REPLICA_PATH + (f", {args}" if args else "")
        local = (
            f"CREATE TABLE IF NOT EXISTS {name}_local ON CLUSTER `{cluster}` ({m['columns']}) "
            f"ENGINE = Replicated{engine}({engine_args}){m['tail']}"
        )
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER `{cluster}` AS {name}_local "
            f"ENGINE = Distributed('{cluster}', currentDatabase(), '{name}_local', {SHARDING_KEYS[name]})"
        )
        return [local, distributed]
    m = _ALTER.match(statement)
    if m:
        # Column changes go to both: the Distributed table mirrors the local schema.
        return [f"ALTER TABLE {m['name']}_local ON CLUSTER `{cluster}` {m['rest']}",
                f"ALTER TABLE {m['name']} ON CLUSTER `{cluster}` {m['rest']}"]
    raise DDLError(f"cannot derive cluster DDL from: {statement.splitlines()[0]}")


def migrations_table_statement(cluster: str | None = None) -> str:
    if cluster is None:
        return _MIGRATIONS_DDL
    cluster = check_cluster_name(cluster)
    # One migrations log for the whole cluster (no {shard} in the path): a
    # migration is applied ON CLUSTER once and recorded once.
    return (
        f"CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER `{cluster}` "
        "(name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{replica}') "
        "ORDER BY name"
    )


def migration_statements(sql: str, cluster: str | None = None) -> list[str]:
    """The statements of one migration file, for one node or for ``cluster``."""
    statements = split_statements(sql)
    if cluster is None:
        return statements
    cluster = check_cluster_name(cluster)
    return [out for statement in statements for out in _clustered(statement, cluster)]


def migration_plan(cluster: str | None = None) -> list[tuple[str, list[str]]]:
    """(migration name, statements) in version order."""
    return [(name, migration_statements(sql, cluster)) for name, sql in migrations("clickhouse")]


def cluster_statements(cluster: str | None) -> list[str]:
    """Every statement ``db init`` runs on an empty store: the migrations log and
    all migrations, with ``ON CLUSTER``/Replicated/Distributed when ``cluster``
    is given, the single-node DDL otherwise."""
    statements = [migrations_table_statement(cluster)]
    for _, migration in migration_plan(cluster):
        statements.extend(migration)
    return statements
