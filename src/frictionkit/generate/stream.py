"""The traffic stream: when sessions start, who runs them, and merging all
sessions' events into one globally time-ordered stream in bounded memory.

Session start times are drawn already sorted (order statistics of uniforms
mapped through the working-week arrival profile), so sessions can be simulated
lazily, only once the merge reaches their start; memory is bounded by the
sessions active at one moment, not by the total.
"""

from __future__ import annotations

import bisect
import gzip
import heapq
import math
import random
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import msgspec

from .apps import CORE_TENANTS, SCREENS_BY_KIND, Tenant, extra_tenants, stable_hash
from .behaviour import run_session
from .builder import SessionBuilder

DEFAULT_START = "2026-11-02T08:00:00Z"  # a Monday, start of the working day
WORKING_DAYS = 5
WORKING_HOURS = 10
# Relative traffic per working hour: a morning ramp, a lunch dip, a tail-off.
HOUR_WEIGHTS = (0.6, 1.0, 1.15, 1.05, 0.55, 0.8, 1.0, 0.95, 0.7, 0.35)
DAY_WEIGHTS = (1.0, 1.05, 1.05, 1.0, 0.8)
MAX_SEED = 2**63
_HOUR_MS = 3_600_000
_MINUTE_MS = 60_000

DEVICE_PROFILES: tuple[tuple[float, tuple[str, str, str]], ...] = (
    # cumulative share, (deviceType, os, browser)
    (0.42, ("desktop", "Windows", "Chrome")),
    (0.56, ("desktop", "Windows", "Edge")),
    (0.62, ("desktop", "Windows", "Firefox")),
    (0.72, ("desktop", "macOS", "Chrome")),
    (0.78, ("desktop", "macOS", "Safari")),
    (0.81, ("desktop", "Linux", "Firefox")),
    (0.88, ("mobile", "iOS", "Safari")),
    (0.94, ("mobile", "Android", "Chrome")),
    (0.975, ("tablet", "iPadOS", "Safari")),
    (1.0, ("tablet", "Android", "Chrome")),
)


