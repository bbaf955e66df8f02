"""Friction incidents (docs/semantics.md): their configuration and the
registry of incident types every view reads.

The detectors run in the native core (rust/src/facts.rs, reached through
``frictionkit.native.session_facts``). Their executable reference, today's
Python rules, is kept under tests/reference/ and holds the native core to the
semantics (tests/test_native_facts.py).
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS


class IncidentConfig(msgspec.Struct, frozen=True):
    rage_min_clicks: int = 3
    rage_max_interval_ms: int = 1000
    rage_excluded_label_hashes: frozenset[str] = frozenset()
    rage_excluded_element_types: frozenset[str] = frozenset()
    backtrack_max_dwell_ms: int = 20 * SECOND_MS
    abandon_after_ms: int = 15 * MINUTE_MS
    error_click_window_ms: int = 1000
    # A return to a screen seen at most this many arrivals ago (and at most
    # this long after leaving it) is a loop; A->B->A is the backtrack's shape.
    loop_max_navigations: int = 4
    loop_max_duration_ms: int = 5 * MINUTE_MS

    def __post_init__(self) -> None:
        # Below one click every click would be a burst (the native rule guards
        # it, but a configuration should say what it means).
        if self.rage_min_clicks < 1:
            raise ValueError(f"rage_min_clicks must be at least 1 (got {self.rage_min_clicks})")


class IncidentKind(NamedTuple):
    """One incident type: where the insights show it (its rule: rust/src/facts.rs).

    The keys name the type's counter in each payload; each is also, in
    snake case, the column the counter is read from (``sessionKey``
    ``rageClicks``: ``fact_sessions.rage_clicks`` and the overview's total;
    ``hotspotKey``: the screens query's column). tests/test_incident_registry.py
    fails when a registered type is missing from a view; docs/semantics.md,
    "Adding an incident type", lists the files a new type touches."""

    name: str  # incident_type in fact_incidents and on events.incidents
    overview_key: str  # overview `incidents{}`
    session_key: str  # /v1/sessions items
    hotspot_key: str  # /v1/insights/hotspots items
    label: str  # CLI and dashboard wording, plural


# In the order every view lists them. The first four are the original types.
INCIDENT_KINDS: tuple[IncidentKind, ...] = (
    IncidentKind("rage_click", "rageClick", "rageClicks", "rageClicks", "rage clicks"),
    IncidentKind("backtrack", "backtrack", "backtracks", "backtracks", "backtracks"),
    IncidentKind("abandoned_task", "abandonedTask", "tasksAbandoned", "abandonedTasks", "abandoned tasks"),
    IncidentKind("error_click", "errorClick", "errorClicks", "errorClicks", "clicks on errors"),
    IncidentKind("loop", "loop", "loops", "loops", "loops"),
    IncidentKind("dead_click", "deadClick", "deadClicks", "deadClicks", "dead clicks"),
)
INCIDENT_TYPES: tuple[str, ...] = tuple(kind.name for kind in INCIDENT_KINDS)


def snake(key: str) -> str:
    """``rageClicks`` -> ``rage_clicks``: a payload key's column."""
    return "".join("_" + c.lower() if c.isupper() else c for c in key)
