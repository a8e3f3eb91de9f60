"""What supervisors and auditors read about devices: completeness status, anomalies, dockings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigie.catalog.bodycam_models import (
    BodycamAnomaly,
    BodycamDevice,
    BodycamDocking,
    BodycamMissing,
    BodycamRecording,
)
from vigie.catalog.models import Source
from vigie.catalog.types import iso


@dataclass(frozen=True)
class DockingSummary:
    id: str
    server_time: datetime
    clock_offset_seconds: float
    clock_flagged: bool
    event_count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "server_time": iso(self.server_time),
            "clock_offset_seconds": self.clock_offset_seconds,
            "clock_flagged": self.clock_flagged,
            "event_count": self.event_count,
        }


@dataclass
class DeviceStatus:
    serial: str
    force: str
    unit: str | None
    recordings: int = 0
    missing_open: int = 0
    missing_resolved: int = 0
    missing_by_cause: dict[str, int] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)
    last_docking: DockingSummary | None = None

    @property
    def complete(self) -> bool:
        return self.missing_open == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "force": self.force,
            "unit": self.unit,
            "recordings": self.recordings,
            "complete": self.complete,
            "missing_open": self.missing_open,
            "missing_resolved": self.missing_resolved,
            "missing_by_cause": self.missing_by_cause,
            "anomalies": self.anomalies,
            "last_docking": self.last_docking.as_json() if self.last_docking else None,
        }


def device_statuses(session: Session, *, serial: str | None = None) -> list[DeviceStatus]:
    query = select(BodycamDevice, Source.unit).join(Source, Source.id == BodycamDevice.source_id)
    if serial is not None:
        query = query.where(BodycamDevice.serial == serial)
    devices = session.execute(query.order_by(BodycamDevice.serial)).all()
    ids = [device.id for device, _ in devices]
    if not ids:
        return []
    recordings = {
        int(device_id): int(count)
        for device_id, count in session.execute(
            select(BodycamRecording.device_id, func.count())
            .where(BodycamRecording.device_id.in_(ids), BodycamRecording.recording_id.is_not(None))
            .group_by(BodycamRecording.device_id)
        )
    }
    missing: dict[int, dict[str, int]] = {}
    resolved: dict[int, int] = {}
    for device_id, cause, is_resolved, count in session.execute(
        select(BodycamMissing.device_id, BodycamMissing.cause, BodycamMissing.resolved_at.is_not(None), func.count())
        .where(BodycamMissing.device_id.in_(ids))
        .group_by(BodycamMissing.device_id, BodycamMissing.cause, BodycamMissing.resolved_at.is_not(None))
    ):
        if is_resolved:
            resolved[device_id] = resolved.get(device_id, 0) + int(count)
        else:
            missing.setdefault(device_id, {})[str(cause)] = int(count)
    anomalies: dict[int, dict[str, int]] = {}
    for device_id, kind, count in session.execute(
        select(BodycamAnomaly.device_id, BodycamAnomaly.kind, func.count())
        .where(BodycamAnomaly.device_id.in_(ids))
        .group_by(BodycamAnomaly.device_id, BodycamAnomaly.kind)
    ):
        anomalies.setdefault(device_id, {})[str(kind)] = int(count)
    statuses = []
    for device, unit in devices:
        last = (
            session.execute(
                select(BodycamDocking)
                .where(BodycamDocking.device_id == device.id)
                .order_by(BodycamDocking.server_time.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )
        by_cause = missing.get(device.id, {})
        statuses.append(
            DeviceStatus(
                serial=device.serial,
                force=device.force,
                unit=unit,
                recordings=int(recordings.get(device.id, 0)),
                missing_open=sum(by_cause.values()),
                missing_resolved=resolved.get(device.id, 0),
                missing_by_cause=by_cause,
                anomalies=anomalies.get(device.id, {}),
                last_docking=DockingSummary(
                    last.id, last.server_time, last.clock_offset_seconds, last.clock_flagged, last.event_count
                )
                if last
                else None,
            )
        )
    return statuses


def dockings(session: Session, serial: str, limit: int = 50) -> list[DockingSummary]:
    rows = session.execute(
        select(BodycamDocking)
        .join(BodycamDevice, BodycamDevice.id == BodycamDocking.device_id)
        .where(BodycamDevice.serial == serial)
        .order_by(BodycamDocking.server_time.desc())
        .limit(limit)
    ).scalars()
    return [
        DockingSummary(row.id, row.server_time, row.clock_offset_seconds, row.clock_flagged, row.event_count)
        for row in rows
    ]


def anomaly_list(session: Session, serial: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    query = (
        select(BodycamAnomaly, BodycamDevice.serial)
        .join(BodycamDevice, BodycamDevice.id == BodycamAnomaly.device_id)
        .order_by(BodycamAnomaly.created_at.desc(), BodycamAnomaly.id.desc())
        .limit(limit)
    )
    if serial is not None:
        query = query.where(BodycamDevice.serial == serial)
    return [
        {
            "device": device_serial,
            "kind": row.kind,
            "detail": row.detail,
            "sequence": row.sequence,
            "docking": row.docking_id,
            "at": iso(row.created_at),
        }
        for row, device_serial in session.execute(query).all()
    ]
