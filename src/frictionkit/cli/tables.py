"""Tables that fit the terminal: every column either fits whole, moves into
another column's cell, or is left out, named in a one-line hint that says
how to see it.

Rich, given a table wider than the console, squeezes columns: it cuts words
(`create_d…`) and can shrink a column to nothing while its wrapped lines stay,
which leaves blank rows. Here the table is measured first, and columns are
stacked or dropped, least useful first, until what remains fits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    # The steps that make a table narrower, taken highest number first (0 =
    # never): drop leaves the column out (the hint names it); stack moves the
    # cell into the cell of the column named onto: on lines of its own above
    # it, bold, or with below=True under it, dim.
    drop: int = 0
    stack: int = 0
    onto: str | None = None
    below: bool = False
    joiner: str = "\n"  # what goes between the two cells


Rows = Sequence[Sequence[Any]]


def _table(title: str | None, cols: Sequence[Col], rows: Rows) -> Table:
    # Two spaces between columns and none at the edges: at 80 columns every
    # character a border or padding takes is one a task name or path lacks.
    t = Table(header_style="bold", title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
              collapse_padding=True, pad_edge=False, show_edge=False)
    for c in cols:
        t.add_column(c.header, justify=c.justify, no_wrap=not c.wrap, overflow="fold",
                     min_width=c.min_width if c.wrap else None)
    for row in rows:
        t.add_row(*row)
    return t


def _text(cell: Any) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(str(cell))


def _cell_min(console: Console, cell: Any, wrap: bool) -> int:
    text = _text(cell)
    if wrap:  # the longest word: the column breaks at spaces
        return Measurement.get(console, console.options.update_width(100_000), text).minimum
    return max((line.cell_len for line in text.split("\n")), default=0)


def _min_width(console: Console, cols: Sequence[Col], rows: Rows) -> int:
    # Rich's own measure takes a no_wrap cell's longest word as its minimum,
    # so it would still cut "263 rage clicks": each column is measured here.
    # Per column its widest unbreakable content; 2 between columns (see _table).
    total = 2 * (len(cols) - 1)
    for i, c in enumerate(cols):
        widest = max([_cell_min(console, c.header, c.wrap)] + [_cell_min(console, r[i], c.wrap) for r in rows])
        total += max(widest, c.min_width or 0)
    return total


def _without(cols: list[Col], rows: list[list[Any]], i: int) -> tuple[list[Col], list[list[Any]]]:
    return cols[:i] + cols[i + 1:], [r[:i] + r[i + 1:] for r in rows]


def _stacked(cols: list[Col], rows: list[list[Any]], i: int) -> tuple[list[Col], list[list[Any]]]:
    col = cols[i]
    j = next(k for k, c in enumerate(cols) if c.header == col.onto)
    cols = list(cols)
    headers = (cols[j].header, col.header) if col.below else (col.header, cols[j].header)
    cols[j] = replace(cols[j], header=" / ".join(headers), wrap=True)
    rows = [list(r) for r in rows]
    for r in rows:
        moved = _text(r[i]).copy()
        moved.stylize("dim" if col.below else "bold")  # the row's own cell stands out
        first, second = (_text(r[j]).copy(), moved) if col.below else (moved, _text(r[j]))
        first.append(col.joiner)
        r[j] = first.append_text(second)
    return _without(cols, rows, i)


def fitted_table(console: Console, title: str | None, cols: Sequence[Col], rows: Rows,
                 more: str = "--format json") -> RenderableType:
    """The table as wide as fits ``console.width``: columns are stacked or
    left out, least useful first, until it fits; when some are left out, a
    dim line after it names them, the width that shows them all, and ``more``
    (another way to see them)."""
    width = console.width
    shown, cells = list(cols), [list(r) for r in rows]
    needed = _min_width(console, shown, cells)
    steps = sorted([(c.drop, "drop", c.header) for c in cols if c.drop]
                   + [(c.stack, "stack", c.header) for c in cols if c.stack], key=lambda s: -s[0])
    hidden = []
    for _, step, header in steps:
        if _min_width(console, shown, cells) <= width:
            break
        i = next(k for k, c in enumerate(shown) if c.header == header)
        if step == "drop":
            shown, cells = _without(shown, cells, i)
            hidden.append(header)
        else:
            shown, cells = _stacked(shown, cells, i)
    table = _table(title, shown, cells)
    if not hidden:
        return table
    hint = Text(f"hidden: {', '.join(hidden)} (shown at {needed}+ columns, or with {more})", style="dim")
    return Group(table, hint)
