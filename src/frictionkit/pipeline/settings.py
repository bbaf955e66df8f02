"""Pipeline settings from human durations (`30m`, `24h`, `off`), so every gap,
window and threshold of docs/semantics.md can be changed from the command line."""

from __future__ import annotations

import re

from ..core.incidents import IncidentConfig
from ..core.metrics import CoreConfig
from ..core.sessionizer import SessionizerConfig
from .embedded import PipelineConfig

# "off" must still be a finite integer the sessionizer can add to timestamps.
OFF_MS = 100 * 365 * 86_400_000
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)\Z")


def parse_duration_ms(text: str, *, name: str) -> int:
    text = text.strip().lower()
    if text in ("off", "none", "inf"):
        return OFF_MS
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{name}: {text!r} is not a duration (e.g. 1500ms, 20s, 30m, 24h, or off)")
    return int(float(m.group(1)) * _UNITS_MS[m.group(2)])


def pipeline_config(
    *,
    session_gap: str | None = None,
    max_session_length: str | None = None,
    allowed_lateness: str | None = None,
    abandon_after: str | None = None,
    loop_within: str | None = None,
    loop_navigations: int | None = None,
) -> PipelineConfig:
    """The default configuration with the given durations replaced."""
    sessionizer = SessionizerConfig()
    changes = {}
    if session_gap is not None:
        changes["gap_ms"] = parse_duration_ms(session_gap, name="--session-gap")
    if max_session_length is not None:
        changes["max_length_ms"] = parse_duration_ms(max_session_length, name="--max-session-length")
    if allowed_lateness is not None:
        changes["allowed_lateness_ms"] = parse_duration_ms(allowed_lateness, name="--allowed-lateness")
    if changes:
        sessionizer = SessionizerConfig(**{**_fields(sessionizer), **changes})
    incident_changes: dict = {}
    if abandon_after is not None:
        incident_changes["abandon_after_ms"] = parse_duration_ms(abandon_after, name="--abandon-after")
    if loop_within is not None:
        incident_changes["loop_max_duration_ms"] = parse_duration_ms(loop_within, name="--loop-within")
    if loop_navigations is not None:
        if loop_navigations < 3:
            # Fewer than 3 arrivals cannot hold a loop (A->B->A is a backtrack).
            raise ValueError(f"--loop-navigations: {loop_navigations} is below 3, the shortest loop (A->B->C->A)")
        incident_changes["loop_max_navigations"] = loop_navigations
    incidents = IncidentConfig(**{**_fields(IncidentConfig()), **incident_changes})
    return PipelineConfig(sessionizer=sessionizer, core=CoreConfig(incidents=incidents))


def _fields(struct) -> dict:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}
