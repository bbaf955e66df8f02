"""Stores named by DSN (SPEC §2): ``duckdb:///file``, ``chdb:///dir``,
``clickhouse://user:pass@host:8123/db`` (also ``http://`` and ``https://``)."""

from __future__ import annotations

import os

from .base import Scope, Store, StoreError

DEFAULT_DSN = "duckdb:///frictionkit.duckdb"


def default_dsn() -> str:
    """The seed's ``CLICKHOUSE_URL`` names the store when set; else the embedded default."""
    return os.environ.get("FRICTIONKIT_STORE") or os.environ.get("CLICKHOUSE_URL") or DEFAULT_DSN


def duckdb_path(rest: str) -> str:
    """``duckdb:///file.duckdb`` is relative to the working directory (the
    default), ``duckdb:///./dir/file.duckdb`` too; ``duckdb:///abs/dir/file.duckdb``
    and ``duckdb:////abs/...`` are absolute."""
    if rest.startswith("//"):
        return rest[1:]
    if rest.startswith("/./"):
        return rest[3:]
    if rest.startswith("/") and rest.count("/") == 1:
        return rest[1:]
    return rest


def open_store(dsn: str | None = None, *, init: bool = True) -> Store:
    """Open (and by default migrate) the store a DSN names."""
    dsn = dsn or default_dsn()
    scheme, sep, rest = dsn.partition("://")
    if not sep:
        raise StoreError(f"store DSN {dsn!r} has no scheme; use duckdb:///file.duckdb, chdb:///dir or clickhouse://host:8123/db")
    if scheme == "duckdb":
        from .duckdb import DuckDBStore

        path = duckdb_path(rest)
        if not path:
            raise StoreError(f"store DSN {dsn!r} names no file")
        store: Store = DuckDBStore(path)
    elif scheme in ("chdb", "clickhouse", "http", "https"):
        from .clickhouse import ClickHouseStore

        store = ClickHouseStore(dsn)
    else:
        raise StoreError(f"unknown store scheme {scheme!r} in {dsn!r}; use duckdb, chdb, clickhouse, http or https")
    if init:
        try:
            store.init_schema()
        except StoreError:
            store.close()
            raise
    return store


__all__ = ["DEFAULT_DSN", "Scope", "Store", "StoreError", "default_dsn", "open_store"]
