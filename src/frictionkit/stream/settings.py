"""Everything a stream processor is configured with, in one immutable object.

Topic names and group ids are settings (not constants) so tests and parallel
deployments can run side by side on one broker with a prefix of their own.
"""

from __future__ import annotations

import os

import msgspec

from ..bus import kafka
from ..core.metrics import CoreConfig
from ..core.sessionizer import SessionizerConfig

PROCESSORS = ("sessionizer", "metrics-aggregator")


class Topics(msgspec.Struct, frozen=True):
    raw: str = kafka.TOPIC_RAW
    sessionized: str = kafka.TOPIC_SESSIONIZED
    incidents: str = kafka.TOPIC_INCIDENTS
    deadletter: str = kafka.TOPIC_DEADLETTER

    @classmethod
    def with_prefix(cls, prefix: str) -> Topics:
        return cls(*(prefix + name for name in (kafka.TOPIC_RAW, kafka.TOPIC_SESSIONIZED,
                                                 kafka.TOPIC_INCIDENTS, kafka.TOPIC_DEADLETTER)))

    def all(self) -> list[str]:
        return [self.raw, self.sessionized, self.incidents, self.deadletter]


class StreamSettings(msgspec.Struct, frozen=True):
    brokers: str = kafka.DEFAULT_BROKERS
    topics: Topics = Topics()
    group_prefix: str = "frictionkit-"
    store_dsn: str | None = None
    sessionizer: SessionizerConfig = SessionizerConfig()
    core: CoreConfig = CoreConfig()
    # A partition at its end for this long advances its watermark with the
    # wall clock (docs/semantics.md). Only partitions at EOF count: one merely starved by
    # a busy consumer must not close sessions whose events are still queued.
    idle_after_ms: int = 5_000
    # The commit step runs at least this often, and whenever this many
    # messages were taken since the last one.
    commit_interval_ms: int = 1_000
    commit_every_messages: int = 20_000
    poll_batch: int = 2_000
    # The aggregator holds at most this many messages not yet in the store;
    # past it, consumption pauses until the store has taken them.
    max_pending_messages: int = 50_000
    store_retry_initial_s: float = 0.2
    store_retry_max_s: float = 5.0
    # Bounded drain on SIGTERM: a dead broker must not keep a process forever.
    drain_timeout_s: float = 30.0
    # How soon the group notices a crashed member and hands its partitions
    # over (Kafka's default is 45 s; the broker's minimum is 6 s).
    session_timeout_ms: int = 10_000
    # Sessions the aggregator remembers to cross-check the detector's incidents.
    crosscheck_sessions: int = 100_000

    def group_id(self, processor: str) -> str:
        return self.group_prefix + processor

    @classmethod
    def from_env(cls, brokers: str | None = None, store_dsn: str | None = None, **overrides) -> StreamSettings:
        """``KAFKA_BROKERS`` and ``CLICKHOUSE_URL`` as in the seed; flags win."""
        from ..store import default_dsn

        prefix = os.environ.get("FRICTIONKIT_TOPIC_PREFIX", "")
        base = dict(
            brokers=brokers or kafka.brokers_from_env(),
            store_dsn=store_dsn or default_dsn(),
            topics=Topics.with_prefix(prefix) if prefix else Topics(),
            group_prefix=os.environ.get("FRICTIONKIT_GROUP_PREFIX", "frictionkit-"),
        )
        base.update(overrides)
        return cls(**base)
