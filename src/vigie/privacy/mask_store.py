"""The masks of each fixed camera, in the catalog, every change audited ("mask.add", "mask.remove").

A mask is never deleted: removing one marks it removed (who, when), so the register can always say
what was hidden on a camera at any time. Footage is delivered with every mask in force *since it was
recorded* (the masks active now plus those removed after its start): removing a mask never reveals
past images that were hidden when they were recorded or when the mask was added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.db import Catalog
from vigie.catalog.models import Source
from vigie.catalog.privacy_models import PrivacyMaskRecord
from vigie.catalog.types import utcnow
from vigie.privacy.masks import CameraMasks, MaskError, PrivacyMask, validate_name


@dataclass(frozen=True)
class MaskEntry:
    """A mask as listed: its geometry and its history."""

    camera: str
    mask: PrivacyMask
    created_by: str
    created_at: datetime
    reason: str | None = None
    removed_at: datetime | None = None
    removed_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "name": self.mask.name,
            "polygon": [list(point) for point in self.mask.polygon],
            "created_by": self.created_by,
            "created_at": self.created_at,
            "reason": self.reason,
            "removed_at": self.removed_at,
            "removed_by": self.removed_by,
        }


def _mask_of(row: PrivacyMaskRecord) -> PrivacyMask:
    return PrivacyMask(row.name, tuple((float(x), float(y)) for x, y in row.polygon))


def _entry(camera: str, row: PrivacyMaskRecord) -> MaskEntry:
    return MaskEntry(
        camera, _mask_of(row), row.created_by, row.created_at, row.reason, row.removed_at, row.removed_by
    )


class MaskStore:
    def __init__(self, catalog: Catalog, audit: AuditLog) -> None:
        self.catalog = catalog
        self.audit = audit

    @staticmethod
    def _camera(session: Session, name: str) -> Source:
        source = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
        if source is None:
            raise MaskError(f"unknown camera {name!r}")
        if source.kind != "camera":
            raise MaskError(f"{name!r} is a body-worn camera: privacy masks are for fixed cameras")
        return source

    @staticmethod
    def _active(session: Session, source: Source) -> list[PrivacyMaskRecord]:
        return list(
            session.execute(
                select(PrivacyMaskRecord)
                .where(PrivacyMaskRecord.source_id == source.id, PrivacyMaskRecord.removed_at.is_(None))
                .order_by(PrivacyMaskRecord.name)
            ).scalars()
        )

    def add(self, camera: str, mask: PrivacyMask, actor: Actor, *, reason: str | None = None) -> MaskEntry:
        with self.catalog.session() as session:
            source = self._camera(session, camera)
            if any(row.name == mask.name for row in self._active(session, source)):
                raise MaskError(f"camera {camera!r} already has a mask named {mask.name!r}: remove it first")
            row = PrivacyMaskRecord(
                source_id=source.id,
                name=mask.name,
                polygon=[[x, y] for x, y in mask.polygon],
                reason=reason,
                created_by=actor.name,
                created_at=utcnow(),
            )
            session.add(row)
            self.audit.append(
                actor,
                AuditRecord(
                    action="mask.add",
                    object_type="camera",
                    object_ids=[camera, mask.name],
                    reason=reason,
                    details={"polygon": row.polygon},
                ),
                session=session,
            )
            return _entry(camera, row)

    def remove(self, camera: str, name: str, actor: Actor, *, reason: str | None = None) -> MaskEntry:
        validate_name(name)
        with self.catalog.session() as session:
            source = self._camera(session, camera)
            row = next((row for row in self._active(session, source) if row.name == name), None)
            if row is None:
                raise MaskError(f"camera {camera!r} has no mask named {name!r}")
            row.removed_at, row.removed_by = utcnow(), actor.name
            self.audit.append(
                actor,
                AuditRecord(
                    action="mask.remove",
                    object_type="camera",
                    object_ids=[camera, name],
                    reason=reason,
                    details={"polygon": row.polygon},
                ),
                session=session,
            )
            return _entry(camera, row)

    def entries(self, camera: str, *, include_removed: bool = False) -> list[MaskEntry]:
        with self.catalog.session() as session:
            source = self._camera(session, camera)
            query = select(PrivacyMaskRecord).where(PrivacyMaskRecord.source_id == source.id)
            if not include_removed:
                query = query.where(PrivacyMaskRecord.removed_at.is_(None))
            rows = session.execute(query.order_by(PrivacyMaskRecord.name, PrivacyMaskRecord.id)).scalars()
            return [_entry(camera, row) for row in rows]

    def masks(self, camera: str) -> CameraMasks:
        """The masks in force now: what live view, snapshots and analytics apply."""
        return CameraMasks(camera, tuple(entry.mask for entry in self.entries(camera)))

    def masks_since(self, source_id: int, since: datetime) -> tuple[PrivacyMask, ...]:
        """Every mask of a source in force at any time from ``since`` until now (recorded footage)."""
        return masks_of_source(self.catalog, source_id, since)


def masks_of_source(catalog: Catalog, source_id: int, since: datetime | None = None) -> tuple[PrivacyMask, ...]:
    """Masks in force at any time from ``since`` until now; every mask ever defined when ``since`` is None."""
    with catalog.session() as session:
        query = select(PrivacyMaskRecord).where(PrivacyMaskRecord.source_id == source_id)
        if since is not None:
            query = query.where(or_(PrivacyMaskRecord.removed_at.is_(None), PrivacyMaskRecord.removed_at > since))
        rows = session.execute(query.order_by(PrivacyMaskRecord.name, PrivacyMaskRecord.id)).scalars()
        return tuple(_mask_of(row) for row in rows)
