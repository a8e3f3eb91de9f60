"""Aggregate transparency statistics (LAW.md G.41): counts only, never a person, a place or an image.

Per calendar month (UTC): recordings and hours recorded by kind, consultations and exports of
footage, segments deleted by retention, missing-footage items, analytic alerts by outcome.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from vigie.catalog.bodycam_models import BodycamMissing
from vigie.catalog.db import Catalog
from vigie.catalog.event_models import Event
from vigie.catalog.models import AuditEntry, Gap, Recording, Tombstone

# Register actions that are a consultation or a communication of footage.
CONSULTATION_ACTIONS = frozenset({"footage.view", "live.view", "view"})
EXPORT_ACTIONS = frozenset({"footage.export", "export", "extract"})
# Gap causes that mean recorded footage never reached the vault (body-cams, LAW.md B.13).
MISSING_FOOTAGE_CAUSES = frozenset({"missing-sequence", "not-uploaded", "hash-mismatch"})


@dataclass
class MonthFigures:
    recordings: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hours: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    consultations: int = 0
    exports: int = 0
    refused_requests: int = 0
    deleted_segments: int = 0
    missing_footage: int = 0
    camera_gap_hours: float = 0.0
    alerts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        return {
            "recordings": dict(self.recordings),
            "hours_recorded": {kind: round(hours, 4) for kind, hours in self.hours.items()},
            "consultations": self.consultations,
            "exports": self.exports,
            "refused_requests": self.refused_requests,
            "deletions_by_retention": self.deleted_segments,
            "missing_footage_items": self.missing_footage,
            "camera_gap_hours": round(self.camera_gap_hours, 2),
            "alerts": dict(self.alerts),
        }


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def transparency(catalog: Catalog, *, since: datetime | None = None) -> dict[str, Any]:
    months: dict[str, MonthFigures] = defaultdict(MonthFigures)
    with catalog.session() as session:
        recordings = session.execute(select(Recording.kind, Recording.start, Recording.end)).all()
        audit_rows = session.execute(select(AuditEntry.at, AuditEntry.action, AuditEntry.outcome)).all()
        tombstones = session.execute(select(Tombstone.deleted_at)).scalars().all()
        gaps = session.execute(select(Gap.start, Gap.end, Gap.cause)).all()
        missing = session.execute(select(BodycamMissing.detected_at, BodycamMissing.resolution)).all()
        events = session.execute(select(Event.created_at, Event.status)).all()
    for kind, start, end in recordings:
        if since and start < since:
            continue
        figures = months[_month(start)]
        figures.recordings[kind] += 1
        if end is not None:
            figures.hours[kind] += max(0.0, (end - start).total_seconds()) / 3600
    for at, action, outcome in audit_rows:
        if since and at < since:
            continue
        figures = months[_month(at)]
        if outcome == "allowed" and action in CONSULTATION_ACTIONS:
            figures.consultations += 1
        elif outcome == "allowed" and action in EXPORT_ACTIONS:
            figures.exports += 1
        elif outcome == "refused" and (action in CONSULTATION_ACTIONS or action in EXPORT_ACTIONS):
            figures.refused_requests += 1
    for deleted_at in tombstones:
        if not since or deleted_at >= since:
            months[_month(deleted_at)].deleted_segments += 1
    for start, end, cause in gaps:
        if since and start < since:
            continue
        if cause not in MISSING_FOOTAGE_CAUSES and end is not None:
            months[_month(start)].camera_gap_hours += max(0.0, (end - start).total_seconds()) / 3600
    for detected_at, resolution in missing:
        # An item reclassified under another cause ("now not-uploaded") is the same footage: count it once.
        # One resolved by a late upload still counts: that it was missing for a while is a fact.
        if (not since or detected_at >= since) and not (resolution or "").startswith("now "):
            months[_month(detected_at)].missing_footage += 1
    for created_at, status in events:
        if not since or created_at >= since:
            months[_month(created_at)].alerts[status] += 1
    return {
        "months": [{"month": month, **months[month].as_dict()} for month in sorted(months)],
        "definitions": {
            "consultations": "allowed requests to view recorded or live footage (access register)",
            "exports": "footage communicated outside Vigie (evidence bundles, extracts, downloads)",
            "deletions_by_retention": "segments deleted because their legal retention ended (signed tombstones)",
            "missing_footage_items": "body-cam recordings the device logged but that never reached the vault",
            "camera_gap_hours": "hours a fixed camera should have recorded and did not",
            "alerts": "analytic alerts by operator decision (pending, confirmed, dismissed)",
        },
    }
