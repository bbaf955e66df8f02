"""`frictionkit serve`: ingestion + read API over HTTP (uvicorn). Flags only;
the server is ``api.app``."""

from __future__ import annotations

from typing import List, Optional

import typer

from .common import STORE_HELP, fail, one_line_errors

# What the serve extra brings; one of them missing names the extra to install.
SERVE_MODULES = {"fastapi", "uvicorn", "httpx", "plotly", "fastapi_offline", "starlette"}


def parse_aliases(values: list[str] | None) -> list[tuple[str, str]]:
    rules = []
    for value in values or []:
        pattern, sep, alias = value.rpartition("=")
        if not sep or not pattern:
            raise ValueError(f"--alias {value!r}: expected REGEX=ALIAS")
        rules.append((pattern, alias))
    return rules


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: Optional[int] = typer.Option(None, "--port", help="port (default: env PORT, else 8000)"),
    brokers: Optional[str] = typer.Option(None, "--brokers", help="Kafka bootstrap servers (env KAFKA_BROKERS); "
                                          "set: distributed mode, publish to events.raw"),
    store_dsn: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    keys_file: Optional[str] = typer.Option(None, "--keys-file", help="API keys file (JSON or TOML, see docs/api.md)"),
    api_keys: Optional[str] = typer.Option(None, "--api-keys", help="API keys as in env API_KEYS: key[:org|org[:ingest+read]],...; "
                                            "posthog:TOKEN:ORG:PRODUCT maps a PostHog project token (docs/posthog.md)"),
    key_by_session: bool = typer.Option(False, "--key-by-session", help="events.raw key orgId:productId:sessionId"),
    alias: Optional[List[str]] = typer.Option(None, "--alias", help="flow path rule REGEX=ALIAS (repeatable)"),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error"),
    access_log: bool = typer.Option(False, "--access-log", help="log every request line (query strings included)"),
) -> None:
    """Serve ingestion (POST /v1/events/batch, and posthog-js's POST /e/ ...), the insights API and /health."""
    try:
        from ..api.app import run_server
        from ..api.settings import resolve_settings
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] in SERVE_MODULES:
            fail(f"serve needs {err.name.split('.')[0]}: pip install 'frictionkit[serve]'")
        raise

    with one_line_errors():
        settings = resolve_settings(host=host, port=port, brokers=brokers, store_dsn=store_dsn, keys_file=keys_file,
                                    api_keys=api_keys, key_by_session=key_by_session or None,
                                    aliases=parse_aliases(alias))
        run_server(settings, log_level=log_level.lower(), access_log=access_log)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
