"""The fixed-camera registry: add, list, disable, enable and remove cameras; every change audited.

A camera is a vault source of kind ``camera`` plus a :class:`~vigie.catalog.camera_models.Camera`
row. Changes and their audit entries are written in one transaction: there is no registry change
without its line in the access register. Nothing here deletes footage; "remove" disables and
hides a camera, its recordings stay under their retention.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.camera_models import Camera, CameraHealth
from vigie.catalog.models import Source
from vigie.catalog.types import utcnow
from vigie.config import RetentionPeriod, RetentionProfile, check_under_cap
from vigie.vault.envelope import open_sealed, seal
from vigie.vault.store import Vault, VaultError

CAMERA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
STREAM_SCHEMES = ("rtsp", "rtsps")


class CameraError(ValueError):
    """A registry request was refused; the message says why in one line."""


class UnknownCamera(CameraError):
    pass


@dataclass(frozen=True)
class CameraSpec:
    """What an operator gives to register a camera."""

    name: str
    main_url: str
    sub_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    heading: float | None = None
    retention: RetentionPeriod | None = None  # None: the installation's period for fixed cameras
    unit: str | None = None
    authorisation: str | None = None  # reference of the prefect's authorisation


@dataclass(frozen=True)
class CameraRecord:
    """A registered camera as every caller sees it (URLs without credentials)."""

    id: int
    source_id: int
    name: str
    main_url: str
    sub_url: str | None
    has_credentials: bool
    latitude: float | None
    longitude: float | None
    heading: float | None
    authorisation: str | None
    unit: str | None
    retention: str | None
    enabled: bool
    removed: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "main_url": self.main_url,
            "sub_url": self.sub_url,
            "credentials": self.has_credentials,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "heading": self.heading,
            "authorisation": self.authorisation,
            "unit": self.unit,
            "retention": self.retention,
            "enabled": self.enabled,
            "removed": self.removed,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class CameraTarget:
    """What a recorder needs to pull a camera: the URLs with credentials put back in. Never logged."""

    camera_id: int
    source: Source
    name: str
    main_url: str
    sub_url: str | None


def split_credentials(url: str, what: str) -> tuple[str, str | None]:
    """Validate a stream URL and take ``user:password@`` out of it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise CameraError(f"{what} {url!r} is not a valid URL: {error}") from error
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise CameraError(f"{what} must be an rtsp:// or rtsps:// URL, not {parts.scheme or 'a bare path'!r}")
    if not parts.hostname:
        raise CameraError(f"{what} has no host")
    credentials = None
    if parts.username is not None:
        credentials = unquote(parts.username) + ":" + unquote(parts.password or "")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc += f":{port}"
    clean = urlunsplit(SplitResult(parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    return clean, credentials


def with_credentials(url: str, credentials: str | None) -> str:
    if not credentials:
        return url
    parts = urlsplit(url)
    user, _, password = credentials.partition(":")
    userinfo = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit(SplitResult(parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, parts.query, parts.fragment))


class CameraRegistry:
    def __init__(self, vault: Vault, audit: AuditLog) -> None:
        self.vault = vault
        self.audit = audit

    # -- changes (each one audited in the same transaction) ---------------------------------------
    def add(self, spec: CameraSpec, actor: Actor) -> CameraRecord:
        name = spec.name.strip()
        if not CAMERA_NAME.match(name):
            raise CameraError(
                f"camera name {spec.name!r} must be 1-100 letters, digits, '.', '_' or '-' (it appears in URLs)"
            )
        main_url, credentials = split_credentials(spec.main_url, "--url")
        sub_url, sub_credentials = split_credentials(spec.sub_url, "--sub-url") if spec.sub_url else (None, None)
        if sub_credentials and credentials and sub_credentials != credentials:
            raise CameraError("main and sub stream must use the same camera account")
        credentials = credentials or sub_credentials
        _check_position(spec.latitude, spec.longitude, spec.heading)
        if spec.retention is not None:
            try:
                check_under_cap(RetentionProfile.CAMERA, spec.retention)
            except ValueError as error:
                raise CameraError(
                    f"retention {spec.retention.iso()} is longer than the legal maximum for fixed cameras: "
                    "one month (CSI L252-5); the prefect's authorisation sets the exact period"
                ) from error
        with self.vault.catalog.session() as session:
            source = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
            if source is not None:
                if source.kind != "camera":
                    raise CameraError(f"{name!r} is already a {source.kind} source")
                if session.execute(select(Camera).where(Camera.source_id == source.id)).scalar_one_or_none():
                    raise CameraError(f"camera {name!r} exists already (removed cameras keep their name)")
        # The vault creates the source and its hash chain (or adopts footage imported under this name).
        try:
            source = self.vault.ensure_source(name, kind="camera", unit=spec.unit, retention=spec.retention)
        except VaultError as error:
            raise CameraError(str(error)) from error
        with self.vault.catalog.session() as session:
            stored_source = session.get(Source, source.id)
            assert stored_source is not None
            stored_source.unit = spec.unit
            stored_source.retention = spec.retention.iso() if spec.retention else None
            stored_source.enabled = True
            camera = Camera(
                source_id=source.id,
                main_url=main_url,
                sub_url=sub_url,
                credentials_sealed=self._seal(credentials) if credentials else None,
                latitude=spec.latitude,
                longitude=spec.longitude,
                heading=spec.heading,
                authorisation=spec.authorisation,
            )
            session.add(camera)
            session.flush()
            record = _record(camera, stored_source)
            self.audit.append(
                actor,
                AuditRecord(
                    action="camera.add",
                    object_type="camera",
                    object_ids=[name],
                    reason=spec.authorisation and f"prefect authorisation {spec.authorisation}",
                    details={key: value for key, value in record.as_dict().items() if key != "created_at"},
                ),
                session=session,
            )
        return record

    def set_enabled(self, name: str, enabled: bool, actor: Actor, *, reason: str | None = None) -> CameraRecord:
        with self.vault.catalog.session() as session:
            camera, source = self._load(session, name)
            if camera.removed_at is not None:
                raise CameraError(f"camera {name!r} was removed; it cannot be {'enabled' if enabled else 'disabled'}")
            changed = source.enabled != enabled
            source.enabled = enabled
            camera.updated_at = utcnow()
            if changed:
                self.audit.append(
                    actor,
                    AuditRecord(
                        action="camera.enable" if enabled else "camera.disable",
                        object_type="camera",
                        object_ids=[name],
                        reason=reason,
                    ),
                    session=session,
                )
            return _record(camera, source)

    def remove(self, name: str, actor: Actor, *, reason: str | None = None) -> CameraRecord:
        """Stop recording and hide the camera; its footage stays until its retention ends."""
        with self.vault.catalog.session() as session:
            camera, source = self._load(session, name)
            if camera.removed_at is not None:
                raise CameraError(f"camera {name!r} was already removed")
            source.enabled = False
            camera.removed_at = camera.updated_at = utcnow()
            self.audit.append(
                actor,
                AuditRecord(
                    action="camera.remove",
                    object_type="camera",
                    object_ids=[name],
                    reason=reason,
                    details={"footage": "kept until its retention ends"},
                ),
                session=session,
            )
            return _record(camera, source)

    # -- reading ----------------------------------------------------------------------------------
    def get(self, name: str, *, include_removed: bool = False) -> CameraRecord:
        with self.vault.catalog.session() as session:
            camera, source = self._load(session, name)
            if camera.removed_at is not None and not include_removed:
                raise UnknownCamera(f"camera {name!r} was removed")
            return _record(camera, source)

    def cameras(self, *, include_removed: bool = False) -> list[CameraRecord]:
        with self.vault.catalog.session() as session:
            query = select(Camera, Source).join(Source, Camera.source_id == Source.id).order_by(Source.name)
            if not include_removed:
                query = query.where(Camera.removed_at.is_(None))
            return [_record(camera, source) for camera, source in session.execute(query).all()]

    def health(self) -> dict[int, CameraHealth]:
        with self.vault.catalog.session() as session:
            return {row.camera_id: row for row in session.execute(select(CameraHealth)).scalars()}

    def targets(self, names: list[str] | None = None) -> list[CameraTarget]:
        return load_targets(self.vault, names)

    # -- helpers ----------------------------------------------------------------------------------
    def _load(self, session: Session, name: str) -> tuple[Camera, Source]:
        row = session.execute(
            select(Camera, Source).join(Source, Camera.source_id == Source.id).where(Source.name == name)
        ).one_or_none()
        if row is None:
            raise UnknownCamera(f"unknown camera {name!r}")
        return row[0], row[1]

    def _seal(self, secret: str) -> str:
        return base64.b64encode(seal(secret.encode(), self.vault.kek)).decode("ascii")


def load_targets(vault: Vault, names: list[str] | None = None, *, strict: bool = True) -> list[CameraTarget]:
    """The enabled cameras a recorder should pull (``names``: only these; unknown ones refused if ``strict``)."""
    with vault.catalog.session() as session:
        query = select(Camera, Source).join(Source, Camera.source_id == Source.id).order_by(Source.name)
        rows = session.execute(query).all()
    known = {source.name for _, source in rows}
    for name in names or []:
        if strict and name not in known:
            raise UnknownCamera(f"unknown camera {name!r}")
    targets = []
    for camera, source in rows:
        if camera.removed_at is not None or not source.enabled or (names and source.name not in names):
            continue
        credentials = (
            open_sealed(base64.b64decode(camera.credentials_sealed), vault.kek).decode()
            if camera.credentials_sealed
            else None
        )
        targets.append(
            CameraTarget(
                camera_id=camera.id,
                source=source,
                name=source.name,
                main_url=with_credentials(camera.main_url, credentials),
                sub_url=with_credentials(camera.sub_url, credentials) if camera.sub_url else None,
            )
        )
    return targets


def _record(camera: Camera, source: Source) -> CameraRecord:
    return CameraRecord(
        id=camera.id,
        source_id=source.id,
        name=source.name,
        main_url=camera.main_url,
        sub_url=camera.sub_url,
        has_credentials=camera.credentials_sealed is not None,
        latitude=camera.latitude,
        longitude=camera.longitude,
        heading=camera.heading,
        authorisation=camera.authorisation,
        unit=source.unit,
        retention=source.retention,
        enabled=source.enabled,
        removed=camera.removed_at is not None,
        created_at=camera.created_at,
    )


def _check_position(latitude: float | None, longitude: float | None, heading: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise CameraError("give both --lat and --lon, or neither")
    for value, low, high, what in ((latitude, -90.0, 90.0, "--lat"), (longitude, -180.0, 180.0, "--lon")):
        if value is not None and (not math.isfinite(value) or not low <= value <= high):
            raise CameraError(f"{what} {value} is outside [{low:g}, {high:g}] (WGS 84 degrees)")
    if heading is not None and (not math.isfinite(heading) or not 0.0 <= heading < 360.0):
        raise CameraError(f"--heading {heading} must be in [0, 360) degrees clockwise from north")
