"""The one policy: the role × action table, scope rules, and what a footage request must state."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from vigie.access import policy
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Purpose, Role

ADM, SUP, OPE, INV, OFF, DPO, MNT = (
    Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.INVESTIGATOR, Role.OFFICER, Role.AUDITOR, Role.MAINTAINER
)

# The table as the issue describes it, written out independently of the code under test.
EXPECTED: dict[Action, set[Role]] = {
    Action.ACCOUNT_SELF: {ADM, SUP, OPE, INV, OFF, DPO, MNT},
    Action.FOOTAGE_VIEW: {SUP, OPE, INV, OFF},
    Action.FOOTAGE_EXPORT: {SUP, INV},
    Action.LIVE_VIEW: {SUP, OPE},
    Action.LIVE_STREAM: {SUP, OPE},
    Action.RECORDINGS_LIST: {SUP, OPE, INV, OFF, DPO},
    Action.EVENTS_REVIEW: {SUP, OPE},
    Action.CAMERAS_READ: {ADM, SUP, OPE, INV, DPO, MNT},
    Action.CAMERAS_MANAGE: {ADM},
    Action.HOLDS_MANAGE: {SUP, INV},
    Action.USERS_READ: {ADM, SUP, DPO},
    Action.USERS_MANAGE: {ADM},
    Action.AUDIT_READ: {SUP, DPO},
    Action.AUDIT_EXPORT: {SUP, DPO},
    Action.STATS_READ: {SUP, DPO},
    Action.HEALTH_READ: {ADM, SUP, MNT},
    Action.METRICS_READ: {ADM, MNT},
    Action.LOGS_READ: {ADM, MNT},
    Action.SETTINGS_MANAGE: {ADM},
    Action.BODYCAM_UPLOAD: set(),  # docks only (machine role), never a person
    Action.BODYCAM_COMPLETENESS: {SUP, DPO},
    Action.RECORDINGS_SEARCH: {SUP, INV, OFF},
    Action.EVENTS_READ: {SUP, OPE},
    Action.ANALYTICS_MANAGE: {ADM, SUP},
    Action.REDACTIONS_REVIEW: {SUP, INV},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_table_matches_the_specification(role: Role, action: Action) -> None:
    assert policy.allows(role, action) is (role in EXPECTED[action])


def test_every_action_has_a_row() -> None:
    assert set(policy.POLICY) == set(Action)
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("role", sorted(policy.NEVER_FOOTAGE))
def test_vendor_dpo_and_admin_get_no_action_that_carries_images(role: Role) -> None:
    assert not policy.sees_footage(role)
    for action in Action:
        if policy.rule(action).footage:
            assert not policy.allows(role, action), (role, action)


def test_unknown_role_is_allowed_nothing() -> None:
    assert not any(policy.allows("superuser", action) for action in Action)
    assert policy.allowed_actions("root") == []


def test_live_stream_goes_exactly_with_live_view() -> None:
    # live.stream carries the HLS parts of a viewing opened by live.view: never to anyone else.
    assert policy.POLICY[Action.LIVE_STREAM] == policy.POLICY[Action.LIVE_VIEW]
    assert not policy.POLICY[Action.LIVE_STREAM] & policy.NEVER_FOOTAGE


def test_footage_actions_need_reasons_and_exports_a_procedure() -> None:
    for action in (Action.FOOTAGE_VIEW, Action.FOOTAGE_EXPORT, Action.LIVE_VIEW, Action.EVENTS_REVIEW):
        assert policy.rule(action).footage and policy.rule(action).audited
    assert policy.rule(Action.FOOTAGE_EXPORT).needs_procedure
    assert not policy.rule(Action.FOOTAGE_VIEW).needs_procedure
    assert not policy.rule(Action.HEALTH_READ).footage


@dataclass(frozen=True)
class Who:
    username: str
    role: str
    unit: str | None
    matricule: str | None = None


@dataclass(frozen=True)
class Where:
    unit: str | None


@pytest.mark.parametrize(
    ("user_unit", "object_unit", "expected"),
    [
        ("ville-a", "ville-a", True),
        ("ville-a", "ville-b", False),
        ("ville-a", "ville-ab", False),  # a prefix of the name is not a parent unit
        ("metropole", "metropole/ville-a", True),  # an intercommunality covers its communes
        ("metropole/ville-a", "metropole", False),
        ("ville-a", None, False),  # an unassigned camera widens nobody's view
        (None, "ville-b", True),  # installation-wide scope
        (None, None, True),
        ("/ville-a/", "ville-a", True),
    ],
)
def test_unit_scope(user_unit: str | None, object_unit: str | None, expected: bool) -> None:
    assert policy.unit_in_scope(user_unit, object_unit) is expected
    assert policy.can_access_source(Who("x", "operator", user_unit), Where(object_unit)) is expected


def test_officers_see_only_their_own_recordings() -> None:
    officer = Who("agent1", "officer", "ville-a", "AG-001")
    camera = Where("ville-a")
    assert policy.can_access_recording(officer, camera, "AG-001")
    assert policy.can_access_recording(officer, camera, "agent1")
    assert not policy.can_access_recording(officer, camera, "AG-002")
    assert not policy.can_access_recording(officer, camera, None)
    assert not policy.can_access_recording(officer, Where("ville-b"), "AG-001")
    supervisor = Who("chef1", "supervisor", "ville-a", "CS-001")
    assert policy.can_access_recording(supervisor, camera, "AG-002")


def test_a_reason_is_required_and_must_say_something() -> None:
    for missing in (None, "", "   "):
        with pytest.raises(AccessRefusal) as refused:
            policy.justify(Action.FOOTAGE_VIEW, Role.OPERATOR, reason=missing)
        assert (refused.value.code, refused.value.status) == ("reason_required", 400)
    with pytest.raises(AccessRefusal) as refused:
        policy.justify(Action.FOOTAGE_VIEW, Role.OPERATOR, reason="why")
    assert refused.value.code == "reason_too_short"
    justified = policy.justify(Action.FOOTAGE_VIEW, Role.OPERATOR, reason="  vol à l'arraché\n rue Haute ")
    assert justified.reason == "vol à l'arraché rue Haute"


def test_officers_state_one_of_the_four_legal_purposes() -> None:
    with pytest.raises(AccessRefusal) as refused:
        policy.justify(Action.FOOTAGE_VIEW, Role.OFFICER, reason="rédaction du procès-verbal")
    assert refused.value.code == "purpose_required"
    with pytest.raises(AccessRefusal) as refused:
        policy.justify(Action.FOOTAGE_VIEW, Role.OFFICER, reason="rédaction du procès-verbal", purpose="curiosity")
    assert refused.value.code == "purpose_invalid"
    justified = policy.justify(
        Action.FOOTAGE_VIEW, Role.OFFICER, reason="rédaction du procès-verbal", purpose="accurate-report"
    )
    assert justified.purpose is Purpose.ACCURATE_REPORT
    assert {p.value for p in Purpose} == {"identify-offenders", "prevent-disorder", "rescue", "accurate-report"}


def test_exports_need_a_procedure_number() -> None:
    with pytest.raises(AccessRefusal) as refused:
        policy.justify(Action.FOOTAGE_EXPORT, Role.INVESTIGATOR, reason="réquisition du parquet")
    assert refused.value.code == "procedure_required"
    justified = policy.justify(
        Action.FOOTAGE_EXPORT,
        Role.INVESTIGATOR,
        reason="réquisition du parquet",
        procedure=" PV-2026-0042 ",
        requester="OPJ Martin, commissariat central",
        recipient="parquet de Lyon",
    )
    assert (justified.procedure, justified.recipient) == ("PV-2026-0042", "parquet de Lyon")


def test_sworn_roles_need_matricule_and_scoped_roles_a_unit() -> None:
    assert {r for r in Role if policy.matricule_required(r)} == {SUP, OPE, INV, OFF}
    assert {r for r in Role if policy.unit_required(r)} == {OPE, INV, OFF}