def parse_start(start: datetime | str) -> int:
    """Base time in epoch ms. A naive datetime is UTC; a date alone means 08:00 UTC that day."""
    if isinstance(start, str):
        text = start.strip()
        try:
            if len(text) == 10:
                parsed = datetime.combine(datetime.fromisoformat(text).date(), time(8), timezone.utc)
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"start {start!r} is not an ISO 8601 date or timestamp "
                             "(e.g. 2026-11-02T08:00:00Z)") from None
    elif isinstance(start, datetime):
        parsed = start
    else:
        raise ValueError(f"start must be a datetime or an ISO 8601 string, not {type(start).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


class ArrivalProfile:
    """Maps a position in [0, 1) to a time over the working week, by traffic weight."""

    def __init__(self, base_ts_ms: int) -> None:
        base = datetime.fromtimestamp(base_ts_ms / 1000, timezone.utc)
        self.segment_starts_ms: list[int] = []
        cumulative = [0.0]
        day = 0
        offset_days = 0
        while day < WORKING_DAYS:
            if (base + timedelta(days=offset_days)).weekday() < 5 or offset_days == 0:
                for hour, weight in enumerate(HOUR_WEIGHTS):
                    self.segment_starts_ms.append(base_ts_ms + offset_days * 24 * _HOUR_MS + hour * _HOUR_MS)
                    cumulative.append(cumulative[-1] + weight * DAY_WEIGHTS[day])
                day += 1
            offset_days += 1
        total = cumulative[-1]
        self.cumulative = [c / total for c in cumulative]

    def at(self, position: float) -> int:
        segment = min(bisect.bisect_right(self.cumulative, position) - 1, len(self.segment_starts_ms) - 1)
        low, high = self.cumulative[segment], self.cumulative[segment + 1]
        fraction = (position - low) / (high - low)
        return self.segment_starts_ms[segment] + int(fraction * _HOUR_MS)

    def sorted_starts(self, count: int, rng: random.Random) -> Iterator[int]:
        """`count` i.i.d. arrival times, produced in ascending order without storing them.

        The maximum of k uniforms is U**(1/k); peeling maxima off one by one
        gives descending order statistics, and 1 - x turns them ascending.
        """
        remaining_max = 1.0
        for k in range(count, 0, -1):
            remaining_max *= rng.random() ** (1.0 / k)
            yield self.at(1.0 - remaining_max)


class TrafficStream:
    """Iterable over all events of `sessions` client sessions, ordered by (ts, session, index)."""

    def __init__(self, sessions: int, seed: int, start: datetime | str = DEFAULT_START,
                 extra_orgs: int = 0) -> None:
        if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 0:
            raise ValueError(f"sessions must be a non-negative integer, not {sessions!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
            raise ValueError(f"seed must be an integer in [0, 2**63), not {seed!r}")
        if not isinstance(extra_orgs, int) or not 0 <= extra_orgs <= 999:
            raise ValueError(f"extra_orgs must be an integer in [0, 999], not {extra_orgs!r}")
        self.sessions = sessions
        self.seed = seed
        self.base_ts_ms = parse_start(start)
        self.tenants: tuple[Tenant, ...] = CORE_TENANTS + extra_tenants(extra_orgs)
        total_weight = sum(t.traffic_weight for t in self.tenants)
        running = 0.0
        self._cum_weights = []
        self._pool_sizes = []
        for tenant in self.tenants:
            running += tenant.traffic_weight
            self._cum_weights.append(running)
            expected_sessions = sessions * tenant.traffic_weight / total_weight
            self._pool_sizes.append(max(8, math.ceil(expected_sessions * tenant.users / 1000)))
        self._users: dict[tuple[str, int], tuple[str, tuple[str, str, str]]] = {}
        self.sessions_started = 0

    def _user(self, org_id: str, index: int) -> tuple[str, tuple[str, str, str]]:
        # Keyed by org, not product: the same employees use all of an org's apps.
        key = (org_id, index)
        user = self._users.get(key)
        if user is None:
            user_hash = stable_hash(f"{org_id}|user|{index}", 32)
            share = int(user_hash[-6:], 16) / 0xFFFFFF
            device = next(profile for cumulative, profile in DEVICE_PROFILES if share <= cumulative)
            user = self._users[key] = (user_hash, device)
        return user

    def _simulate(self, ordinal: int, start_ts_ms: int) -> SessionBuilder:
        rng = random.Random((self.seed << 40) | ordinal)
        tenant_index = bisect.bisect_left(self._cum_weights, rng.random() * self._cum_weights[-1])
        tenant_index = min(tenant_index, len(self.tenants) - 1)
        tenant = self.tenants[tenant_index]
        # Skewed towards low indexes: a few heavy users, a long tail of occasional ones.
        user_index = int(self._pool_sizes[tenant_index] * rng.random() ** 1.7)
        user_hash, device = self._user(tenant.org_id, user_index)
        target_active_ms = int(1.6 * _MINUTE_MS * rng.lognormvariate(0.0, 0.9))
        builder = SessionBuilder(
            rng, tenant, SCREENS_BY_KIND[tenant.kind],
            session_id=f"{rng.getrandbits(96):024x}", user_hash=user_hash, device=device,
            event_id_prefix=f"{self.seed}-{ordinal}-", start_ts_ms=start_ts_ms,
            target_active_ms=min(max(target_active_ms, 30_000), 40 * _MINUTE_MS),
        )
        run_session(builder)
        return builder

    def __iter__(self) -> Iterator[dict]:
        profile = ArrivalProfile(self.base_ts_ms)
        starts = profile.sorted_starts(self.sessions, random.Random(self.seed))
        heap: list[tuple[int, int, int, list[int], list[dict]]] = []
        next_start = next(starts, None)
        heappush, heapreplace, heappop = heapq.heappush, heapq.heapreplace, heapq.heappop
        while heap or next_start is not None:
            # A session is simulated only when the merge reaches its start time.
            while next_start is not None and (not heap or next_start <= heap[0][0]):
                ordinal = self.sessions_started
                session = self._simulate(ordinal, next_start)
                self.sessions_started += 1
                heappush(heap, (session.ts_ms[0], ordinal, 0, session.ts_ms, session.events))
                next_start = next(starts, None)
            _, ordinal, index, ts_ms, events = heap[0]
            yield events[index]
            index += 1
            if index < len(events):
                heapreplace(heap, (ts_ms[index], ordinal, index, ts_ms, events))
            else:
                heappop(heap)


def iter_events(sessions: int, seed: int, start: datetime | str = DEFAULT_START,
                *, extra_orgs: int = 0) -> Iterator[dict]:
    """Wire-format events (docs/contract.md) of `sessions` client sessions, sorted by `ts`."""
    return iter(TrafficStream(sessions, seed, start, extra_orgs=extra_orgs))


def write_jsonl(path: str | Path, sessions: int, seed: int, start: datetime | str = DEFAULT_START,
                *, extra_orgs: int = 0, compresslevel: int = 6,
                progress: Callable[[int], None] | None = None) -> int:
    """Write the stream as JSON lines to `path` ('-' = stdout; gzip when it ends in .gz).

    Returns the number of events. Gzip output is byte-for-byte reproducible (no
    mtime or name in the header). `progress` receives the sessions started so far.
    """
    stream = TrafficStream(sessions, seed, start, extra_orgs=extra_orgs)
    encode_lines = msgspec.json.Encoder().encode_lines
    target = str(path)
    if target == "-":
        return _write_all(stream, sys.stdout.buffer, encode_lines, progress)
    with open(target, "wb") as raw:
        if target.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                               compresslevel=compresslevel) as compressed:
                return _write_all(stream, compressed, encode_lines, progress)
        return _write_all(stream, raw, encode_lines, progress)


def _write_all(stream: TrafficStream, out, encode_lines, progress) -> int:
    batch: list[dict] = []
    count = 0
    for event in stream:
        batch.append(event)
        if len(batch) == 8192:
            out.write(encode_lines(batch))
            count += len(batch)
            batch.clear()
            if progress is not None:
                progress(stream.sessions_started)
    if batch:
        out.write(encode_lines(batch))
        count += len(batch)
    out.flush()
    if progress is not None:
        progress(stream.sessions_started)
    return count
