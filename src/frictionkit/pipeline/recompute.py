"""Late data is never lost from the insights (docs/semantics.md, "Late events").

An event later than the allowed lateness is stored and counted late; then every
session of its key is recomputed from the stored events and their facts
replaced. Whole keys, not the touched session only: a late event can join two
sessions or add one before the others, which changes their numbering, so the
key's old fact rows are deleted and its sessions written again.

Both steps are here, called by both wings: ``reopen`` (before the watermark
advances, with the sessionizer logic that holds the key) and
``delete_stale_facts`` (inside the store transaction, before the new facts).
"""

from __future__ import annotations

from ..core.model import Event, SessionKey
from ..core.sessionizer import SessionizerLogic
from ..store.base import Store


def reopen(logic: SessionizerLogic, store: Store, late_keys: set[SessionKey], pending: list[Event]) -> None:
    """Make ``logic`` hold these keys as if their every event, stored
    (``store.load_history``) or not yet stored (``pending``), had arrived in
    time: the next advance closes their sessions with the right numbering."""
    logic.forget(late_keys)
    history = store.load_history(sorted(late_keys))
    logic.preload(history + [ev for ev in pending if (ev.org_id, ev.product_id, ev.session_id) in late_keys])


def delete_stale_facts(store: Store, late_keys: set[SessionKey]) -> None:
    """In the transaction that writes the recomputed facts: drop the keys' old rows."""
    store.delete_sessions(sorted(late_keys))
