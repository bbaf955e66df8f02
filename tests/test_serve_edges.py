"""`frictionkit serve` at its edges: a port already taken is one line and exit 1
(not uvicorn's multi-line error after the dev key), and /docs renders with no
network but localhost (Swagger UI's assets come from an installed package, not
a CDN), and its connections do not wait for Nagle."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from api_support import serving  # noqa: E402
from frictionkit.api.app import listen_socket  # noqa: E402
from frictionkit.api.settings import resolve_settings  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("API_KEYS", "KAFKA_BROKERS", "FRICTIONKIT_STORE", "CLICKHOUSE_URL", "FRICTIONKIT_DEBUG",
                         "PORT")}


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "frictionkit.cli.main", "serve", "--port", str(port),
                              "--store", f"duckdb:///{tmp_path}/s.duckdb"],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert f"port {port}" in lines[0] and "in use" in lines[0] and "--port" in lines[0]
    assert "Traceback" not in run.stderr and "fk_dev_" not in run.stderr


def test_served_connections_send_without_waiting_for_the_clients_ack():
    """uvicorn serves the socket serve binds through asyncio, which turns Nagle
    off only on sockets that say TCP. With Nagle on, a response's body waits
    behind its head for the client's delayed ACK: ~50 ms per request."""
    sock = listen_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]

    async def main() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connection(_reader, writer) -> None:
            accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=sock)  # as uvicorn's startup does
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
        return nodelay

    assert asyncio.run(main()) == 1


@pytest.fixture
def base(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = resolve_settings(store_dsn=f"duckdb:///{tmp_path}/store.duckdb", port=port,
                                api_keys="fk-docs-read:acme:read")
    with serving(settings) as root:
        yield root


@pytest.mark.slow
def test_docs_render_with_the_network_off(base):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (commands/test installs it: apt-get install chromium)")
    blocked: list[str] = []

    def only_localhost(route) -> None:
        url = route.request.url
        if url.startswith(base + "/"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_localhost)
            page.goto(base + "/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            paths = page.eval_on_selector_all(".opblock .opblock-summary-path", "els => els.map(e => e.textContent)")
            for path in ("/v1/events/batch", "/v1/insights/overview", "/v1/sessions", "/health"):
                assert any(path in text for text in paths), (path, paths)
            assert page.locator(".opblock-summary-method", has_text="POST").count() >= 1
        finally:
            browser.close()
    assert not blocked, blocked  # everything the page needs comes from the server itself
