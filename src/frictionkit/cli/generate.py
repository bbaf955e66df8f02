"""`frictionkit generate`: synthetic traffic with injected friction, as JSON lines."""

from __future__ import annotations

import sys
import time

import typer

from frictionkit.generate import DEFAULT_START, write_jsonl


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)


def generate(
    sessions: int = typer.Option(2000, "--sessions", "-n",
                                 help="Number of client sessions to simulate."),
    seed: int = typer.Option(7, "--seed", "-s", help="Random seed; same seed, same bytes."),
    out: str = typer.Option("-", "--out", "-o",
                            help="Output file ('-' = stdout); gzip-compressed when it ends in .gz."),
    start: str = typer.Option(DEFAULT_START, "--start",
                              help="Start of the simulated working week (ISO 8601, UTC if no zone)."),
    extra_orgs: int = typer.Option(0, "--extra-orgs",
                                   help="Add this many small clean tenant orgs (for cross-org rollups)."),
) -> None:
    """Generate realistic synthetic UI traffic (wire-format events: docs/contract.md) with friction at known places."""
    from rich.console import Console

    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        # A bar only where a person watches stderr, and never on top of the data itself.
        if console.is_terminal and not (out == "-" and sys.stdout.isatty()):
            count = _write_with_progress(console, out, sessions, seed, start, extra_orgs)
        else:
            count = write_jsonl(out, sessions, seed, start, extra_orgs=extra_orgs)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours.
        _silence_stdout()
        raise typer.Exit(0) from None
    except ValueError as error:
        _fail(console, str(error))
    except OSError as error:
        _fail(console, f"cannot write {out}: {error.strerror or error}")
    except KeyboardInterrupt:
        _fail(console, "interrupted", exit_code=130)
    elapsed_s = time.perf_counter() - started
    target = "stdout" if out == "-" else out
    console.print(
        f"generated {count:,} events in {sessions:,} sessions (seed {seed}) -> {target} "
        f"in {elapsed_s:.1f} s ({count / max(elapsed_s, 1e-9):,.0f} events/s)",
        highlight=False, markup=False, soft_wrap=True,
    )


def _fail(console, message: str, exit_code: int = 1) -> None:
    console.print(f"error: {message}", style="red", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(exit_code)


def _write_with_progress(console, out: str, sessions: int, seed: int, start: str, extra_orgs: int) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TextColumn("sessions"),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        bar = progress.add_task("generate", total=sessions)
        return write_jsonl(out, sessions, seed, start, extra_orgs=extra_orgs,
                           progress=lambda started: progress.update(bar, completed=started))


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the pipe closed that would print a
    # second BrokenPipeError, so point stdout at /dev/null first.
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
