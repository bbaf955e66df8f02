"""The sessionizer processor's restart rule, without a broker: a partition's
messages are fed to one processor up to a cut, the offsets it would commit
are taken, and a fresh processor resumes from them with the commit metadata.
Whatever the cut, the sessions emitted across the crash are exactly those of
an uninterrupted run, byte for byte: no session lost, none partial, none
renumbered. Plus the message formats of the derived topics."""

from __future__ import annotations

import random

import msgspec

import pytest

from frictionkit import native
from frictionkit.bus.codec import bus_messages, event_to_bus_json
from frictionkit.core.contract import decode_bus_message
from frictionkit.native import process_session
from frictionkit.core.sessionizer import SessionizerConfig
from frictionkit.generate import iter_events
from frictionkit.stream import StreamSettings
from frictionkit.core.model import Event
from frictionkit.stream.codec import (LateEvents, MessageError, decode_incident, decode_session, decode_sessionized,
                                      encode_incident, encode_late, encode_session,
                                      encode_session_v1)
from frictionkit.stream.sessionizer import SessionizerProcessor
from workshop import loadgen

TP = ("events.raw", 0)
NOW = 1_900_000_000_000  # wall clock far after the traffic: idle closes everything
HOUR_MS = 3_600_000


class Msg:
    """What the processor reads off a consumed message."""

    def __init__(self, offset: int, value: bytes) -> None:
        self._offset, self._value = offset, value

    def topic(self) -> str:
        return TP[0]

    def partition(self) -> int:
        return TP[1]

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value


class Collect:
    def __init__(self) -> None:
        # (session id, message): keyed by the session, not the Kafka key
        # (every session of a client key shares one Kafka key).
        self.sessions: list[tuple[str, bytes]] = []
        self.late: list[Event] = []  # of the late-events messages

    def produce(self, topic, value, key=None, headers=None) -> None:
        decoded = decode_sessionized(value)
        if isinstance(decoded, LateEvents):
            self.late.extend(decoded.events)
        else:
            self.sessions.append((decoded.session_id, value))


@pytest.fixture(scope="module", params=["one event per message", "serve's arrays"])
def partition(request) -> list[bytes]:
    """The partition's messages: one event each (any producer), or as ``serve``
    writes them, the events of one request that share a key in one array, so a
    message holds events of many sessions and a commit can fall inside them."""
    events = loadgen.events_from_wire(iter_events(sessions=120, seed=31))
    arrived = loadgen.with_retried_batches(loadgen.arrival_order(events, max_delay_ms=60_000, seed=1),
                                           batch=50, fraction=0.1, seed=2)
    if request.param == "one event per message":
        return [event_to_bus_json(ev) for ev in arrived]
    return [value for lo in range(0, len(arrived), 20) for _, value in bus_messages(arrived[lo:lo + 20])]


def _settings(retention_ms: int) -> StreamSettings:
    return StreamSettings(sessionizer=SessionizerConfig(key_retention_ms=retention_ms))


def _feed(proc: SessionizerProcessor, values: list[bytes], start: int, stop: int, out: Collect) -> None:
    for lo in range(start, stop, 200):
        for offset in range(lo, min(lo + 200, stop)):
            proc.handle(Msg(offset, values[offset]), out, 0)
        proc.tick(out, 0)


def _finish(proc: SessionizerProcessor, out: Collect) -> None:
    proc.eof(TP, NOW)
    proc.tick(out, NOW + 10 * proc.settings.idle_after_ms)


def _uninterrupted_run(values: list[bytes], settings: StreamSettings) -> Collect:
    proc, out = SessionizerProcessor(settings), Collect()
    proc.assigned([TP], {})
    _feed(proc, values, 0, len(values), out)
    _finish(proc, out)
    assert len({k for k, _ in out.sessions}) == len(out.sessions)
    return out


