"""The registry: body-cam devices (each a vault source), officers, who carried what when, and dock credentials.

A device's force decides its retention profile (R241-4: one month for police, gendarmerie,
municipal police and prison staff; six months for firefighters). Dock tokens are shown once and
stored as SHA-256 only, like the people's API tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.bodycam_models import BodycamAssignment, BodycamDevice, BodycamDock, BodycamOfficer
from vigie.catalog.db import Catalog
from vigie.catalog.models import Source
from vigie.catalog.types import utcnow
from vigie.config import RetentionPeriod, RetentionProfile
from vigie.vault.store import Vault

SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
MATRICULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
DOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
DOCK_TOKEN_PREFIX = "vgd_"  # recognisable by secret scanners, like vgs_/vgt_ for people
_TOUCH_EVERY = timedelta(minutes=1)


class RegistryError(ValueError):
    """A registry operation cannot be done (unknown device, duplicate serial, bad matricule…)."""


class Force(StrEnum):
    POLICE = "police"
    GENDARMERIE = "gendarmerie"
    MUNICIPAL = "municipal"
    FIREFIGHTERS = "firefighters"
    PRISON = "prison"


FORCE_PROFILE: dict[Force, RetentionProfile] = {
    Force.POLICE: RetentionProfile.BODYCAM_POLICE,
    Force.GENDARMERIE: RetentionProfile.BODYCAM_GENDARMERIE,
    Force.MUNICIPAL: RetentionProfile.BODYCAM_MUNICIPAL,
    Force.FIREFIGHTERS: RetentionProfile.BODYCAM_FIREFIGHTERS,
    Force.PRISON: RetentionProfile.BODYCAM_PRISON,
}


def source_name(serial: str) -> str:
    """The vault source of a device: one hash chain per device."""
    return f"bodycam:{serial}"


@dataclass(frozen=True)
class DeviceView:
    id: int
    serial: str
    force: Force
    unit: str | None
    model: str | None
    source_id: int
    source_name: str
    retention_profile: str
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True)
class DockPrincipal:
    """A dock as the register names it."""

    id: int
    name: str
    client: str | None = None

    def actor(self) -> Actor:
        return Actor(name=f"dock:{self.name}", role="dock", client=self.client)


@dataclass(frozen=True)
class IssuedDockToken:
    name: str
    token: str  # shown once


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(device: BodycamDevice, source: Source) -> DeviceView:
    return DeviceView(
        id=device.id,
        serial=device.serial,
        force=Force(device.force),
        unit=source.unit,
        model=device.model,
        source_id=source.id,
        source_name=source.name,
        retention_profile=source.retention_profile,
        created_at=device.created_at,
        retired_at=device.retired_at,
    )


class DeviceRegistry:
    def __init__(self, catalog: Catalog, vault: Vault, audit: AuditLog) -> None:
        self.catalog = catalog
        self.vault = vault
        self.audit = audit

    # -- devices -----------------------------------------------------------------------------------
    def add_device(
        self,
        serial: str,
        *,
        force: Force | str,
        by: Actor,
        unit: str | None = None,
        model: str | None = None,
        retention: RetentionPeriod | None = None,
    ) -> DeviceView:
        serial = serial.strip()
        if not SERIAL.match(serial):
            raise RegistryError(f"serial {serial!r} must be 1-80 letters, digits, '.', '_' or '-'")
        try:
            force = Force(force)
        except ValueError:
            raise RegistryError(f"unknown force {force!r} (one of: {', '.join(f.value for f in Force)})") from None
        unit = (unit or "").strip().strip("/") or None
        with self.catalog.session() as session:
            if session.execute(select(BodycamDevice).where(BodycamDevice.serial == serial)).scalar_one_or_none():
                raise RegistryError(f"device {serial!r} is registered already")
        source = self.vault.ensure_source(
            source_name(serial), kind="bodycam", profile=FORCE_PROFILE[force], unit=unit, retention=retention
        )
        with self.catalog.session() as session:
            device = BodycamDevice(
                source_id=source.id, serial=serial, force=force.value, model=model, created_by=by.name
            )
            session.add(device)
            session.flush()
            self.audit.append(
                by,
                AuditRecord(
                    action="bodycam.device.add",
                    object_type="device",
                    object_ids=[serial, source.name],
                    details={"force": force.value, "unit": unit, "profile": source.retention_profile},
                ),
                session=session,
            )
            return _view(device, source)

    def device(self, serial: str) -> DeviceView | None:
        with self.catalog.session() as session:
            row = session.execute(
                select(BodycamDevice, Source)
                .join(Source, BodycamDevice.source_id == Source.id)
                .where(BodycamDevice.serial == serial)
            ).one_or_none()
            return _view(row[0], row[1]) if row else None

    def require_device(self, serial: str) -> DeviceView:
        view = self.device(serial)
        if view is None:
            raise RegistryError(f"unknown device {serial!r}: register it first (vigie bodycam device add)")
        return view

    def devices(self, *, unit: str | None = None) -> list[DeviceView]:
        with self.catalog.session() as session:
            query = select(BodycamDevice, Source).join(Source, BodycamDevice.source_id == Source.id)
            if unit is not None:
                scope = unit.strip("/")
                query = query.where(or_(Source.unit == scope, Source.unit.startswith(scope + "/", autoescape=True)))
            rows = session.execute(query.order_by(BodycamDevice.serial)).all()
            return [_view(device, source) for device, source in rows]

    # -- officers and assignments ------------------------------------------------------------------
    def ensure_officer(self, matricule: str, *, name: str | None = None, unit: str | None = None) -> BodycamOfficer:
        matricule = matricule.strip()
        if not MATRICULE.match(matricule):
            raise RegistryError(f"matricule {matricule!r} must be 1-40 letters, digits, '.', '_', '/' or '-'")
        with self.catalog.session() as session:
            officer = session.execute(
                select(BodycamOfficer).where(BodycamOfficer.matricule == matricule)
            ).scalar_one_or_none()
            if officer is None:
                officer = BodycamOfficer(matricule=matricule, name=name, unit=(unit or "").strip("/") or None)
                session.add(officer)
                session.flush()
            elif name or unit:
                officer.name = name or officer.name
                officer.unit = (unit or "").strip("/") or officer.unit
            return officer

    def assign(
        self,
        serial: str,
        matricule: str,
        *,
        by: Actor,
        start: datetime | None = None,
        end: datetime | None = None,
        officer_name: str | None = None,
        officer_unit: str | None = None,
    ) -> BodycamAssignment:
        """Hand a device to an officer from ``start``; the device's open assignment ends there."""
        device = self.require_device(serial)
        officer = self.ensure_officer(matricule, name=officer_name, unit=officer_unit)
        start = start or utcnow()
        if end is not None and end <= start:
            raise RegistryError("an assignment must end after it starts")
        with self.catalog.session() as session:
            current = session.execute(
                select(BodycamAssignment).where(
                    BodycamAssignment.device_id == device.id,
                    BodycamAssignment.start <= start,
                    or_(BodycamAssignment.end.is_(None), BodycamAssignment.end > start),
                )
            ).scalars()
            for assignment in current:
                assignment.end = start
            assignment = BodycamAssignment(
                device_id=device.id, officer_id=officer.id, start=start, end=end, created_by=by.name
            )
            session.add(assignment)
            session.flush()
            self.audit.append(
                by,
                AuditRecord(
                    action="bodycam.assign",
                    object_type="device",
                    object_ids=[serial, matricule],
                    details={"start": start.isoformat(), "end": end.isoformat() if end else None},
                ),
                session=session,
            )
            return assignment

    def officer_at(self, session: Session, device_id: int, moment: datetime) -> str | None:
        """The matricule of whoever carried the device at ``moment``, if anybody was assigned."""
        row = session.execute(
            select(BodycamOfficer.matricule)
            .join(BodycamAssignment, BodycamAssignment.officer_id == BodycamOfficer.id)
            .where(
                BodycamAssignment.device_id == device_id,
                BodycamAssignment.start <= moment,
                or_(BodycamAssignment.end.is_(None), BodycamAssignment.end > moment),
            )
            .order_by(BodycamAssignment.start.desc())
            .limit(1)
        ).scalar_one_or_none()
        return str(row) if row else None

    def assignments(self, serial: str) -> list[tuple[BodycamAssignment, str]]:
        device = self.require_device(serial)
        with self.catalog.session() as session:
            rows = session.execute(
                select(BodycamAssignment, BodycamOfficer.matricule)
                .join(BodycamOfficer, BodycamAssignment.officer_id == BodycamOfficer.id)
                .where(BodycamAssignment.device_id == device.id)
                .order_by(BodycamAssignment.start)
            ).all()
            return [(assignment, str(matricule)) for assignment, matricule in rows]

    # -- docks -------------------------------------------------------------------------------------
    def issue_dock_token(self, name: str, *, by: Actor) -> IssuedDockToken:
        """A new token for dock ``name`` (created if new); a previous token of that dock stops working."""
        name = name.strip().lower()
        if not DOCK_NAME.match(name):
            raise RegistryError(f"dock name {name!r} must be 1-80 lower-case letters, digits, '.', '_' or '-'")
        token = DOCK_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.catalog.session() as session:
            dock = session.execute(select(BodycamDock).where(BodycamDock.name == name)).scalar_one_or_none()
            renewed = dock is not None
            if dock is None:
                dock = BodycamDock(name=name, token_hash=token_hash(token), created_by=by.name)
                session.add(dock)
            else:
                dock.token_hash, dock.revoked_at = token_hash(token), None
            self.audit.append(
                by,
                AuditRecord(
                    action="bodycam.dock.token", object_type="dock", object_ids=[name], details={"renewed": renewed}
                ),
                session=session,
            )
        return IssuedDockToken(name, token)

    def revoke_dock(self, name: str, *, by: Actor) -> None:
        with self.catalog.session() as session:
            dock = session.execute(select(BodycamDock).where(BodycamDock.name == name)).scalar_one_or_none()
            if dock is None:
                raise RegistryError(f"unknown dock {name!r}")
            dock.revoked_at = utcnow()
            self.audit.append(
                by, AuditRecord(action="bodycam.dock.revoke", object_type="dock", object_ids=[name]), session=session
            )

    def docks(self) -> list[BodycamDock]:
        with self.catalog.session() as session:
            return list(session.execute(select(BodycamDock).order_by(BodycamDock.name)).scalars())

    def authenticate_dock(self, token: str, client: str | None = None) -> DockPrincipal | None:
        if not token.startswith(DOCK_TOKEN_PREFIX):
            return None
        now = utcnow()
        with self.catalog.session() as session:
            dock = session.execute(
                select(BodycamDock).where(BodycamDock.token_hash == token_hash(token))
            ).scalar_one_or_none()
            if dock is None or dock.revoked_at is not None:
                return None
            if dock.last_seen_at is None or now - dock.last_seen_at >= _TOUCH_EVERY:
                dock.last_seen_at = now
            return DockPrincipal(dock.id, dock.name, client)
