"""What every command shares: one-line errors, output formats, the clock."""

from __future__ import annotations

import csv
import io
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.markup import escape

T = TypeVar("T")

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)

STORE_HELP = ("Store DSN: duckdb:///file.duckdb (default duckdb:///frictionkit.duckdb; three slashes: relative to the "
              "working directory, four: absolute), chdb:///dir (same rule), clickhouse://host:8123/db")

# The filters every insight command takes (docs/api.md, "Read API"), defined once.
OrgOpt = typer.Option(None, "--org", help="orgId (optional when the store holds one org)")
ProductOpt = typer.Option(None, "--product", help="productId (optional when the org has one product)")
FromOpt = typer.Option(None, "--from", help="start of the window: YYYY-MM-DD or RFC 3339 (session start ≥ from)")
ToOpt = typer.Option(None, "--to", help="end of the window, exclusive; a date includes that whole day (UTC)")
StoreOpt = typer.Option(None, "--store", help=STORE_HELP)


def fail(message: str, code: int = 1) -> None:
    # Escaped: a message such as "pip install 'frictionkit[kafka]'" must not
    # lose its brackets to rich's markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Known failures become one line and exit 1: a user never sees a traceback
    for bad input, a missing file or an unreachable store."""
    from ..insights.query import InsightError
    from ..pipeline.sources import SourceError
    from ..store.base import StoreError

    try:
        yield
    except (StoreError, SourceError, InsightError, ValueError, OSError) as err:
        fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    except KeyboardInterrupt:
        fail("interrupted", code=130)


def insight_payload(store_dsn: str | None, org: str | None, product: str | None, from_: str | None,
                    to: str | None, build: Callable[[Any, Any], T], segment: Any = None) -> T:
    """Open the store, resolve the filters to a query, build a payload, close:
    what every insight command does before it renders. ``segment`` is the
    command's ``Segment`` (cli/segments.py), None for every session."""
    from ..core.segment import ALL
    from ..insights.query import resolve_query
    from ..store import open_store

    store = open_store(store_dsn)
    try:
        return build(store, resolve_query(store, org_id=org, product_id=product, from_text=from_, to_text=to,
                                          segment=segment or ALL))
    finally:
        store.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def print_json(payload: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(payload), indent=2).decode() + "\n")


def print_csv(rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (msgspec.json.encode(v).decode() if isinstance(v, (list, dict)) else v) for k, v in row.items()})
    sys.stdout.write(buf.getvalue())


def is_terminal() -> bool:
    return err_console.is_terminal
