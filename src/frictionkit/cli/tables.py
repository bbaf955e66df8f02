"""Tables that fit the terminal: every column either fits whole or is left
out, named in a one-line hint that says how to see it.

Rich, given a table wider than the console, squeezes columns: it cuts words
(`create_d…`) and can shrink a column to nothing while its wrapped lines stay,
which leaves blank rows. Here the table is measured first, and optional
columns are dropped, least useful first, until what remains fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Col:
    header: str
    justify: str = "left"
    # wrap: the cell may break at spaces (and fold a word longer than the
    # column); otherwise the cell is never cut, so it sets the column's width.
    wrap: bool = False
    min_width: int | None = None
    # drop: 0 = always shown; columns with a higher number are left out first.
    drop: int = 0


def _table(title: str | None, cols: Sequence[Col], rows: Sequence[Sequence[Any]], keep: list[int]) -> Table:
    # Two spaces between columns and none at the edges: at 80 columns every
    # character a border or padding takes is one a task name or path lacks.
    t = Table(header_style="bold", title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
              collapse_padding=True, pad_edge=False, show_edge=False)
    for i in keep:
        c = cols[i]
        t.add_column(c.header, justify=c.justify, no_wrap=not c.wrap, overflow="fold",
                     min_width=c.min_width if c.wrap else None)
    for row in rows:
        t.add_row(*(row[i] for i in keep))
    return t


def _cell_min(console: Console, cell: Any, wrap: bool) -> int:
    text = cell if isinstance(cell, Text) else Text.from_markup(str(cell))
    if wrap:  # the longest word: the column breaks at spaces
        return Measurement.get(console, console.options.update_width(100_000), text).minimum
    return max((line.cell_len for line in text.split("\n")), default=0)


def _min_width(console: Console, cols: Sequence[Col], rows: Sequence[Sequence[Any]], keep: list[int]) -> int:
    # Rich's own measure takes a no_wrap cell's longest word as its minimum,
    # so it would still cut "263 rage clicks": each column is measured here.
    # Per column its widest unbreakable content; 2 between columns (see _table).
    total = 2 * (len(keep) - 1)
    for i in keep:
        c = cols[i]
        widest = max([_cell_min(console, c.header, c.wrap)] + [_cell_min(console, r[i], c.wrap) for r in rows])
        total += max(widest, c.min_width or 0)
    return total


def fitted_table(console: Console, title: str | None, cols: Sequence[Col], rows: Sequence[Sequence[Any]],
                 more: str = "--format json") -> RenderableType:
    """The table with as many columns as fit ``console.width``; when some are
    left out, a dim line after it names them, the width that shows them all,
    and ``more`` (another way to see them)."""
    width = console.width
    keep = list(range(len(cols)))
    needed = _min_width(console, cols, rows, keep)
    for i in sorted((i for i, c in enumerate(cols) if c.drop), key=lambda i: (-cols[i].drop, -i)):
        if _min_width(console, cols, rows, keep) <= width:
            break
        keep.remove(i)
    table = _table(title, cols, rows, keep)
    hidden = [c.header for i, c in enumerate(cols) if i not in keep]
    if not hidden:
        return table
    hint = Text(f"hidden: {', '.join(hidden)} (shown at {needed}+ columns, or with {more})", style="dim")
    return Group(table, hint)
