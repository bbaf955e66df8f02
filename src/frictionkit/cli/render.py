"""Rich renderings of insight payloads: read at a glance, numbers right-aligned,
friction coloured by severity."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

TREND_MARKS = {"up": "[red]▲[/]", "down": "[green]▼[/]", "flat": "[dim]–[/]"}
TREND_ARROWS = {"up": "[red]▲ up[/]", "down": "[green]▼ down[/]", "flat": "[dim]– flat[/]"}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _score(x: float | None) -> Text:
    if x is None:
        return Text("—")
    style = "bold red" if x >= 0.5 else "yellow" if x >= 0.2 else "green"
    return Text(f"{x:.3f}", style=style)


def _ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x / 1000:.1f}s" if x >= 1000 else f"{x:.0f}ms"


def overview_renderable(p: dict[str, Any]) -> Group:
    head = Table.grid(padding=(0, 3))
    for _ in range(4):
        head.add_column(justify="left")
    head.add_row(
        Text.assemble(("sessions\n", "dim"), (f"{p['sessions']:,}", "bold")),
        Text.assemble(("users\n", "dim"), (f"{p['users']:,}", "bold")),
        Text.assemble(("friction index\n", "dim"), _score(p["frictionIndex"])),
        Text.assemble(("efficiency\n", "dim"), (f"{p['efficiencyScore']:.3f}" if p["efficiencyScore"] is not None else "—", "bold")),
    )
    inc, tasks = p["incidents"], p["tasks"]
    detail = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
    detail.add_column("incidents")
    detail.add_column("count", justify="right")
    detail.add_column("tasks")
    detail.add_column("count", justify="right")
    detail.add_row("rage clicks", f"{inc['rageClick']:,}", "started", f"{tasks['started']:,}")
    detail.add_row("backtracks", f"{inc['backtrack']:,}", "completed", f"{tasks['completed']:,}")
    detail.add_row("abandoned tasks", f"{inc['abandonedTask']:,}", "failed", f"{tasks['failed']:,}")
    detail.add_row("error clicks", f"{inc['errorClick']:,}", "completion", _pct(tasks["completionRate"]))
    detail.add_row("loops", f"{inc['loop']:,}", "", "")
    detail.add_row("dead clicks", f"{inc['deadClick']:,}", "", "")
    top = Table(title="top hotspots", title_justify="left", header_style="bold", box=None, padding=(0, 2))
    top.add_column("screen")
    top.add_column("friction", justify="right")
    top.add_column("impact sessions", justify="right")
    top.add_column("trend")
    for h in p["topHotspots"]:
        top.add_row(h["screenId"], _score(h["friction"]), f"{h['impactSessions']:,}", TREND_ARROWS[h["trend"]])
    title = f"{p['orgId']} / {p['productId']}   {p['from'][:10]} → {p['to'][:10]}"
    return Group(Panel(head, title=title, title_align="left"), detail, Text(""), top)


def symptoms(h: dict[str, Any]) -> str:
    parts = [(h["rageClicks"], "rage"), (h["backtracks"], "back"), (h["errors"], "err"), (h["abandonedTasks"], "aband"),
             (h["loops"], "loop"), (h["deadClicks"], "dead")]
    return " ".join(f"{n:,} {label}" for n, label in sorted(parts, key=lambda p: -p[0]) if n) or "—"


def hotspots_renderable(p: dict[str, Any]) -> Table:
    t = Table(header_style="bold", title="hotspots: most impacted sessions first (▲▼ impact trend vs the previous window)", title_justify="left",
              box=box.SIMPLE_HEAD, padding=(0, 1))
    t.add_column("screen", min_width=20, overflow="fold")
    for name in ("sessions", "impact", "friction", "rage%", "dead%", "drop%", "t/view"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("symptoms", min_width=10)
    for h in p["items"]:
        t.add_row(
            h["screenId"], f"{h['sessions']:,}", f"{h['impactSessions']:,} {TREND_MARKS[h['trend']]}",
            _score(h["avgFriction"]), _pct(h["rageClickRate"]), _pct(h["deadClickRate"]), _pct(h["dropoffRate"]), _ms(h["avgTimeSpentMs"]),
            symptoms(h),
        )
    return t


def flat_overview(p: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row: nested objects become prefixed columns."""
    row = {k: v for k, v in p.items() if not isinstance(v, (dict, list))}
    for group in ("incidents", "tasks"):
        for k, v in p[group].items():
            row[f"{group}.{k}"] = v
    row["topHotspots"] = " | ".join(h["screenId"] for h in p["topHotspots"])
    return [row]
