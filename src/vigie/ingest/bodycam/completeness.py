"""Provable completeness: what a device's own log says it recorded, against what Vigie holds.

Recording is not permanent (L241-1), so "the camera was off" is not a gap; "the camera says it
recorded and the file is not here" is. Three causes (LAW.md B.13):

* ``not-uploaded``: a record-start in the log, no accepted file for its sequence number;
* ``hash-mismatch``: a file came but its bytes are not what the device hashed (refused at upload,
  or accepted while the log's record-stop names another sha256);
* ``missing-sequence``: a sequence number that nothing mentions, neither log nor upload, between
  numbers that are known: the device's numbering proves something existed.

Reconciliation recomputes the device's whole picture and moves the stored items to it: new items
are opened (with a catalog ``Gap`` on the device's source), items that came right (a late upload)
are resolved, never deleted. Running it twice changes nothing.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.catalog.bodycam_models import (
    BodycamAssignment,
    BodycamDevice,
    BodycamEvent,
    BodycamMissing,
    BodycamOfficer,
    BodycamRecording,
    BodycamUpload,
)
from vigie.catalog.models import Gap
from vigie.catalog.types import iso, utcnow

NOT_UPLOADED = "not-uploaded"
HASH_MISMATCH = "hash-mismatch"
MISSING_SEQUENCE = "missing-sequence"
CAUSES = (MISSING_SEQUENCE, NOT_UPLOADED, HASH_MISMATCH)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class MissingItem:
    """One piece of missing footage, as supervisors, auditors and scripts see it."""

    device: str
    sequence: int
    cause: str
    start: datetime | None
    end: datetime | None
    officer: str | None
    detected_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "sequence": self.sequence,
            "cause": self.cause,
            "start": iso(self.start) if self.start else None,
            "end": iso(self.end) if self.end else None,
            "officer": self.officer,
            "detected_at": iso(self.detected_at),
            "resolved_at": iso(self.resolved_at) if self.resolved_at else None,
            "resolution": self.resolution,
            "details": self.details,
        }


@dataclass(frozen=True)
class _Finding:
    cause: str
    start: datetime | None
    end: datetime | None
    officer: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ReconcileResult:
    opened: int
    resolved: int
    open_items: int


def _officer_at(session: Session, device_id: int, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    value = session.execute(
        select(BodycamOfficer.matricule)
        .join(BodycamAssignment, BodycamAssignment.officer_id == BodycamOfficer.id)
        .where(BodycamAssignment.device_id == device_id, BodycamAssignment.start <= moment)
        .where((BodycamAssignment.end.is_(None)) | (BodycamAssignment.end > moment))
        .order_by(BodycamAssignment.start.desc())
        .limit(1)
    ).scalar_one_or_none()
    return str(value) if value else None


def _findings(session: Session, device: BodycamDevice) -> dict[int, _Finding]:
    events = session.execute(
        select(BodycamEvent)
        .where(BodycamEvent.device_id == device.id, BodycamEvent.kind.in_(("record-start", "record-stop")))
        .where(BodycamEvent.sequence.is_not(None))
        .order_by(BodycamEvent.at, BodycamEvent.id)
    ).scalars()
    starts: dict[int, BodycamEvent] = {}
    stops: dict[int, BodycamEvent] = {}
    for event in events:
        assert event.sequence is not None
        (starts if event.kind == "record-start" else stops).setdefault(event.sequence, event)
    recordings = {
        row.sequence: row
        for row in session.execute(select(BodycamRecording).where(BodycamRecording.device_id == device.id)).scalars()
    }
    accepted = {seq: row for seq, row in recordings.items() if row.recording_id is not None}
    importing = {seq for seq, row in recordings.items() if row.recording_id is None}
    mismatched: dict[int, BodycamUpload] = {
        upload.sequence: upload
        for upload in session.execute(
            select(BodycamUpload).where(
                BodycamUpload.device_id == device.id,
                BodycamUpload.state == "refused",
                BodycamUpload.refusal == HASH_MISMATCH,
            )
        ).scalars()
    }
    findings: dict[int, _Finding] = {}
    for seq, start in starts.items():
        stop = stops.get(seq)
        end = stop.at if stop is not None else None
        officer = start.data.get("officer") if isinstance(start.data.get("officer"), str) else None
        officer = officer or _officer_at(session, device.id, start.at)
        recording = accepted.get(seq)
        if recording is not None:
            claimed = stop.data.get("sha256") if stop is not None else None
            if isinstance(claimed, str) and _SHA256.match(claimed) and claimed.lower() != recording.device_sha256:
                findings[seq] = _Finding(
                    HASH_MISMATCH,
                    start.at,
                    end,
                    officer,
                    {
                        "log_sha256": claimed.lower(),
                        "uploaded_sha256": recording.device_sha256,
                        "recording_id": recording.recording_id,
                    },
                )
            continue
        if seq in importing:
            continue  # an import is running right now: neither missing nor held yet
        refused = mismatched.get(seq)
        if refused is not None:
            findings[seq] = _Finding(
                HASH_MISMATCH,
                start.at,
                end,
                officer,
                {"upload_id": refused.id, "detail": refused.detail or "file differs from the device's sha256"},
            )
        else:
            findings[seq] = _Finding(NOT_UPLOADED, start.at, end, officer, {})
    known = set(starts) | set(stops) | set(recordings)
    if known:
        ordered = sorted(known)
        for low, high in itertools.pairwise(ordered):
            if high - low <= 1:
                continue
            before = stops.get(low) or starts.get(low)
            after = starts.get(high) or stops.get(high)
            begin = before.at if before else (recordings[low].end if low in recordings else None)
            finish = after.at if after else (recordings[high].start if high in recordings else None)
            for seq in range(low + 1, high):
                findings[seq] = _Finding(
                    MISSING_SEQUENCE,
                    begin,
                    finish,
                    _officer_at(session, device.id, begin),
                    {"between": [low, high]},
                )
    return findings


def reconcile_device(session: Session, device: BodycamDevice) -> ReconcileResult:
    """Bring the device's stored missing items (and their gaps) in line with what its log and uploads say."""
    findings = _findings(session, device)
    now = utcnow()
    open_items = list(
        session.execute(
            select(BodycamMissing).where(BodycamMissing.device_id == device.id, BodycamMissing.resolved_at.is_(None))
        ).scalars()
    )
    opened = resolved = 0
    current: dict[int, BodycamMissing] = {}
    for item in open_items:
        finding = findings.get(item.sequence)
        if finding is not None and finding.cause == item.cause and item.sequence not in current:
            current[item.sequence] = item
            continue
        item.resolved_at = now
        item.resolution = (
            f"now {finding.cause}" if finding is not None else "footage received or the log no longer says it exists"
        )
        _resolve_gap(session, item, now)
        resolved += 1
    for seq, finding in sorted(findings.items()):
        if seq in current:
            continue
        gap = Gap(
            source_id=device.source_id,
            start=finding.start or now,
            end=finding.end,
            cause=finding.cause,
            details={"device": device.serial, "sequence": seq, "officer": finding.officer, **finding.details},
        )
        session.add(gap)
        session.flush()
        session.add(
            BodycamMissing(
                device_id=device.id,
                sequence=seq,
                cause=finding.cause,
                start=finding.start,
                end=finding.end,
                officer_matricule=finding.officer,
                details=finding.details,
                gap_id=gap.id,
                detected_at=now,
            )
        )
        opened += 1
    return ReconcileResult(opened, resolved, len(findings))