def _uninterrupted(values: list[bytes], settings: StreamSettings) -> dict[bytes, bytes]:
    return dict(_uninterrupted_run(values, settings).sessions)


def _event_ids(out: Collect) -> set[tuple[str, str]]:
    return {(e.session_id, e.event_id) for _, v in out.sessions for e in decode_session(v).events} | {
        (e.session_id, e.event_id) for e in out.late}


@pytest.mark.parametrize("retention_ms", [HOUR_MS, 24 * HOUR_MS])
def test_restart_from_the_committed_offset_reproduces_the_uninterrupted_sessions(partition, retention_ms) -> None:
    settings = _settings(retention_ms)
    clean = _uninterrupted_run(partition, settings)
    want = dict(clean.sessions)
    published = {(e.session_id, e.event_id) for value in partition for e in decode_bus_message(value)}
    assert _event_ids(clean) == published
    rng = random.Random(retention_ms)
    moved = suppressed = 0
    for cut in sorted(rng.sample(range(200, len(partition)), 8)):
        before, after = Collect(), Collect()
        first = SessionizerProcessor(settings)
        first.assigned([TP], {})
        _feed(first, partition, 0, cut, before)
        committed, metadata = first.offsets({TP: cut})[TP]
        assert committed <= cut
        moved += committed > 0
        second = SessionizerProcessor(settings)
        second.assigned([TP], {TP: metadata})
        _feed(second, partition, committed, len(partition), after)
        _finish(second, after)
        suppressed += second.stats["suppressed"]
        got: dict[str, bytes] = {}
        for key, value in before.sessions + after.sessions:
            # A session may be emitted again after the crash, never differently.
            assert got.setdefault(key, value) == value, f"cut {cut}: {key!r} re-emitted with other content"
        assert got == want, f"cut {cut}: sessions differ from the uninterrupted run"
        # Late events (resent after their session closed, here) are stored
        # too: across the crash each reaches the aggregator in some message.
        assert _event_ids(before) | _event_ids(after) == published, f"cut {cut}: an event would not be stored"
    if retention_ms == HOUR_MS:
        assert moved, "the committed offset never moved: the partial re-read was not exercised"
        assert suppressed, "no re-read session was suppressed"


def test_sessionized_message_round_trips_and_is_deterministic(partition) -> None:
    sessions = _uninterrupted(partition, _settings(24 * HOUR_MS))
    for value in list(sessions.values())[:20]:
        session = decode_session(value)
        assert encode_session(session) == value
        for inc in process_session(session).incidents:
            assert decode_incident(encode_incident(inc)) == inc


def test_a_v1_sessionized_message_written_before_an_upgrade_is_still_read(partition) -> None:
    """v1 carried the events in the bus format; v2 carries the core's Event
    records. Both must give the processors the very same session."""
    sessions = _uninterrupted(partition, _settings(24 * HOUR_MS))
    for value in list(sessions.values())[:20]:
        session = decode_session(value)
        old = encode_session_v1(session)
        assert old.startswith(b'{"v":1,') and old != value
        assert decode_session(old) == session


def test_the_aggregator_reads_v2_v1_and_late_messages_alike(partition) -> None:
    """``decode_sessionized`` (the aggregator's decode) gives the session of
    a v2 message and of its v1 encoding alike, and late events as such."""
    sessions = _uninterrupted(partition, _settings(24 * HOUR_MS))
    for value in list(sessions.values())[:20]:
        session = decode_sessionized(value)
        assert session == decode_session(value)
        assert decode_sessionized(encode_session_v1(session)) == session
    assert decode_sessionized(encode_late(_A)) == LateEvents("acme", "crm", "s-a", _A)


def _late_value(events: list[Event], **changes) -> bytes:
    body = msgspec.json.decode(encode_late(events))
    body.update(changes)
    return msgspec.json.encode(body)


_A = [Event(f"a{i}", "acme", "crm", "s-a", "u", 1_000_000 + i * 1000, "click", "home", "/", "desktop") for i in range(2)]


