"""`frictionkit process sessionizer|metrics-aggregator|all`."""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional

import typer

from .common import STORE_HELP, fail


def process_cmd(
    service: Optional[str] = typer.Argument(None, help="sessionizer, metrics-aggregator or all "
                                                      "(default: $SERVICE, else all)"),
    brokers: Optional[str] = typer.Option(None, "--brokers", help="Kafka bootstrap servers (default $KAFKA_BROKERS, else 127.0.0.1:9092)"),
    store_dsn: Optional[str] = typer.Option(None, "--store", help=STORE_HELP + " (default $CLICKHOUSE_URL)"),
    topic_prefix: Optional[str] = typer.Option(None, "--topic-prefix", help="prefix of the four topic names (tests, side-by-side deployments)"),
    group_prefix: Optional[str] = typer.Option(None, "--group-prefix", help="prefix of the consumer group ids (default frictionkit-)"),
    key_retention_min: Optional[int] = typer.Option(None, "--key-retention-min", help="minutes a session key is remembered after its last session (numbering, late events; bounds the re-read on restart)"),
    idle_after_ms: Optional[int] = typer.Option(None, "--idle-after-ms", help="a partition quiet at its end this long closes its sessions by the wall clock"),
    session_timeout_ms: Optional[int] = typer.Option(None, "--session-timeout-ms", help="how soon the group hands a crashed member's partitions over (≥ 6000)"),
) -> None:
    """Run stream processors as Kafka consumer group members until SIGTERM."""
    from ..core.sessionizer import SessionizerConfig
    from ..stream import PROCESSORS, StreamSettings, Topics, run

    service = service or os.environ.get("SERVICE", "").strip() or "all"
    if service == "incident-detector":
        fail("the incident detector is part of metrics-aggregator now (it produces events.incidents); "
             "run metrics-aggregator or all")
    if service != "all" and service not in PROCESSORS:
        fail(f"unknown processor {service!r}; choose one of {', '.join(PROCESSORS)} or all")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    overrides: dict = {}
    if topic_prefix:
        overrides["topics"] = Topics.with_prefix(topic_prefix)
    if group_prefix:
        overrides["group_prefix"] = group_prefix
    if key_retention_min is not None:
        overrides["sessionizer"] = SessionizerConfig(key_retention_ms=key_retention_min * 60_000)
    if idle_after_ms is not None:
        overrides["idle_after_ms"] = idle_after_ms
    if session_timeout_ms is not None:
        overrides["session_timeout_ms"] = session_timeout_ms
    try:
        from ..bus.kafka import KafkaSupportMissing, confluent

        confluent()
    except KafkaSupportMissing as err:
        fail(str(err))
    settings = StreamSettings.from_env(brokers=brokers, store_dsn=store_dsn, **overrides)
    stats = run(service, settings)
    for name, counters in stats.items():
        logging.getLogger("frictionkit.stream").info("%s stopped: %s", name,
                                                     " · ".join(f"{k} {v:,}" for k, v in counters.items()))


def register(app: typer.Typer) -> None:
    app.command("process")(process_cmd)
