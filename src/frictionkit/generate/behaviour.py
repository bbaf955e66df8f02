"""What simulated users do in each kind of app: tasks with happy paths and
detours, aimless browsing, breaks, and the injected defects' symptoms.

Probabilities are per occurrence and chosen so that the injected spots (see
``apps.INJECTED``) show their incident in a large share of the visits while
every other screen sees only rare noise.
"""

from __future__ import annotations

from .apps import CRM, HELPDESK
from .builder import SessionBuilder, SessionEnded

# Injected defects: chance the symptom appears on one visit of the spot.
BROKEN_SAVE_RAGE_CHANCE = 0.62
REPORTS_BOUNCE_CHANCE = 0.6
TICKET_SUBMIT_FAIL_CHANCE = (0.6, 0.45, 0.45)  # first, second, third attempt

# Background noise: a user closing the app mid-task anywhere.
NOISE_QUIT_PER_STEP = 0.006
NOISE_WRONG_TURN_PER_BROWSE = 0.012

MINUTE_MS = 60_000


def run_session(b: SessionBuilder) -> None:
    try:
        if b.tenant.kind == CRM:
            _crm_session(b)
        else:
            _helpdesk_session(b)
    except SessionEnded:
        pass


def _maybe_quit(b: SessionBuilder) -> None:
    if b.rng.random() < NOISE_QUIT_PER_STEP:
        raise SessionEnded


def _take_break(b: SessionBuilder) -> None:
    rng = b.rng
    roll = rng.random()
    if roll < 0.72:
        idle_ms = rng.randint(4_000, 3 * MINUTE_MS)
    elif roll < 0.93:
        idle_ms = rng.randint(3 * MINUTE_MS, 20 * MINUTE_MS)
    else:
        # Longer than the 30-minute session gap: the pipeline splits the client session.
        idle_ms = rng.randint(31 * MINUTE_MS, 95 * MINUTE_MS)
    b.away(idle_ms)


def _browse(b: SessionBuilder, destinations: list[str], weights: list[float]) -> None:
    rng = b.rng
    for _ in range(rng.randint(1, 4)):
        target = rng.choices(destinations, weights)[0]
        if target == b.screen.screen_id:
            b.fiddle(rng.randint(1, 3))
            continue
        if rng.random() < NOISE_WRONG_TURN_PER_BROWSE:
            # Misclick in the menu, noticed at once: a stray backtrack.
            came_from = b.screen.screen_id
            # Weighted like real visits, so no rarely visited screen collects the strays.
            options = [(s, w) for s, w in zip(destinations, weights) if s not in (target, came_from)]
            wrong = rng.choices([s for s, _ in options], [w for _, w in options])[0]
            b.go(wrong, via=_nav_label(wrong))
            b.go(came_from, bounce=True, median_ms=1500)
        _visit(b, target)
        b.fiddle(rng.randint(0, 3))


def _visit(b: SessionBuilder, screen_id: str) -> None:
    """Navigate to `screen_id`; on acme's confusing reports screen the user may bounce off."""
    if b.screen.screen_id == screen_id:
        return
    b.go(screen_id, via=_nav_label(screen_id), record_id=b.rng.randint(1000, 99_999))
    if screen_id == "crm/reports" and b.tenant.confusing_reports:
        if b.rng.random() < REPORTS_BOUNCE_CHANCE:
            came_from = b.previous_screen_id
            if b.rng.random() < 0.5:
                b.scroll(1)
            b.go(came_from, via="Back", bounce=True, median_ms=3500)


def _nav_label(screen_id: str) -> str:
    return _NAV_LABELS.get(screen_id, "Open")


_NAV_LABELS = {
    "crm/home": "Home", "crm/contacts": "Contacts", "crm/deals": "Deals",
    "crm/reports": "Reports", "crm/settings": "Settings", "crm/contacts/:id": "Contact row",
    "helpdesk/queue": "Queue", "helpdesk/dashboard": "Dashboard",
    "helpdesk/kb-search": "Knowledge base", "helpdesk/ticket": "Ticket row",
}


# -- CRM ---------------------------------------------------------------------------

