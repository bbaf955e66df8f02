"""`frictionkit topics ...`: manage the Kafka topics of the distributed shape."""

from __future__ import annotations

import typer
from rich.console import Console

# Safe without confluent-kafka installed: the adapter imports it lazily.
from frictionkit.bus import kafka

from .common import fail as _fail

out = Console(highlight=False)

topics_app = typer.Typer(help="Manage the Kafka topics (distributed shape).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


@topics_app.command("create")
def create(
    brokers: str = typer.Option(
        None,
        "--brokers",
        help="Kafka bootstrap servers [default: $KAFKA_BROKERS, else 127.0.0.1:9092]",
        show_default=False,
    ),
    partitions: int = typer.Option(3, "--partitions", min=1, help="Partitions for topics that do not exist yet."),
    replication: int = typer.Option(1, "--replication", min=1, help="Replication factor for new topics."),
    timeout: float = typer.Option(30.0, "--timeout", min=1.0, help="Seconds to wait for the broker."),
) -> None:
    """Create events.raw, events.sessionized, events.incidents and events.deadletter (idempotent)."""
    brokers = brokers or kafka.brokers_from_env()
    try:
        statuses = kafka.create_topics(brokers, partitions=partitions, replication=replication, timeout_s=timeout)
    except (kafka.KafkaSupportMissing, kafka.KafkaUnavailable) as exc:
        _fail(str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - one line for the user, never a traceback
        _fail(f"creating topics on {brokers} failed: {exc}")
        return
    for status in statuses:
        what = "created" if status.created else "exists"
        out.print(f"{status.name}: {what} ({status.partitions} partitions)")
