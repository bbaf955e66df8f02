"""The core's configuration: the incident rules' and the two scores'
(docs/semantics.md). The rules and scores run in the native core
(rust/src/facts.rs, through ``frictionkit.native.session_facts``); today's
Python model of them is kept under tests/reference/ as their executable
reference."""

from __future__ import annotations

import msgspec

from .incidents import IncidentConfig


class ScoreConfig(msgspec.Struct, frozen=True):
    # frustration = sigmoid(scale * (R - offset)), R a weighted incident sum
    frustration_scale: float = 1.5
    frustration_offset: float = 2.0
    weight_rage_clicks: float = 1.0
    weight_backtracks: float = 0.5
    weight_error_events: float = 1.0
    weight_tasks_abandoned: float = 1.5
    weight_tasks_failed: float = 1.0
    weight_loops: float = 0.5
    weight_dead_clicks: float = 0.5
    # efficiency = sigmoid(scale * (Q - offset)), Q = wc*C + wk*K + wn*N
    efficiency_scale: float = 4.0
    efficiency_offset: float = 0.5
    weight_completion: float = 0.5
    weight_clicks: float = 0.3
    weight_navigation: float = 0.2
    target_clicks_per_task: float = 5.0


class CoreConfig(msgspec.Struct, frozen=True):
    incidents: IncidentConfig = IncidentConfig()
    scores: ScoreConfig = ScoreConfig()
