"""Accounts: creation rules, login with a second factor, lockout, disabling and resets — all audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from vigie.access.audit import AuditLog, AuditQuery
from vigie.access.errors import AccessRefusal, UserError
from vigie.access.policy import Role
from vigie.access.users import UserStore
from vigie.catalog.access_models import User
from vigie.catalog.db import Catalog
from vigie.catalog.types import utcnow

from .helpers import ADMIN_ACTOR, STRONG_PASSWORD, Person, enrol


@pytest.fixture
def officer(users: UserStore) -> Person:
    return enrol(users, "agent1", Role.OFFICER, "ville-a", "AG-001")


def login(users: UserStore, person: Person, *, password: str | None = None, code: str | None = None) -> None:
    users.authenticate(person.username, password or person.password, code if code is not None else person.code(),
                       client="10.0.0.7")


def refusal(call: object) -> AccessRefusal:
    assert callable(call)
    with pytest.raises(AccessRefusal) as refused:
        call()
    return refused.value


def test_creation_rules(users: UserStore) -> None:
    with pytest.raises(UserError, match="unit"):
        users.create("op", role=Role.OPERATOR, by=ADMIN_ACTOR, matricule="OP-1")
    with pytest.raises(UserError, match="matricule"):
        users.create("op", role=Role.OPERATOR, by=ADMIN_ACTOR, unit="ville-a")
    with pytest.raises(UserError, match="username"):
        users.create("Bad Name!", role=Role.ADMIN, by=ADMIN_ACTOR)
    with pytest.raises(UserError, match="unknown role"):
        users.create("someone", role="root", by=ADMIN_ACTOR)
    with pytest.raises(UserError, match="too short"):
        users.create("someone", role=Role.ADMIN, by=ADMIN_ACTOR, password="Sh0rt!")
    users.create("op", role=Role.OPERATOR, by=ADMIN_ACTOR, unit="ville-a", matricule="OP-1", password=STRONG_PASSWORD)
    with pytest.raises(UserError, match="exists already"):
        users.create("OP", role=Role.ADMIN, by=ADMIN_ACTOR)
    with pytest.raises(UserError, match="individual"):
        users.create("op2", role=Role.OPERATOR, by=ADMIN_ACTOR, unit="ville-a", matricule="OP-1")


def test_generated_password_and_totp_are_returned_once_and_stored_sealed(users: UserStore, catalog: Catalog) -> None:
    enrolment = users.create("dpo", role=Role.AUDITOR, by=ADMIN_ACTOR)
    assert enrolment.password and len(enrolment.password) >= 12
    assert enrolment.totp_uri.startswith("otpauth://totp/")
    with catalog.session() as session:
        row = session.execute(select(User).where(User.username == "dpo")).scalar_one()
    assert enrolment.totp_secret not in row.totp_secret_sealed
    assert enrolment.password not in row.password_hash
    assert row.password_hash.startswith("$argon2id$")
    person = Person("dpo", Role.AUDITOR, None, None, enrolment.password, enrolment.totp_secret)
    users.authenticate("dpo", person.password, person.code(), client=None)


def test_login_needs_password_and_a_fresh_code(users: UserStore, officer: Person, audit: AuditLog) -> None:
    assert refusal(lambda: login(users, officer, password="Wrong-Passw0rd!")).code == "invalid_credentials"
    assert refusal(lambda: login(users, officer, code="")).code == "totp_required"
    assert refusal(lambda: login(users, officer, code="000000" if officer.code() != "000000" else "111111")).code == (
        "totp_invalid"
    )
    unknown = refusal(lambda: users.authenticate("nobody", "x", "123456", client=None))
    assert (unknown.code, unknown.status) == ("invalid_credentials", 401)
    code = officer.code()
    user = users.authenticate("AGENT1", officer.password, code, client="10.0.0.7")  # names are case-insensitive
    assert user.username == "agent1" and user.last_login_at is not None
    # The same code cannot be used twice (RFC 6238 §5.2).
    assert refusal(lambda: login(users, officer, code=code)).code == "totp_invalid"
    rows, _ = audit.search(AuditQuery(action="auth.login"))
    outcomes = [(row.actor, row.outcome) for row in reversed(rows)]
    assert outcomes.count(("agent1", "refused")) == 4 and ("agent1", "allowed") in outcomes
    assert ("nobody", "refused") in outcomes
    allowed = next(row for row in rows if row.outcome == "allowed")
    assert allowed.client == "10.0.0.7" and allowed.details["matricule"] == "AG-001" and allowed.unit == "ville-a"


def test_five_failures_lock_the_account_for_a_while(
    users: UserStore, officer: Person, audit: AuditLog, catalog: Catalog
) -> None:
    for attempt in range(4):
        wrong = f"Wrong-Passw0rd-{attempt}"
        assert refusal(lambda wrong=wrong: login(users, officer, password=wrong)).status == 401
    locked = refusal(lambda: login(users, officer, password="Wrong-Passw0rd-5"))
    assert (locked.code, locked.status) == ("account_locked", 423)
    # Locked: even the right password and code are refused.
    assert refusal(lambda: login(users, officer)).code == "account_locked"
    lockouts, _ = audit.search(AuditQuery(action="auth.lockout"))
    assert len(lockouts) == 1 and lockouts[0].object_ids == ["agent1"]
    view = users.get("agent1")
    assert view is not None and view.locked()
    # When the lock ends, the right credentials work again.
    with catalog.session() as session:
        session.execute(
            update(User).where(User.username == "agent1").values(locked_until=utcnow() - timedelta(seconds=1))
        )
    login(users, officer)


def test_wrong_codes_count_towards_lockout_too(users: UserStore, officer: Person) -> None:
    wrong = "000000" if officer.code() != "000000" else "111111"
    for _ in range(4):
        refusal(lambda: login(users, officer, code=wrong))
    assert refusal(lambda: login(users, officer, code=wrong)).code == "account_locked"


def test_disabled_accounts_cannot_log_in_and_are_never_deleted(users: UserStore, officer: Person) -> None:
    users.set_disabled("agent1", True, by=ADMIN_ACTOR, reason="mutation")
    assert refusal(lambda: login(users, officer)).code == "account_disabled"
    assert [u.username for u in users.list()] == ["agent1"]
    users.set_disabled("agent1", False, by=ADMIN_ACTOR)
    login(users, officer)


def test_reset_gives_new_secrets_and_unlocks(users: UserStore, officer: Person, audit: AuditLog) -> None:
    for attempt in range(5):
        wrong = f"Wrong-Passw0rd-{attempt}"
        refusal(lambda wrong=wrong: login(users, officer, password=wrong))
    enrolment = users.reset("agent1", by=ADMIN_ACTOR, reason="oubli")
    assert enrolment.password and enrolment.totp_secret != officer.totp_secret
    renewed = Person("agent1", Role.OFFICER, "ville-a", "AG-001", enrolment.password, enrolment.totp_secret)
    assert refusal(lambda: login(users, officer)).code == "invalid_credentials"  # old password
    login(users, renewed)
    resets, _ = audit.search(AuditQuery(action="user.reset"))
    assert resets[0].reason == "oubli" and resets[0].actor == "tester"


def test_change_password_checks_the_current_one_and_the_policy(users: UserStore, officer: Person) -> None:
    user = users.require("agent1")
    assert refusal(lambda: users.change_password(user.id, current="nope", new="N3w-Passw0rd!x", client=None)).code == (
        "invalid_credentials"
    )
    assert refusal(lambda: users.change_password(user.id, current=officer.password, new="short", client=None)).code == (
        "weak_password"
    )
    users.change_password(user.id, current=officer.password, new="N3w-Passw0rd!x", client=None)
    login(users, Person("agent1", Role.OFFICER, "ville-a", "AG-001", "N3w-Passw0rd!x", officer.totp_secret))
