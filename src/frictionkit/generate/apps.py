"""The simulated applications: screens, their elements, the tenants that use them,
and the ground truth of where friction was injected.

Screens and elements are plain data so behaviour scripts (``behaviour.py``) can
refer to them by name; label hashes are computed once here because they are
attached to every click and must be stable across runs and seeds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

CRM = "crm"
HELPDESK = "helpdesk"


def stable_hash(text: str, hex_chars: int = 16) -> str:
    """Hex digest that never depends on the seed or on PYTHONHASHSEED."""
    return hashlib.blake2b(text.encode(), digest_size=(hex_chars + 1) // 2).hexdigest()[:hex_chars]


@dataclass(frozen=True)
class Screen:
    screen_id: str
    route_template: str  # may hold "{id}", filled per visit so routes look real
    # label -> (elementType, elementLabelHash)
    elements: dict[str, tuple[str, str]] = field(default_factory=dict)

    def route(self, record_id: int | None = None) -> str:
        if "{id}" in self.route_template:
            return self.route_template.replace("{id}", str(record_id or 0))
        return self.route_template

    def element(self, label: str) -> tuple[str, str]:
        return self.elements[label]


def _screen(product: str, screen_id: str, route_template: str, elements: list[tuple[str, str]]) -> Screen:
    # The label hash covers product and screen: a "Save" on two screens is two elements.
    hashed = {
        label: (element_type, stable_hash(f"{product}|{screen_id}|{label}", 12))
        for element_type, label in elements
    }
    return Screen(screen_id, route_template, hashed)


def _fields(*labels: str) -> list[tuple[str, str]]:
    return [("text_input", label) for label in labels]


CRM_SCREENS: dict[str, Screen] = {
    s.screen_id: s
    for s in (
        _screen(CRM, "crm/home", "/home", [
            ("nav_link", "Contacts"), ("nav_link", "Deals"), ("nav_link", "Reports"),
            ("nav_link", "Settings"), ("tab", "My activity"), ("tab", "Team activity"),
            ("button", "Dismiss tip"),
        ] + _fields("Global search")),
        _screen(CRM, "crm/contacts", "/contacts", [
            ("table_row", "Contact row"), ("button", "Filter"), ("dropdown", "Sort by"),
            ("nav_link", "Home"), ("nav_link", "Deals"), ("button", "Next page"),
        ] + _fields("Search contacts")),
        _screen(CRM, "crm/contacts/:id", "/contacts/{id}", [
            ("button", "Edit contact"), ("tab", "Activity"), ("tab", "Deals"),
            ("button", "Log call"), ("link", "Back to contacts"), ("link", "Email address"),
        ]),
        _screen(CRM, "crm/contact-edit", "/contacts/{id}/edit", [
            ("button", "Save contact"), ("button", "Cancel"), ("dropdown", "Lifecycle stage"),
        ] + _fields("First name", "Last name", "Email", "Phone", "Company")),
        _screen(CRM, "crm/deals", "/deals", [
            ("button", "New deal"), ("table_row", "Deal row"), ("dropdown", "Pipeline stage"),
            ("tab", "Board view"), ("tab", "List view"), ("nav_link", "Home"), ("nav_link", "Reports"),
        ]),
        _screen(CRM, "crm/deal-edit", "/deals/new", [
            ("button", "Save deal"), ("button", "Cancel"), ("dropdown", "Stage"),
            ("date_picker", "Close date"),
        ] + _fields("Deal name", "Amount", "Company", "Notes")),
        _screen(CRM, "crm/reports", "/reports", [
            ("dropdown", "Report type"), ("button", "Apply filters"), ("button", "Export CSV"),
            ("tab", "Pipeline"), ("tab", "Forecast"), ("link", "Back"),
        ]),
        _screen(CRM, "crm/settings", "/settings", [
            ("toggle", "Email notifications"), ("button", "Save settings"), ("link", "Back"),
        ]),
    )
}

HELPDESK_SCREENS: dict[str, Screen] = {
    s.screen_id: s
    for s in (
        _screen(HELPDESK, "helpdesk/queue", "/queue", [
            ("table_row", "Ticket row"), ("button", "New ticket"), ("dropdown", "Assignee filter"),
            ("dropdown", "Status filter"), ("button", "Refresh"), ("nav_link", "Dashboard"),
            ("nav_link", "Knowledge base"), ("checkbox", "Select ticket"), ("button", "Assign to me"),
        ]),
        _screen(HELPDESK, "helpdesk/ticket", "/tickets/{id}", [
            ("button", "Send reply"), ("button", "Resolve"), ("dropdown", "Priority"),
            ("button", "Assign"), ("link", "Back to queue"), ("link", "Search knowledge base"),
            ("tab", "History"),
        ] + _fields("Reply", "Internal note")),
        _screen(HELPDESK, "helpdesk/ticket-new", "/tickets/new", [
            ("button", "Submit"), ("button", "Cancel"), ("dropdown", "Category"),
            ("dropdown", "Priority"),
        ] + _fields("Subject", "Description", "Requester email")),
        _screen(HELPDESK, "helpdesk/kb-search", "/kb/search", [
            ("table_row", "Search result"), ("button", "Search"), ("link", "Back"),
        ] + _fields("Search query")),
        _screen(HELPDESK, "helpdesk/kb-article", "/kb/articles/{id}", [
            ("button", "Copy link"), ("button", "Helpful"), ("link", "Back to ticket"),
        ]),
        _screen(HELPDESK, "helpdesk/dashboard", "/dashboard", [
            ("tab", "Today"), ("tab", "This week"), ("dropdown", "Team"), ("nav_link", "Queue"),
        ]),
    )
}

SCREENS_BY_KIND: dict[str, dict[str, Screen]] = {CRM: CRM_SCREENS, HELPDESK: HELPDESK_SCREENS}


@dataclass(frozen=True)
class Tenant:
    """One product of one org, with the friction switched on for it."""

    org_id: str
    product_id: str
    kind: str  # CRM or HELPDESK: which screens and behaviour scripts apply
    app_name: str
    traffic_weight: float
    users: int  # pool size per 1000 sessions of this tenant
    broken_save_deal: bool = False  # deal-edit "Save deal" ignores clicks -> rage clicks
    confusing_reports: bool = False  # crm/reports: users bounce off it -> backtracks
    failing_ticket_submit: bool = False  # ticket-new "Submit" errors -> error clicks, fails, abandons


CORE_TENANTS: tuple[Tenant, ...] = (
    Tenant("acme", "crm", CRM, "Acme CRM", 0.34, 120,
           broken_save_deal=True, confusing_reports=True),
    Tenant("acme", "helpdesk", HELPDESK, "Acme Helpdesk", 0.30, 110, failing_ticket_submit=True),
    # Same apps without the defects: the control group that shows the friction
    # belongs to acme's screens, not to the screens as such.
    Tenant("globex", "crm", CRM, "Globex CRM", 0.20, 150),
    Tenant("initech", "helpdesk", HELPDESK, "Initech Service Desk", 0.16, 140),
)

EXTRA_TENANT_WEIGHT = 0.03


def extra_tenants(count: int) -> tuple[Tenant, ...]:
    """Small clean tenants, for cross-org rollups that need many orgs (docs/stores.md, k = 20)."""
    tenants = []
    for i in range(count):
        kind = CRM if i % 2 == 0 else HELPDESK
        tenants.append(Tenant(f"tenant-{i + 1:03d}", kind, kind, f"Tenant {i + 1} {kind}",
                              EXTRA_TENANT_WEIGHT, 150))
    return tuple(tenants)


# Ground truth: where friction was injected and which incident (docs/semantics.md) it shows
# as. Anything not listed here gets only rare background noise.
INJECTED: dict[tuple[str, str, str], frozenset[str]] = {
    ("acme", "crm", "crm/deal-edit"): frozenset({"rage_click"}),
    ("acme", "crm", "crm/reports"): frozenset({"backtrack"}),
    ("acme", "helpdesk", "helpdesk/ticket-new"): frozenset({"error_click", "abandoned_task"}),
}

# Task outcomes that the injected defects drive (the ticket submit failure also
# makes the app emit ``fail`` markers).
INJECTED_TASK_FAILURES: dict[tuple[str, str], frozenset[str]] = {
    ("acme", "helpdesk"): frozenset({"create_ticket"}),
}

TASKS_BY_KIND: dict[str, tuple[str, ...]] = {
    CRM: ("create_deal", "update_contact", "export_report"),
    HELPDESK: ("resolve_ticket", "create_ticket"),
}
