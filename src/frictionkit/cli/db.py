"""`frictionkit db init`: create or upgrade a store's schema."""

from __future__ import annotations

from typing import Optional

import typer

from .common import STORE_HELP, err_console, one_line_errors

db_app = typer.Typer(help="Store schema management.", no_args_is_help=True)


@db_app.command("init")
def init_cmd(
    store_dsn: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="ClickHouse cluster name: ON CLUSTER + Replicated engines"),
    print_sql: bool = typer.Option(False, "--print-sql", help="print the statements instead of running them"),
) -> None:
    """Apply pending migrations (idempotent)."""
    from ..store import open_store

    with one_line_errors():
        if print_sql:
            # The ClickHouse DDL (single-node, or for --cluster); nothing is run.
            from ..store.ddl import cluster_statements

            for statement in cluster_statements(cluster):
                print(statement + ";\n")
            return
        store = open_store(store_dsn, init=False)
        try:
            if cluster and getattr(store, "engine", None) != "clickhouse":
                raise ValueError(f"--cluster needs a ClickHouse server store, not {store.dsn}")
            applied = store.init_schema(cluster=cluster) if cluster else store.init_schema()
        finally:
            store.close()
    err_console.print(f"{store.dsn}: " + (f"applied {', '.join(applied)}" if applied else "schema is up to date"))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
