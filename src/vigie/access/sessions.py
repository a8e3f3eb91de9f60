"""Browser sessions and API tokens. The catalog keeps only the SHA-256 of each token.

A stolen copy of the database therefore opens no session. Browser sessions end after a shift
(absolute lifetime) or after a short idle time; API tokens have an absolute lifetime and may be
narrowed to a few actions (a Prometheus scraper's token can read metrics and nothing else).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select

from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action
from vigie.access.users import UserView
from vigie.catalog.access_models import AccessSession, User
from vigie.catalog.db import Catalog
from vigie.catalog.types import utcnow
from vigie.config import AccessSettings

# Touching last_seen_at on every request would turn every read into a write: once a minute is enough.
_TOUCH_EVERY = timedelta(minutes=1)


class SessionKind(StrEnum):
    BROWSER = "browser"  # HTTP-only cookie, idle timeout
    API = "api"  # Authorization: Bearer, absolute lifetime only


_PREFIX = {SessionKind.BROWSER: "vgs_", SessionKind.API: "vgt_"}  # recognisable by secret scanners


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once
    session_id: int
    kind: SessionKind
    expires_at: datetime


@dataclass(frozen=True)
class Authenticated:
    """Who is behind a request, through which session."""

    user: UserView
    session_id: int
    kind: SessionKind
    expires_at: datetime
    scope: frozenset[Action] | None  # None: everything the role allows

    def within_scope(self, action: Action) -> bool:
        return self.scope is None or action in self.scope


class SessionStore:
    def __init__(self, catalog: Catalog, settings: AccessSettings) -> None:
        self.catalog = catalog
        self.settings = settings

    def issue(
        self,
        user: UserView,
        kind: SessionKind,
        *,
        client: str | None = None,
        lifetime: timedelta | None = None,
        scope: list[Action] | None = None,
    ) -> IssuedToken:
        if user.disabled:
            raise AccessRefusal("account_disabled", "this account is disabled", 403)
        if lifetime is None:
            browser = kind is SessionKind.BROWSER
            hours = self.settings.browser_session_hours if browser else self.settings.api_token_hours
            lifetime = timedelta(hours=hours)
        token = _PREFIX[kind] + secrets.token_urlsafe(32)
        now = utcnow()
        with self.catalog.session() as session:
            row = AccessSession(
                token_hash=token_hash(token),
                user_id=user.id,
                kind=kind.value,
                scope=[action.value for action in scope] if scope is not None else None,
                created_at=now,
                expires_at=now + lifetime,
                last_seen_at=now,
                client=client,
            )
            session.add(row)
            session.flush()
            return IssuedToken(token=token, session_id=row.id, kind=kind, expires_at=row.expires_at)

    def resolve(self, token: str) -> Authenticated:
        """The session behind ``token``, or :class:`AccessRefusal` (401) saying why it is not valid."""
        now = utcnow()
        with self.catalog.session() as session:
            found = session.execute(
                select(AccessSession, User)
                .join(User, AccessSession.user_id == User.id)
                .where(AccessSession.token_hash == token_hash(token))
            ).one_or_none()
            if found is None:
                raise AccessRefusal("session_invalid", "unknown or revoked session: log in again", 401)
            row, user = found
            kind = SessionKind(row.kind)
            if row.revoked_at is not None:
                raise AccessRefusal("session_invalid", "this session was closed: log in again", 401)
            if row.expires_at <= now:
                raise AccessRefusal("session_expired", "your session has expired: log in again", 401)
            idle = timedelta(minutes=self.settings.browser_idle_minutes)
            if kind is SessionKind.BROWSER and row.last_seen_at + idle <= now:
                raise AccessRefusal("session_expired", "your session expired after inactivity: log in again", 401)
            if user.disabled:
                raise AccessRefusal("account_disabled", "this account is disabled", 401)
            if now - row.last_seen_at >= _TOUCH_EVERY:
                row.last_seen_at = now
            scope = frozenset(Action(item) for item in row.scope) if row.scope is not None else None
            return Authenticated(UserView.of(user), row.id, kind, row.expires_at, scope)

    def revoke(self, session_id: int) -> None:
        with self.catalog.session() as session:
            row = session.get(AccessSession, session_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()

    def active_count(self) -> int:
        now = utcnow()
        with self.catalog.session() as session:
            count = session.execute(
                select(func.count())
                .select_from(AccessSession)
                .where(AccessSession.revoked_at.is_(None), AccessSession.expires_at > now)
            ).scalar_one()
        return int(count)