@pytest.mark.parametrize("value", [b"", b"[]", b'{"v": 2}', b'{"v": 3}', b'{"v": 1, "orgId": "a"}', b'{"v": 1}',
                                   b'{"v": 2, "kind": "late"}', _late_value(_A, eventCount=3),
                                   _late_value(_A, clientSessionId="s-b"), _late_value(_A, v=3)])
def test_broken_sessionized_message_is_a_message_error(value) -> None:
    with pytest.raises(MessageError):
        decode_sessionized(value)


def test_events_too_late_for_their_closed_session_travel_as_a_late_message() -> None:
    """Stored in events_raw as replay stores them, but in no session: the
    aggregator reads them from events.sessionized."""
    def ev(event_id: str, session: str, ts_ms: int) -> Event:
        return Event(event_id, "acme", "crm", session, "u", ts_ms, "click", "home", "/", "desktop")

    t0 = 1_700_000_000_000
    opened = [ev("a1", "s-a", t0), ev("a2", "s-a", t0 + 60_000)]
    later = [ev("b1", "s-b", t0 + 3 * HOUR_MS)]  # moves the watermark past s-a's close
    # One new event, and one resent after its session closed: the sessionizer
    # no longer holds the ids of closed sessions, so both are late, and the
    # store drops the repeat.
    late = [ev("a3", "s-a", t0 + 120_000), ev("a1", "s-a", t0)]
    proc, out = SessionizerProcessor(_settings(24 * HOUR_MS)), Collect()
    proc.assigned([TP], {})
    values = [value for batch in (opened, later, late) for _, value in bus_messages(batch)]
    _feed(proc, values, 0, 2, out)  # the tick after these closes s-a
    _feed(proc, values, 2, 3, out)
    [(key, value)] = out.sessions
    assert key == "s-a" and [e.event_id for e in decode_session(value).events] == ["a1", "a2"]
    assert out.late == late
    assert proc.stats["late"] == 2
    message = encode_late(late)
    assert decode_sessionized(message) == LateEvents("acme", "crm", "s-a", late)
    with pytest.raises(MessageError, match="late"):
        decode_session(message)


def test_claims_inherited_from_an_idle_instance_do_not_swallow_sessions_open_at_a_later_commit() -> None:
    """Soak bug 2 (docs/reliability.md), reduced: instance 1 goes idle, so its
    watermark jumps to the wall clock and is committed. Instance 2 reads newer
    traffic that is still dated in the past (event-time watermark, sessions
    open) and commits; instance 3 resumes from that commit. Every session of
    the newer traffic must be emitted once whole: before the fix, instance 2
    paired the inherited wall-clock watermark with its own position, so
    instance 3 took the sessions open at that commit for emitted ones."""
    from frictionkit.core.model import Event


    def traffic(seed: int, start: str, tag: str) -> list[Event]:
        events = loadgen.events_from_wire(iter_events(sessions=60, seed=seed, start=start))
        return [msgspec.structs.replace(ev, session_id=f"{tag}{ev.session_id}") for ev in events]

    older, newer = traffic(5, "2000-01-03T08:00:00Z", "a-"), traffic(6, "2000-01-05T08:00:00Z", "b-")
    arrived = loadgen.arrival_order(older, max_delay_ms=60_000, seed=1) + loadgen.arrival_order(
        newer, max_delay_ms=60_000, seed=2)
    values = [event_to_bus_json(ev) for ev in arrived]
    settings = _settings(HOUR_MS)
    logic = native.sessionizer(settings.sessionizer)
    for ev in arrived:
        logic.on_event(ev)
    want = {s.session_id: encode_session(s) for s in logic.close_all()}

    out = Collect()
    first = SessionizerProcessor(settings)
    first.assigned([TP], {})
    _feed(first, values, 0, len(older), out)
    _finish(first, out)  # idle: the wall-clock watermark is what it commits
    committed, metadata = first.offsets({TP: len(older)})[TP]
    cut = len(older) + len(newer) // 2
    second = SessionizerProcessor(settings)
    second.assigned([TP], {TP: metadata})
    _feed(second, values, committed, cut, out)  # busy: event-time watermark, sessions open at the cut
    committed, metadata = second.offsets({TP: cut})[TP]
    assert committed < cut, "no session was open at the second commit: the case is not exercised"
    third = SessionizerProcessor(settings)
    third.assigned([TP], {TP: metadata})
    _feed(third, values, committed, len(values), out)
    _finish(third, out)

    got: dict[str, bytes] = {}
    for key, value in out.sessions:
        assert got.setdefault(key, value) == value, f"{key!r} re-emitted with other content"
    missing = [k for k in want if k not in got]
    assert not missing, f"{len(missing)} of {len(want)} sessions never emitted, e.g. {missing[:3]}"
    assert got == want


