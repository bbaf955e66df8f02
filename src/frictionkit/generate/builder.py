"""Event emission for one simulated session: the clock, the wire format and the
guards that keep clean behaviour from accidentally meeting an incident rule.

The incident thresholds (docs/semantics.md) are strict and time-based, so ordinary behaviour could
trip them by chance (a quick list -> detail -> list is a backtrack). The guards
here stretch such moments just past the thresholds unless a behaviour script
asks for the symptom on purpose; the injected friction then stands out.
"""

from __future__ import annotations

import random
from math import exp as _exp
from datetime import datetime, timezone

from .apps import Screen, Tenant, stable_hash

# Incident defaults (docs/semantics.md) the guards keep clear of (a small margin on each).
RAGE_GAP_MS = 1000
BACKTRACK_WINDOW_MS = 20_000
ERROR_CLICK_WINDOW_MS = 1000

# Background noise: rare, so injected spots dominate every ranking.
NOISE_RAGE_PER_CLICK = 0.002
NOISE_ERROR_PER_NAVIGATION = 0.004

_MS_PER_MINUTE = 60_000
_minute_prefix_cache: dict[int, str] = {}


class SessionEnded(Exception):
    """The simulated user closed the app; unwinds out of any behaviour script."""


def format_ts(ts_ms: int) -> str:
    """RFC 3339 UTC with milliseconds; hand-rolled because strftime dominates the hot path.

    The "YYYY-MM-DDTHH:MM:" part is cached per minute: a week of traffic is ~10k
    minutes, and most events share their minute with many others.
    """
    minute, ms_of_minute = divmod(ts_ms, _MS_PER_MINUTE)
    prefix = _minute_prefix_cache.get(minute)
    if prefix is None:
        prefix = datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:")
        if len(_minute_prefix_cache) > 200_000:  # traffic spanning months: don't grow forever
            _minute_prefix_cache.clear()
        _minute_prefix_cache[minute] = prefix
    seconds, ms = divmod(ms_of_minute, 1000)
    return f"{prefix}{seconds:02d}.{ms:03d}Z"


