"""Plain-language findings ("notes") made from the top ranked changes.

Pure: the ranked items of ``core.changes.screen_changes`` in, at most
``limit`` notes out. Only significant items make a note, in rank order, one
note per screen (the top change of a screen says the most; the others of the
same screen follow from it). Rule and wording: docs/semantics.md.
"""

from __future__ import annotations

from typing import Any

from .changes import DROPOFF, ERROR, MEAN_DWELL

_NAMES = {ERROR: "errors", DROPOFF: "drop-offs", MEAN_DWELL: "mean dwell", "abandoned_task": "abandoned tasks"}
# A rise of a frustration share by this much (10 points of the screen's
# sessions) or of mean dwell by this fraction is "high": big enough that a
# person would notice it in use, not only in a test.
HIGH_SHARE_POINTS = 0.10
HIGH_DWELL_RATIO = 0.5


def signal_name(signal: str) -> str:
    """``rage_click`` -> "rage clicks"; new incident types read the same way."""
    if signal in _NAMES:
        return _NAMES[signal]
    text = signal.replace("_", " ")
    return text if text.endswith("s") else text + "s"


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


def severity(item: dict[str, Any]) -> str:
    """high / medium for a rise (more friction, longer dwell), low for a fall."""
    diff = item["difference"]
    if diff is None or diff <= 0:
        return "low"
    if item["unit"] == "share":
        return "high" if diff >= HIGH_SHARE_POINTS else "medium"
    before = item["previous"]["value"] or 0.0
    return "high" if before and diff / before >= HIGH_DWELL_RATIO else "medium"


def note(item: dict[str, Any]) -> dict[str, Any]:
    screen, name = item["screenId"], signal_name(item["signal"])
    prev, cur = item["previous"], item["current"]
    verb = "rose" if item["difference"] > 0 else "fell"
    if item["unit"] == "share":
        title = f"{name.capitalize()} {'up' if verb == 'rose' else 'down'} on {screen}"
        summary = (f"Sessions on {screen} with {name} {verb} from {_pct(prev['value'])} "
                   f"({prev['affected']} of {prev['sessions']}) to {_pct(cur['value'])} "
                   f"({cur['affected']} of {cur['sessions']}).")
    else:
        title = f"{'Longer' if verb == 'rose' else 'Shorter'} dwell on {screen}"
        summary = (f"Mean time per session on {screen} {verb} from {_seconds(prev['value'])} "
                   f"({prev['sessions']} sessions) to {_seconds(cur['value'])} ({cur['sessions']} sessions).")
    return {
        "title": title,
        "summary": summary,
        "severity": severity(item),
        # 1 − the false-discovery-adjusted p-value: how sure the test is that
        # this is a real change and not noise among all the items tested.
        "confidence": 1.0 - item["qValue"],
        "relatedScreens": [screen],
        "signal": item["signal"],
    }


def notes_from(items: list[dict[str, Any]], limit: int = 3) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if len(out) >= limit or not item["significant"]:
            break  # items are ranked: significant ones come first
        if item["screenId"] in seen or not item["difference"]:
            continue
        seen.add(item["screenId"])
        out.append(note(item))
    return out
