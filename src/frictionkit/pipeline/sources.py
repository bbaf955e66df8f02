"""Event files for replay: JSON Lines (plain or gzip) and Parquet, or stdin.

Sources yield blocks of raw lines (bytes) with the 1-based number of their
first line, so a bad line is reported where the user can find it; validation
is the contract's job.
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


BLOCK_BYTES = 1 << 20


def iter_line_blocks(path: str, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, lines) for consecutive lines of one source,
    about a megabyte at a time: every line, blank ones too, unstripped.

    Replay reads a file this way: a generator step per line costs more than
    splitting a block. ``on_bytes`` is called with the compressed bytes
    consumed, for a progress bar.
    """
    if path == "-":
        yield from _blocks(sys.stdin.buffer, path, None)
        return
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file")
    if os.path.isdir(path):
        raise SourceError(f"{path}: is a folder, not an event file")
    try:
        if _is_parquet(path):
            yield from _parquet_blocks(path, on_bytes)
            return
        raw = open(path, "rb")
    except OSError as err:
        raise SourceError(f"{path}: {err.strerror}") from None
    with raw:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        yield from _blocks(stream, path, raw if on_bytes else None, on_bytes)


def _blocks(stream: BinaryIO, path: str, raw: BinaryIO | None, on_bytes=None) -> Iterator[tuple[int, list[bytes]]]:
    # Lines end at b"\n" only, as iterating a binary file splits them: a lone
    # b"\r" is JSON whitespace and stays inside its line.
    last_pos = 0
    number = 1  # of the first line not yet yielded
    rest = b""
    try:
        while block := stream.read(BLOCK_BYTES):
            lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = lines.pop()  # the end of the block: a line's start, or b""
            if lines:
                yield number, lines
                number += len(lines)
            if raw is not None:
                pos = raw.tell()
                on_bytes(pos - last_pos)
                last_pos = pos
    except (OSError, EOFError, zlib.error) as err:
        raise SourceError(f"{path}: unreadable after line {number - 1}: {err}") from None
    if rest:
        yield number, [rest]


def _parquet_blocks(path: str, on_bytes) -> Iterator[tuple[int, list[bytes]]]:
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
    number = 1
    total = os.path.getsize(path)
    groups = max(pf.num_row_groups, 1)
    for batch in pf.iter_batches(batch_size=8192):
        lines = [encode({k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v)
                         for k, v in row.items() if v is not None}) for row in batch.to_pylist()]
        yield number, lines
        number += len(lines)
    if on_bytes:
        on_bytes(total if groups else 0)


def stdin_or_files_size(paths: list[str]) -> int | None:
    sizes = [file_size(p) if p == "-" or os.path.exists(p) else 0 for p in paths]
    return None if any(s is None for s in sizes) else sum(sizes)


__all__ = ["SourceError", "iter_line_blocks", "stdin_or_files_size"]
