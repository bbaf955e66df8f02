"""`frictionkit insights overview|hotspots`: thin: parse flags, ask the
insights library, render."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from .common import FromOpt, OrgOpt, ProductOpt, StoreOpt, ToOpt, insight_payload, one_line_errors, out_console, print_csv, print_json

insights_app = typer.Typer(help="Where users struggle: overview, hotspot screens and what changed.", no_args_is_help=True)


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
    from .render import flat_overview, overview_renderable

    with one_line_errors():
        payload = insight_payload(store_dsn, org, product, from_, to, overview)
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
    from .render import hotspots_renderable

    with one_line_errors():
        payload = insight_payload(store_dsn, org, product, from_, to, lambda store, q: hotspots(store, q, limit))
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(payload["items"])
    else:
        out_console.print(hotspots_renderable(payload))


@insights_app.command("changes")
def changes_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    against: Optional[str] = typer.Option(
        None, "--against", metavar="FROM:TO",
        help="baseline window, each end a date or RFC 3339 timestamp; default: the previous window of equal "
             "length (the window's two halves when that holds no session)"),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="how many screen × signal items"),
    transitions: int = typer.Option(10, "--transitions", min=0, max=1000,
                                    help="how many flow transitions that rose, and that fell"),
    store_dsn: Optional[str] = StoreOpt,
    fmt: Format = FormatOpt,
) -> None:
    """What changed: per screen and signal, the share of sessions in both windows, tested and ranked."""
    from ..insights.changes import changes, parse_against
    from .changes_render import changes_renderable, flat_changes

    with one_line_errors():
        baseline = parse_against(against) if against else None
        payload = insight_payload(store_dsn, org, product, from_, to, lambda store, q: changes(
            store, q, against=baseline, limit=limit, transitions_limit=transitions))
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(flat_changes(payload))
    else:
        out_console.print(changes_renderable(payload))


def register(app: typer.Typer) -> None:
    app.add_typer(insights_app, name="insights")
