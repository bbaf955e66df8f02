"""`frictionkit insights overview|hotspots`: thin: parse flags, ask the
insights library, render."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from .common import FromOpt, OrgOpt, ProductOpt, StoreOpt, ToOpt, insight_payload, one_line_errors, out_console, print_csv, print_json

insights_app = typer.Typer(help="Where users struggle: overview and hotspot screens.", no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = typer.Option(Format.table, "--format", help="table, json (exactly the HTTP payload) or csv")


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
    from .render import flat_overview, overview_renderable, window_label

    with one_line_errors():
        payload = insight_payload(store_dsn, org, product, from_, to, overview)
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(flat_overview(payload))
    else:
        out_console.print(overview_renderable(payload, out_console, window_label(payload, from_, to)))


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
    from .render import hotspots_renderable

    with one_line_errors():
        payload = insight_payload(store_dsn, org, product, from_, to, lambda store, q: hotspots(store, q, limit))
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(payload["items"])
    else:
        out_console.print(hotspots_renderable(payload, out_console))


def register(app: typer.Typer) -> None:
    app.add_typer(insights_app, name="insights")
