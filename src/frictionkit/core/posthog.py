"""PostHog events → the event contract (docs/posthog.md has the table).

Pure: the caller gives the project's org and product, the salt for user
hashes, the server's receive time and the flows' path rules; out comes a
batch in our wire format, which then goes through ``core.batch.check_batch``
exactly like an agent's batch, plus what was dropped and why.

Only what friction analysis needs is taken from an event; the rest of its
properties (URLs with query strings, titles, person properties, exception
messages and stacks, element texts) never leaves this function.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from .contract import SKEW_CORRECTION_THRESHOLD_MS, ContractError, format_ts_ms, parse_ts_ms
from .flow_paths import FlowConfig, PathCleaner
from .posthog_wire import event_token

AGENT_PREFIX = "posthog-"
MAX_DROPPED_GROUPS = 50  # distinct (event, reason) pairs listed in a response; the rest are summed under "…"
MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write
_DEVICE_TYPES = {"desktop": "desktop", "mobile": "mobile", "tablet": "tablet"}

# Why an event is not used. Keys are PostHog event names; anything else is a custom event.
_PERSON_EVENTS = ("$identify", "$set", "$create_alias", "$groupidentify", "$merge_dangerously", "$delete_person")
REASONS = {
    "person": "person and group events are not used (frictionkit keeps a salted user hash only)",
    "rageclick": "rage clicks are detected by frictionkit from the $autocapture clicks",
    "dead_click": ("posthog-js sends a dead click after its $autocapture click, as an event of its own: "
                   "mapped, that click would count twice"),
    "pageleave": "page leaves are not used (dwell comes from the next navigation)",
    "autocapture_kind": "only click and change autocapture events are used",
    "custom": "custom event without a mapping",
    "internal": "PostHog-internal event",
    "no_session": "no $session_id (server-side events without a session are not used)",
    "token": "the event's token differs from the request's",
}


@dataclass(frozen=True)
class Project:
    """Where a project token's events go."""

    org_id: str
    product_id: str
    user_salt: bytes  # keys the distinct_id hash: without it a user hash could be recomputed from a guessed id


@dataclass
class Mapped:
    batch: dict[str, Any]  # {"agentId", "sdkVersion", "events"}: our wire format
    origin: list[int]  # for each mapped event, its index in the PostHog request
    errors: list[str] = field(default_factory=list)  # "Event <i>: <reason>", i the PostHog index
    dropped: Counter = field(default_factory=Counter)  # (event name, reason) -> count

    def dropped_summary(self) -> list[dict[str, Any]]:
        items = sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0]))
        out = [{"event": name, "reason": reason, "count": count} for (name, reason), count in items[:MAX_DROPPED_GROUPS]]
        rest = sum(count for _key, count in items[MAX_DROPPED_GROUPS:])
        if rest:
            out.append({"event": "…", "reason": "other dropped events", "count": rest})
        return out


def user_hash(distinct_id: str, salt: bytes) -> str:
    return "ph_" + hashlib.blake2b(distinct_id.encode("utf-8", "surrogatepass"), key=salt[:64],
                                   digest_size=16).hexdigest()


# One element of an $elements_chain: "tag.class1.class2:attr="value"attr2="v"..."; values
# escape their quotes with a backslash (posthog-js's escapeQuotes).
_ATTR = re.compile(r'([A-Za-z0-9_\-$]+)="((?:\\.|[^"\\])*)"')


def first_element(chain: str) -> dict[str, str] | None:
    """Tag, id, classes and text of the element a click hit (the chain's first)."""
    head = _first_segment(chain)
    if not head:
        return None
    selector, _, attrs_text = head.partition(":")
    tag, *classes = selector.split(".")
    attrs = {name: value.replace('\\"', '"') for name, value in _ATTR.findall(attrs_text)}
    if not tag and not attrs:
        return None
    class_attr = attrs.get("attr__class", "")
    all_classes = sorted(set(filter(None, classes)) | set(class_attr.split()))
    return {"tag": tag.lower(), "id": attrs.get("attr__id", ""), "classes": " ".join(all_classes),
            "text": attrs.get("text", "")}


