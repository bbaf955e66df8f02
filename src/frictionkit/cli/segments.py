"""The segment flags every insights/flows command takes, defined once.

``@segment_options`` adds ``--device --browser --os --app --app-version`` to a
command and hands the command one ``segment: Segment`` argument instead (a
bad value is one error line, like every other flag). A new view command
takes the same flags by decorating it::

    @insights_app.command("changes")
    @segment_options
    def changes_cmd(..., segment: Segment = ALL) -> None:
        ... insight_payload(store, org, product, from_, to, build, segment=segment)
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, Optional, TypeVar

import typer

from ..core.model import DEVICE_TYPES
from ..core.segment import ALL, Segment

F = TypeVar("F", bound=Callable[..., Any])

# (parameter name, Segment field, option); the order is the order in --help.
_OPTIONS = (
    ("seg_device", "device_type",
     typer.Option(None, "--device", help=f"only sessions on this device type: {', '.join(DEVICE_TYPES)}",
                  rich_help_panel="Segment")),
    ("seg_browser", "browser",
     typer.Option(None, "--browser", help="only sessions in this browser, exactly as sent (e.g. Chrome)",
                  rich_help_panel="Segment")),
    ("seg_os", "os",
     typer.Option(None, "--os", help="only sessions on this OS, exactly as sent (e.g. iOS)", rich_help_panel="Segment")),
    ("seg_app", "app_name",
     typer.Option(None, "--app", help="only sessions of this appName", rich_help_panel="Segment")),
    ("seg_app_version", "app_version",
     typer.Option(None, "--app-version",
                  help="only sessions of this app version (extra.app_version, else the agent's sdkVersion)",
                  rich_help_panel="Segment")),
)


def build_segment(**values: Optional[str]) -> Segment:
    """The Segment of the flags' values; a bad one exits with one line."""
    from ..insights.query import InsightError, make_segment
    from .common import fail

    try:
        return make_segment(**values)
    except InsightError as err:
        flag = _FLAG_OF.get(err.param or "", f"--{err.param}")
        fail(f"{flag}: {str(err).split(': ', 1)[-1]}")
        raise  # unreachable: fail exits


_FLAG_OF = {"device_type": "--device", "browser": "--browser", "os": "--os", "app_name": "--app",
            "app_version": "--app-version"}


def print_segment(segment: Segment) -> None:
    """One line above a table saying which sessions it covers (json and csv
    stay exactly the payload; the overview's JSON echoes ``segment``)."""
    if segment.is_all:
        return
    from rich.markup import escape

    from .common import out_console

    out_console.print("[dim]segment:[/] " + escape("  ".join(f"{_FLAG_OF[k]} {v}" for k, v in segment.items())))


def segment_options(command: F) -> F:
    """Replace ``command``'s ``segment`` parameter by the five segment flags
    (typer reads the wrapper's signature)."""
    signature = inspect.signature(command)
    if "segment" not in signature.parameters:
        raise TypeError(f"{command.__name__} needs a 'segment' parameter to take the segment flags")

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {field: kwargs.pop(name, None) for name, field, _ in _OPTIONS}
        return command(*args, segment=build_segment(**values), **kwargs)

    params = [p for p in signature.parameters.values() if p.name != "segment"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=Optional[str])
             for name, _, option in _OPTIONS]
    wrapper.__signature__ = signature.replace(parameters=params + added)  # type: ignore[attr-defined]
    # typer resolves annotations through typing.get_type_hints: the command's
    # are resolved here, in its own module (they are strings under
    # `from __future__ import annotations`), and the added ones are types.
    hints = {k: v for k, v in typing.get_type_hints(command).items() if k != "segment"}
    wrapper.__annotations__ = {**hints, **{name: Optional[str] for name, _, _ in _OPTIONS}}
    del wrapper.__wrapped__  # get_type_hints/signature must read the wrapper, not the command
    return wrapper  # type: ignore[return-value]


__all__ = ["ALL", "Segment", "segment_options", "build_segment", "print_segment"]
