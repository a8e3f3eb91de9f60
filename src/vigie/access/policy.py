"""The one access policy of Vigie: role × action → allowed, scope, and what a footage access must state.

Everything that decides whether a person may do something asks here, and only here: the web
layer (one FastAPI dependency per route), the CLI and later services. The table is code, not
configuration, on purpose: widening it is a reviewed change with a test, never a setting an
administrator flips at night. See docs/design/access-policy.md for the reasoning.

Legal anchors: L252-2 (only individually designated staff view images), R241-5 / R241-14 (the
register), L241-1 (officers' own recordings, four purposes), CC 2021-817 DC §80 (municipal police
see only their commune's cameras), and the city's contract (the vendor never sees an image).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from vigie.access.errors import AccessRefusal


class Role(StrEnum):
    ADMIN = "admin"  # system settings and accounts; no footage
    SUPERVISOR = "supervisor"  # head of service (chef de service)
    OPERATOR = "operator"  # sworn control-room staff: live view and alerts of their cameras
    INVESTIGATOR = "investigator"  # search, playback and export within cases
    OFFICER = "officer"  # their own body-cam recordings, for the four purposes of L241-1
    AUDITOR = "auditor"  # the data-protection officer: register and statistics, no footage
    MAINTAINER = "maintainer"  # the vendor: health, logs and metrics; never an image byte


class Action(StrEnum):
    """Everything a person can ask of Vigie. Later features add members (and a row in ``POLICY``)."""

    ACCOUNT_SELF = "account.self"  # own session, own profile, the application shell
    FOOTAGE_VIEW = "footage.view"  # play or read recorded images or sound
    FOOTAGE_EXPORT = "footage.export"  # footage leaves the system (download, evidence bundle)
    LIVE_VIEW = "live.view"  # live images of fixed cameras
    # The live wall page and the HLS playlist and parts of a live viewing already opened (with its reason,
    # in the register) by ``live.view``: alone it gives no image, and it needs no reason of its own.
    LIVE_STREAM = "live.stream"
    RECORDINGS_LIST = "recordings.list"  # recording metadata: times, sources, sizes, hashes
    EVENTS_REVIEW = "events.review"  # analytic alerts (they carry snapshots) and their confirm/dismiss
    CAMERAS_READ = "cameras.read"  # source metadata and technical status
    CAMERAS_MANAGE = "cameras.manage"  # add or change cameras and devices, masks, retention
    HOLDS_MANAGE = "holds.manage"  # legal holds under a procedure number
    USERS_READ = "users.read"  # the list of authorised persons
    USERS_MANAGE = "users.manage"  # create, disable, reset accounts
    AUDIT_READ = "audit.read"  # the access register
    AUDIT_EXPORT = "audit.export"  # the access register as a file
    STATS_READ = "stats.read"  # aggregate statistics (transparency)
    HEALTH_READ = "health.read"  # detailed health of the installation
    METRICS_READ = "metrics.read"  # Prometheus metrics (no personal data)
    LOGS_READ = "logs.read"  # technical logs (no personal data)
    SETTINGS_MANAGE = "settings.manage"  # installation settings
    BODYCAM_UPLOAD = "bodycam.upload"  # a dock hands in offloads (recordings, tracks, event logs); no person may
    BODYCAM_COMPLETENESS = "bodycam.completeness"  # missing body-cam footage and device anomalies (LAW.md B.13)
    RECORDINGS_SEARCH = "recordings.search"  # find recordings by place and time (reveals where officers were)
    EVENTS_READ = "events.read"  # the alert queue and its history: types, cameras, times, decisions; no image
    ANALYTICS_MANAGE = "analytics.manage"  # legal bases and zones of a camera's analytics (changes audited)
    REDACTIONS_REVIEW = "redactions.review"  # approve or reject a redacted derivative (four eyes; audited)


@dataclass(frozen=True)
class ActionRule:
    """What an action implies beyond the allow table."""

    footage: bool = False  # gives image or sound bytes: a reason is required and every attempt is audited
    needs_procedure: bool = False  # footage leaves the system: a procedure number is required (R241-2 7°)
    audited: bool = False  # a successful request is itself a line of the register (consultation of personal data)


RULES: dict[Action, ActionRule] = {
    Action.FOOTAGE_VIEW: ActionRule(footage=True, audited=True),
    Action.FOOTAGE_EXPORT: ActionRule(footage=True, needs_procedure=True, audited=True),
    Action.LIVE_VIEW: ActionRule(footage=True, audited=True),
    Action.EVENTS_REVIEW: ActionRule(footage=True, audited=True),
    Action.USERS_MANAGE: ActionRule(audited=True),
    Action.AUDIT_READ: ActionRule(audited=True),
    Action.AUDIT_EXPORT: ActionRule(audited=True),
    Action.CAMERAS_MANAGE: ActionRule(audited=True),
    Action.HOLDS_MANAGE: ActionRule(audited=True),
    Action.SETTINGS_MANAGE: ActionRule(audited=True),
}


def rule(action: Action) -> ActionRule:
    return RULES.get(action, ActionRule())


_ALL_ROLES = frozenset(Role)
_SWORN = frozenset({Role.SUPERVISOR, Role.OPERATOR, Role.INVESTIGATOR, Role.OFFICER})

# The table. Read it by row: who may do this?
POLICY: dict[Action, frozenset[Role]] = {
    Action.ACCOUNT_SELF: _ALL_ROLES,
    Action.FOOTAGE_VIEW: _SWORN,  # officers: their own recordings only (see can_access_recording)
    Action.FOOTAGE_EXPORT: frozenset({Role.SUPERVISOR, Role.INVESTIGATOR}),
    Action.LIVE_VIEW: frozenset({Role.SUPERVISOR, Role.OPERATOR}),
    Action.LIVE_STREAM: frozenset({Role.SUPERVISOR, Role.OPERATOR}),  # exactly those who may open live.view
    Action.RECORDINGS_LIST: frozenset({*_SWORN, Role.AUDITOR}),  # the DPO checks recordings and destructions
    Action.EVENTS_REVIEW: frozenset({Role.SUPERVISOR, Role.OPERATOR}),
    Action.CAMERAS_READ: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.INVESTIGATOR, Role.AUDITOR,
                                    Role.MAINTAINER}),
    Action.CAMERAS_MANAGE: frozenset({Role.ADMIN}),
    Action.HOLDS_MANAGE: frozenset({Role.SUPERVISOR, Role.INVESTIGATOR}),
    Action.USERS_READ: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR}),
    Action.USERS_MANAGE: frozenset({Role.ADMIN}),
    Action.AUDIT_READ: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    Action.AUDIT_EXPORT: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    Action.STATS_READ: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    Action.HEALTH_READ: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.MAINTAINER}),
    Action.METRICS_READ: frozenset({Role.ADMIN, Role.MAINTAINER}),
    Action.LOGS_READ: frozenset({Role.ADMIN, Role.MAINTAINER}),
    Action.SETTINGS_MANAGE: frozenset({Role.ADMIN}),
    Action.BODYCAM_UPLOAD: frozenset(),  # docks only: see MACHINE_POLICY
    Action.BODYCAM_COMPLETENESS: frozenset({Role.SUPERVISOR, Role.AUDITOR}),  # the supervisor and the oversight body
    # Officers: their own recordings only, with a purpose; everyone states a reason (audited by the route).
    Action.RECORDINGS_SEARCH: frozenset({Role.SUPERVISOR, Role.INVESTIGATOR, Role.OFFICER}),
    # Alerts go only to the operators who must confirm or dismiss them (décret 2023-828 art. 2; LAW.md F.36).
    Action.EVENTS_READ: frozenset({Role.SUPERVISOR, Role.OPERATOR}),
    # Whoever records a legal basis answers for it: the head of service, or the administrator who
    # configures the installation. Neither needs to see an image to draw a zone (admins draw on a grid).
    Action.ANALYTICS_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Action.REDACTIONS_REVIEW: frozenset({Role.SUPERVISOR, Role.INVESTIGATOR}),
}

# Machines are not people: a docking station never logs in, never sees an image, and may only hand
# in what a device recorded. Their roles live apart from ``Role`` so no person account can get one.
DOCK_ROLE = "dock"
MACHINE_POLICY: dict[Action, frozenset[str]] = {Action.BODYCAM_UPLOAD: frozenset({DOCK_ROLE})}


def machine_allows(role: str, action: Action) -> bool:
    return role in MACHINE_POLICY.get(action, frozenset())

# Roles that may never be given an action that carries images, whatever the table says: the
# vendor (contract; LAW.md C.21), the data-protection officer and the system administrator.
NEVER_FOOTAGE: frozenset[Role] = frozenset({Role.MAINTAINER, Role.AUDITOR, Role.ADMIN})


def allows(role: Role | str, action: Action) -> bool:
    """Role × action → allowed. Unknown roles are allowed nothing."""
    try:
        role = Role(role)
    except ValueError:
        return False
    return role in POLICY.get(action, frozenset())


def allowed_actions(role: Role | str) -> list[Action]:
    return [action for action in Action if allows(role, action)]


def sees_footage(role: Role | str) -> bool:
    return any(rule(action).footage for action in allowed_actions(role))


def unit_required(role: Role) -> bool:
    """Roles whose scope must be a unit: sworn staff below the head of service."""
    return role in (Role.OPERATOR, Role.INVESTIGATOR, Role.OFFICER)


def matricule_required(role: Role) -> bool:
    """Sworn staff are named in the register by their matricule (R241-5)."""
    return role in _SWORN


# -- scope ----------------------------------------------------------------------------------------


class Person(Protocol):
    """What the policy needs to know about someone (a user record or a detached view of it)."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def matricule(self) -> str | None: ...


