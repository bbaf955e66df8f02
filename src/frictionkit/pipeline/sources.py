"""Event files for replay: JSON Lines (plain or gzip) and Parquet, or stdin.

Sources yield raw lines (bytes) with their 1-based line numbers so a bad line
is reported where the user can find it; validation is the contract's job.
"""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from typing import BinaryIO, Callable, Iterator

import msgspec


class SourceError(RuntimeError):
    """A file cannot be read; the message is one line for a person."""


def _is_parquet(path: str) -> bool:
    if path.endswith(".parquet"):
        return True
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def file_size(path: str) -> int | None:
    return None if path == "-" else os.path.getsize(path)


def iter_lines(path: str, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every non-blank line of one source.

    ``on_bytes`` is called with the compressed bytes consumed, for a progress bar.
    """
    if path == "-":
        yield from _lines(sys.stdin.buffer, path, None)
        return
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file")
    if os.path.isdir(path):
        raise SourceError(f"{path}: is a folder, not an event file")
    try:
        if _is_parquet(path):
            yield from _parquet_lines(path, on_bytes)
            return
        raw = open(path, "rb")
    except OSError as err:
        raise SourceError(f"{path}: {err.strerror}") from None
    with raw:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        yield from _lines(stream, path, raw if on_bytes else None, on_bytes)


def _lines(stream: BinaryIO, path: str, raw: BinaryIO | None, on_bytes=None) -> Iterator[tuple[int, bytes]]:
    last_pos = 0
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            line = line.strip()
            if line:
                yield number, line
            if raw is not None and number % 4096 == 0:
                pos = raw.tell()
                on_bytes(pos - last_pos)
                last_pos = pos
    except (OSError, EOFError, zlib.error) as err:
        raise SourceError(f"{path}: unreadable after line {number}: {err}") from None
    if raw is not None:
        on_bytes(raw.tell() - last_pos)


def _parquet_lines(path: str, on_bytes) -> Iterator[tuple[int, bytes]]:
    """Parquet rows become the same JSON lines the contract validates, so one
    set of rules applies to every format. Null columns are dropped: a missing
    optional field and a null one are the same thing in a table."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        raise SourceError("reading Parquet needs pyarrow: pip install pyarrow") from None
    encode = msgspec.json.Encoder().encode
    try:
        pf = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several types for a bad file
        raise SourceError(f"{path}: not a readable Parquet file: {err}") from None
    number = 0
    total = os.path.getsize(path)
    groups = max(pf.num_row_groups, 1)
    for batch in pf.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            clean = {k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v)
                     for k, v in row.items() if v is not None}
            yield number, encode(clean)
    if on_bytes:
        on_bytes(total if groups else 0)


def stdin_or_files_size(paths: list[str]) -> int | None:
    sizes = [file_size(p) if p == "-" or os.path.exists(p) else 0 for p in paths]
    return None if any(s is None for s in sizes) else sum(sizes)


__all__ = ["SourceError", "iter_lines", "stdin_or_files_size"]
