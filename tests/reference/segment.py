"""The reference model of a session's segment values (docs/semantics.md,
"Segments"); the native core (rust/src/facts.rs) computes them on the
product path."""

from __future__ import annotations

from frictionkit.core.model import Event
from frictionkit.core.segment import APP_VERSION_EXTRA, MAX_VALUE_CHARS


def app_version_of(event: Event) -> str | None:
    """The event's app version: ``extra.app_version`` when it is a non-empty
    text, else the agent's ``sdkVersion`` (which the server stamps)."""
    if event.extra:
        value = event.extra.get(APP_VERSION_EXTRA)
        if isinstance(value, str) and value:
            return value[:MAX_VALUE_CHARS]
    return event.sdk_version


def session_segment(first: Event) -> dict[str, str | None]:
    """A session's segment values: its first event's (by ts, event id)."""
    return {"device_type": first.device_type, "browser": first.browser, "os": first.os,
            "app_name": first.app_name, "app_version": app_version_of(first)}
