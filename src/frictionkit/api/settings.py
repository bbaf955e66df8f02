"""Everything `frictionkit serve` can be told, from flags and the environment.

The environment variables kept from the seed: ``PORT``, ``KAFKA_BROKERS``,
``API_KEYS``, ``CLICKHOUSE_URL`` (via ``store.default_dsn``). The rest are
``FRICTIONKIT_*`` and documented in docs/api.md.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from ..core.contract import MAX_BODY_BYTES
from ..core.flow_paths import FlowConfig
from ..pipeline.embedded import PipelineConfig
from .auth import ApiKey, KeyConfigError, KeyRing, generate_dev_key, load_keys_file, parse_api_keys

DEFAULT_RATE_PER_S = 2_000.0
DEFAULT_BURST = 20_000
DEFAULT_DELIVERY_TIMEOUT_MS = 10_000
DEFAULT_RETRY_AFTER_S = 5
DEFAULT_BODY_TIMEOUT_S = 30.0
DEFAULT_HEAD_TIMEOUT_S = 30.0
DEFAULT_MAX_INFLIGHT = 128  # ingest requests being handled at once; more get 503 at once (admission control)


@dataclass
class Settings:
    keys: KeyRing
    host: str = "127.0.0.1"
    port: int = 8000
    brokers: str | None = None  # set: distributed mode (publish to Kafka)
    store_dsn: str | None = None  # None: store.default_dsn()
    dev_key: str | None = None  # generated when no key was configured; printed once
    rate_per_s: float = DEFAULT_RATE_PER_S  # events per second per key; 0 disables the limit
    rate_burst: int = DEFAULT_BURST
    delivery_timeout_ms: int = DEFAULT_DELIVERY_TIMEOUT_MS
    key_by_session: bool = False  # events.raw key orgId:productId:sessionId
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    watermark_interval_s: float = 5.0
    max_body_bytes: int = MAX_BODY_BYTES
    max_inflight: int = DEFAULT_MAX_INFLIGHT  # 0: no admission control
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S  # a body not complete by then: 408 (a client lying about its length)
    head_timeout_s: float = DEFAULT_HEAD_TIMEOUT_S  # request line + headers not complete by then: connection closed
    cors_origins: tuple[str, ...] = ()  # empty: no CORS headers at all
    posthog_tokens: KeyRing = field(default_factory=lambda: KeyRing([]))  # PostHog project tokens (docs/posthog.md)
    posthog_salt: bytes | None = None  # keys user hashes of distinct_ids; None: each token's digest
    raw_topic: str = "events.raw"  # tests publish to a topic of their own
    # librdkafka settings over bus.kafka.producer_config's; not a CLI option:
    # bench-ingest measures acks=0 with it, next to the acks=all that serve uses.
    producer_overrides: dict[str, Any] = field(default_factory=dict)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    flows: FlowConfig = field(default_factory=FlowConfig)
    clock: Callable[[], float] = time.time  # the server clock: receivedAt and the idle watermark

    @property
    def mode(self) -> str:
        return "distributed" if self.brokers else "embedded"


def _env_number(name: str, kind: type, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise KeyConfigError(f"{name}={text!r} is not a number") from None
    if value < 0:
        raise KeyConfigError(f"{name} must not be negative")
    return value


def resolve_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    brokers: str | None = None,
    store_dsn: str | None = None,
    keys_file: str | None = None,
    api_keys: str | None = None,
    key_by_session: bool | None = None,
    aliases: list[tuple[str, str]] | None = None,
) -> Settings:
    """Flags win over the environment; with no key anywhere a dev key is made."""
    keys: list[ApiKey] = []
    api_keys = api_keys if api_keys is not None else os.environ.get("API_KEYS", "")
    keys += parse_api_keys(api_keys)
    if keys_file:
        keys += load_keys_file(keys_file)
    KeyRing(keys)  # one check for a key or token configured twice, across both kinds
    tokens = [k for k in keys if k.product is not None]
    keys = [k for k in keys if k.product is None]
    dev_key = None
    if not keys:
        dev_key, dev = generate_dev_key()
        keys.append(dev)
    env_port = _env_number("PORT", int, 8000)
    if key_by_session is None:
        key_by_session = os.environ.get("FRICTIONKIT_KEY_BY_SESSION", "").lower() in ("1", "true", "yes")
    return Settings(
        keys=KeyRing(keys),
        host=host or "127.0.0.1",
        port=port if port is not None else env_port,
        brokers=(brokers or os.environ.get("KAFKA_BROKERS", "")).strip() or None,
        store_dsn=store_dsn,
        dev_key=dev_key,
        rate_per_s=_env_number("FRICTIONKIT_RATE_LIMIT", float, DEFAULT_RATE_PER_S),
        rate_burst=_env_number("FRICTIONKIT_RATE_BURST", int, DEFAULT_BURST),
        delivery_timeout_ms=_env_number("FRICTIONKIT_DELIVERY_TIMEOUT_MS", int, DEFAULT_DELIVERY_TIMEOUT_MS) or 1,
        key_by_session=key_by_session,
        max_inflight=_env_number("FRICTIONKIT_MAX_INFLIGHT", int, DEFAULT_MAX_INFLIGHT),
        body_timeout_s=_env_number("FRICTIONKIT_BODY_TIMEOUT_S", float, DEFAULT_BODY_TIMEOUT_S) or DEFAULT_BODY_TIMEOUT_S,
        head_timeout_s=_env_number("FRICTIONKIT_HEAD_TIMEOUT_S", float, DEFAULT_HEAD_TIMEOUT_S) or DEFAULT_HEAD_TIMEOUT_S,
        cors_origins=tuple(o.strip() for o in os.environ.get("FRICTIONKIT_CORS_ORIGINS", "").split(",") if o.strip()),
        flows=FlowConfig(alias_rules=list(aliases or [])),
        posthog_tokens=KeyRing(tokens),
        posthog_salt=os.environ.get("FRICTIONKIT_POSTHOG_SALT", "").encode() or None,
    )


def redact_dsn(dsn: str) -> str:
    """A DSN fit for logs and /health: the password is never shown."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