_CRM_BROWSE = ["crm/home", "crm/contacts", "crm/contacts/:id", "crm/deals", "crm/reports", "crm/settings"]
_CRM_BROWSE_WEIGHTS = [2, 3, 3, 3, 2, 0.5]


def _crm_session(b: SessionBuilder) -> None:
    rng = b.rng
    b.enter(rng.choices(["crm/home", "crm/contacts", "crm/deals"], [6, 2, 2])[0])
    browse_only = rng.random() < 0.18
    first = True
    while first or b.active_ms < b.target_active_ms:
        first = False
        roll = rng.random()
        if roll < 0.10:
            _take_break(b)
        elif browse_only or roll < 0.33:
            _browse(b, _CRM_BROWSE, _CRM_BROWSE_WEIGHTS)
        elif roll < 0.62:
            _create_deal(b)
        elif roll < 0.88:
            _update_contact(b)
        else:
            _export_report(b)


def _create_deal(b: SessionBuilder) -> None:
    rng = b.rng
    if rng.random() < 0.15:
        _visit(b, "crm/reports")  # checking the pipeline first
    _visit(b, "crm/deals")
    b.fiddle(rng.randint(0, 2))
    b.task("create_deal", "start")
    b.go("crm/deal-edit", via="New deal")
    b.type_into("Deal name")
    b.type_into("Amount", median_ms=3000)
    _maybe_quit(b)
    b.click("Stage")
    if rng.random() < 0.7:
        b.click("Close date")
    b.type_into("Company")
    if rng.random() < 0.4:
        b.type_into("Notes", median_ms=15_000)
    b.review()
    if b.tenant.broken_save_deal and rng.random() < BROKEN_SAVE_RAGE_CHANCE:
        b.burst("Save deal", rng.randint(3, 8))
        # Nothing happened; after a moment they try once more and it goes through.
        b.pause(5000, low_ms=2000)
        if rng.random() < 0.35:
            b.type_into("Amount", median_ms=2500)
        if rng.random() < 0.15:
            b.pause(3000, low_ms=1500)
            b.burst("Save deal", rng.randint(3, 5))
            b.pause(4000, low_ms=2000)
        b.click("Save deal")
    else:
        b.click("Save deal")
    b.task("create_deal", "complete")
    b.go("crm/deals", median_ms=400)  # redirect after saving


def _update_contact(b: SessionBuilder) -> None:
    rng = b.rng
    _visit(b, "crm/contacts")
    if rng.random() < 0.5:
        b.type_into("Search contacts", median_ms=3000)
    else:
        b.scroll(rng.randint(1, 3))
    b.task("update_contact", "start")
    contact_id = rng.randint(1000, 99_999)
    b.go("crm/contacts/:id", via="Contact row", record_id=contact_id)
    b.fiddle(rng.randint(0, 2))
    _maybe_quit(b)
    b.go("crm/contact-edit", via="Edit contact", record_id=contact_id)
    for field in rng.sample(["First name", "Last name", "Email", "Phone", "Company"], rng.randint(1, 3)):
        b.type_into(field)
    if rng.random() < 0.3:
        b.click("Lifecycle stage")
    b.review()
    b.click("Save contact")
    b.task("update_contact", "complete")
    b.go("crm/contacts/:id", record_id=contact_id, median_ms=400)
    if rng.random() < 0.4:
        b.click("Log call")


def _export_report(b: SessionBuilder) -> None:
    rng = b.rng
    b.task("export_report", "start")
    _visit(b, "crm/reports")
    if b.screen.screen_id != "crm/reports":
        # Bounced off; looks around where they were, then gives the screen another go.
        b.fiddle(rng.randint(1, 2))
        _visit_without_bounce(b, "crm/reports")
    b.click("Report type")
    if rng.random() < 0.5:
        b.click(rng.choice(["Pipeline", "Forecast"]))
    b.click("Apply filters", median_ms=3000)
    b.scroll(rng.randint(1, 3))
    _maybe_quit(b)
    b.click("Export CSV")
    b.task("export_report", "complete")


def _visit_without_bounce(b: SessionBuilder, screen_id: str) -> None:
    b.go(screen_id, via=_nav_label(screen_id))


# -- Helpdesk ------------------------------------------------------------------------

