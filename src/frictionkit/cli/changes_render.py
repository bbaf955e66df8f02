"""Rich rendering and CSV rows of the ``insights changes`` payload."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.text import Text

from ..core.timefmt import format_duration_ms
from .tables import Col, fitted_table

SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}


def _value(x: float | None, unit: str) -> str:
    if x is None:
        return "—"
    return format_duration_ms(x) if unit == "ms" else f"{x * 100:.1f}%"


def _difference(item: dict[str, Any]) -> Text:
    d = item["difference"]
    if d is None:
        return Text("—")
    text = ("+" if d >= 0 else "−") + format_duration_ms(abs(d)) if item["unit"] == "ms" else f"{d * 100:+.1f} pt"
    style = ("red" if d > 0 else "green") if item["significant"] else "dim"
    return Text(text, style=style)


def _side(side: dict[str, Any], unit: str) -> str:
    if unit == "ms":
        return f"{_value(side['value'], unit)} ({side['sessions']:,})"
    return f"{_value(side['value'], unit)} ({side['affected']:,}/{side['sessions']:,})"


def _z(item: dict[str, Any]) -> str:
    return "untested" if item["z"] is None else f"{item['z']:+.2f}"


def changes_renderable(p: dict[str, Any], console: Console) -> Group:
    w, a = p["window"], p["against"]
    # The window line wraps like prose; the tables fit the terminal (cli/tables.py).
    head = Text(f"what changed: {p['orgId']} / {p['productId']}   {w['from'][:16]} → {w['to'][:16]}   "
                f"against {a['from'][:16]} → {a['to'][:16]}   ({p['significant']} of {p['tested']} tested items "
                f"significant at FDR {p['method']['fdr']:g})", style="bold")
    # Narrower, in this order: no q value, no before (the change says how far
    # it moved), no z; the verdict stays. Screen ids are never broken.
    cols = [Col("screen"), Col("signal"), Col("before", "right", drop=3), Col("now", "right"),
            Col("change", "right"), Col("z", "right", drop=2), Col("q", "right", drop=4), Col("verdict", drop=1)]
    rows = [[it["screenId"], it["signal"], _side(it["previous"], it["unit"]), _side(it["current"], it["unit"]),
             _difference(it), _z(it), "—" if it["qValue"] is None else f"{it['qValue']:.3f}",
             Text("significant", style="bold") if it["significant"] else ""] for it in p["items"]]
    parts: list[Any] = [head, fitted_table(console, None, cols, rows)]
    for key, label in (("rose", "transitions that rose"), ("fell", "transitions that fell")):
        edges = p["transitions"][key]
        if not edges:
            continue
        tcols = [Col("from", stack=1, onto="to", joiner="\n→ "), Col("to"),
                 Col("before", "right", drop=2), Col("now", "right"), Col("change", "right"), Col("z", "right", drop=3)]
        trows = [[e["from"], e["to"], f"{e['previous']['share'] * 100:.1f}%", f"{e['current']['share'] * 100:.1f}%",
                  Text(f"{e['difference'] * 100:+.1f} pt", style="bold" if e["significant"] else "dim"),
                  f"{e['z']:+.2f}"] for e in edges]
        parts += [Text(""), fitted_table(console, f"{label} (share of the source screen's exits)", tcols, trows)]
    for n in p["notes"]:
        parts.append(Text.assemble((f"[{n['severity']}] ", SEVERITY_STYLE[n["severity"]]), (n["title"], "bold"),
                                   f" — {n['summary']} (confidence {n['confidence']:.3f})"))
    if not p["tested"]:
        parts.append(Text("Too few sessions in one of the windows to test anything (see docs/semantics.md).",
                          style="dim"))
    return Group(*parts)


def flat_changes(p: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per screen × signal item."""
    return [
        {"screenId": it["screenId"], "route": it["route"], "signal": it["signal"], "unit": it["unit"],
         "previousSessions": it["previous"]["sessions"], "previousAffected": it["previous"]["affected"],
         "previousValue": it["previous"]["value"], "currentSessions": it["current"]["sessions"],
         "currentAffected": it["current"]["affected"], "currentValue": it["current"]["value"],
         "difference": it["difference"], "test": it["test"], "z": it["z"], "pValue": it["pValue"],
         "qValue": it["qValue"], "significant": it["significant"], "direction": it["direction"]}
        for it in p["items"]
    ]
