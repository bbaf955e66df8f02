"""A newcomer's first commands: the version, readable help, and a missing
extra named in one line (issue: a newcomer's first hour)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from frictionkit import __name__ as _pkg  # noqa: F401 - the package must import

# Runs the CLI in a fresh interpreter in which the listed modules cannot be
# imported, as on a machine where that extra was never installed.
_WITHOUT = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
sys.argv = ["frictionkit", *{argv!r}]
from frictionkit.cli.main import main
main()
"""


def run_without(blocked: list[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    code = _WITHOUT.format(blocked=blocked, argv=argv)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def run(argv: list[str], columns: int = 120) -> subprocess.CompletedProcess[str]:
    return run_without([], argv) if columns == 200 else subprocess.run(
        [sys.executable, "-m", "frictionkit.cli.main", *argv], capture_output=True, text=True, timeout=120,
        env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin"})


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    result = run(["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"frictionkit {version('frictionkit')}"


@pytest.mark.parametrize("command", ["replay", "serve", "import-log", "insights overview"])
def test_flags_have_no_type_noise_in_help(command):
    result = run([*command.split(), "--help"])
    assert result.returncode == 0
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout


def test_import_log_help_keeps_its_bracketed_defaults():
    result = run(["import-log", "--help"], columns=160)
    assert "productId of the events (default: the file's name)" in result.stdout
    assert "JSONL output, .gz to compress (default: stdout; with --replay, a temporary file)" in " ".join(result.stdout.split())


@pytest.mark.parametrize("argv, extra", [
    (["replay", "fixtures/demo.jsonl.gz", "--store", "chdb:///{tmp}/ch"], "clickhouse"),
    (["topics", "create", "--brokers", "127.0.0.1:1"], "kafka"),
    (["process", "all", "--brokers", "127.0.0.1:1"], "kafka"),
    (["serve", "--port", "0"], "serve"),
])
def test_a_missing_extra_is_named_in_one_line(argv, extra, tmp_path):
    blocked = {"clickhouse": ["chdb", "clickhouse_connect"], "kafka": ["confluent_kafka"],
               "serve": ["fastapi", "uvicorn"]}[extra]
    result = run_without(blocked, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"pip install 'frictionkit[{extra}]'" in lines[0]
    assert "Traceback" not in result.stderr