class Scoped(Protocol):
    """A source (camera or body-cam device), or anything carrying a unit."""

    @property
    def unit(self) -> str | None: ...


def unit_in_scope(user_unit: str | None, object_unit: str | None) -> bool:
    """Units are paths: ``metropole`` covers ``metropole/ville-a`` (an intercommunality and its communes).

    A user without a unit has installation-wide scope; an object without a unit is visible only to
    installation-wide users, so forgetting to set a camera's unit never widens anyone's view.
    """
    if user_unit is None:
        return True
    if object_unit is None:
        return False
    user_unit, object_unit = user_unit.strip("/"), object_unit.strip("/")
    return object_unit == user_unit or object_unit.startswith(user_unit + "/")


def can_access_source(user: Person, source: Scoped) -> bool:
    return unit_in_scope(user.unit, source.unit)


def can_access_recording(user: Person, source: Scoped, recording_officer: str | None) -> bool:
    """Scope check for one recording. Officers see only recordings they made themselves (L241-1)."""
    if not can_access_source(user, source):
        return False
    if user.role == Role.OFFICER:
        return recording_officer is not None and recording_officer in {user.matricule, user.username}
    return True


# -- what a footage access must state --------------------------------------------------------------


class Purpose(StrEnum):
    """The only purposes for which an officer may see their own recordings (L241-1 as amended in 2021/2022)."""

    IDENTIFY_OFFENDERS = "identify-offenders"  # faciliter la recherche d'auteurs d'infractions
    PREVENT_DISORDER = "prevent-disorder"  # prévenir des atteintes imminentes à l'ordre public
    RESCUE = "rescue"  # secourir les personnes
    ACCURATE_REPORT = "accurate-report"  # établir fidèlement les faits lors des comptes rendus


