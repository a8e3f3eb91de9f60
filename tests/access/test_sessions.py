"""Sessions and API tokens: only hashes stored, expiry, idle timeout, revocation, narrowed scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Role
from vigie.access.sessions import SessionKind, SessionStore, token_hash
from vigie.access.users import UserStore
from vigie.catalog.access_models import AccessSession
from vigie.catalog.db import Catalog
from vigie.catalog.types import utcnow

from .helpers import ADMIN_ACTOR, enrol


@pytest.fixture
def user_id(users: UserStore) -> int:
    enrol(users, "chef1", Role.SUPERVISOR, "ville-a", "CS-001")
    return users.require("chef1").id


def code_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(AccessRefusal) as refused:
        call()
    assert refused.value.status == 401
    return refused.value.code


def test_only_the_hash_of_a_token_is_stored(
    users: UserStore, sessions: SessionStore, catalog: Catalog, user_id: int
) -> None:
    issued = sessions.issue(users.require("chef1"), SessionKind.API)
    assert issued.token.startswith("vgt_") and len(issued.token) > 40
    with catalog.session() as session:
        stored = [row.token_hash for row in session.execute(select(AccessSession)).scalars()]
    assert stored == [token_hash(issued.token)] and issued.token not in stored[0]
    resolved = sessions.resolve(issued.token)
    assert resolved.user.username == "chef1" and resolved.kind is SessionKind.API


def test_unknown_expired_idle_and_revoked_sessions_are_refused(
    users: UserStore, sessions: SessionStore, catalog: Catalog, user_id: int
) -> None:
    user = users.require("chef1")
    assert code_of(lambda: sessions.resolve("vgt_forged")) == "session_invalid"
    expired = sessions.issue(user, SessionKind.API)
    idle = sessions.issue(user, SessionKind.BROWSER)
    revoked = sessions.issue(user, SessionKind.BROWSER)
    with catalog.session() as session:
        session.execute(
            update(AccessSession)
            .where(AccessSession.id == expired.session_id)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
        session.execute(
            update(AccessSession)
            .where(AccessSession.id == idle.session_id)
            .values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    sessions.revoke(revoked.session_id)
    assert code_of(lambda: sessions.resolve(expired.token)) == "session_expired"
    assert code_of(lambda: sessions.resolve(idle.token)) == "session_expired"
    assert code_of(lambda: sessions.resolve(revoked.token)) == "session_invalid"


def test_disabling_an_account_ends_its_sessions(users: UserStore, sessions: SessionStore, user_id: int) -> None:
    issued = sessions.issue(users.require("chef1"), SessionKind.BROWSER)
    users.set_disabled("chef1", True, by=ADMIN_ACTOR)
    assert code_of(lambda: sessions.resolve(issued.token)) == "session_invalid"
    with pytest.raises(AccessRefusal):
        sessions.issue(users.require("chef1"), SessionKind.API)


def test_a_token_can_be_narrowed_to_some_actions(users: UserStore, sessions: SessionStore, user_id: int) -> None:
    issued = sessions.issue(users.require("chef1"), SessionKind.API, scope=[Action.METRICS_READ])
    resolved = sessions.resolve(issued.token)
    assert resolved.within_scope(Action.METRICS_READ)
    assert not resolved.within_scope(Action.FOOTAGE_VIEW)
    assert sessions.active_count() == 1
