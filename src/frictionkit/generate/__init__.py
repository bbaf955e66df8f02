"""Realistic synthetic UI traffic with friction injected at known places.

``iter_events`` streams wire-format events (docs/contract.md) of simulated CRM and
helpdesk sessions, globally sorted by ``ts``; ``write_jsonl`` writes them to a
file. ``INJECTED`` is the ground truth: which (org, product, screen) carries
which incident (docs/semantics.md) on purpose. Output depends only on the arguments.
"""

from .apps import INJECTED, INJECTED_TASK_FAILURES, TASKS_BY_KIND
from .stream import DEFAULT_START, TrafficStream, iter_events, write_jsonl

__all__ = [
    "DEFAULT_START",
    "INJECTED",
    "INJECTED_TASK_FAILURES",
    "TASKS_BY_KIND",
    "TrafficStream",
    "iter_events",
    "write_jsonl",
]
