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
