"""The `frictionkit` command: assembles the command modules. No logic here."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperOption

# typer prints a value type beside every option; for an on/off flag
# ("--strict <bool>") that is noise, since a flag takes no value.
_display_type_rich = TyperOption.display_type_rich
TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else _display_type_rich(self, ctx)

app = typer.Typer(
    name="frictionkit",
    help="Find where users of internal applications struggle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module exposes register(app); one that fails to import (an optional
# dependency missing) leaves the rest of the CLI working.
COMMAND_MODULES = ["replay", "insights", "db", "generate", "topics", "importlog", "serve", "flows", "process", "rollup"]

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"frictionkit.cli.{_name}").register(app)
    except ModuleNotFoundError as _err:
        if _err.name and _err.name.startswith("frictionkit"):
            continue  # a command module still being written
        raise


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"frictionkit {version('frictionkit')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="print the version and exit"),
) -> None:
    """Find where users of internal applications struggle."""


def main() -> None:
    try:
        app()
    except SystemExit:
        raise
    except Exception as err:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("FRICTIONKIT_DEBUG"):
            raise
        print(f"error: internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
              "(set FRICTIONKIT_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
