"""Shared by the tests/test_api_*.py files: an app on a temporary DuckDB store
and wire-format events relative to the real clock (the server stamps
receivedAt with it and closes sessions by it)."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from frictionkit.api.app import create_app
from frictionkit.api.settings import resolve_settings
from frictionkit.core.contract import format_ts_ms

KEYS = "k-acme:acme,k-globex:globex,k-all,k-ro:acme:read,k-wo:acme:ingest"
MINUTE = 60_000


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def past_ms(hours: float = 3) -> int:
    """A time far enough back that the wall-clock watermark closes sessions at once."""
    return (int(time.time() * 1000) - int(hours * 3_600_000)) // 1000 * 1000


def event(ts_ms: int, type: str = "click", screen: str = "home", *, org: str = "acme", product: str = "crm",
          session: str = "s1", user: str = "u1", **extra_fields: Any) -> dict[str, Any]:
    ev = {"orgId": org, "productId": product, "sessionId": session, "userHash": user, "ts": format_ts_ms(ts_ms),
          "eventType": type, "screenId": screen, "route": f"/{screen}", "deviceType": "desktop"}
    ev.update(extra_fields)
    return ev


def session_events(t0: int, *, org: str = "acme", product: str = "crm", session: str = "s1", user: str = "u1",
                   prefix: str = "") -> list[dict[str, Any]]:
    """A task run home → list → edit with a rage click on edit and a backtrack."""
    k = dict(org=org, product=product, session=session, user=user)
    out = [
        event(t0, "navigation", "home", **k),
        event(t0 + 1000, "custom", "home", extra={"task_name": "create_deal", "action": "start"}, **k),
        event(t0 + 2000, "navigation", "list", **k),
        event(t0 + 4000, "navigation", "edit", **k),
        event(t0 + 5000, "navigation", "list", **k),
        event(t0 + 9000, "navigation", "edit", **k),
    ]
    out += [event(t0 + 10_000 + i * 200, "click", "edit", elementLabelHash="save", **k) for i in range(4)]
    out.append(event(t0 + 12_000, "custom", "edit", extra={"task_name": "create_deal", "action": "complete"}, **k))
    for i, ev in enumerate(out):
        ev["eventId"] = f"{prefix}{session}-{i}"
    return out


def batch(events: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"agentId": "agent-1", "sdkVersion": "1.0.0", "events": events, **fields}


@contextmanager
def client(tmp_path, **overrides: Any) -> Iterator[TestClient]:
    settings = resolve_settings(store_dsn=f"duckdb:///{tmp_path}/store.duckdb", api_keys=overrides.pop("api_keys", KEYS))
    for name, value in overrides.items():
        setattr(settings, name, value)
    with TestClient(create_app(settings)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(settings) -> Iterator[str]:
    """``create_app(settings)`` (what ``frictionkit serve`` runs) under uvicorn
    on ``settings.port`` in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