def test_commit_metadata_claims_round_trip_and_stay_bounded() -> None:
    from frictionkit.stream.sessionizer import MAX_CLAIMS, format_claims, merge_claims, parse_metadata

    assert parse_metadata("wm=100;pos=7") == [(100, 7)]  # what earlier versions committed
    assert parse_metadata("wm=100") == [(100, None)]
    assert parse_metadata(None) == [] and parse_metadata("claims=x@1") == []
    claims = merge_claims([(100, 7), (50, 9), (40, 5), (100, 3)])  # (40, 5) and (100, 3) are covered
    assert sorted(claims) == [(50, 9), (100, 7)]
    assert sorted(parse_metadata(format_claims(claims))) == sorted(claims)
    many = merge_claims([(1000 - i, i) for i in range(100)])  # none covers another
    assert len(many) == MAX_CLAIMS
    assert len(format_claims(many)) < 4096  # the broker's default offset.metadata.max.bytes
    # Narrowed claims never claim more than the originals did.
    assert all(any(w <= w0 and p <= p0 for w0, p0 in [(1000 - i, i) for i in range(100)]) for w, p in many)


def test_past_dated_traffic_after_an_idle_spell_is_sessionized_whole() -> None:
    """A partition that sat idle has flushed its sessions by the wall clock.
    Traffic dated in the past that then arrives (a backfill, an agent that was
    offline, the soak's generator) must still be sessionized by its own event
    time: before, the wall-clock watermark stayed, so every tick closed every
    open session, cutting sessions at fetch boundaries; the rest of a cut
    session came back as a second session with the same id."""
    settings = _settings(HOUR_MS)
    events = loadgen.events_from_wire(iter_events(sessions=80, seed=9, start="2000-01-03T08:00:00Z"))
    arrived = loadgen.arrival_order(events, max_delay_ms=60_000, seed=4)
    logic = native.sessionizer(settings.sessionizer)
    for ev in arrived:
        logic.on_event(ev)

    want = {s.session_id: encode_session(s) for s in logic.close_all()}

    proc, out = SessionizerProcessor(settings), Collect()
    proc.assigned([TP], {})
    proc.eof(TP, NOW)
    proc.tick(out, NOW + 10 * proc.settings.idle_after_ms)  # idle before any traffic
    _feed(proc, [event_to_bus_json(ev) for ev in arrived], 0, len(arrived), out)
    _finish(proc, out)
    got: dict[str, bytes] = {}
    for key, value in out.sessions:
        assert got.setdefault(key, value) == value, f"{key!r} emitted twice with other content (a cut session)"
    assert got == want


def test_the_retired_incident_detector_processor_says_where_it_went():
    """`process incident-detector` (three processors until the incidents were
    computed once, in the aggregator): one line naming what to run, exit 1."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "frictionkit.cli.main", "process", "incident-detector"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "part of metrics-aggregator" in result.stderr and len(result.stderr.strip().splitlines()) == 1