def _resolve_gap(session: Session, item: BodycamMissing, now: datetime) -> None:
    if item.gap_id is None:
        return
    gap = session.get(Gap, item.gap_id)
    if gap is not None:
        # Gap details are not chained: recording the resolution beside the original finding keeps both.
        gap.details = {**gap.details, "resolved_at": iso(now), "resolution": item.resolution}


def reconcile(session: Session, serial: str | None = None) -> ReconcileResult:
    query = select(BodycamDevice).order_by(BodycamDevice.serial)
    if serial is not None:
        query = query.where(BodycamDevice.serial == serial)
    opened = resolved = total = 0
    for device in list(session.execute(query).scalars()):
        result = reconcile_device(session, device)
        opened, resolved, total = opened + result.opened, resolved + result.resolved, total + result.open_items
    return ReconcileResult(opened, resolved, total)


def missing_items(
    session: Session, *, serial: str | None = None, include_resolved: bool = False, unit: str | None = None
) -> list[MissingItem]:
    from vigie.catalog.models import Source  # local: keeps the module's import list about completeness

    query = (
        select(BodycamMissing, BodycamDevice.serial, Source.unit)
        .join(BodycamDevice, BodycamMissing.device_id == BodycamDevice.id)
        .join(Source, BodycamDevice.source_id == Source.id)
        .order_by(BodycamDevice.serial, BodycamMissing.sequence, BodycamMissing.id)
    )
    if serial is not None:
        query = query.where(BodycamDevice.serial == serial)
    if not include_resolved:
        query = query.where(BodycamMissing.resolved_at.is_(None))
    items = []
    for row, device_serial, source_unit in session.execute(query).all():
        if unit is not None and not _within(unit, source_unit):
            continue
        items.append(
            MissingItem(
                device=str(device_serial),
                sequence=int(row.sequence),
                cause=row.cause,
                start=row.start,
                end=row.end,
                officer=row.officer_matricule,
                detected_at=row.detected_at,
                resolved_at=row.resolved_at,
                resolution=row.resolution,
                details=dict(row.details or {}),
            )
        )
    return items


def _within(user_unit: str, object_unit: str | None) -> bool:
    if object_unit is None:
        return False
    scope, unit = user_unit.strip("/"), object_unit.strip("/")
    return unit == scope or unit.startswith(scope + "/")
