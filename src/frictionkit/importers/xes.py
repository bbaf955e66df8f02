"""Streaming XES reader (plain or gzip) into a ParsedLog.

``iterparse`` with every finished event and trace cleared (and traces dropped
from the root), so memory stays flat however large the log; only the three
wanted attributes of each event are kept.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import BinaryIO

from frictionkit.importers.parsed_log import (
    CASE_ATTRIBUTE_PREFIX,
    ImportLogError,
    LogColumns,
    ParsedLog,
    parse_timestamp_ms,
)



def _split_column(column: str) -> tuple[bool, str]:
    """(is a trace attribute, attribute key)."""
    if column.startswith(CASE_ATTRIBUTE_PREFIX):
        return True, column[len(CASE_ATTRIBUTE_PREFIX) :]
    return False, column


def read_xes(stream: BinaryIO, columns: LogColumns, *, source_name: str = "log") -> ParsedLog:
    case_on_trace, case_key = _split_column(columns.case)
    activity_on_trace, activity_key = _split_column(columns.activity)
    time_on_trace, time_key = _split_column(columns.timestamp)
    wanted_lifecycle = columns.lifecycle.casefold() if columns.lifecycle is not None else None
    lifecycle_key = columns.lifecycle_column

    parsed = ParsedLog(case_ids=[], activities=[], timestamps_ms=[])
    # Whether any event had each attribute: tells a misspelt option from a sparse log.
    seen_case = seen_activity = seen_timestamp = False
    # Events of the current trace; the case id may come after them in the file.
    trace_events: list[dict[str, str]] = []

    context = ET.iterparse(stream, events=("start", "end"))
    try:
        _action, root = next(context)
        namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        if root.tag != f"{namespace}log":
            raise ImportLogError(f"{source_name}: not an XES log (root element is <{root.tag}>)")
        event_tag, trace_tag = f"{namespace}event", f"{namespace}trace"
        for action, element in context:
            if action != "end":
                continue
            tag = element.tag
            if tag == event_tag:
                trace_events.append({child.get("key"): child.get("value") for child in element})
                element.clear()
            elif tag == trace_tag:
                trace_attributes = {
                    child.get("key"): child.get("value") for child in element if child.tag != event_tag
                }
                for attributes in trace_events:
                    parsed.events_read += 1
                    if wanted_lifecycle is not None:
                        lifecycle = attributes.get(lifecycle_key)
                        if lifecycle is None or lifecycle.casefold() != wanted_lifecycle:
                            parsed.events_filtered_out += 1
                            continue
                    case_id = (trace_attributes if case_on_trace else attributes).get(case_key)
                    activity = (trace_attributes if activity_on_trace else attributes).get(activity_key)
                    timestamp = (trace_attributes if time_on_trace else attributes).get(time_key)
                    if not case_id or not activity or not timestamp:
                        seen_case = seen_case or case_id is not None
                        seen_activity = seen_activity or activity is not None
                        seen_timestamp = seen_timestamp or timestamp is not None
                        parsed.events_skipped += 1
                        continue
                    seen_case = seen_activity = seen_timestamp = True
                    try:
                        ts_ms = parse_timestamp_ms(timestamp)
                    except ImportLogError as error:
                        raise ImportLogError(f"{source_name}: case {case_id!r}: {error}") from None
                    parsed.case_ids.append(case_id)
                    parsed.activities.append(activity)
                    parsed.timestamps_ms.append(ts_ms)
                trace_events.clear()
                element.clear()
                root.remove(element)
    except ET.ParseError as error:
        raise ImportLogError(f"{source_name}: not valid XML ({error})") from None

    for seen, role, column in (
        (seen_case, "case id", columns.case),
        (seen_activity, "activity", columns.activity),
        (seen_timestamp, "timestamp", columns.timestamp),
    ):
        if parsed.events_skipped and not seen:
            where = "trace" if column.startswith(CASE_ATTRIBUTE_PREFIX) else "event"
            raise ImportLogError(f"{source_name}: no {where} has the {role} attribute {column!r}")
    return parsed
