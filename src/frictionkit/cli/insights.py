"""`frictionkit insights overview|hotspots`: thin: parse flags, ask the
insights library, render."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from .common import FromOpt, OrgOpt, ProductOpt, StoreOpt, ToOpt, one_line_errors, out_console, print_csv, print_json

insights_app = typer.Typer(help="Where users struggle: overview and hotspot screens.", no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = typer.Option(Format.table, "--format", help="table, json (exactly the HTTP payload) or csv")


def _query(store, org, product, from_, to):
    from ..insights.query import resolve_query

    return resolve_query(store, org_id=org, product_id=product, from_text=from_, to_text=to)


@insights_app.command("overview")
def overview_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    store_dsn: Optional[str] = StoreOpt,
    fmt: Format = FormatOpt,
) -> None:
    """Sessions, users, friction index, efficiency, incidents, tasks, top hotspots."""
    from ..insights.report import overview
    from ..store import open_store
    from .render import flat_overview, overview_renderable

    with one_line_errors():
        store = open_store(store_dsn)
        try:
            payload = overview(store, _query(store, org, product, from_, to))
        finally:
            store.close()
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(flat_overview(payload))
    else:
        out_console.print(overview_renderable(payload))


@insights_app.command("hotspots")
def hotspots_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="how many screens"),
    store_dsn: Optional[str] = StoreOpt,
    fmt: Format = FormatOpt,
) -> None:
    """Screens ranked by friction: impacted sessions first."""
    from ..insights.report import hotspots
    from ..store import open_store
    from .render import hotspots_renderable

    with one_line_errors():
        store = open_store(store_dsn)
        try:
            payload = hotspots(store, _query(store, org, product, from_, to), limit)
        finally:
            store.close()
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(payload["items"])
    else:
        out_console.print(hotspots_renderable(payload))


def register(app: typer.Typer) -> None:
    app.add_typer(insights_app, name="insights")