@dataclass(frozen=True)
class Justification:
    """Why footage is accessed, as the register records it (R241-2 7°, R241-5)."""

    reason: str
    purpose: Purpose | None = None
    procedure: str | None = None
    requester: str | None = None
    recipient: str | None = None


def justify(
    action: Action,
    role: Role | str,
    *,
    reason: str | None,
    purpose: str | None = None,
    procedure: str | None = None,
    requester: str | None = None,
    recipient: str | None = None,
    min_reason_length: int = 8,
) -> Justification:
    """Check what a footage request states; raise :class:`AccessRefusal` (400) when something is missing."""
    text = " ".join((reason or "").split())
    if not text:
        raise AccessRefusal(
            "reason_required", f"{action.value} needs a reason (query 'reason' or header X-Vigie-Reason)", 400
        )
    if len(text) < min_reason_length:
        raise AccessRefusal(
            "reason_too_short", f"the reason must say why in at least {min_reason_length} characters", 400
        )
    chosen: Purpose | None = None
    if purpose:
        try:
            chosen = Purpose(purpose.strip())
        except ValueError:
            allowed = ", ".join(item.value for item in Purpose)
            raise AccessRefusal("purpose_invalid", f"unknown purpose {purpose!r} (one of: {allowed})", 400) from None
    if role == Role.OFFICER and chosen is None:
        allowed = ", ".join(item.value for item in Purpose)
        raise AccessRefusal(
            "purpose_required", f"officers state one of the legal purposes of L241-1 (purpose: {allowed})", 400
        )
    clean_procedure = (procedure or "").strip() or None
    if rule(action).needs_procedure and clean_procedure is None:
        raise AccessRefusal(
            "procedure_required",
            f"{action.value} needs a procedure number (query 'procedure' or header X-Vigie-Procedure)",
            400,
        )
    return Justification(
        reason=text,
        purpose=chosen,
        procedure=clean_procedure,
        requester=(requester or "").strip() or None,
        recipient=(recipient or "").strip() or None,
    )
