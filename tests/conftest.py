import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def duckdb_dsn(tmp_path):
    return f"duckdb:///{tmp_path}/store.duckdb"


def run_cli(*args, stdin: bytes | None = None, cwd: Path | None = None, env: dict | None = None):
    """Run the real `frictionkit` command in a subprocess (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("FRICTIONKIT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "frictionkit.cli.main", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )


# Environment a user (or commands/test) may have set that changes which mode
# `serve` runs in. It is taken out of the environment for the whole run (module
# fixtures build apps before any per-test fixture could run) and the broker
# address is handed back only to the tests marked `kafka`.
_MODE_ENV = ("KAFKA_BROKERS", "API_KEYS", "CLICKHOUSE_URL", "FRICTIONKIT_STORE")
TEST_BROKERS = os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092")
for _name in _MODE_ENV:
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _broker_only_for_kafka_tests(request, monkeypatch):
    if request.node.get_closest_marker("kafka") is not None:
        monkeypatch.setenv("KAFKA_BROKERS", TEST_BROKERS)