_HELPDESK_BROWSE = ["helpdesk/queue", "helpdesk/ticket", "helpdesk/dashboard", "helpdesk/kb-search"]
_HELPDESK_BROWSE_WEIGHTS = [4, 3, 2, 1]


def _helpdesk_session(b: SessionBuilder) -> None:
    rng = b.rng
    b.enter(rng.choices(["helpdesk/queue", "helpdesk/dashboard"], [8, 2])[0])
    browse_only = rng.random() < 0.18
    first = True
    while first or b.active_ms < b.target_active_ms:
        first = False
        roll = rng.random()
        if roll < 0.10:
            _take_break(b)
        elif browse_only or roll < 0.32:
            _browse(b, _HELPDESK_BROWSE, _HELPDESK_BROWSE_WEIGHTS)
        elif roll < 0.68:
            _resolve_ticket(b)
        else:
            _create_ticket(b)


def _resolve_ticket(b: SessionBuilder) -> None:
    rng = b.rng
    _visit(b, "helpdesk/queue")
    if rng.random() < 0.4:
        b.click(rng.choice(["Status filter", "Assignee filter"]))
    ticket_id = rng.randint(10_000, 99_999)
    b.task("resolve_ticket", "start")
    b.go("helpdesk/ticket", via="Ticket row", record_id=ticket_id)
    b.scroll(rng.randint(1, 3))
    if rng.random() < 0.3:
        b.click("History")
    if rng.random() < 0.35:
        # Detour: look up the answer in the knowledge base.
        b.go("helpdesk/kb-search", via="Search knowledge base")
        b.type_into("Search query", median_ms=4000)
        b.click("Search")
        b.go("helpdesk/kb-article", via="Search result", record_id=rng.randint(100, 2000))
        b.scroll(rng.randint(1, 4))
        if rng.random() < 0.3:
            b.click("Helpful")
        b.go("helpdesk/ticket", via="Back to ticket", record_id=ticket_id, median_ms=15_000)
    _maybe_quit(b)
    b.type_into("Reply", median_ms=20_000)
    b.click("Send reply")
    if rng.random() < 0.4:
        b.click("Priority")
    b.review()
    b.click("Resolve")
    b.task("resolve_ticket", "complete")
    b.go("helpdesk/queue", median_ms=500)


def _create_ticket(b: SessionBuilder) -> None:
    rng = b.rng
    _visit(b, "helpdesk/queue")
    b.task("create_ticket", "start")
    b.go("helpdesk/ticket-new", via="New ticket")
    b.type_into("Subject")
    b.type_into("Description", median_ms=25_000)
    b.click("Category")
    if rng.random() < 0.5:
        b.click("Priority")
    if rng.random() < 0.5:
        b.type_into("Requester email", median_ms=4000)
    for attempt, fail_chance in enumerate(TICKET_SUBMIT_FAIL_CHANCE):
        b.click("Submit")
        if not (b.tenant.failing_ticket_submit and rng.random() < fail_chance):
            break
        latency_ms = rng.randint(120, 900)
        b.error(rng.choice(("TICKET_API_500", "GATEWAY_TIMEOUT")), latency_ms, delay_ms=latency_ms)
        roll = rng.random()
        last_attempt = attempt == len(TICKET_SUBMIT_FAIL_CHANCE) - 1
        if roll < 0.4 and not last_attempt:
            if rng.random() < 0.3:
                b.type_into("Description", median_ms=5000)
            b.pause(4000, low_ms=1500)
            continue
        if roll < 0.65:
            b.task("create_ticket", "fail")  # the app gives up and says so
            b.go("helpdesk/queue", via="Cancel", median_ms=4000)
            return
        _give_up_on_ticket(b)
        return
    b.task("create_ticket", "complete")
    b.go("helpdesk/ticket", record_id=rng.randint(10_000, 99_999), median_ms=600)
    b.scroll(1)


def _give_up_on_ticket(b: SessionBuilder) -> None:
    """The user abandons the form on ticket-new: closes the app, or walks away for a long while."""
    if b.rng.random() < 0.6:
        raise SessionEnded
    b.away(b.rng.randint(16 * MINUTE_MS, 28 * MINUTE_MS))
    b.go("helpdesk/queue", via="Cancel", median_ms=3000)


__all__ = ["run_session", "CRM", "HELPDESK"]
