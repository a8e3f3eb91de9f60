"""The navigation: sections and the pages in them, each shown only to roles the policy allows.

Later features add an item here (camera wall and alert queue under "watch", timeline and map
beside them); the layout needs no change.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.access import policy
from vigie.access.policy import Action, Role


@dataclass(frozen=True)
class NavItem:
    path: str
    label_key: str
    action: Action
    icon: str  # a name of the small inline icon set in layout.py


@dataclass(frozen=True)
class NavSection:
    label_key: str
    items: tuple[NavItem, ...]


NAVIGATION: tuple[NavSection, ...] = (
    NavSection(
        "nav.section.watch",
        (
            NavItem("/", "nav.dashboard", Action.ACCOUNT_SELF, "home"),
            NavItem("/live", "nav.live", Action.LIVE_STREAM, "wall"),
            NavItem("/alerts", "nav.alerts", Action.EVENTS_READ, "bell"),
            NavItem("/cameras", "nav.cameras", Action.CAMERAS_READ, "camera"),
        ),
    ),
    NavSection(
        "nav.section.evidence",
        (
            NavItem("/recordings", "nav.recordings", Action.RECORDINGS_LIST, "film"),
            NavItem("/map", "nav.map", Action.RECORDINGS_SEARCH, "map"),
            NavItem("/bodycam/devices", "nav.bodycams", Action.CAMERAS_READ, "bodycam"),
            NavItem("/redactions", "nav.redactions", Action.REDACTIONS_REVIEW, "blur"),
        ),
    ),
    NavSection(
        "nav.section.control",
        (
            NavItem("/audit", "nav.audit", Action.AUDIT_READ, "register"),
            NavItem("/users", "nav.users", Action.USERS_READ, "people"),
            NavItem("/analytics", "nav.analytics", Action.ANALYTICS_MANAGE, "scales"),
            # Public (no login needed); listed for everyone so staff see what residents see.
            NavItem("/transparency", "nav.transparency", Action.ACCOUNT_SELF, "chart"),
        ),
    ),
    NavSection("nav.section.system", (NavItem("/system", "nav.system", Action.HEALTH_READ, "pulse"),)),
)


def visible_sections(role: Role) -> list[tuple[NavSection, list[NavItem]]]:
    """The sections with at least one item this role may open, and those items."""
    shown = []
    for section in NAVIGATION:
        items = [item for item in section.items if policy.allows(role, item.action)]
        if items:
            shown.append((section, items))
    return shown
