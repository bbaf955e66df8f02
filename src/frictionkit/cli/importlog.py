"""`frictionkit import-log`: a process-mining log (CSV, XES) as wire-format events."""

from __future__ import annotations

import gzip
import shlex
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO, Optional

import msgspec
import typer
from rich.console import Console

from .common import STORE_HELP

from frictionkit.importers import (
    DEFAULT_TASK_NAME,
    ImportLogError,
    LogColumns,
    default_product_id,
    read_event_log,
    task_runs_from_columns,
    wire_events,
)

err = Console(stderr=True, highlight=False)

# A case spans days or months: with the live defaults (30 min gap, 24 h cut,
# 15 min abandonment) one case would become many sessions and abandoned tasks.
# These make one case one session and one completed task run.
IMPORTED_LOG_SETTINGS = {"session_gap": "off", "max_session_length": "off", "abandon_after": "off"}
IMPORTED_LOG_FLAGS = "--session-gap off --max-session-length off --abandon-after off"


def register(app: typer.Typer) -> None:
    app.command("import-log")(import_log)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True)
    raise typer.Exit(1)


def _open_output(out: Path | None) -> BinaryIO:
    if out is None or str(out) == "-":
        return nullcontext(sys.stdout.buffer)  # type: ignore[return-value]
    try:
        if out.suffix == ".gz":
            return gzip.open(out, "wb")  # type: ignore[return-value]
        return out.open("wb")
    except OSError as error:
        raise ImportLogError(f"{out}: cannot write ({error.strerror})") from None


def import_log(
    file: Path = typer.Argument(..., help="Event log: .csv or .xes, optionally gzipped.", show_default=False),
    case: str = typer.Option("case:concept:name", "--case", help="Case id column (case:X = XES trace attribute X)."),
    activity: str = typer.Option("concept:name", "--activity", help="Activity column: becomes the screen."),
    timestamp: str = typer.Option("time:timestamp", "--timestamp", help="Timestamp column (ISO 8601; offsets honoured)."),
    lifecycle: str = typer.Option(
        None, "--lifecycle", help="Keep only events whose lifecycle:transition equals this (e.g. COMPLETE)."
    ),
    org: str = typer.Option("imported", "--org", help="orgId of the events."),
    product: str = typer.Option(None, "--product", help="productId of the events (default: the file's name)"),
    task: str = typer.Option(DEFAULT_TASK_NAME, "--task", help="Task name each case becomes a run of."),
    out: Path = typer.Option(None, "--out", help="JSONL output, .gz to compress (default: stdout; with --replay, a temporary file)"),
    replay: bool = typer.Option(False, "--replay", help=f"also replay the events into a store, as imported logs need ({IMPORTED_LOG_FLAGS})"),
    store_dsn: Optional[str] = typer.Option(None, "--store", help=f"with --replay: {STORE_HELP}"),
) -> None:
    """Turn a process-mining log into wire-format events (JSONL): one session and
    one task run per case, one navigation per activity. With --replay, load them
    into a store in the same run, one session per case."""
    if store_dsn is not None and not replay:
        _fail("--store goes with --replay (without it import-log only writes events)")
    if not replay:
        _import(file, case, activity, timestamp, lifecycle, org, product, task, out)
        _print_next(out, store_dsn)
        return
    with tempfile.TemporaryDirectory(prefix="frictionkit-import-") as folder:
        events = out if out is not None and str(out) != "-" else Path(folder) / f"{file.name}.jsonl"
        product_id = _import(file, case, activity, timestamp, lifecycle, org, product, task, events,
                             shown=str(out) if events == out else "the replay")
        _replay(events, store_dsn)
    store = f" --store {shlex.quote(store_dsn)}" if store_dsn else ""
    err.print(f"next: frictionkit flows top --org {shlex.quote(org)} --product {shlex.quote(product_id)}{store}",
              soft_wrap=True, markup=False)


def _print_next(out: Path | None, store_dsn: str | None) -> None:
    """import-log alone: the command that loads what it wrote, with the settings it needs."""
    if out is None or str(out) == "-":
        err.print(f"next: pipe into `frictionkit replay - {IMPORTED_LOG_FLAGS}`, or run import-log with --replay "
                  "to do both", soft_wrap=True, markup=False)
        return
    err.print(f"next: frictionkit replay {shlex.quote(str(out))} {IMPORTED_LOG_FLAGS}", soft_wrap=True, markup=False)


def _replay(events: Path, store_dsn: str | None) -> None:
    from .replay import replay_cmd

    # every option of replay_cmd given: called as a function, typer fills in no defaults
    replay_cmd(files=[str(events)], store_dsn=store_dsn, strict=False, quiet=False, allowed_lateness=None,
               loop_within=None, loop_navigations=None,
               **IMPORTED_LOG_SETTINGS)


def _import(file: Path, case: str, activity: str, timestamp: str, lifecycle: str | None, org: str,
            product: str | None, task: str, out: Path | None, shown: str | None = None) -> str:
    """Write the wire events; print the summary; return the productId used."""
    started = time.perf_counter()
    columns = LogColumns(case=case, activity=activity, timestamp=timestamp, lifecycle=lifecycle)
    product_id = product or default_product_id(file)
    written = 0
    try:
        status = err.status(f"reading {file.name}") if err.is_terminal else nullcontext()
        with status:
            parsed = read_event_log(file, columns)
            runs = task_runs_from_columns(
                parsed.case_ids, parsed.activities, parsed.timestamps_ms, org_id=org, product_id=product_id, task_name=task
            )
            encoder = msgspec.json.Encoder()
            with _open_output(out) as sink:
                buffer = bytearray()
                for event in wire_events(runs):
                    encoder.encode_into(event, buffer, len(buffer))
                    buffer.extend(b"\n")
                    written += 1
                    if len(buffer) > 1 << 20:
                        sink.write(buffer)
                        buffer.clear()
                sink.write(buffer)
    except ImportLogError as error:
        _fail(str(error))
        return
    except BrokenPipeError:
        # A reader like `head` went away: not an error of the import.
        sys.stderr.close()
        raise typer.Exit(0) from None
    dropped = []
    if parsed.events_filtered_out:
        dropped.append(f"{parsed.events_filtered_out:,} not {lifecycle}")
    if parsed.events_skipped:
        dropped.append(f"{parsed.events_skipped:,} incomplete")
    dropped_text = f" ({', '.join(dropped)} dropped)" if dropped else ""
    destination = shown or ("stdout" if out is None or str(out) == "-" else str(out))
    err.print(
        f"imported {len(runs):,} cases, {parsed.event_count:,} of {parsed.events_read:,} events{dropped_text} "
        f"from {file.name} → {written:,} wire events to {destination} in {time.perf_counter() - started:.1f}s",
        soft_wrap=True,
        markup=False,
    )
    return product_id
