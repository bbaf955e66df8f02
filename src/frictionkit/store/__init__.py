"""Stores named by DSN (docs/stores.md): ``duckdb:///file``, ``chdb:///dir``,
``clickhouse://user:pass@host:8123/db`` (also ``http://`` and ``https://``)."""

from __future__ import annotations

import os
from typing import Callable

from .base import Scope, Store, StoreError

DEFAULT_DSN = "duckdb:///frictionkit.duckdb"


def default_dsn() -> str:
    """The seed's ``CLICKHOUSE_URL`` names the store when set; else the embedded default."""
    return os.environ.get("FRICTIONKIT_STORE") or os.environ.get("CLICKHOUSE_URL") or DEFAULT_DSN


def dsn_path(dsn: str) -> str:
    """The file (``duckdb://``) or directory (``chdb://``) an embedded DSN names,
    by SQLAlchemy's rule so that a DSN means what it means elsewhere:
    ``duckdb:///rel/file`` (three slashes) is relative to the working directory,
    ``duckdb:////abs/file`` (four) is absolute. The one parser of these DSNs."""
    scheme, _, rest = dsn.partition("://")
    host, slash, path = rest.partition("/")
    if host:
        raise StoreError(f"store DSN {dsn!r} has a host part ({host!r}); write {scheme}:///relative/path "
                         f"(three slashes) or {scheme}:////absolute/path (four)")
    if not slash or not path.strip("/"):
        what = "directory" if scheme == "chdb" else "file"
        raise StoreError(f"store DSN {dsn!r} names no {what}; write {scheme}:///relative/path "
                         f"(three slashes) or {scheme}:////absolute/path (four)")
    return path


def _duckdb(dsn: str) -> Store:
    from .duckdb import DuckDBStore

    return DuckDBStore(dsn_path(dsn), dsn=dsn)


def _clickhouse(dsn: str) -> Store:
    from .clickhouse import ClickHouseStore

    return ClickHouseStore(dsn)


# A store is one adapter (a ``store/base.py`` ``Store``) registered here by
# the DSN schemes it answers; the adapter's module is imported only when a
# DSN names it, so the embedded default never needs the ClickHouse client.
STORES: dict[str, Callable[[str], Store]] = {
    "duckdb": _duckdb,
    "chdb": _clickhouse,
    "clickhouse": _clickhouse,
    "http": _clickhouse,
    "https": _clickhouse,
}


def open_store(dsn: str | None = None, *, init: bool = True) -> Store:
    """Open (and by default migrate) the store a DSN names."""
    dsn = dsn or default_dsn()
    scheme, sep, _ = dsn.partition("://")
    if not sep:
        raise StoreError(f"store DSN {dsn!r} has no scheme; use duckdb:///file.duckdb, chdb:///dir or clickhouse://host:8123/db")
    opener = STORES.get(scheme)
    if opener is None:
        raise StoreError(f"unknown store scheme {scheme!r} in {dsn!r}; use {', '.join(STORES)}")
    store = opener(dsn)
    if init:
        try:
            store.init_schema()
        except StoreError:
            store.close()
            raise
    return store


__all__ = ["DEFAULT_DSN", "Scope", "Store", "StoreError", "default_dsn", "dsn_path", "open_store", "STORES"]
