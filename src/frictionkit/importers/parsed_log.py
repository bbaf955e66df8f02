"""What every log reader produces: the log as three parallel columns in file order.

Columnar (like the DataFrame a process-mining library builds) so that grouping
into cases and sorting within a case happen once, in ``cases``, whatever the
file format was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
CASE_ATTRIBUTE_PREFIX = "case:"  # a column naming a trace (case-level) attribute


class ImportLogError(Exception):
    """A problem with the input the user can fix; its message is one clear line."""


class LogColumns(msgspec.Struct, frozen=True):
    """Which attributes hold the case id, activity and timestamp.

    Names follow the usual DataFrame convention: ``case:X`` is the trace
    attribute ``X`` in XES; anything else is an event attribute (or CSV column).
    ``lifecycle`` keeps only events whose ``lifecycle_column`` equals it,
    compared case-insensitively (logs write both ``COMPLETE`` and ``complete``).
    """

    case: str = "case:concept:name"
    activity: str = "concept:name"
    timestamp: str = "time:timestamp"
    lifecycle: str | None = None
    lifecycle_column: str = "lifecycle:transition"


class ParsedLog(msgspec.Struct):
    case_ids: list[str]
    activities: list[str]
    timestamps_ms: list[int]
    events_read: int = 0  # events in the file, before any filter
    events_filtered_out: int = 0  # dropped by the lifecycle filter
    events_skipped: int = 0  # dropped for lacking a case id, activity or timestamp

    @property
    def event_count(self) -> int:
        return len(self.activities)


def parse_timestamp_ms(text: str) -> int:
    """RFC 3339 / ISO 8601 text → UTC epoch milliseconds.

    Offsets are honoured (a log crossing a DST change must not reorder events);
    a timestamp without an offset is taken as UTC, the only reading that does
    not depend on the machine importing it. Sub-millisecond digits are floored.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ImportLogError(f"bad timestamp {text!r} (expected ISO 8601, e.g. 2012-10-09T14:50:17+02:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_MS


def format_timestamp_ms(ts_ms: int) -> str:
    """UTC epoch ms → RFC 3339 with milliseconds and ``Z``, as the wire format wants."""
    moment = _EPOCH + timedelta(milliseconds=ts_ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ts_ms % 1000:03d}Z"


def require_file(path: Path) -> None:
    if not path.exists():
        raise ImportLogError(f"{path}: no such file")
    if not path.is_file():
        raise ImportLogError(f"{path}: not a file")
