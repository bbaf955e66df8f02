"""CSV event log reader (plain or gzip text) into a ParsedLog.

One event per row, a header naming the columns. Column names are used as
given (``case:concept:name`` is just a header here, no trace level exists).
"""

from __future__ import annotations

import csv
from typing import TextIO

from frictionkit.importers.parsed_log import ImportLogError, LogColumns, ParsedLog, parse_timestamp_ms


def _column_index(header: list[str], column: str, source_name: str) -> int:
    try:
        return header.index(column)
    except ValueError:
        shown = ", ".join(repr(name) for name in header[:12])
        raise ImportLogError(f"{source_name}: no column {column!r} (columns: {shown})") from None


def read_csv(stream: TextIO, columns: LogColumns, *, source_name: str = "log") -> ParsedLog:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportLogError(f"{source_name}: empty file, expected a header row") from None
    except csv.Error as error:
        raise ImportLogError(f"{source_name}: not valid CSV ({error})") from None
    header = [name.strip() for name in header]
    case_at = _column_index(header, columns.case, source_name)
    activity_at = _column_index(header, columns.activity, source_name)
    time_at = _column_index(header, columns.timestamp, source_name)
    lifecycle_at = None
    if columns.lifecycle is not None:
        lifecycle_at = _column_index(header, columns.lifecycle_column, source_name)
        wanted_lifecycle = columns.lifecycle.casefold()
    needed_fields = max(case_at, activity_at, time_at, lifecycle_at or 0) + 1

    parsed = ParsedLog(case_ids=[], activities=[], timestamps_ms=[])
    case_ids, activities, timestamps_ms = parsed.case_ids, parsed.activities, parsed.timestamps_ms
    try:
        for row in reader:
            if not row:
                continue  # blank line
            parsed.events_read += 1
            if len(row) < needed_fields:
                raise ImportLogError(
                    f"{source_name}: line {reader.line_num}: {len(row)} fields, expected at least {needed_fields}"
                )
            if lifecycle_at is not None and row[lifecycle_at].strip().casefold() != wanted_lifecycle:
                parsed.events_filtered_out += 1
                continue
            case_id, activity, timestamp = row[case_at], row[activity_at], row[time_at]
            if not case_id or not activity or not timestamp:
                parsed.events_skipped += 1
                continue
            try:
                ts_ms = parse_timestamp_ms(timestamp)
            except ImportLogError as error:
                raise ImportLogError(f"{source_name}: line {reader.line_num}: {error}") from None
            case_ids.append(case_id)
            activities.append(activity)
            timestamps_ms.append(ts_ms)
    except csv.Error as error:
        raise ImportLogError(f"{source_name}: line {reader.line_num}: not valid CSV ({error})") from None
    return parsed
