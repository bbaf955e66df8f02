"""`frictionkit replay FILE...`: the embedded pipeline over event files."""

from __future__ import annotations

from typing import List, Optional

import typer

from .common import STORE_HELP, err_console, fail, is_terminal, now_ms, one_line_errors, out_console


def replay_cmd(
    files: List[str] = typer.Argument(..., help="JSONL, .jsonl.gz or Parquet files; '-' reads stdin"),
    store_dsn: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    strict: bool = typer.Option(False, "--strict", help="fail the run at the first invalid line"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print the summary only, not the overview"),
    session_gap: Optional[str] = typer.Option(None, "--session-gap", help="idle gap that starts a new session (default 30m; 'off' for imported logs)"),
    max_session_length: Optional[str] = typer.Option(None, "--max-session-length", help="session length cut (default 24h; 'off')"),
    allowed_lateness: Optional[str] = typer.Option(None, "--allowed-lateness", help="watermark lateness (default 2m)"),
    abandon_after: Optional[str] = typer.Option(None, "--abandon-after", help="a task with no end within this is abandoned (default 15m; 'off')"),
    loop_within: Optional[str] = typer.Option(None, "--loop-within", help="a return to a screen left at most this long ago is a loop (default 5m; 'off')"),
    loop_navigations: Optional[int] = typer.Option(None, "--loop-navigations", help="... and at most this many navigations ago (default 4, at least 3)"),
) -> None:
    """Replay event files through the whole pipeline into a store, then print the overview."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from ..pipeline.replay import StrictModeError, replay
    from ..pipeline.settings import pipeline_config
    from ..pipeline.sources import stdin_or_files_size
    from ..store import open_store

    with one_line_errors():
        config = pipeline_config(session_gap=session_gap, max_session_length=max_session_length,
                                 allowed_lateness=allowed_lateness, abandon_after=abandon_after,
                                 loop_within=loop_within, loop_navigations=loop_navigations)
        store = open_store(store_dsn)
        try:
            total = stdin_or_files_size(files)
            progress = Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                TimeRemainingColumn(), console=err_console, transient=True, disable=not is_terminal(),
            )
            with progress:
                task = progress.add_task("replaying", total=total)
                try:
                    report = replay(files, store, now_ms=now_ms(), config=config, strict=strict,
                                    on_bytes=lambda n: progress.advance(task, n))
                except StrictModeError as err:
                    fail(f"invalid event at {err} (--strict)")
            _print_summary(report)
            if not quiet and report.sessions:
                _print_overview(store)
        finally:
            store.close()


def _print_summary(report) -> None:
    for bad in report.invalid[:10]:
        err_console.print(f"[yellow]skipped[/] {bad.path}:{bad.line}: {bad.reason}", soft_wrap=True)
    if report.rejected > 10:
        err_console.print(f"[yellow]… and {report.rejected - 10:,} more invalid lines[/]")
    # Two lines, each short enough for 80 columns: one line wrapped mid-phrase.
    err_console.print(f"read {report.read:,} events · {_accepted(report)} · rejected {report.rejected:,} · "
                      f"late {report.late:,}")
    err_console.print(f"sessions {report.sessions:,} · incidents {report.incidents:,} · {report.seconds:.2f} s · "
                      f"{report.events_per_s:,.0f} events/s")


def _accepted(report) -> str:
    # Duplicates are accepted events the store already holds (the same file
    # replayed again): "accepted 90,877 · duplicates 90,877" read as a double count.
    new = report.accepted - report.duplicates
    if not report.duplicates:
        return f"accepted {report.accepted:,}"
    if not new:
        return f"all {report.accepted:,} already stored"
    return f"accepted {report.accepted:,} ({new:,} new, {report.duplicates:,} already stored)"


def _print_overview(store) -> None:
    """The overview of what was replayed: with several org/product pairs, a
    line per pair and the overview of the largest one."""
    from rich.table import Table

    from ..insights.query import resolve_query
    from ..insights.report import overview
    from .render import overview_renderable

    scopes = sorted(store.scopes(), key=lambda s: (-s.sessions, s.org_id, s.product_id))
    if len(scopes) > 1:
        table = Table(title="org / product in the store", title_justify="left", header_style="bold")
        table.add_column("org")
        table.add_column("product")
        table.add_column("sessions", justify="right")
        for s in scopes:
            table.add_row(s.org_id, s.product_id, f"{s.sessions:,}")
        out_console.print(table)
        out_console.print(f"[dim]overview of the largest; others: frictionkit insights overview --org ORG --product PRODUCT[/]")
    top = scopes[0]
    q = resolve_query(store, org_id=top.org_id, product_id=top.product_id, from_text=None, to_text=None)
    out_console.print(overview_renderable(overview(store, q), out_console))


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_cmd)
