"""Path cleaning for flow discovery: alias rules, repeat collapsing, the length cut.

Pure functions over screen sequences; no IO. Per-step work is pushed into C
(``map`` over a caching dict, ``itertools.groupby``/``compress``) because flow
discovery runs over logs of tens of millions of steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from hashlib import blake2b
from itertools import chain, compress, groupby
from operator import itemgetter, ne

import msgspec

ELLIPSIS_STEP = "…"  # stands for the steps cut off a path longer than max_steps
LABEL_SEPARATOR = " → "
FLOW_ID_HEX_CHARS = 12

_first_of_group = itemgetter(0)


class FlowConfig(msgspec.Struct, frozen=True):
    """How raw screen paths become flow paths.

    ``alias_rules`` are ``(regex, alias)`` pairs tried in order; the first whose
    regex matches the *whole* screen id replaces it with the alias. A full match
    keeps ``orders/\\d+`` from also rewriting ``orders/12/items``.
    """

    alias_rules: list[tuple[str, str]] = []
    max_steps: int = 12
    collapse_repeats: bool = True

    def __post_init__(self) -> None:
        if self.max_steps < 2:
            # One kept step plus the ellipsis is the shortest meaningful cut.
            raise ValueError("max_steps must be at least 2")
        for pattern, _alias in self.alias_rules:
            re.compile(pattern)  # fail at configuration time, not mid-discovery


class _AliasCache(dict):
    """screen id → alias, resolved once per distinct screen.

    ``dict.__getitem__`` stays in C for every screen already seen, so mapping a
    path costs one C call per step; only a new screen runs the regexes.
    """

    def __init__(self, rules: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._rules = [(re.compile(pattern), alias) for pattern, alias in rules]

    def __missing__(self, screen_id: str) -> str:
        alias = screen_id
        for regex, candidate in self._rules:
            if regex.fullmatch(screen_id):
                alias = candidate
                break
        self[screen_id] = alias
        return alias


class PathCleaner:
    """Applies one FlowConfig to many paths, caching alias lookups across them."""

    def __init__(self, config: FlowConfig) -> None:
        self.config = config
        self._alias_lookup = _AliasCache(config.alias_rules).__getitem__ if config.alias_rules else None

    def alias(self, path: Sequence[str]) -> tuple[str, ...]:
        if self._alias_lookup is None:
            return tuple(path)
        return tuple(map(self._alias_lookup, path))

    def clean(self, path: Sequence[str]) -> tuple[str, ...]:
        """Aliased and collapsed, NOT cut: the path the graph is built from."""
        aliased = self.alias(path)
        if self.config.collapse_repeats and len(aliased) > 1:
            collapsed = tuple(map(_first_of_group, groupby(aliased)))
            return collapsed
        return aliased

    def clean_with_times(
        self, path: Sequence[str], arrival_ts_ms: Sequence[int]
    ) -> tuple[tuple[str, ...], Sequence[int]]:
        """Like ``clean``, keeping each step's arrival time.

        A collapsed run of repeats keeps the arrival on its first step: the user
        arrived on the screen then, and later repeats are the same visit.
        """
        aliased = self.alias(path)
        if not self.config.collapse_repeats or len(aliased) < 2:
            return aliased, arrival_ts_ms
        is_new_step = list(map(ne, aliased, chain((None,), aliased)))
        if all(is_new_step):
            return aliased, arrival_ts_ms
        return tuple(compress(aliased, is_new_step)), list(compress(arrival_ts_ms, is_new_step))

    def cut(self, cleaned: tuple[str, ...]) -> tuple[str, ...]:
        return cut_path(cleaned, self.config.max_steps)


def cut_path(path: tuple[str, ...], max_steps: int) -> tuple[str, ...]:
    """At most ``max_steps`` steps: a longer path keeps its first ``max_steps - 1``
    steps and ends with one ELLIPSIS_STEP.

    The head is kept rather than the tail because how a task starts is what
    splits variants apart; everything long-winded after that is one bucket.
    """
    if len(path) <= max_steps:
        return path
    return path[: max_steps - 1] + (ELLIPSIS_STEP,)


def clean_path(path: Sequence[str], config: FlowConfig) -> tuple[str, ...]:
    """The full cleaning a flow variant is keyed by: alias, collapse, cut."""
    cleaner = PathCleaner(config)
    return cleaner.cut(cleaner.clean(path))


def flow_id(task_name: str | None, path: Sequence[str]) -> str:
    """Stable id of a variant: the same task and cleaned path give the same id
    in every process, store and release (JSON keeps None apart from "")."""
    key = msgspec.json.encode([task_name, list(path)])
    return blake2b(key, digest_size=FLOW_ID_HEX_CHARS // 2).hexdigest()


def flow_label(path: Sequence[str]) -> str:
    return LABEL_SEPARATOR.join(path)
