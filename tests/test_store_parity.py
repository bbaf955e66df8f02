"""DuckDB and ClickHouse (chdb) answer alike: the same events replayed into
each give the same `insights overview` and `insights hotspots` JSON (floats to
1e-9 relative) and the same task runs, and replaying again, or in overlapping
pieces, double counts nothing in either store."""

import math

import pytest

from frictionkit.generate import write_jsonl
from frictionkit.insights.query import resolve_query
from frictionkit.insights.report import hotspots, overview
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

from conftest import FIXTURES

pytest.importorskip("chdb")

NOW_MS = 1_800_000_000_000


def assert_same(a, b, path="$"):
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), path
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def snapshot(store):
    """Every scope's payloads (whole span, and its first day for a second window)."""
    out = {}
    for scope in store.scopes():
        for to_text in (None, "first-day"):
            q = resolve_query(store, org_id=scope.org_id, product_id=scope.product_id, from_text=None, to_text=None)
            if to_text:
                q = type(q)(q.org_id, q.product_id, q.from_ms, q.from_ms + 86_400_000)
            runs = store.task_runs(q.org_id, q.product_id, q.from_ms, q.to_ms, None)
            out[(scope.org_id, scope.product_id, to_text)] = {
                "overview": overview(store, q), "hotspots": hotspots(store, q, 20),
                "runs": sorted((r.session_id, r.run_index, r.task_name, r.outcome, r.path, r.duration_ms) for r in runs),
            }
    return out


def replay_into(dsn, paths, times=1):
    store = open_store(dsn)
    try:
        reports = [replay([str(p) for p in paths], store, now_ms=NOW_MS) for _ in range(times)]
        return reports, snapshot(store), _raw_counts(store)
    finally:
        store.close()


def _raw_counts(store):
    # Rows physically stored (no FINAL for ClickHouse): dedup happens on insert.
    if store.engine == "duckdb":
        return store.con.execute("SELECT count(*), count(DISTINCT (org_id, product_id, session_id, event_id)) "
                                 "FROM events_raw").fetchone()
    return tuple(store.query("SELECT count(), uniqExact(org_id, product_id, session_id, event_id) FROM events_raw")
                 .result_rows[0])


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "generated.jsonl"
    write_jsonl(path, sessions=200, seed=11)
    return path


@pytest.fixture(scope="module")
def replayed_once(generated, tmp_path_factory):
    """(snapshot, raw counts) of the generated fixture replayed once, per scheme."""
    root = tmp_path_factory.mktemp("once")
    dsns = {"duckdb": f"duckdb:///{root}/once.duckdb", "chdb": f"chdb:///{root}/once"}
    return {scheme: replay_into(dsn, [generated])[1:] for scheme, dsn in dsns.items()}


@pytest.mark.parametrize("fixture", ["small", "generated"])
def test_duckdb_and_clickhouse_give_identical_insights(fixture, replayed_once, tmp_path):
    if fixture == "small":
        (duck_report,), duck, duck_raw = replay_into(f"duckdb:///{tmp_path}/d.duckdb", [FIXTURES / "small.jsonl"])
        (ch_report,), ch, ch_raw = replay_into(f"chdb:///{tmp_path}/ch", [FIXTURES / "small.jsonl"])
        assert (duck_report.accepted, duck_report.duplicates, duck_report.sessions, duck_report.incidents) == (
            ch_report.accepted, ch_report.duplicates, ch_report.sessions, ch_report.incidents)
    else:
        (duck, duck_raw), (ch, ch_raw) = replayed_once["duckdb"], replayed_once["chdb"]
    assert duck and duck.keys() == ch.keys()
    assert_same(duck, {k: ch[k] for k in duck})
    assert duck_raw == ch_raw and duck_raw[0] == duck_raw[1]


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_replaying_twice_double_counts_nothing(scheme, generated, replayed_once, tmp_path):
    dsn = f"duckdb:///{tmp_path}/d.duckdb" if scheme == "duckdb" else f"chdb:///{tmp_path}/ch"
    once, once_raw = replayed_once[scheme]
    (first, second), twice, twice_raw = replay_into(dsn, [generated], times=2)
    assert second.duplicates == second.accepted == first.accepted
    assert twice_raw == once_raw
    assert_same(once, twice)


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_overlapping_pieces_replayed_in_separate_runs_equal_one_replay(scheme, generated, replayed_once, tmp_path):
    lines = generated.read_text().splitlines()
    third = len(lines) // 3
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(lines[: 2 * third]) + "\n")
    second.write_text("\n".join(lines[third:]) + "\n")  # overlaps the first by a third
    make = (lambda name: f"duckdb:///{tmp_path}/{name}.duckdb") if scheme == "duckdb" else (
        lambda name: f"chdb:///{tmp_path}/{name}")
    once, once_raw = replayed_once[scheme]
    # Two runs: sessions cut by the end of the first piece are recomputed, with a
    # higher version, by the second run from the stored history.
    replay_into(make("pieces"), [first])
    _, pieces, pieces_raw = replay_into(make("pieces"), [second])
    assert pieces_raw == once_raw
    assert_same(once, pieces)
