"""Replay reads files a block at a time: every line keeps its number, however
the blocks cut the file, and a blank line is skipped but still counted."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings, strategies as st

from frictionkit.core.contract import ContractError, decode_event_line
from frictionkit.pipeline import sources
from frictionkit.pipeline.replay import StrictModeError, replay
from frictionkit.store import open_store

from conftest import FIXTURES

NOW_MS = 1_900_000_000_000


def _expected(content: bytes) -> list[tuple[int, bytes]]:
    """What iterating the file line by line gives: lines end at b"\\n" only."""
    return [(n, line.strip()) for n, line in enumerate(content.split(b"\n"), start=1) if line.strip()]


def _read(path: str, block_bytes: int) -> list[tuple[int, bytes]]:
    saved = sources.BLOCK_BYTES
    sources.BLOCK_BYTES = block_bytes
    try:
        return [(number, line.strip()) for first, lines in sources.iter_line_blocks(path)
                for number, line in enumerate(lines, start=first) if line.strip()]
    finally:
        sources.BLOCK_BYTES = saved


pieces = st.sampled_from([b'{"a":1}', b"x", b"  ", b"\r", b"\t", b"", b"\xff", b"\r\n", "é".encode()])
contents = st.lists(st.lists(pieces, max_size=4).map(b"".join), max_size=30).map(b"\n".join)


@settings(max_examples=200, deadline=None)
@given(content=contents, trailing_newline=st.booleans(), block_bytes=st.integers(1, 40))
def test_blocks_give_every_line_its_number(tmp_path_factory, content, trailing_newline, block_bytes):
    content += b"\n" if trailing_newline else b""
    folder = tmp_path_factory.mktemp("lines")
    plain, packed = folder / "e.jsonl", folder / "e.jsonl.gz"
    plain.write_bytes(content)
    packed.write_bytes(gzip.compress(content))
    assert _read(str(plain), block_bytes) == _expected(content)
    assert _read(str(packed), block_bytes) == _expected(content)


def _reasons(content: bytes) -> dict[int, str]:
    """Line number -> reason, line by line with the contract's one-line decoder."""
    reasons = {}
    for number, line in _expected(content):
        try:
            decode_event_line(line, now_ms=NOW_MS)
        except ContractError as err:
            reasons[number] = str(err)
    return reasons


def test_invalid_lines_are_reported_by_number_across_blocks(tmp_path, monkeypatch):
    lines = (FIXTURES / "small.jsonl").read_bytes().splitlines()
    # Blank lines and invalid ones among the fixture's, read in blocks far
    # smaller than a line: each reason must still name its own line.
    content = b"\n".join(lines[:5] + [b"", b"   ", b'{"orgId": 1}'] + lines[5:] + [b"", b"not json"]) + b"\n"
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    expected = _reasons(content)
    assert {8, len(lines) + 5} <= set(expected)  # ours, besides the fixture's own invalid line
    monkeypatch.setattr(sources, "BLOCK_BYTES", 7)

    store = open_store(f"duckdb:///{tmp_path}/s.duckdb")
    report = replay([str(path)], store, now_ms=NOW_MS)
    store.close()
    assert {bad.line: bad.reason for bad in report.invalid} == expected
    assert report.read == len(lines) + 2 and report.rejected == len(expected)  # blank lines are not events

    store = open_store(f"duckdb:///{tmp_path}/strict.duckdb")
    with pytest.raises(StrictModeError) as err:
        replay([str(path)], store, now_ms=NOW_MS, strict=True)
    store.close()
    first = min(expected)
    assert str(err.value) == f"{path}:{first}: {expected[first]}"