def _first_segment(chain: str) -> str:
    """Up to the first ';' that is not inside a quoted value."""
    quoted = escaped = False
    for i, ch in enumerate(chain):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return chain[:i]
    return chain


def element_hash(element: dict[str, str]) -> str:
    """The element's identity without its text: blake2b-128 of tag, id, classes, text."""
    raw = "\x1f".join((element["tag"], element["id"], element["classes"], element["text"]))
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _elements_array(props: dict[str, Any]) -> dict[str, str] | None:
    """Older posthog-js sends ``$elements`` (a list of objects) instead of the chain."""
    elements = props.get("$elements")
    if not isinstance(elements, list) or not elements or not isinstance(elements[0], dict):
        return None
    first = elements[0]
    classes = first.get("classes") if isinstance(first.get("classes"), list) else []
    attr_class = first.get("attr__class") if isinstance(first.get("attr__class"), str) else ""
    text = first.get("$el_text") or first.get("text") or ""
    return {"tag": str(first.get("tag_name") or "").lower(), "id": str(first.get("attr__id") or ""),
            "classes": " ".join(sorted(set(map(str, classes)) | set(attr_class.split()))), "text": str(text)}


def screen_alias(config: FlowConfig) -> Callable[[str], str]:
    """The flows' path rules as one screen id → alias function (cached per screen)."""
    cleaner = PathCleaner(config)
    return lambda screen: cleaner.alias((screen,))[0]


def screen_of(path: str) -> str:
    """``/app/orders/12/`` → ``app/orders/12``: the form the flows' path rules match."""
    screen = path.split("?", 1)[0].split("#", 1)[0].strip("/")
    return screen[:256] or "/"


def _clip(value: Any, limit: int = 256) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value[:limit] if isinstance(value, str) and value else None


def _ts_ms(ev: dict[str, Any], received_at_ms: int, sent_at_ms: int | None) -> int:
    """PostHog's timestamp rules, with the contract's 5 s threshold: ``offset``
    (ms before sending) wins; else ``timestamp`` moved by the client's clock
    error (``received_at - sent_at``); else the receive time."""
    offset = ev.get("offset")
    if isinstance(offset, (int, float)) and not isinstance(offset, bool) and math.isfinite(offset) and offset >= 0:
        ts_ms = received_at_ms - int(min(offset, received_at_ms))
    else:
        stamp = ev.get("timestamp")
        if not isinstance(stamp, str) or not stamp:
            return received_at_ms
        ts_ms = parse_ts_ms(stamp)
        if sent_at_ms is not None and abs(received_at_ms - sent_at_ms) > SKEW_CORRECTION_THRESHOLD_MS:
            ts_ms += received_at_ms - sent_at_ms
    if not 0 <= ts_ms <= MAX_TS_MS:
        raise ContractError("timestamp: outside the years 1970-9999 after clock-skew correction")
    return ts_ms


def _kind(name: str, props: dict[str, Any]) -> tuple[str | None, str | None]:
    """(our eventType, None) for a mapped event, (None, reason key) for a dropped one."""
    if name in ("$pageview", "$screen"):
        return "navigation", None
    if name == "$autocapture":
        kind = props.get("$event_type")
        if kind == "click":
            return "click", None
        if kind == "change":
            return "input_meta", None
        return None, "autocapture_kind"
    if name == "$exception":
        return "custom", None
    if name in _PERSON_EVENTS:
        return None, "person"
    if name == "$rageclick":
        return None, "rageclick"
    if name == "$dead_click":
        return None, "dead_click"
    if name == "$pageleave":
        return None, "pageleave"
    if name.startswith("$"):
        return None, "internal"
    return None, "custom"


def _error_code(props: dict[str, Any]) -> str:
    exceptions = props.get("$exception_list")
    if isinstance(exceptions, list) and exceptions and isinstance(exceptions[0], dict):
        kind = _clip(exceptions[0].get("type"))
        if kind:
            return kind
    return _clip(props.get("$exception_type")) or "Error"


