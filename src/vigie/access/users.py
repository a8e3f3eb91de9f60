"""Individual accounts: creation, listing, disabling, resets, and login with a second factor and lockout.

Every change to an account and every login attempt is a line of the register. Secrets (the
generated password, the TOTP seed) are returned once, in an :class:`Enrolment`, and never again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigie.access import totp
from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.access.errors import AccessRefusal, UserError
from vigie.access.passwords import Passwords, WeakPassword, check_password_policy, generate_password
from vigie.access.policy import Role, matricule_required, unit_required
from vigie.access.secretbox import SecretBox
from vigie.catalog.access_models import AccessSession, User
from vigie.catalog.db import Catalog
from vigie.catalog.types import utcnow
from vigie.config import AccessSettings

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class UserView:
    """A detached snapshot of an account: safe to pass around, holds no secret."""

    id: int
    username: str
    full_name: str | None
    matricule: str | None
    role: Role
    unit: str | None
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            matricule=user.matricule,
            role=Role(user.role),
            unit=user.unit,
            disabled=user.disabled,
            locked_until=user.locked_until,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            created_by=user.created_by,
        )

    def actor(self, client: str | None = None) -> Actor:
        return Actor(name=self.username, role=self.role.value, unit=self.unit, client=client, matricule=self.matricule)

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())


@dataclass(frozen=True)
class Enrolment:
    """What a person receives once, at creation or reset: never stored in clear, never shown again."""

    user: UserView
    password: str | None  # set when Vigie generated it
    totp_secret: str
    totp_uri: str


class UserStore:
    def __init__(self, catalog: Catalog, audit: AuditLog, secrets: SecretBox, settings: AccessSettings) -> None:
        self.catalog = catalog
        self.audit = audit
        self.secrets = secrets
        self.settings = settings
        self.passwords = Passwords(settings)

    # -- reading -----------------------------------------------------------------------------------
    def get(self, username: str) -> UserView | None:
        with self.catalog.session() as session:
            user = self._find(session, username)
            return UserView.of(user) if user else None

    def require(self, username: str) -> UserView:
        view = self.get(username)
        if view is None:
            raise UserError(f"unknown user {username!r}")
        return view

    def by_id(self, user_id: int) -> UserView | None:
        with self.catalog.session() as session:
            user = session.get(User, user_id)
            return UserView.of(user) if user else None

    def list(self) -> list[UserView]:
        with self.catalog.session() as session:
            return [UserView.of(user) for user in session.execute(select(User).order_by(User.username)).scalars()]

    # -- changing ----------------------------------------------------------------------------------
    def create(
        self,
        username: str,
        *,
        role: Role | str,
        by: Actor,
        unit: str | None = None,
        matricule: str | None = None,
        full_name: str | None = None,
        password: str | None = None,
    ) -> Enrolment:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise UserError(
                f"username {username!r} must be 2-64 characters: lower-case letters, digits, '.', '_' or '-'"
            )
        try:
            role = Role(role)
        except ValueError:
            raise UserError(f"unknown role {role!r} (one of: {', '.join(r.value for r in Role)})") from None
        unit = (unit or "").strip().strip("/") or None
        matricule = (matricule or "").strip() or None
        if unit_required(role) and unit is None:
            raise UserError(f"the {role.value} role sees only the cameras of a unit: give --unit")
        if matricule_required(role) and matricule is None:
            raise UserError(f"the {role.value} role is named in the register by a matricule: give --matricule")
        generated = password is None
        password = password if password is not None else generate_password()
        self._check_password(password, username)
        secret = totp.new_secret()
        with self.catalog.session() as session:
            if self._find(session, username) is not None:
                raise UserError(f"user {username!r} exists already")
            if matricule and session.execute(select(User).where(User.matricule == matricule)).first():
                raise UserError(f"matricule {matricule!r} belongs to another account: accounts are individual")
            user = User(
                username=username,
                full_name=(full_name or "").strip() or None,
                matricule=matricule,
                role=role.value,
                unit=unit,
                password_hash=self.passwords.hash(password),
                totp_secret_sealed=self.secrets.seal(secret),
                created_by=by.name,
            )
            session.add(user)
            try:
                session.flush()
            except IntegrityError:
                raise UserError(f"user {username!r} or matricule {matricule!r} exists already") from None
            view = UserView.of(user)
            self.audit.append(
                by,
                AuditRecord(
                    action="user.create",
                    object_type="user",
                    object_ids=[username],
                    details={"role": role.value, "unit": unit, "matricule_of_user": matricule},
                ),
                session=session,
            )
        return Enrolment(view, password if generated else None, secret, self._uri(secret, username))

    def set_disabled(self, username: str, disabled: bool, *, by: Actor, reason: str | None = None) -> UserView:
        with self.catalog.session() as session:
            user = self._require(session, username)
            user.disabled = disabled
            if disabled:
                _revoke_all(session, user.id)
            else:
                user.failed_logins, user.locked_until = 0, None
            self.audit.append(
                by,
                AuditRecord(
                    action="user.disable" if disabled else "user.enable",
                    object_type="user",
                    object_ids=[user.username],
                    reason=reason,
                ),
                session=session,
            )
            return UserView.of(user)

    def reset(self, username: str, *, by: Actor, password: str | None = None, reason: str | None = None) -> Enrolment:
        """New password and new TOTP seed; unlocks the account and ends its sessions."""
        generated = password is None
        password = password if password is not None else generate_password()
        self._check_password(password, username)
        secret = totp.new_secret()
        with self.catalog.session() as session:
            user = self._require(session, username)
            user.password_hash = self.passwords.hash(password)
            user.totp_secret_sealed = self.secrets.seal(secret)
            user.totp_last_step = 0
            user.failed_logins, user.locked_until = 0, None
            user.password_changed_at = utcnow()
            _revoke_all(session, user.id)
            self.audit.append(
                by,
                AuditRecord(action="user.reset", object_type="user", object_ids=[user.username], reason=reason),
                session=session,
            )
            view = UserView.of(user)
        return Enrolment(view, password if generated else None, secret, self._uri(secret, view.username))

    def change_password(self, user_id: int, *, current: str, new: str, client: str | None) -> None:
        with self.catalog.session() as session:
            user = session.get(User, user_id)
            if user is None:
                raise UserError("unknown user")
            actor = UserView.of(user).actor(client)
            if not self.passwords.verify(user.password_hash, current):
                self.audit.append(
                    actor,
                    AuditRecord(action="user.password", object_type="user", object_ids=[user.username],
                                outcome="refused", details={"why": "wrong current password"}),
                )
                raise AccessRefusal("invalid_credentials", "the current password is wrong", 400)
            try:
                check_password_policy(new, username=user.username, min_length=self.settings.password_min_length)
            except WeakPassword as error:
                raise AccessRefusal("weak_password", str(error), 400) from None
            user.password_hash = self.passwords.hash(new)
            user.password_changed_at = utcnow()
            record = AuditRecord(action="user.password", object_type="user", object_ids=[user.username])
            self.audit.append(actor, record, session=session)

    # -- login -------------------------------------------------------------------------------------
    def authenticate(self, username: str, password: str, code: str | None, *, client: str | None) -> UserView:
        """Password, then second factor. Raises :class:`AccessRefusal`; every outcome is audited.

        Failures (password or code) count towards the lockout; a locked account refuses even the
        right credentials until the lock ends.
        """
        name = (username or "").strip().lower()
        now = utcnow()
        with self.catalog.session() as session:
            user = self._find(session, name) if name else None
            if user is None:
                self.passwords.burn_time(password)
                self._audit_login(Actor(name=name[:120] or "(empty)", role="unknown", client=client), "unknown user")
                raise AccessRefusal("invalid_credentials", "invalid username, password or code", 401)
            actor = UserView.of(user).actor(client)
            if user.locked_until is not None and user.locked_until > now:
                self._audit_login(actor, "account locked")
                raise AccessRefusal(
                    "account_locked",
                    f"too many failed logins: account locked until {user.locked_until:%H:%M} UTC",
                    423,
                )
            if not self.passwords.verify(user.password_hash, password):
                self._fail(session, user, actor, "wrong password", now)
                raise self._failure_refusal(user, "invalid_credentials", "invalid username, password or code")
            if user.disabled:
                self._audit_login(actor, "account disabled")
                raise AccessRefusal("account_disabled", "this account is disabled", 403)
            if not code or not code.strip():
                # Not a failure: a client that first sends the password alone learns a code is needed.
                self._audit_login(actor, "no second factor given")
                raise AccessRefusal("totp_required", "a one-time code from the authenticator app is required", 401)
            step = totp.matching_step(self.secrets.open(user.totp_secret_sealed), code, last_step=user.totp_last_step)
            if step is None:
                self._fail(session, user, actor, "wrong or reused one-time code", now)
                raise self._failure_refusal(
                    user, "totp_invalid", "the one-time code is wrong, expired or already used"
                )
            user.totp_last_step = step
            user.failed_logins, user.locked_until = 0, None
            user.last_login_at = now
            if self.passwords.needs_rehash(user.password_hash):
                user.password_hash = self.passwords.hash(password)
            self.audit.append(actor, AuditRecord(action="auth.login", object_type="user", object_ids=[user.username]),
                              session=session)
            return UserView.of(user)

    # -- internals ---------------------------------------------------------------------------------
    def _fail(self, session: Session, user: User, actor: Actor, why: str, now: datetime) -> None:
        user.failed_logins += 1
        details: dict[str, object] = {"why": why, "failures": user.failed_logins}
        self.audit.append(
            actor,
            AuditRecord(action="auth.login", object_type="user", object_ids=[user.username], outcome="refused",
                        details=details),
            session=session,
        )
        if user.failed_logins >= self.settings.lockout_threshold:
            user.locked_until = now + timedelta(minutes=self.settings.lockout_minutes)
            user.failed_logins = 0
            self.audit.append(
                actor,
                AuditRecord(
                    action="auth.lockout",
                    object_type="user",
                    object_ids=[user.username],
                    details={"until": user.locked_until.isoformat(), "threshold": self.settings.lockout_threshold},
                ),
                session=session,
            )
        # The failure must be kept even though the caller raises: commit it now.
        session.commit()

    def _failure_refusal(self, user: User, code: str, message: str) -> AccessRefusal:
        if user.locked_until is not None and user.locked_until > utcnow():
            return AccessRefusal(
                "account_locked", f"too many failed logins: account locked until {user.locked_until:%H:%M} UTC", 423
            )
        return AccessRefusal(code, message, 401)

    def _audit_login(self, actor: Actor, why: str) -> None:
        self.audit.append(
            actor,
            AuditRecord(action="auth.login", object_type="user", object_ids=[actor.name], outcome="refused",
                        details={"why": why}),
        )

    def _check_password(self, password: str, username: str) -> None:
        try:
            check_password_policy(password, username=username, min_length=self.settings.password_min_length)
        except WeakPassword as error:
            raise UserError(str(error)) from None

    def _uri(self, secret: str, username: str) -> str:
        return totp.provisioning_uri(secret, username=username, issuer=self.settings.totp_issuer)

    @staticmethod
    def _find(session: Session, username: str) -> User | None:
        return session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()

    def _require(self, session: Session, username: str) -> User:
        user = self._find(session, username)
        if user is None:
            raise UserError(f"unknown user {username!r}")
        return user


def _revoke_all(session: Session, user_id: int) -> None:
    now = utcnow()
    for row in session.execute(
        select(AccessSession).where(AccessSession.user_id == user_id, AccessSession.revoked_at.is_(None))
    ).scalars():
        row.revoked_at = now
