"""People and their sessions: the catalog records of the access layer (``vigie.access``).

Accounts are individual (no shared logins, CNIL 2021 action): a user is one person with a role,
a unit (the commune or service whose cameras and devices they may see) and, for sworn staff, a
matricule that the access register names (R241-5). Users are disabled, never deleted, so the
register keeps pointing at someone for its three years.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vigie.catalog.models import Base
from vigie.catalog.types import utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200), default=None)
    matricule: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(120), default=None)  # None: installation-wide scope
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_sealed: Mapped[str] = mapped_column(Text)  # base32 secret sealed under the installation key
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)  # a TOTP code is accepted once (RFC 6238 §5.2)
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))


class AccessSession(Base):
    """A browser session or an API token. Only the SHA-256 of the token is stored."""

    __tablename__ = "access_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # browser | api
    scope: Mapped[list[Any] | None] = mapped_column(default=None)  # restricts the role's actions (e.g. metrics only)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    client: Mapped[str | None] = mapped_column(String(120), default=None)
