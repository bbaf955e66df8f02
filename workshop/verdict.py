"""How the reliability commands (``commands/overload``, ``commands/soak``) end:
the figures, the full report as JSON when asked, and the checks' verdict as
the exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def finish(name: str, figures: str, report: dict[str, Any], problems: list[str], json_path: str | None) -> None:
    print(figures)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1))
    if problems:
        print("\nFAILED:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        sys.exit(1)
    print(f"\nall {name} checks passed", file=sys.stderr)
