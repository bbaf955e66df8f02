"""`frictionkit insights overview|hotspots`: thin: parse flags, ask the
insights library, render."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from .common import FromOpt, OrgOpt, ProductOpt, StoreOpt, ToOpt, insight_payload, one_line_errors, out_console, print_csv, print_json
from .segments import ALL, Segment, print_segment, segment_options

insights_app = typer.Typer(help="Where users struggle: overview, hotspot screens and what changed.", no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Sort(str, Enum):
    impact = "impact"
    rate = "rate"
    friction = "friction"


FormatOpt = typer.Option(Format.table, "--format", help="table, json (exactly the HTTP payload) or csv")
SortOpt = typer.Option(Sort.impact, "--sort", help="impact: most impacted sessions first (default); rate: largest "
                       "share of the screen's sessions impacted; friction: highest mean friction")
_SORT_TITLES = {
    "impact": "hotspots: most impacted sessions first",
    "rate": "hotspots: largest share of sessions impacted first",
    "friction": "hotspots: highest mean friction first",
}


@insights_app.command("overview")
@segment_options
def overview_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    store_dsn: Optional[str] = StoreOpt,
    fmt: Format = FormatOpt,
    segment: Segment = ALL,
) -> None:
    """Sessions, users, friction index, efficiency, incidents, tasks, top hotspots."""
    from ..insights.report import overview
    from .render import flat_overview, overview_renderable, window_label

    with one_line_errors():
        payload = insight_payload(store_dsn, org, product, from_, to, overview, segment=segment)
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(flat_overview(payload))
    else:
        print_segment(segment)
        out_console.print(overview_renderable(payload, out_console, window_label(payload, from_, to)))


@insights_app.command("hotspots")
@segment_options
def hotspots_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="how many screens"),
    sort: Sort = SortOpt,
    store_dsn: Optional[str] = StoreOpt,
    fmt: Format = FormatOpt,
    segment: Segment = ALL,
) -> None:
    """Screens ranked by friction: impacted sessions first (see --sort)."""
    from ..insights.report import hotspots
    from .render import hotspots_renderable

    with one_line_errors():
        payload = insight_payload(store_dsn, org, product, from_, to,
                                  lambda store, q: hotspots(store, q, limit, sort.value), segment=segment)
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(payload["items"])
    else:
        # the rendering's title names the default order
        title = None if sort is Sort.impact else f"{_SORT_TITLES[sort.value]} (▲▼ impact trend)"
        print_segment(segment)
        out_console.print(hotspots_renderable(payload, out_console, title))


@insights_app.command("changes")
@segment_options
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
    segment: Segment = ALL,
) -> None:
    """What changed: per screen and signal, the share of sessions in both windows, tested and ranked."""
    from ..insights.changes import changes, parse_against
    from .changes_render import changes_renderable, flat_changes

    with one_line_errors():
        baseline = parse_against(against) if against else None
        payload = insight_payload(store_dsn, org, product, from_, to, lambda store, q: changes(
            store, q, against=baseline, limit=limit, transitions_limit=transitions), segment=segment)
    if fmt is Format.json:
        print_json(payload)
    elif fmt is Format.csv:
        print_csv(flat_changes(payload))
    else:
        print_segment(segment)
        out_console.print(changes_renderable(payload, out_console))


def register(app: typer.Typer) -> None:
    app.add_typer(insights_app, name="insights")