def map_events(events: list[Any], *, project: Project, token: str, received_at_ms: int, sent_at_ms: int | None,
               alias: Callable[[str], str] = lambda screen: screen) -> Mapped:
    """Map one request's events; see the module docstring."""
    out: list[dict[str, Any]] = []
    origin: list[int] = []
    mapped = Mapped(batch={}, origin=origin)
    lib = version = None
    for index, ev in enumerate(events):
        if not isinstance(ev, dict):
            mapped.errors.append(f"Event {index}: expected an object")
            continue
        name = ev.get("event")
        props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
        if not isinstance(name, str) or not name:
            mapped.errors.append(f"Event {index}: event: expected a name")
            continue
        own_token = event_token(ev)
        if own_token is not None and own_token != token:
            mapped.dropped[(name[:64], REASONS["token"])] += 1
            continue
        event_type, why = _kind(name, props)
        if event_type is None:
            mapped.dropped[(name[:64], REASONS[why])] += 1
            continue
        session = props.get("$session_id")
        if not isinstance(session, str) or not session:
            mapped.dropped[(name[:64], REASONS["no_session"])] += 1
            continue
        try:
            wire = _wire(name, ev, props, event_type, project, received_at_ms, sent_at_ms, alias)
        except ContractError as err:
            mapped.errors.append(f"Event {index}: {err}")
            continue
        wire["sessionId"] = session
        out.append(wire)
        origin.append(index)
        lib = lib or _clip(props.get("$lib"), 64)
        version = version or _clip(props.get("$lib_version"), 64)
    mapped.batch = {"agentId": AGENT_PREFIX + (lib or "unknown"), "sdkVersion": version or "unknown", "events": out}
    return mapped


def _wire(name: str, ev: dict[str, Any], props: dict[str, Any], event_type: str, project: Project,
          received_at_ms: int, sent_at_ms: int | None, alias: Callable[[str], str]) -> dict[str, Any]:
    distinct_id = ev.get("distinct_id", props.get("distinct_id"))
    if isinstance(distinct_id, (int, float)) and not isinstance(distinct_id, bool):
        distinct_id = str(distinct_id)
    if not isinstance(distinct_id, str) or not distinct_id:
        raise ContractError("distinct_id: expected a non-empty string")
    if name == "$screen":
        path = _clip(props.get("$screen_name"), 2048) or "/"
    else:
        path = _clip(props.get("$pathname"), 2048) or _path_of(props.get("$current_url")) or "/"
    wire: dict[str, Any] = {
        "orgId": project.org_id, "productId": project.product_id,
        "userHash": user_hash(distinct_id, project.user_salt),
        "ts": format_ts_ms(_ts_ms(ev, received_at_ms, sent_at_ms)),
        "eventType": event_type, "screenId": alias(screen_of(path)), "route": path,
        "deviceType": _DEVICE_TYPES.get(str(props.get("$device_type", "")).lower(), "desktop"),
    }
    uuid = ev.get("uuid")
    if isinstance(uuid, str) and 0 < len(uuid) <= 64:
        wire["eventId"] = uuid
    if event_type in ("click", "input_meta"):
        chain = props.get("$elements_chain")
        element = first_element(chain) if isinstance(chain, str) and chain else _elements_array(props)
        if element is not None:
            wire["elementType"] = element["tag"][:256] or None
            wire["elementLabelHash"] = element_hash(element)
    if name == "$exception":
        wire["errorCode"] = _error_code(props)
    for ours, theirs in (("os", "$os"), ("browser", "$browser")):
        value = _clip(props.get(theirs))
        if value:
            wire[ours] = value
    return {k: v for k, v in wire.items() if v is not None}


def _path_of(url: Any) -> str | None:
    if not isinstance(url, str) or "://" not in url:
        return None
    rest = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]  # a query string may hold anything
    slash = rest.find("/")
    return rest[slash:][:2048] if slash >= 0 else "/"
