"""The native processing core (the Rust crate in ``rust/``, built by maturin
as ``frictionkit._native``), behind a small typed surface. See docs/native.md.

``check_batch``: the event contract on a ``POST /v1/events/batch`` body, used
by ``serve`` on Kafka and held to ``core/batch.py`` by
tests/test_native_contract.py. ``sessionizer``: the event-time sessionizer
and its clock, used by every shape, held to tests/reference/sessionizer.py.
``session_facts``: incidents, task runs, screen stats, metrics and scores of
closed sessions as Arrow fact batches, held to tests/reference/.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pyarrow as pa

from .core import batch as _reference
from .core.batch import CheckedBatch
from .core.clock import EventClock
from .core.contract import BatchError, ContractError, decode_event_line
from .core.contract import decode_bus_message as _reference_bus_message
from .core.metrics import CoreConfig
from .core.model import Event, Incident, Session, SessionFacts, SessionResult, SessionScreenFacts, TaskRun
from .core.sessionizer import SessionizerConfig
from .store.arrow import FACT_TABLES, FactBatch, fact_records

MISSING = (
    "frictionkit's native extension (frictionkit._native) is not built: install a wheel, "
    "or install from source with a Rust toolchain (cargo >= 1.88, https://rustup.rs)"
)


class NativeUnavailable(ImportError):
    """The extension module is missing (a source checkout that was never built)."""


def _native() -> ModuleType:
    try:
        from . import _native
    except ImportError as exc:
        raise NativeUnavailable(MISSING) from exc
    return _native


def available() -> bool:
    try:
        _native()
    except NativeUnavailable:
        return False
    return True


def sessionizer(config: SessionizerConfig = SessionizerConfig(), resume_state: Any | None = None) -> Any:
    """The event-time sessionizer (docs/semantics.md) of this config, resumed
    from a ``snapshot()`` when one is given: a ``_native.Sessionizer`` holding
    the ``Event`` objects it is fed and handing them back in closed
    ``Session``s. Its methods: ``on_event(ev, now_ms)`` (ACCEPTED, DUPLICATE
    or LATE), ``on_events(events, now_ms)`` (a status byte per event, 0/1/2,
    and the keys it did not hold before), ``has_key``, ``preload``,
    ``forget``, ``advance(watermark_ts_ms, now_ms=)``, ``close_all``,
    ``snapshot``; ``watermark_ts_ms``, ``max_ts_ms``, ``closed_until_ts_ms``,
    ``open_events``, ``open_keys``. Held to tests/reference/sessionizer.py."""
    logic = _native().Sessionizer(Session, config.gap_ms, config.max_length_ms, config.allowed_lateness_ms,
                                  config.key_retention_ms, config.idle_after_ms)
    if resume_state is not None:
        logic.restore(resume_state)
    return logic


# The status bytes of ``Sessionizer.on_events``.
ACCEPTED_CODE, DUPLICATE_CODE, LATE_CODE = 0, 1, 2


def indices_of(statuses: bytes, code: int) -> list[int]:
    """The positions of ``code`` in ``on_events``' status bytes (late and
    duplicate events are rare: found by ``bytes.find``, not a Python loop)."""
    found, i = [], statuses.find(code)
    while i >= 0:
        found.append(i)
        i = statuses.find(code, i + 1)
    return found


def clock(config: EventClock = EventClock(), resume_state: Any | None = None) -> Any:
    """The clock alone (``core/clock.py``'s rule; the sessionizer holds one)."""
    logic = _native().EventClock(config.allowed_lateness_ms, config.idle_after_ms)
    if resume_state is not None:
        logic.restore(resume_state)
    return logic


def check_batch(body: bytes, *, received_at_ms: int, events: bool = False) -> CheckedBatch:
    """``core.batch.check_batch`` in Rust: the same ``BatchError`` messages,
    the same accepted events and the same ``Event <i>: <reason>`` list, byte
    for byte, with no msgspec struct made per event.

    The result is untyped (``CheckedBatch.typed`` is False): its accepted
    events stay in Rust (``CheckedBatch.native``), which builds their bus
    messages; its ``wires`` carry only ``org_id``, ``product_id``,
    ``session_id`` and ``event_id``, and its ``raws`` are bytes, both made
    when first read. With ``events``, the accepted events' ``Event``s are
    made in the same scan (what the embedded pipeline takes); ``events()``
    gives every ``Event`` either way.

    Malformed JSON (whose message msgspec words with byte offsets), nesting
    deeper than 64 levels and a few other inputs no agent sends are handed to
    the Python reference, so they get its answer exactly."""
    if not isinstance(body, bytes):
        body = bytes(body)
    out = _native().check_batch(body, received_at_ms, Event if events else None)
    if out is None:
        return _reference.check_batch(body, received_at_ms=received_at_ms)
    if isinstance(out, str):
        raise BatchError(out)
    agent_id, sdk_version, skew_ms, accepted, errors, all_event_ids = out
    return CheckedBatch(None, None, errors, received_at_ms, skew_ms, agent_id, sdk_version, typed=False,
                        all_event_ids=all_event_ids, native=accepted)


def decode_event_lines(lines: list[bytes], *, now_ms: int | None) -> tuple[list[Event], list[tuple[int, str]]]:
    """``core.contract.decode_event_lines`` in Rust: the events of the valid
    replay lines, in order, and ``(index, reason)`` for each invalid one,
    the same events and the same reasons. Each line is checked and its
    ``Event`` made in one pass, without msgspec's struct or a datetime per
    timestamp in between.

    A line only msgspec can word (malformed JSON, nesting deeper than 64,
    and the few other inputs docs/native.md lists), and a line without an ``eventId`` (its id is
    derived from msgspec's encoding of the whole event), is decoded by the
    Python reference, in its place."""
    if not isinstance(lines, list):
        lines = list(lines)
    events, errors, fallback = _native().decode_lines(lines, now_ms, Event)
    if fallback:
        dropped = []
        for index, position in fallback:
            try:
                events[position] = decode_event_line(lines[index], now_ms=now_ms)
            except ContractError as err:
                errors.append((index, str(err)))
                dropped.append(position)
        for position in reversed(dropped):
            del events[position]
        errors.sort()
    return events, errors


def decode_bus_message(value: bytes) -> list[Event]:
    """``core.contract.decode_bus_message`` in Rust: the events of one
    ``events.raw`` message (a single bus event, or a batch as ``serve``
    writes it), the same ``Event``s. Only the accepting path is native: a
    message it does not accept whole (a fault, an unknown field, an event
    without an ``eventId``) is decoded by the Python reference, which raises
    the same ``ContractError`` as before."""
    if not isinstance(value, bytes):
        value = bytes(value)
    events = _native().decode_bus_message(value, Event)
    return events if events is not None else _reference_bus_message(value)


def session_facts(sessions: list[Session], config: CoreConfig = CoreConfig()) -> FactBatch:
    """Everything the core derives from these closed sessions (incidents,
    task runs, per-screen stats, metrics and both scores: docs/semantics.md),
    as the four fact tables' rows. Deterministic: the same events give the
    same rows. The Python objects are read once, in Rust; the rules run with
    the GIL released; the rows come back as Arrow record batches."""
    batches = _native().session_facts(sessions, config)
    return FactBatch({name: pa.Table.from_batches([b]) for name, b in zip(FACT_TABLES, batches)})


def process_session(session: Session, config: CoreConfig = CoreConfig()) -> SessionResult:
    """One session's facts as records (``session_facts`` of one session):
    for tests and callers that look at a single session, not the hot path."""
    tables = session_facts([session], config).tables
    (facts,) = fact_records(tables["fact_sessions"], SessionFacts)
    return SessionResult(
        session=facts,
        incidents=fact_records(tables["fact_incidents"], Incident),
        screens=fact_records(tables["fact_session_screens"], SessionScreenFacts),
        task_runs=fact_records(tables["fact_task_runs"], TaskRun),
    )
