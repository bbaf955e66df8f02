"""Embedded store DSNs follow SQLAlchemy's rule: ``duckdb:///rel/file`` (three
slashes) is relative to the working directory, ``duckdb:////abs/file`` (four)
absolute; ``chdb://`` names a directory the same way. Errors quote the DSN as
written and the folder as resolved."""

import pytest

from frictionkit.store import dsn_path, open_store
from frictionkit.store.base import StoreError

from conftest import FIXTURES, run_cli


@pytest.mark.parametrize(("dsn", "path"), [
    ("duckdb:///fk.duckdb", "fk.duckdb"),
    ("duckdb:///data/fk.duckdb", "data/fk.duckdb"),
    ("duckdb:///./data/fk.duckdb", "./data/fk.duckdb"),
    ("duckdb:////var/lib/fk.duckdb", "/var/lib/fk.duckdb"),
    ("duckdb:///:memory:", ":memory:"),
    ("chdb:///ch", "ch"),
    ("chdb:////srv/ch", "/srv/ch"),
])
def test_three_slashes_are_relative_and_four_absolute(dsn, path):
    assert dsn_path(dsn) == path


@pytest.mark.parametrize("dsn", ["duckdb://data/fk.duckdb", "duckdb://", "duckdb:///", "chdb://", "chdb:////"])
def test_a_host_part_or_no_path_is_refused_showing_both_spellings(dsn):
    with pytest.raises(StoreError) as caught:
        open_store(dsn)
    message = str(caught.value)
    assert repr(dsn) in message and ":///relative/path" in message and ":////absolute/path" in message


def test_a_relative_duckdb_file_opens_under_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    store = open_store("duckdb:///sub/fk.duckdb")
    try:
        assert store.dsn == "duckdb:///sub/fk.duckdb"
    finally:
        store.close()
    assert (tmp_path / "sub" / "fk.duckdb").is_file()


def test_an_absolute_duckdb_file_opens_wherever_the_process_runs(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    target = tmp_path / "abs.duckdb"
    store = open_store(f"duckdb:///{target}")  # tmp_path starts with "/": four slashes
    store.close()
    assert target.is_file() and not any(elsewhere.iterdir())


def test_a_missing_folder_names_the_dsn_as_written_and_the_resolved_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as caught:
        open_store("duckdb:///nope/fk.duckdb")
    assert str(caught.value) == f"cannot open duckdb:///nope/fk.duckdb: folder {tmp_path / 'nope'} does not exist"
    with pytest.raises(StoreError) as caught:
        open_store("duckdb:////proc/nope/x.duckdb")
    assert str(caught.value) == "cannot open duckdb:////proc/nope/x.duckdb: folder /proc/nope does not exist"


def test_replay_into_a_relative_dsn_writes_the_file_the_user_named(tmp_path):
    (tmp_path / "data").mkdir()
    result = run_cli("replay", str(FIXTURES / "small.jsonl"), "-q", "--store", "duckdb:///data/s.duckdb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "data" / "s.duckdb").is_file()
    failed = run_cli("replay", str(FIXTURES / "small.jsonl"), "--store", "duckdb:///sub/x.duckdb", cwd=tmp_path)
    lines = failed.stderr.decode().strip().splitlines()
    assert failed.returncode == 1 and len(lines) == 1
    assert "duckdb:///sub/x.duckdb" in lines[0] and f"folder {tmp_path / 'sub'} does not exist" in lines[0]


def test_chdb_directories_follow_the_same_rule(tmp_path, monkeypatch):
    pytest.importorskip("chdb")
    pytest.importorskip("clickhouse_connect")
    monkeypatch.chdir(tmp_path)
    store = open_store("chdb:///rel-ch")
    store.close()
    assert (tmp_path / "rel-ch").is_dir()
    with pytest.raises(StoreError) as caught:
        open_store("chdb:///missing/ch")
    assert str(caught.value) == f"cannot open chdb:///missing/ch: folder {tmp_path / 'missing'} does not exist"
