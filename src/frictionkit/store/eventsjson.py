"""A batch of events as one JSON array, for stores whose engine parses JSON
natively.

Events made in this process go to the stores as Arrow rows, built in Rust
(``store.arrow.events_table``): DuckDB scans those for less than it parses
JSON. The stream aggregator is the exception: a v2 session message already
holds its events in exactly this encoding, so their JSON is sliced out of
the message, not encoded again, and DuckDB's C++ JSON reader takes it
without the GIL.

The JSON of each event is exactly what msgspec writes for a core ``Event``
(field names as in the struct, ``ts_ms``/``received_at_ms`` integers,
``extra`` an object). ``extra`` reaches the table as its JSON text, byte for
byte what ``store.arrow`` stores for it (the engine keeps a JSON value's text).
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterable, NamedTuple

import msgspec

from ..core.model import Event

_encoder = msgspec.json.Encoder()


class EventsJson(NamedTuple):
    """The JSON array of a batch's events (see the module's docstring)."""

    data: bytes


def events_json(events: list[Event]) -> EventsJson:
    return EventsJson(_encoder.encode(events))


def join_event_arrays(arrays: Iterable[bytes | memoryview]) -> EventsJson:
    """One array of the elements of several non-empty JSON arrays of events
    (the ``events`` of several session messages), without parsing them."""
    inner = b",".join(memoryview(a)[1:-1] for a in arrays)
    return EventsJson(b"[" + inner + b"]")


class MemoryFile:
    """A file a native reader can open by path, holding one batch at a time.

    DuckDB's Python API reads JSON from paths only (file objects need fsspec
    and would call back into Python for every read). On Linux the file is an
    anonymous in-memory one (``memfd``), gone with the process whatever the
    way it ends; elsewhere a temporary file, deleted on close.
    """

    def __init__(self, name: str = "frictionkit-batch") -> None:
        self._tmp = None
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            self._fd = os.memfd_create(name, getattr(os, "MFD_CLOEXEC", 0))
            self.path = f"/proc/self/fd/{self._fd}"
        else:  # pragma: no cover - not Linux
            self._tmp = tempfile.NamedTemporaryFile(prefix=name + "-", suffix=".json")
            self._fd = self._tmp.fileno()
            self.path = self._tmp.name

    def write(self, data: bytes) -> str:
        """Replace the contents by ``data``; return the path to read it at."""
        os.ftruncate(self._fd, 0)
        view, done = memoryview(data), 0
        while done < len(view):
            done += os.pwrite(self._fd, view[done:], done)
        return self.path

    def clear(self) -> None:
        # A batch can be tens of MB: not kept in memory until the next one.
        os.ftruncate(self._fd, 0)

    def close(self) -> None:
        if self._tmp is not None:  # pragma: no cover - not Linux
            self._tmp.close()
        elif self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
