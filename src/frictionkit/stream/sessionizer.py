"""The sessionizer processor: ``events.raw`` -> closed sessions on ``events.sessionized``
(and, as messages of their own there, the events that came too late for their
key's closed session).

One native sessionizer (``native.sessionizer``) per assigned partition, so each partition has
its own clock (``core/clock.py``, the rule replay and embedded serve use):
the event-time watermark (max ts - allowed lateness), and, once the partition
sits at its end for ``idle_after_ms``, the clock's idle bound by the wall
clock (the idle rule of docs/semantics.md), which is not kept as the watermark: traffic
dated in the past that arrives later is still sessionized whole by its own
event time. Only a partition at its end is given the wall clock, so one
merely starved by a busy consumer never closes sessions whose events are
still queued.

No state store: state is rebuilt by re-reading the partition from the
committed offset, which therefore never passes the first offset of any key
the logic still holds (open events, or the closed-session marker that numbers
the key's next session ``#n`` and flags late events). Two things make the
re-read exact:

* the commit carries *claims* in its metadata (``claims=<wm>@<pos>|...``):
  each says "every session whose close deadline is at or before ``wm`` and
  whose key had all its input before offset ``pos`` has been emitted". A
  session the rebuilt logic closes that a claim covers is not emitted again (a
  re-read key may be missing early events: such a partial session must never
  reach the store); a key with newer input (events dated in the past, arriving
  after the restart) emits as usual. The committing instance adds its own
  claim (its watermark, its consumed position) and keeps the claims it
  inherited until its own covers them: an inherited watermark can be far ahead
  of this instance's (the previous one went idle and took the wall clock),
  and pairing it with today's position would claim open sessions as emitted;
* any other re-emission (a session emitted after the last commit) is
  byte-identical, and every consumer downstream is idempotent per session id.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import msgspec

from ..core.contract import ContractError
from ..core.model import Event, Session, SessionKey
from ..core.sessionizer import SessionizerConfig
from ..native import DUPLICATE_CODE, LATE_CODE, decode_bus_message, indices_of, sessionizer
from .codec import MessageError, encode_late, encode_session, message_key, session_key
from .checkpoint import TP
from .deadletter import Outputs
from .processor import Processor
from .settings import StreamSettings



Claim = tuple[int, int | None]  # (watermark, position); position None: any input
MAX_CLAIMS = 16  # offset metadata is capped by the broker (4 KiB by default)


def parse_metadata(text: str | None) -> list[Claim]:
    """Claims from commit metadata: ``claims=<wm>@<pos>|...``, or the single
    ``wm=<ms>;pos=<offset>`` claim that earlier versions committed."""
    fields: dict[str, str] = {}
    for part in (text or "").split(";"):
        name, _, value = part.partition("=")
        fields[name] = value
    claims: list[Claim] = []
    try:
        if "claims" in fields:
            for item in filter(None, fields["claims"].split("|")):
                wm, _, pos = item.partition("@")
                claims.append((int(wm), int(pos) if pos else None))
        elif fields.get("wm"):
            pos = fields.get("pos")
            claims.append((int(fields["wm"]), int(pos) if pos else None))
    except ValueError:
        return []  # unreadable metadata claims nothing: sessions are re-emitted, never dropped
    return claims


def format_claims(claims: list[Claim]) -> str:
    return "claims=" + "|".join(f"{wm}@{'' if pos is None else pos}" for wm, pos in claims)


def _covers(a: Claim, b: Claim) -> bool:
    return a[0] >= b[0] and (a[1] is None or (b[1] is not None and a[1] >= b[1]))


def merge_claims(claims: list[Claim]) -> list[Claim]:
    """The claims no other claim covers, at most ``MAX_CLAIMS`` of them."""
    kept: list[Claim] = []
    for claim in sorted(set(claims), key=lambda c: (c[0], -1 if c[1] is None else c[1]), reverse=True):
        if not any(_covers(k, claim) for k in kept):
            kept.append(claim)
    while len(kept) > MAX_CLAIMS:
        # Narrowing two claims into one that claims less is safe for the
        # sessions (they are re-emitted rather than dropped); it only widens
        # what a re-read may send again.
        (w1, p1), (w2, p2) = kept.pop(), kept.pop()
        kept.append((min(w1, w2), p2 if p1 is None else p1 if p2 is None else min(p1, p2)))
    return kept


class _Partition:
    __slots__ = ("logic", "key_first", "key_last", "at_eof", "inherited", "flushed", "position", "dirty",
                 "rebuilt")

    def __init__(self, config: SessionizerConfig, inherited: list[Claim]) -> None:
        self.logic = sessionizer(config)
        # First offset of each key the logic holds, in offset order (keys are
        # added as offsets grow), so the front is the oldest one.
        self.key_first: OrderedDict[SessionKey, int] = OrderedDict()
        self.at_eof = False
        # Last offset of each key the logic holds: a key with an event at or
        # past a claim's position has input that claim never saw, so its
        # sessions are new even when they are due by the claim's watermark
        # (events dated in the past, from an agent that was offline).
        self.key_last: dict[SessionKey, int] = {}
        self.inherited = inherited  # the claims of the last commit
        # Claims of this logic's idle flushes: the wall-clock time it closed
        # sessions by, with the position it had consumed to then.
        self.flushed: list[Claim] = []
        self.position: int | None = None
        self.dirty = False
        # Keys that had late events: the aggregator rebuilds them from the
        # store, so their numbering there can differ from this logic's. Their
        # later sessions go out as late-events messages too, and the key is
        # rebuilt again, rather than written under this logic's numbering.
        self.rebuilt: set[SessionKey] = set()

    def already_emitted(self, key: SessionKey, deadline_ms: int) -> bool:
        last = self.key_last.get(key, -1)
        return any(deadline_ms <= wm and (pos is None or last < pos) for wm, pos in self.inherited)

    def claims(self, position: int) -> list[Claim]:
        """What a commit at ``position`` may claim: the inherited claims and
        this logic's own (every session due by its watermark, from input
        before ``position``, was closed here: emitted, or suppressed as
        emitted before)."""
        wm = self.logic.watermark_ts_ms
        return merge_claims(self.inherited + self.flushed + ([] if wm is None else [(wm, position)]))

    def oldest_offset(self) -> int | None:
        held = self.logic.has_key
        while self.key_first:
            key, offset = next(iter(self.key_first.items()))
            if held(key):
                return offset
            del self.key_first[key]  # the logic has forgotten it: nothing to rebuild
            self.key_last.pop(key, None)
        return None


class SessionizerProcessor(Processor):
    name = "sessionizer"

    def __init__(self, settings: StreamSettings) -> None:
        super().__init__(settings)
        # The clock's idle rule is the stream's --idle-after-ms.
        self.config = msgspec.structs.replace(settings.sessionizer, idle_after_ms=settings.idle_after_ms)
        self.parts: dict[TP, _Partition] = {}
        self.stats = {"events": 0, "duplicates": 0, "late": 0, "sessions": 0, "suppressed": 0}

    def topics(self) -> list[str]:
        return [self.settings.topics.raw]

    def assigned(self, tps: list[TP], metadata: dict[TP, str | None]) -> None:
        for tp in tps:
            self.parts[tp] = _Partition(self.config, parse_metadata(metadata.get(tp)))

    def revoked(self, tps: list[TP]) -> None:
        for tp in tps:
            self.parts.pop(tp, None)

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        part = self.parts[(msg.topic(), msg.partition())]
        part.at_eof = False
        try:
            events = decode_bus_message(msg.value() or b"")
        except ContractError as err:
            raise MessageError(f"event breaks the contract: {err}") from None
        # The events of one message share its offset: positions, key_first and
        # key_last count whole messages, which are consumed whole before any
        # tick, so every claim about "input before offset p" still holds.
        offset, logic, stats = msg.offset(), part.logic, self.stats
        statuses, fresh = logic.on_events(events, now_ms)
        # Keys new to the logic go to the back of key_first (the oldest input
        # still held is at the front); every key of the message was seen here.
        for key in fresh:
            part.key_first.pop(key, None)
            part.key_first[key] = offset
        key_last = part.key_last
        for ev in events:
            key_last[ev.key] = offset
        stats["duplicates"] += statuses.count(DUPLICATE_CODE)
        late: dict[SessionKey, list[Event]] = {}
        if LATE_CODE in statuses:
            for i in indices_of(statuses, LATE_CODE):
                late.setdefault(events[i].key, []).append(events[i])
            stats["late"] += sum(len(evs) for evs in late.values())
        # Late events are stored in events_raw, as replay stores them, but
        # change no closed session: the aggregator reads them from here, so
        # that it need not read (and check) events.raw as well.
        for key, evs in late.items():
            part.rebuilt.add(key)
            out.produce(self.settings.topics.sessionized, encode_late(evs), message_key(*key))
        stats["events"] += len(events)
        part.position = offset + 1
        part.dirty = True

    def eof(self, tp: TP, now_ms: int) -> None:
        part = self.parts.get(tp)
        if part is not None:
            part.at_eof = True

    def tick(self, out: Outputs, now_ms: int) -> None:
        for part in self.parts.values():
            logic = part.logic
            if part.at_eof:
                # At its end, the partition's clock is given the wall clock:
                # quiet for idle_after_ms, it closes by the idle bound.
                closed = logic.advance(now_ms=now_ms)
                until, wm = logic.closed_until_ts_ms, logic.watermark_ts_ms
                if until is not None and part.position is not None and (wm is None or until > wm):
                    part.flushed = merge_claims(part.flushed + [(until, part.position)])
            elif part.dirty:
                closed = logic.advance()
            else:
                continue
            part.dirty = False
            for session in closed:
                self._emit(part, session, out)
            if part.rebuilt:  # forgotten keys start afresh (the store holds their numbering)
                part.rebuilt = {key for key in part.rebuilt if logic.has_key(key)}

    def _emit(self, part: _Partition, session: Session, out: Outputs) -> None:
        key = (session.org_id, session.product_id, session.client_session_id)
        if part.already_emitted(key, self.config.deadline_ms(session.events[0].ts_ms, session.events[-1].ts_ms)):
            self.stats["suppressed"] += 1
            return
        if key in part.rebuilt:
            out.produce(self.settings.topics.sessionized, encode_late(session.events), message_key(*key))
            self.stats["sessions"] += 1
            return
        out.produce(self.settings.topics.sessionized, encode_session(session), session_key(session))
        self.stats["sessions"] += 1

    def offsets(self, positions: dict[TP, int]) -> dict[TP, tuple[int, str | None]]:
        result = {}
        for tp, position in positions.items():
            part = self.parts.get(tp)
            if part is None:
                continue
            oldest = part.oldest_offset()
            claims = part.claims(position)
            result[tp] = (position if oldest is None else min(oldest, position), format_claims(claims) if claims else None)
        return result
