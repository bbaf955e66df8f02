"""The quick start: after the demo replay, `frictionkit serve` with no
arguments serves the dashboard over the demo data at once (the generated
development key reaches a browser on this machine through /dashboard/bootstrap)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conftest import FIXTURES

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_without_arguments_shows_the_demo_data(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("API_KEYS", "KAFKA_BROKERS", "FRICTIONKIT_STORE", "CLICKHOUSE_URL", "FRICTIONKIT_DEBUG")}
    replay = subprocess.run([sys.executable, "-m", "frictionkit.cli.main", "replay", str(FIXTURES / "demo.jsonl.gz"), "-q"],
                            cwd=tmp_path, env=env, capture_output=True, timeout=300)  # what commands/demo runs
    assert replay.returncode == 0, replay.stderr.decode()
    assert (tmp_path / "frictionkit.duckdb").exists()
    port = _free_port()
    env["PORT"] = str(port)  # the one thing changed: 8000 may be taken on a shared machine
    proc = subprocess.Popen([sys.executable, "-m", "frictionkit.cli.main", "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "frictionkit" in page.text
        key = httpx.get(base + "/dashboard/bootstrap", headers={"X-Frictionkit-Dashboard": "1"}).json()["devKey"]
        assert key and key.startswith("fk_dev_")
        headers = {"Authorization": f"Bearer {key}"}
        scopes = httpx.get(base + "/dashboard/scopes", headers=headers).json()["items"]
        assert {(s["orgId"], s["productId"]) for s in scopes} >= {("acme", "crm"), ("acme", "helpdesk")}
        best = max(scopes, key=lambda s: s["sessions"])  # what the dashboard opens first
        overview = httpx.get(base + "/v1/insights/overview", headers=headers,
                             params={"orgId": best["orgId"], "productId": best["productId"]}).json()
        assert overview["sessions"] == best["sessions"] > 0 and overview["topHotspots"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
