"""Event time <-> text: epoch milliseconds, as the contract and the bus use them.

Both run once or twice per event on the ingestion and replay paths, so each
is built for speed; tests check both against the contract's RFC 3339 parser.
"""

from __future__ import annotations

from datetime import datetime, timezone

_EPOCH = datetime(1970, 1, 1).toordinal()
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)


def datetime_to_ms(dt: datetime) -> int:
    """Aware datetime -> epoch ms, truncating sub-millisecond digits (floor)."""
    # The timedelta's parts rather than ``// timedelta(milliseconds=1)``: the
    # same floor (days and seconds are exact, microseconds are >= 0) without
    # a second timedelta per event.
    delta = dt - _EPOCH_UTC
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


# format_ts_ms runs twice per event on the way to the bus; an f-string with
# six format specs and a datetime per call cost ~1.9 µs. Tables of the
# fixed-width pieces and a cache of date prefixes make it ~0.35 µs.
_DATE_PREFIX: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DDT"
_DATE_PREFIX_MAX = 4096  # ~11 years of days; cleared when full, refilled on use
_HH_MM = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SS = tuple(f"{s:02d}." for s in range(60))
_MS_Z = tuple(f"{ms:03d}Z" for ms in range(1000))


def _date_prefix(days: int) -> str:
    d = datetime.fromordinal(_EPOCH + days)  # raises outside years 1..9999, as before
    prefix = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
    if len(_DATE_PREFIX) >= _DATE_PREFIX_MAX:
        _DATE_PREFIX.clear()
    _DATE_PREFIX[days] = prefix
    return prefix


def format_ts_ms(ts_ms: int) -> str:
    """UTC epoch milliseconds -> RFC 3339 with milliseconds and ``Z``."""
    seconds, ms = divmod(ts_ms, 1000)
    days, rem = divmod(seconds, 86400)
    minute, second = divmod(rem, 60)
    return (_DATE_PREFIX.get(days) or _date_prefix(days)) + _HH_MM[minute] + _SS[second] + _MS_Z[ms]


def format_duration_ms(duration_ms: float | None) -> str:
    """A duration for people: ``850 ms``, ``4.2 s``, ``12 min 5 s``,
    ``3h 20 min``, ``1d 4h``.

    Two units at most, since a table cell or a graph label is read at a
    glance; "min" rather than "m", which could be read as months. JSON keeps
    the raw numbers: this is for tables, Mermaid and DOT only.
    """
    if duration_ms is None:
        return "—"
    if duration_ms < 0:
        return "-" + format_duration_ms(-duration_ms)
    if duration_ms < 999.5:
        return f"{duration_ms:.0f} ms"
    if duration_ms < 59_950:  # below a minute, one decimal of seconds still reads well
        return f"{duration_ms / 1000:.1f} s"
    # Each range rounds to its smaller unit, so 3h 20 min 40 s reads 3h 21 min.
    seconds = int(round(duration_ms / 1000))
    if seconds < 3600:
        m, s = divmod(seconds, 60)
        return f"{m} min {s} s" if s else f"{m} min"
    minutes = int(round(seconds / 60))
    if minutes < 24 * 60:
        h, m = divmod(minutes, 60)
        return f"{h}h {m} min" if m else f"{h}h"
    d, h = divmod(int(round(minutes / 60)), 24)
    return f"{d}d {h}h" if h else f"{d}d"