class SessionBuilder:
    """Accumulates one client session's events in time order.

    Every primitive first lets some time pass (the user's think time), then
    emits one event on the current screen.
    """

    def __init__(self, rng: random.Random, tenant: Tenant, screens: dict[str, Screen],
                 session_id: str, user_hash: str, device: tuple[str, str, str],
                 event_id_prefix: str, start_ts_ms: int, target_active_ms: int) -> None:
        self.rng = rng
        self.tenant = tenant
        self.screens = screens
        self.session_id = session_id
        self.user_hash = user_hash
        self.device_type, self.os, self.browser = device
        self.event_id_prefix = event_id_prefix
        self.start_ts_ms = start_ts_ms
        self.target_active_ms = target_active_ms
        self.now_ms = start_ts_ms
        self.idle_ms = 0
        self.events: list[dict] = []
        self.ts_ms: list[int] = []
        self.screen: Screen | None = None
        self.route = ""
        self.previous_screen_id: str | None = None  # the screen before the current one
        self.arrived_ms = start_ts_ms
        self.last_click_key: tuple[str, str] | None = None
        self.last_click_ms = -1 << 62
        self._fallback_elements: dict[tuple[str, str], tuple[str, str]] = {}

    # -- time ---------------------------------------------------------------

    @property
    def active_ms(self) -> int:
        return self.now_ms - self.start_ts_ms - self.idle_ms

    def pause(self, median_ms: float, low_ms: int = 250, high_ms: int = 60_000) -> None:
        # Think times are right-skewed: mostly quick, sometimes a long read.
        gap_ms = int(median_ms * _exp(self.rng.gauss(0.0, 0.6)))
        self.now_ms += min(max(gap_ms, low_ms), high_ms)

    def int_between(self, low: int, high: int) -> int:
        # random() rather than randint(): a third of the cost on the hot path.
        return low + int(self.rng.random() * (high - low + 1))

    def pause_between(self, low_ms: int, high_ms: int) -> None:
        self.now_ms += self.int_between(low_ms, high_ms)

    # -- emission -------------------------------------------------------------

    def _emit(self, event_type: str, element: tuple[str, str] | None = None,
              error_code: str | None = None, latency_ms: int | None = None,
              extra: dict | None = None) -> None:
        if self.ts_ms and self.now_ms <= self.ts_ms[-1]:
            # Strictly increasing within a session: the pipeline breaks ties by
            # eventId, which would not be the order the user acted in.
            self.now_ms = self.ts_ms[-1] + 1
        screen = self.screen
        event = {
            "eventId": f"{self.event_id_prefix}{len(self.events):04d}",
            "orgId": self.tenant.org_id,
            "productId": self.tenant.product_id,
            "sessionId": self.session_id,
            "userHash": self.user_hash,
            "ts": format_ts(self.now_ms),
            "eventType": event_type,
            "screenId": screen.screen_id,
            "route": self.route,
            "deviceType": self.device_type,
            "appName": self.tenant.app_name,
        }
        if element is not None:
            event["elementType"] = element[0]
            event["elementLabelHash"] = element[1]
        if error_code is not None:
            event["errorCode"] = error_code
        event["os"] = self.os
        event["browser"] = self.browser
        if latency_ms is not None:
            event["latencyMs"] = latency_ms
        if extra is not None:
            event["extra"] = extra
        self.events.append(event)
        self.ts_ms.append(self.now_ms)

    def _element(self, label: str) -> tuple[str, str]:
        element = self.screen.elements.get(label)
        if element is None:
            # Not on the screen's own list: the app's sidebar/menu, present everywhere.
            key = (self.screen.screen_id, label)
            element = self._fallback_elements.get(key)
            if element is None:
                element = ("nav_link", stable_hash(f"{self.tenant.kind}|sidebar|{label}", 12))
                self._fallback_elements[key] = element
        return element

    # -- primitives ---------------------------------------------------------------

    def review(self) -> None:
        """Stay on the screen past the backtrack window before an action that returns
        to the previous screen (save, then redirect back): a careful user, not a bounce."""
        earliest_ms = self.arrived_ms + BACKTRACK_WINDOW_MS + self.int_between(500, 6000)
        self.now_ms = max(self.now_ms, earliest_ms - 1500)

    def enter(self, screen_id: str, record_id: int | None = None) -> None:
        """The session's first screen view (deep link or bookmark: no click before it)."""
        self.screen = self.screens[screen_id]
        self.route = self.screen.route(record_id)
        self.arrived_ms = self.now_ms
        self._emit("navigation", latency_ms=self.int_between(150, 1400))

    def go(self, screen_id: str, via: str | None = None, record_id: int | None = None,
           bounce: bool = False, median_ms: float = 2500) -> None:
        """Move to another screen, optionally by clicking `via` on the current one.

        Unless `bounce` is asked for, a return to the previous screen waits until
        the backtrack window has passed (the user actually used the screen).
        """
        if screen_id == self.screen.screen_id:
            return
        self.pause(median_ms)
        if not bounce and screen_id == self.previous_screen_id:
            earliest_ms = self.arrived_ms + BACKTRACK_WINDOW_MS + self.int_between(500, 9000)
            self.now_ms = max(self.now_ms, earliest_ms)
        if via is not None:
            self.click(via, median_ms=1)
        self.pause_between(40, 350)
        self.previous_screen_id = self.screen.screen_id
        self.screen = self.screens[screen_id]
        self.route = self.screen.route(record_id)
        self.arrived_ms = self.now_ms
        self._emit("navigation", latency_ms=self.int_between(80, 1200))
        if self.rng.random() < NOISE_ERROR_PER_NAVIGATION:
            # A background widget failing to load: an error, but not after a click.
            self.pause_between(ERROR_CLICK_WINDOW_MS + 200, 4000)
            self.error(self.rng.choice(("WIDGET_TIMEOUT", "HTTP_502")), latency_ms=None, delay_ms=0)

    def click(self, label: str, median_ms: float = 4000) -> None:
        element = self._element(label)
        self.pause(median_ms, low_ms=1)
        key = (self.screen.screen_id, label)
        if key == self.last_click_key and self.now_ms - self.last_click_ms <= RAGE_GAP_MS:
            self.now_ms = self.last_click_ms + RAGE_GAP_MS + self.int_between(150, 1500)
        self._emit("click", element)
        self.last_click_key, self.last_click_ms = key, self.now_ms
        if self.rng.random() < NOISE_RAGE_PER_CLICK:
            self.burst(label, 2, continuing=True)

    def burst(self, label: str, clicks: int, continuing: bool = False) -> None:
        """`clicks` rapid clicks on one element, each well inside the rage window."""
        element = self._element(label)
        for i in range(clicks):
            if i > 0 or continuing:
                self.pause_between(90, 650)
            else:
                self.pause(1800)
            self._emit("click", element)
        self.last_click_key, self.last_click_ms = (self.screen.screen_id, label), self.now_ms

    def scroll(self, times: int = 1) -> None:
        depth_pct = 0
        for _ in range(times):
            self.pause(2000, low_ms=200)
            depth_pct = min(100, depth_pct + self.int_between(10, 45))
            self._emit("scroll", extra={"depth_pct": depth_pct})

    def type_into(self, field: str, median_ms: float = 8000) -> None:
        """An input_meta event: how much was typed, never what."""
        self.pause(median_ms, low_ms=800, high_ms=120_000)
        self._emit("input_meta", self._element(field), extra={"chars": self.int_between(3, 80)})

    def task(self, task_name: str, action: str) -> None:
        # The app instruments its own steps, so markers follow the action closely.
        self.pause_between(15, 250)
        self._emit("custom", extra={"task_name": task_name, "action": action})

    def error(self, code: str, latency_ms: int | None, delay_ms: int) -> None:
        self.now_ms += delay_ms
        self._emit("custom", error_code=code, latency_ms=latency_ms, extra={"kind": "error"})

    def away(self, idle_ms: int) -> None:
        """The user leaves for another window and comes back (a context switch)."""
        self.pause(1500)
        self._emit("focus_change", extra={"state": "blur"})
        self.now_ms += idle_ms
        self.idle_ms += idle_ms
        self._emit("focus_change", extra={"state": "focus"})

    def fiddle(self, interactions: int) -> None:
        """Harmless interactions on the current screen: tabs, filters, scrolling."""
        candidates = [label for label, (element_type, _) in self.screen.elements.items()
                      if element_type in _FIDDLE_TYPES or label in _FIDDLE_BUTTONS]
        for _ in range(interactions):
            if candidates and self.rng.random() < 0.6:
                self.click(self.rng.choice(candidates))
            else:
                self.scroll(self.int_between(1, 2))


_FIDDLE_TYPES = frozenset({"tab", "dropdown", "checkbox", "toggle", "date_picker"})
_FIDDLE_BUTTONS = frozenset({"Filter", "Refresh", "Next page", "Dismiss tip", "Helpful",
                             "Copy link", "Log call", "Apply filters"})
