"""The native sessionizing kernel (frictionkit.native.session_seqs) held to
today's Python sessionizer on random adversarial streams: full shuffles,
duplicate event ids (also with another timestamp than the first arrival),
gaps at the gap and length-cut boundaries, equal timestamps, several keys
sharing event ids. The reference is SessionizerConfig().build(), every event
through on_event, then close_all() — replay's path."""

from __future__ import annotations

import sys

import msgspec
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionkit import native
from frictionkit.core.sessionizer import DUPLICATE, SessionizerConfig, session_id_for

from helpers import HOUR, MINUTE, ev

KEYS = [("org-1", "s-1"), ("org-1", "s-2"), ("org-2", "s-1"), ("org-2", "s-3")]


def gaps(config):
    g, cut = config.gap_ms, config.max_length_ms
    return st.one_of(
        st.sampled_from([0, 1, g - 1, g, g + 1, cut - 1, cut, cut + 1]),
        st.integers(0, g),
        st.integers(0, 3 * g),
    )


@st.composite
def streams(draw, config):
    events = []
    for org, sid in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True)):
        t = draw(st.integers(0, 2 * HOUR))
        for i in range(draw(st.integers(1, 40))):
            t += draw(gaps(config))
            # Few distinct ids, shared across keys: ties at equal ts order by id.
            events.append(ev(t, id=f"{draw(st.sampled_from('abcdefgh'))}{i:02d}", session=sid, org=org))
    dups = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    # A duplicate keeps its id but may carry another timestamp than the original.
    moved = draw(st.lists(st.sampled_from([0, 1, -1, config.gap_ms + 1, -config.max_length_ms]), min_size=len(dups), max_size=len(dups)))
    dups = [ev(d.ts_ms + m - ev(0).ts_ms, id=d.event_id, session=d.session_id, org=d.org_id) for d, m in zip(dups, moved)]
    return draw(st.permutations(events + dups))


def python_session_ids(arrived, config):
    """Per arrival, the session id today's sessionizer gives it (None: duplicate)."""
    logic = config.build()
    statuses = [logic.on_event(e) for e in arrived]
    where = {(e.key, e.event_id): s.session_id for s in logic.close_all() for e in s.events}
    return [None if st_ == DUPLICATE else where[(e.key, e.event_id)] for e, st_ in zip(arrived, statuses)]


def native_session_ids(arrived, config):
    key_index: dict = {}
    keys = [key_index.setdefault(e.key, len(key_index)) for e in arrived]
    seqs = native.session_seqs(
        pa.array(keys, pa.int64()), pa.array([e.ts_ms for e in arrived], pa.int64()), pa.array([e.event_id for e in arrived]), config
    )
    assert isinstance(seqs, pa.Int64Array) and len(seqs) == len(arrived)
    return [None if n is None else session_id_for(e.session_id, n) for e, n in zip(arrived, seqs.to_pylist())]


CONFIGS = st.sampled_from(
    [
        SessionizerConfig(),
        SessionizerConfig(gap_ms=10 * MINUTE, max_length_ms=HOUR),
        SessionizerConfig(gap_ms=30 * MINUTE, max_length_ms=90 * MINUTE),
        SessionizerConfig(gap_ms=0, max_length_ms=1),
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_native_kernel_gives_every_event_the_session_the_python_sessionizer_gives_it(data):
    config = data.draw(CONFIGS)
    arrived = data.draw(streams(config))
    assert native_session_ids(arrived, config) == python_session_ids(arrived, config)


INT64 = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), INT64, st.sampled_from("abc")), min_size=1, max_size=12), INT64, INT64)
def test_any_int64_timestamps_and_settings_agree_without_overflow(rows, gap_ms, max_length_ms):
    # Python's ints never overflow; the kernel must reach the same answers at the extremes.
    config = SessionizerConfig(gap_ms=gap_ms, max_length_ms=max_length_ms)
    arrived = [ev(0, id=i, session=sid, org=org) for (org, sid), _, i in rows]
    arrived = [msgspec.structs.replace(e, ts_ms=ts) for e, (_, ts, _) in zip(arrived, rows)]
    assert native_session_ids(arrived, config) == python_session_ids(arrived, config)


def test_the_24h_cut_and_the_gap_boundary_on_a_long_key():
    # Every 30 min exactly (never more than the gap) for 25 h: the cut at 24 h.
    config = SessionizerConfig()
    arrived = [ev(i * 30 * MINUTE, id=f"e{i:03d}") for i in range(51)]
    ids = native_session_ids(arrived, config)
    assert ids == python_session_ids(arrived, config)
    assert ids[47] == "s-1" and ids[48] == "s-1#2"  # 24 h after the start: a new session


def test_bad_columns_are_one_line_python_errors_not_panics():
    from frictionkit import _native

    with pytest.raises(ValueError, match="differ in length"):
        _native.session_seqs(pa.array([0, 0]), pa.array([1]), pa.array(["a", "b"]), 10, 20)
    with pytest.raises(ValueError, match="ts_ms: 1 null"):
        _native.session_seqs(pa.array([0]), pa.array([None], pa.int64()), pa.array(["a"]), 10, 20)
    with pytest.raises(TypeError, match="keys: expected int64, got Int32"):
        _native.session_seqs(pa.array([0], pa.int32()), pa.array([1]), pa.array(["a"]), 10, 20)
    with pytest.raises(TypeError, match="event_ids: expected string"):
        _native.session_seqs(pa.array([0]), pa.array([1]), pa.array([1]), 10, 20)
    with pytest.raises(TypeError, match="not an Arrow array"):
        _native.session_seqs([0], pa.array([1]), pa.array(["a"]), 10, 20)


def test_the_wrapper_converts_sequences_and_other_integer_types():
    seqs = native.session_seqs(pa.array([0, 0, 1], pa.int32()), [0, 31 * MINUTE, 0], ["a", "b", "a"])
    assert seqs.to_pylist() == [1, 2, 1]


def test_a_missing_extension_is_a_one_line_error(monkeypatch):
    import frictionkit

    monkeypatch.setitem(sys.modules, "frictionkit._native", None)  # import then fails
    monkeypatch.delattr(frictionkit, "_native", raising=False)
    assert not native.available()
    with pytest.raises(native.NativeUnavailable) as info:
        native.session_seqs([0], [0], ["a"])
    assert "\n" not in str(info.value) and "Rust toolchain" in str(info.value)
