"""Late data is never lost from the insights (docs/semantics.md, "Late events").

An event later than the allowed lateness is stored and counted late; then every
session of its key is recomputed from the stored events and their facts
replaced. Whole keys, not the touched session only: a late event can join two
sessions or add one before the others, which changes their numbering, so the
key's old fact rows are deleted and its sessions written again.

The embedded pipeline holds the key's sessionizer state: it calls ``reopen``
(before the watermark advances) and ``delete_stale_facts`` (inside the store
transaction, before the new facts). The stream's metrics aggregator holds no
sessionizer state: it calls ``recompute_keys`` in its write transaction, after
storing the late events, which closes every session of the key from the stored
events (a trailing session still open in the stream sessionizer gets facts
early; its own emission later replaces them under the same id).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.metrics import CoreConfig
from ..core.model import Event, SessionKey
from ..core.sessionizer import SessionizerConfig
from ..native import session_facts, sessionizer as native_sessionizer
from ..store.arrow import FactBatch
from ..store.base import Store


def reopen(logic: Any, store: Store, late_keys: set[SessionKey], pending: list[Event]) -> None:
    """Make ``logic`` hold these keys as if their every event, stored
    (``store.load_history``) or not yet stored (``pending``), had arrived in
    time: the next advance closes their sessions with the right numbering."""
    logic.forget(late_keys)
    history = store.load_history(sorted(late_keys))
    logic.preload(history + [ev for ev in pending if (ev.org_id, ev.product_id, ev.session_id) in late_keys])


def delete_stale_facts(store: Store, late_keys: set[SessionKey]) -> None:
    """In the transaction that writes the recomputed facts: drop the keys' old rows."""
    store.delete_sessions(sorted(late_keys))


def recompute_keys(store: Store, late_keys: set[SessionKey], sessionizer: SessionizerConfig, core: CoreConfig,
                   on_facts: Callable[[FactBatch], None] | None = None) -> int:
    """Inside the store transaction that stored the late events: sessionize the
    keys' stored events again, delete their old facts, write the new ones.
    ``on_facts`` sees the new facts (the aggregator projects their incidents
    to ``events.incidents``). Returns how many sessions were written."""
    if not late_keys:
        return 0
    logic = native_sessionizer(sessionizer)
    logic.preload(store.load_history(sorted(late_keys)))
    facts = session_facts(logic.close_all(), core)
    delete_stale_facts(store, late_keys)
    store.write_results(facts, replace=False)
    if on_facts is not None:
        on_facts(facts)
    return facts.sessions
