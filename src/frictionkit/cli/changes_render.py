"""Rich rendering and CSV rows of the ``insights changes`` payload."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}


def _value(x: float | None, unit: str) -> str:
    if x is None:
        return "—"
    return f"{x / 1000:.1f}s" if unit == "ms" else f"{x * 100:.1f}%"


def _difference(item: dict[str, Any]) -> Text:
    d = item["difference"]
    if d is None:
        return Text("—")
    text = f"{d / 1000:+.1f}s" if item["unit"] == "ms" else f"{d * 100:+.1f} pt"
    style = ("red" if d > 0 else "green") if item["significant"] else "dim"
    return Text(text, style=style)


def _side(side: dict[str, Any], unit: str) -> str:
    if unit == "ms":
        return f"{_value(side['value'], unit)} ({side['sessions']:,})"
    return f"{_value(side['value'], unit)} ({side['affected']:,}/{side['sessions']:,})"


def _z(item: dict[str, Any]) -> str:
    return "untested" if item["z"] is None else f"{item['z']:+.2f}"


def changes_renderable(p: dict[str, Any]) -> Group:
    w, a = p["window"], p["against"]
    title = (f"what changed: {p['orgId']} / {p['productId']}   {w['from'][:16]} → {w['to'][:16]}   "
             f"against {a['from'][:16]} → {a['to'][:16]}   ({p['significant']} of {p['tested']} tested items "
             f"significant at FDR {p['method']['fdr']:g})")
    t = Table(header_style="bold", title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    t.add_column("screen", min_width=16, overflow="fold")
    t.add_column("signal", no_wrap=True)
    for name in ("before", "now", "change", "z", "q"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("", no_wrap=True)
    for it in p["items"]:
        t.add_row(it["screenId"], it["signal"], _side(it["previous"], it["unit"]), _side(it["current"], it["unit"]),
                  _difference(it), _z(it), "—" if it["qValue"] is None else f"{it['qValue']:.3f}",
                  Text("significant", style="bold") if it["significant"] else "")
    parts: list[Any] = [t]
    for key, label in (("rose", "transitions that rose"), ("fell", "transitions that fell")):
        rows = p["transitions"][key]
        if not rows:
            continue
        tt = Table(header_style="bold", title=f"{label} (share of the source screen's exits)", title_justify="left",
                   box=box.SIMPLE_HEAD, padding=(0, 1))
        for name, justify in (("from", "left"), ("to", "left"), ("before", "right"), ("now", "right"),
                              ("change", "right"), ("z", "right")):
            tt.add_column(name, justify=justify)
        for e in rows:
            tt.add_row(e["from"], e["to"], f"{e['previous']['share'] * 100:.1f}%", f"{e['current']['share'] * 100:.1f}%",
                       Text(f"{e['difference'] * 100:+.1f} pt", style="bold" if e["significant"] else "dim"),
                       f"{e['z']:+.2f}")
        parts.append(tt)
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
