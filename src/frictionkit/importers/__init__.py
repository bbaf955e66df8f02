"""Process-mining event logs (CSV, XES; plain or gzip) into frictionkit's inputs.

``read_event_log`` parses a file into columns; ``task_runs_from_columns``
orders them into one TaskRun per case, which feeds the flow core directly and,
through ``wire_events``, becomes wire-format events (docs/contract.md) for ``replay``.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

from frictionkit.core.model import TaskRun
from frictionkit.importers.cases import DEFAULT_TASK_NAME, task_runs_from_columns, wire_events
from frictionkit.importers.csv_log import read_csv
from frictionkit.importers.parsed_log import ImportLogError, LogColumns, ParsedLog, parse_timestamp_ms
from frictionkit.importers.xes import read_xes

__all__ = [
    "DEFAULT_TASK_NAME",
    "ImportLogError",
    "LogColumns",
    "ParsedLog",
    "default_product_id",
    "detect_log_format",
    "parse_timestamp_ms",
    "read_event_log",
    "read_task_runs",
    "task_runs_from_columns",
    "wire_events",
]

_GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(2) == _GZIP_MAGIC


def detect_log_format(path: Path) -> str:
    """"xes" or "csv": by extension (``.gz`` looked through), else by the first byte."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in (".xes", ".xml"):
        return "xes"
    if suffixes and suffixes[-1] == ".csv":
        return "csv"
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as stream:
        head = stream.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xes" if head.startswith(b"<") else "csv"


def read_event_log(path: str | Path, columns: LogColumns | None = None) -> ParsedLog:
    path = Path(path)
    columns = columns or LogColumns()
    if not path.exists():
        raise ImportLogError(f"{path}: no such file")
    if not path.is_file():
        raise ImportLogError(f"{path}: not a file")
    compressed = _is_gzip(path)
    log_format = detect_log_format(path)
    try:
        with (gzip.open(path, "rb") if compressed else path.open("rb")) as binary:
            if log_format == "xes":
                return read_xes(binary, columns, source_name=path.name)
            text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
            return read_csv(text, columns, source_name=path.name)
    except (OSError, EOFError, zlib.error) as error:
        # BadGzipFile is an OSError; a truncated gzip ends in EOFError.
        raise ImportLogError(f"{path.name}: cannot read ({error})") from None
    except UnicodeDecodeError as error:
        raise ImportLogError(f"{path.name}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def read_task_runs(
    path: str | Path,
    columns: LogColumns | None = None,
    *,
    org_id: str = "imported",
    product_id: str | None = None,
    task_name: str = DEFAULT_TASK_NAME,
) -> list[TaskRun]:
    """A log file straight to TaskRuns (one per case, repeats kept)."""
    path = Path(path)
    parsed = read_event_log(path, columns)
    return task_runs_from_columns(
        parsed.case_ids,
        parsed.activities,
        parsed.timestamps_ms,
        org_id=org_id,
        product_id=product_id or default_product_id(path),
        task_name=task_name,
    )


def default_product_id(path: Path) -> str:
    """The file name without its extensions: ``bpic2012.xes.gz`` → ``bpic2012``."""
    return path.name.split(".")[0] or "log"
