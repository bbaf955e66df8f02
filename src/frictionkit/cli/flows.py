"""`frictionkit flows top|graph`: flow variants and the directly-follows graph.
Thin: parse flags, ask ``insights.flows``, render."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any, List, Optional

import typer
from rich.console import RenderableType
from rich.text import Text

from ..core.timefmt import format_duration_ms
from .common import FromOpt, OrgOpt, ProductOpt, StoreOpt, ToOpt, insight_payload, one_line_errors, out_console, print_json
from .segments import ALL, Segment, print_segment, segment_options
from .serve import parse_aliases
from .tables import Col, fitted_table

flows_app = typer.Typer(help="How users move through tasks: flow variants and the screen graph.", no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    mermaid = "mermaid"
    dot = "dot"


TaskOpt = typer.Option(None, "--task", help="only this task's runs")
AliasOpt = typer.Option(None, "--alias", help="path rule REGEX=ALIAS, e.g. 'orders/\\d+=orders/:id' (repeatable)")
FormatOpt = typer.Option(Format.table, "--format", help="table, json (exactly the HTTP payload), mermaid or dot")


def _payload(kind: str, org, product, from_, to, task, limit, store_dsn, aliases, segment) -> dict[str, Any]:
    from ..core.flow_paths import FlowConfig
    from ..insights.flows import flows_graph, flows_top

    config = FlowConfig(alias_rules=parse_aliases(aliases))
    if kind == "top":
        return insight_payload(store_dsn, org, product, from_, to,
                               lambda store, q: flows_top(store, q, limit=limit, task=task, config=config),
                               segment=segment)
    return insight_payload(store_dsn, org, product, from_, to,
                           lambda store, q: flows_graph(store, q, task=task, config=config), segment=segment)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def _seconds(x: float | None) -> str:
    return format_duration_ms(None if x is None else x * 1000)


def _top_table(payload: dict[str, Any]) -> RenderableType:
    # The drop-offs go under the path, dim, rather than in a column of their
    # own: a column would need the longest screen id again, and at 80
    # columns that is the width the median or the task name lacks.
    # Narrower, in this order: no avg (the median stays), the task on a line
    # of its own above the path (a task name is never cut), no friction.
    cols = [Col("task", stack=2, onto="path"), Col("path", wrap=True, min_width=16), Col("runs", "right"),
            Col("done", "right"), Col("friction", "right", drop=1), Col("avg", "right", drop=3), Col("median", "right")]
    rows = []
    for f in payload["flows"]:
        path = Text(f["label"])
        if f["dropoffs"]:
            # The rate first: a line that breaks after it still reads "1% at" / "crm/deal-edit".
            drops = ", ".join(f"{_pct(d['rate'])} at {d['screenId']}" for d in f["dropoffs"][:3])
            path.append(f"\ndrop-offs: {drops}", style="dim")
        rows.append([f["task"] or "(session)", path, f"{f['sessions']:,}", _pct(f["completionRate"]),
                     f"{f['avgFriction']:.3f}", _seconds(f["avgDurationSec"]), _seconds(f["medianDurationSec"])])
    return fitted_table(out_console, "flow variants, most frequent first (done: runs completed)", cols, rows)


def _graph_table(payload: dict[str, Any]) -> RenderableType:
    # Screen ids too long for two columns side by side: "from" goes above "to" in one.
    cols = [Col("from", stack=1, onto="to", joiner="\n→ "), Col("to", wrap=True, min_width=12), Col("count", "right"),
            Col("median", "right")]
    rows = [[e["from"], e["to"], f"{e['count']:,}", format_duration_ms(e["medianMs"])] for e in payload["edges"]]
    return fitted_table(out_console, "transitions: count and median time",
                        cols, rows)


def _emit(kind: str, payload: dict[str, Any], fmt: Format, segment: Segment = ALL) -> None:
    from ..insights.flows import graph_dot, graph_mermaid, top_as_graph

    if fmt is Format.json:
        print_json(payload)
        return
    if fmt is Format.table:
        print_segment(segment)
        out_console.print(_top_table(payload) if kind == "top" else _graph_table(payload))
        return
    graph = top_as_graph(payload) if kind == "top" else payload
    sys.stdout.write(graph_mermaid(graph) if fmt is Format.mermaid else graph_dot(graph))


@flows_app.command("top")
@segment_options
def top_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    task: Optional[str] = TaskOpt,
    limit: int = typer.Option(10, "--limit", min=1, max=1000, help="how many variants"),
    store_dsn: Optional[str] = StoreOpt,
    alias: Optional[List[str]] = AliasOpt,
    fmt: Format = FormatOpt,
    segment: Segment = ALL,
) -> None:
    """Flow variants ranked by runs, with completion, friction, durations and dropoffs."""
    with one_line_errors():
        payload = _payload("top", org, product, from_, to, task, limit, store_dsn, alias, segment)
    _emit("top", payload, fmt, segment)


@flows_app.command("graph")
@segment_options
def graph_cmd(
    org: Optional[str] = OrgOpt,
    product: Optional[str] = ProductOpt,
    from_: Optional[str] = FromOpt,
    to: Optional[str] = ToOpt,
    task: Optional[str] = TaskOpt,
    store_dsn: Optional[str] = StoreOpt,
    alias: Optional[List[str]] = AliasOpt,
    fmt: Format = FormatOpt,
    segment: Segment = ALL,
) -> None:
    """The directly-follows graph: screen visits and transitions with median times."""
    with one_line_errors():
        payload = _payload("graph", org, product, from_, to, task, None, store_dsn, alias, segment)
    _emit("graph", payload, fmt, segment)


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")
