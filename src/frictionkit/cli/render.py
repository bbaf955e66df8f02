"""Rich renderings of insight payloads: read at a glance, numbers right-aligned,
friction coloured by severity."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..core.contract import parse_ts_ms
from ..core.timefmt import format_duration_ms, format_ts_ms
from .tables import Col, fitted_table

TREND_MARKS = {"up": "[red]▲[/]", "down": "[green]▼[/]", "flat": "[dim]–[/]"}
TREND_ARROWS = {"up": "[red]▲ up[/]", "down": "[green]▼ down[/]", "flat": "[dim]– flat[/]"}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _score(x: float | None) -> Text:
    if x is None:
        return Text("—")
    style = "bold red" if x >= 0.5 else "yellow" if x >= 0.2 else "green"
    return Text(f"{x:.3f}", style=style)


def window_label(p: dict[str, Any], from_text: str | None = None, to_text: str | None = None) -> str:
    """The window as the user asked for it: dates as given (``--to`` a date
    includes that day), or, with no bounds, "all dates" and the days of the
    first and last session. The payload's ``to`` is exclusive, so it is never
    shown as is: ``--to 2026-11-05`` would read ``→ 2026-11-06``."""
    first, last = p["from"][:10], _day_before_end(p["to"])
    if from_text is None and to_text is None:
        return f"all dates (sessions {first} → {last})"
    return f"{from_text or 'first session ' + first} → {to_text or 'last session ' + last}"


def _day_before_end(to_iso: str) -> str:
    # The last millisecond inside the window, as a date: the end is exclusive.
    return format_ts_ms(parse_ts_ms(to_iso) - 1)[:10]


# Two counts users took for one: a click on an error is an incident (a click
# an error followed on its screen); error events are every error the app
# reported, which hotspots count. Each keeps its own label everywhere.
CLICKS_ON_ERRORS = "clicks on errors"
ERRORS_NOTE = "clicks on errors: clicks an error followed; hotspots count every error event"


def overview_renderable(p: dict[str, Any], console: Console, window: str | None = None) -> Group:
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
    detail.add_row(CLICKS_ON_ERRORS, f"{inc['errorClick']:,}", "completion", _pct(tasks["completionRate"]))
    detail.add_row("loops", f"{inc['loop']:,}", "dead clicks", f"{inc['deadClick']:,}")
    cols = [Col("screen", wrap=True, min_width=12), Col("friction", "right"), Col("impacted sessions", "right", drop=1),
            Col("trend")]
    rows = [[h["screenId"], _score(h["friction"]), f"{h['impactSessions']:,}", TREND_ARROWS[h["trend"]]]
            for h in p["topHotspots"]]
    top = fitted_table(console, "top hotspots", cols, rows)
    title = f"{p['orgId']} / {p['productId']}   {window or window_label(p)}"
    return Group(Panel(head, title=title, title_align="left"), detail, Text(ERRORS_NOTE, style="dim"), Text(""), top)


def symptoms(h: dict[str, Any]) -> str:
    """One symptom a line, largest first: a line never breaks inside a
    symptom ("1 error" / "events"), and error events are not error clicks."""
    parts = [(h["rageClicks"], "rage click"), (h["backtracks"], "backtrack"), (h["errors"], "error event"),
             (h["abandonedTasks"], "abandoned task"), (h["loops"], "loop"), (h["deadClicks"], "dead click")]
    return "\n".join(f"{n:,} {label}{'' if n == 1 else 's'}" for n, label in sorted(parts, key=lambda p: -p[0]) if n) or "—"


def hotspots_renderable(p: dict[str, Any], console: Console, title: str | None = None) -> RenderableType:
    # Narrower, in this order: no dead-click rate; no time per view; the
    # symptoms under the screen (a long screen id); then no drop-off and no
    # rage-click rates.
    cols = [Col("screen", wrap=True, min_width=16), Col("sessions", "right"), Col("impact", "right"),
            Col("friction", "right"), Col("rage%", "right", drop=2), Col("dead%", "right", drop=6), Col("drop%", "right", drop=3),
            Col("time/view", "right", drop=5), Col("symptoms", stack=4, onto="screen", below=True)]
    rows = [[h["screenId"], f"{h['sessions']:,}", f"{h['impactSessions']:,} {TREND_MARKS[h['trend']]}",
             _score(h["avgFriction"]), _pct(h["rageClickRate"]), _pct(h["deadClickRate"]),
             _pct(h["dropoffRate"]),
             format_duration_ms(h["avgTimeSpentMs"]), symptoms(h)] for h in p["items"]]
    return fitted_table(console, title or "hotspots: most impacted sessions first (▲▼ impact trend vs the previous window)",
                        cols, rows)


def flat_overview(p: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row: nested objects become prefixed columns."""
    row = {k: v for k, v in p.items() if not isinstance(v, (dict, list))}
    for group in ("incidents", "tasks"):
        for k, v in p[group].items():
            row[f"{group}.{k}"] = v
    row["topHotspots"] = " | ".join(h["screenId"] for h in p["topHotspots"])
    return [row]
