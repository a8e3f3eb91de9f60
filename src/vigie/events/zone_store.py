"""Per-camera analytics settings (zones, abandoned-object delay), stored in the catalog, every change audited.

Zones are validated by the analytics package's own parser (``parse_setup``) against the size of
the picture they were drawn on, so a point outside the image or a crossed polygon is refused when
it is saved, never discovered later by the worker. They are kept in those pixels and rescaled to
the stream the worker actually decodes (:meth:`CameraAnalyticsSetup.setup_for`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.analytics.zones import CameraSetup, ZoneError, ZoneKind, parse_setup
from vigie.catalog.analytics_models import CameraAnalyticsSettings
from vigie.catalog.db import Catalog
from vigie.catalog.models import Source
from vigie.catalog.types import utcnow

# The longest wait before an unattended object is signalled that an installer may set (one hour).
MAX_ABANDONED_AFTER = 3600.0
MIN_FRAME_SIDE = 32
MAX_FRAME_SIDE = 8192


@dataclass(frozen=True)
class CameraAnalyticsSetup:
    """One camera's analytics settings as every caller sees them (defaults when never set)."""

    source_id: int
    document: dict[str, Any]
    frame_width: int | None = None
    frame_height: int | None = None
    abandoned_after: float | None = None
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def zones(self) -> list[dict[str, Any]]:
        items = self.document.get("zones", [])
        return list(items) if isinstance(items, list) else []

    def kinds(self) -> set[ZoneKind]:
        return {ZoneKind(item["kind"]) for item in self.zones if isinstance(item, dict) and "kind" in item}

    def setup_for(self, width: int, height: int) -> CameraSetup:
        """The zones in the pixels of a ``width`` x ``height`` stream, validated again at that size."""
        if not self.zones and "person_height" not in self.document:
            return CameraSetup()
        if self.frame_width is None or self.frame_height is None:
            raise ZoneError("zones were stored without the size of the picture they were drawn on")
        return parse_setup(
            scale_document(self.document, self.frame_width, self.frame_height, width, height), width, height
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "zones": self.zones,
            "person_height": self.document.get("person_height"),
            "frame_width": self.frame_width,
            "frame_height": self.frame_height,
            "abandoned_after": self.abandoned_after,
            "version": self.version,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
        }


def scale_document(document: dict[str, Any], from_w: int, from_h: int, to_w: int, to_h: int) -> dict[str, Any]:
    """Rescale a zones document between picture sizes (points clamped to the target picture)."""
    sx, sy = to_w / from_w, to_h / from_h

    def point(raw: Any) -> list[float]:
        x, y = float(raw[0]), float(raw[1])
        return [min(max(0.0, x * sx), float(to_w)), min(max(0.0, y * sy), float(to_h))]

    zones = []
    for item in document.get("zones", []):
        scaled = dict(item)
        scaled["polygon"] = [point(raw) for raw in item.get("polygon", [])]
        if isinstance(item.get("direction"), list | tuple) and len(item["direction"]) == 2:
            # A direction is a vector in the picture: it stretches with the axes too.
            scaled["direction"] = [float(item["direction"][0]) * sx, float(item["direction"][1]) * sy]
        zones.append(scaled)
    result: dict[str, Any] = {"zones": zones}
    reference = document.get("person_height")
    if isinstance(reference, list):
        result["person_height"] = [[float(row) * sy, float(size) * sy] for row, size in reference]
    return result


def _setup_of(row: CameraAnalyticsSettings) -> CameraAnalyticsSetup:
    return CameraAnalyticsSetup(
        source_id=row.source_id,
        document=dict(row.zones or {}),
        frame_width=row.frame_width,
        frame_height=row.frame_height,
        abandoned_after=row.abandoned_after,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


class ZoneStore:
    def __init__(self, catalog: Catalog, audit: AuditLog) -> None:
        self.catalog = catalog
        self.audit = audit

    def get(self, source: Source) -> CameraAnalyticsSetup:
        with self.catalog.session() as session:
            row = session.get(CameraAnalyticsSettings, source.id)
            return _setup_of(row) if row is not None else CameraAnalyticsSetup(source_id=source.id, document={})

    def all(self) -> dict[int, CameraAnalyticsSetup]:
        with self.catalog.session() as session:
            rows = session.execute(select(CameraAnalyticsSettings)).scalars()
            return {row.source_id: _setup_of(row) for row in rows}

    def save(
        self,
        source: Source,
        document: dict[str, Any],
        *,
        width: int,
        height: int,
        actor: Actor,
        abandoned_after: float | None = None,
    ) -> CameraAnalyticsSetup:
        """Validate and store a camera's zones (in the pixels of a ``width`` x ``height`` picture)."""
        if source.kind != "camera":
            raise ZoneError(f"{source.name} is not a fixed camera: zones apply to fixed cameras only")
        if not (MIN_FRAME_SIDE <= width <= MAX_FRAME_SIDE and MIN_FRAME_SIDE <= height <= MAX_FRAME_SIDE):
            raise ZoneError(f"picture size {width}x{height} is not plausible for a camera")
        if abandoned_after is not None and not (
            math.isfinite(abandoned_after) and 0 <= abandoned_after <= MAX_ABANDONED_AFTER
        ):
            raise ZoneError(f"abandoned_after must be between 0 and {MAX_ABANDONED_AFTER:g} seconds")
        setup = parse_setup(document, width, height)  # raises ZoneError naming the zone and the problem
        clean: dict[str, Any] = {"zones": [dict(item) for item in document.get("zones", [])]}
        if setup.person_height is not None:
            clean["person_height"] = [list(pair) for pair in setup.person_height]
        with self.catalog.session() as session:
            row = session.get(CameraAnalyticsSettings, source.id)
            if row is None:
                row = CameraAnalyticsSettings(source_id=source.id, version=0, updated_by=actor.name)
                session.add(row)
            row.zones = clean
            row.frame_width, row.frame_height = width, height
            row.abandoned_after = abandoned_after
            row.version = (row.version or 0) + 1
            row.updated_by, row.updated_at = actor.name, utcnow()
            self.audit.append(
                actor,
                AuditRecord(
                    action="analytics.zones",
                    object_type="camera",
                    object_ids=[source.name],
                    details={
                        "zones": [f"{zone.name} ({zone.kind.value})" for zone in setup.zones],
                        "frame": [width, height],
                        "abandoned_after": abandoned_after,
                        "version": row.version,
                    },
                ),
                session=session,
            )
            session.flush()
            return _setup_of(row)
