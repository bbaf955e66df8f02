"""Segments: which sessions a view covers, by the session's device, browser,
OS, app and app version (docs/semantics.md, "Segments").

One filter object, ``Segment``, is what every query path takes (the CLI's
flags, the API's query parameters and the dashboard's filter bar all build
one); the stores turn it into bound parameters, never into SQL text. A
session's segment values are those of its first event (``session_segment``),
stored with each of its fact rows so that every view filters by plain column
equality in both stores.

Pure: no IO. Lives in core because the stores (below insights) take it;
``frictionkit.insights`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .model import DEVICE_TYPES

# The event's own app version, when an agent or importer sends one (the
# contract has no such field: `extra` is where an app puts its build).
APP_VERSION_EXTRA = "app_version"
MAX_VALUE_CHARS = 256
# Segment field -> fact column; also the order of the columns in the tables.
COLUMNS = {"device_type": "device_type", "browser": "browser", "os": "os", "app_name": "app_name",
           "app_version": "app_version"}


class SegmentError(ValueError):
    """A filter value that cannot name a segment; ``param`` is the Segment field."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Segment:
    """Sessions whose stored values equal every field that is set (exact,
    case-sensitive match; None means any value, including unknown).

    ``Segment()`` is every session."""

    device_type: str | None = None
    browser: str | None = None
    os: str | None = None
    app_name: str | None = None
    app_version: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            # Any other text is a value to match (exactly as the agent sent it).
            if not isinstance(value, str) or not value:
                raise SegmentError(f"{f.name}: must be a non-empty text", f.name)
            if len(value) > MAX_VALUE_CHARS:
                raise SegmentError(f"{f.name}: at most {MAX_VALUE_CHARS} characters", f.name)
        if self.device_type is not None and self.device_type not in DEVICE_TYPES:
            raise SegmentError(f"device_type: {self.device_type!r} is not one of {', '.join(DEVICE_TYPES)}",
                               "device_type")

    @property
    def is_all(self) -> bool:
        """No filter set: every session."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def items(self) -> list[tuple[str, str]]:
        """(field, value) of the fields set; a field is its fact column's name."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]

    def echo(self) -> dict[str, str]:
        """The fields set, camelCase as in the API's query parameters and payloads."""
        return {_CAMEL[f.name]: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_values(cls, **values: Any) -> Segment:
        """A Segment from optional texts; empty strings mean "any" (an HTML
        form sends an empty field as ``?browser=``)."""
        return cls(**{k: (v if v not in ("", None) else None) for k, v in values.items()})


_CAMEL = {"device_type": "deviceType", "browser": "browser", "os": "os", "app_name": "appName",
          "app_version": "appVersion"}
ALL = Segment()


def value_counts(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per segment field (camelCase), its known values with their sessions,
    most sessions first, from rows of (the five columns, ``sessions``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in COLUMNS:
        counts: dict[str, int] = {}
        for row in rows:
            if row[name] is not None:
                counts[row[name]] = counts.get(row[name], 0) + int(row["sessions"])
        out[_CAMEL[name]] = [{"value": v, "sessions": n}
                             for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return out
