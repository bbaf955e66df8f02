"""Which data an insight covers: org, product and a [from, to) window of
session start (docs/api.md, "Read API"). Shared by the CLI and the HTTP API."""

from __future__ import annotations

import re

import msgspec

from ..core.contract import ContractError, format_ts_ms, parse_ts_ms
from ..core.segment import ALL, Segment, SegmentError
from ..store.base import Scope, Store

DAY_MS = 86_400_000
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")


class InsightError(ValueError):
    """A request the insights cannot answer as asked; ``param`` names the culprit.
    ``not_found``: the org/product asked for has no data (HTTP 404, not 400)."""

    def __init__(self, message: str, param: str | None = None, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.param = param
        self.not_found = not_found


class InsightQuery(msgspec.Struct, frozen=True):
    """What a view covers: one org/product, a window of session start and a
    segment (``Segment()``: every session). Every payload function takes one
    and hands ``segment`` to each store read it makes."""

    org_id: str
    product_id: str
    from_ms: int
    to_ms: int
    segment: Segment = ALL

    @property
    def previous(self) -> InsightQuery:
        """The window of equal length just before this one, same segment (for trends)."""
        length = self.to_ms - self.from_ms
        return InsightQuery(self.org_id, self.product_id, self.from_ms - length, self.from_ms, self.segment)

    def echo(self) -> dict[str, str]:
        out = {"orgId": self.org_id, "productId": self.product_id, "from": format_ts_ms(self.from_ms),
               "to": format_ts_ms(self.to_ms)}
        # Only when narrowed: an unfiltered payload stays as it was.
        if not self.segment.is_all:
            out["segment"] = self.segment.echo()
        return out


def make_segment(**values: str | None) -> Segment:
    """A Segment from the caller's texts (CLI flags, query parameters); a bad
    value is an InsightError naming the field (device_type, browser, os,
    app_name, app_version)."""
    try:
        return Segment.from_values(**values)
    except SegmentError as err:
        raise InsightError(str(err), err.param) from None


def parse_bound(text: str, *, param: str, end: bool) -> int:
    """A date (``2026-11-27``) or an RFC 3339 timestamp -> epoch ms.

    A date-only ``to`` includes that whole day (UTC): it means the next midnight.
    """
    m = _DATE.match(text)
    if m:
        try:
            start = parse_ts_ms(f"{text}T00:00:00Z")
        except ContractError:
            raise InsightError(f"{param}: {text!r} is not a valid date", param) from None
        return start + DAY_MS if end else start
    try:
        return parse_ts_ms(text)
    except ContractError:
        raise InsightError(f"{param}: {text!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp", param) from None


def resolve_query(
    store: Store,
    *,
    org_id: str | None,
    product_id: str | None,
    from_text: str | None,
    to_text: str | None,
    allowed_orgs: frozenset[str] | None = None,
    segment: Segment = ALL,
) -> InsightQuery:
    """Fill in what the caller left out from what the store holds.

    Without org/product, the single org/product in the store is used; with
    several, the error lists them. An org or product with no data is an error
    (``not_found``) listing the known pairs. Without from/to, the window spans
    every stored session start of the scope. ``segment`` is carried as given:
    the scope and window are those of the whole product, whatever the segment.
    """
    # Parameters are checked before the store is asked, so a bad one is named
    # even when there is no data.
    from_ms = parse_bound(from_text, param="from", end=False) if from_text else None
    to_ms = parse_bound(to_text, param="to", end=True) if to_text else None
    scopes = [s for s in store.scopes() if allowed_orgs is None or s.org_id in allowed_orgs]
    scope = choose_scope(scopes, org_id, product_id)
    from_ms, to_ms = _window(scope, from_ms, to_ms, from_text, to_text)
    return InsightQuery(scope.org_id, scope.product_id, from_ms, to_ms, segment)


def choose_scope(scopes: list[Scope], org_id: str | None, product_id: str | None) -> Scope:
    """The one (org, product) the filters name among the stored ones, or an
    error that says what is unknown or ambiguous and lists the known pairs."""
    if not scopes:
        raise InsightError("the store holds no sessions yet: replay or ingest some events first", None, not_found=True)
    candidates = [
        s for s in scopes if (org_id is None or s.org_id == org_id) and (product_id is None or s.product_id == product_id)
    ]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        known = "known org/product pairs: " + ", ".join(f"{s.org_id}/{s.product_id}" for s in scopes)
        if org_id is not None and org_id not in {s.org_id for s in scopes}:
            raise InsightError(f"no data for org {org_id!r}; {known}", "org", not_found=True)
        where = f" in org {org_id!r}" if org_id is not None else ""
        raise InsightError(f"no data for product {product_id!r}{where}; {known}", "product", not_found=True)
    names = ", ".join(f"{s.org_id}/{s.product_id}" for s in candidates)
    missing = "org" if org_id is None and len({s.org_id for s in candidates}) > 1 else "product"
    raise InsightError(f"the store holds several org/product pairs; choose one with --org/--product: {names}", missing)


def _window(scope: Scope, from_ms: int | None, to_ms: int | None, from_text: str | None,
            to_text: str | None) -> tuple[int, int]:
    """[from, to): a bound left out spans the scope's sessions. A window that
    is empty only because of the bound left out says which bound misses the data."""
    first, last = format_ts_ms(scope.first_start_ms), format_ts_ms(scope.last_start_ms)
    if from_ms is None:
        from_ms = scope.first_start_ms
        if to_ms is not None and to_ms <= from_ms:
            raise InsightError(f"to {to_text} is before the first session (sessions start {first} → {last})", "to")
    if to_ms is None:
        to_ms = scope.last_start_ms + 1
        if to_ms <= from_ms:
            raise InsightError(f"from {from_text} is after the last session (sessions start {first} → {last})", "from")
    if to_ms <= from_ms:
        raise InsightError("to must be after from", "to")
    return from_ms, to_ms
