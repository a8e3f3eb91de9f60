"""A device docked: its clock checked against the server's, its GPS tracks and its event log taken in.

The clock check is the first thing a dock does (LAW.md A.4): the dock reads the device clock and
sends it; the server compares with its own time on arrival. Network delay on a dock's LAN is
milliseconds, two orders below the threshold (2 s by default), so it is not corrected for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vigie.catalog.bodycam_models import BodycamDevice, BodycamDocking, BodycamEvent, BodycamTrack
from vigie.catalog.models import new_uid
from vigie.catalog.types import utcnow
from vigie.ingest.bodycam import samples
from vigie.ingest.bodycam.anomalies import record_anomaly
from vigie.ingest.bodycam.completeness import ReconcileResult, reconcile_device
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.eventlog import parse_event_log
from vigie.ingest.bodycam.gps import TrackFormat, guess_format, parse_track
from vigie.ingest.bodycam.refusals import BodycamRefusal
from vigie.ingest.bodycam.registry import DockPrincipal


@dataclass(frozen=True)
class DockingReceipt:
    id: str
    device: str
    server_time: datetime
    device_time: datetime
    clock_offset_seconds: float
    clock_flagged: bool


@dataclass(frozen=True)
class TrackReceipt:
    device: str
    sequence: int
    format: str
    points: int
    dropped: int
    anomalies: list[str]
    unchanged: bool = False  # the very same file was received before


@dataclass
class EventLogReceipt:
    device: str
    lines: int
    stored: int
    duplicates: int
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    missing_open: int = 0
    opened: int = 0
    resolved: int = 0


def _device_row(context: BodycamContext, serial: str) -> BodycamDevice:
    with context.catalog.session() as session:
        device = session.execute(select(BodycamDevice).where(BodycamDevice.serial == serial)).scalar_one_or_none()
    if device is None:
        raise BodycamRefusal(422, "unknown_device", f"device {serial!r} is not registered")
    return device


def _docking(context: BodycamContext, dock: DockPrincipal, docking_id: str) -> tuple[BodycamDocking, BodycamDevice]:
    with context.catalog.session() as session:
        docking = session.get(BodycamDocking, docking_id)
        if docking is None or docking.dock_id != dock.id:
            raise BodycamRefusal(404, "unknown_docking", f"no docking {docking_id!r} from this dock")
        device = session.get(BodycamDevice, docking.device_id)
        assert device is not None
        return docking, device


def open_docking(
    context: BodycamContext, dock: DockPrincipal, serial: str, device_time: datetime, battery: float | None = None
) -> DockingReceipt:
    device = _device_row(context, serial)
    server_time = utcnow()
    offset = (device_time - server_time).total_seconds()
    flagged = abs(offset) > context.settings.bodycam.clock_offset_threshold_seconds
    docking = BodycamDocking(
        id=new_uid(),
        device_id=device.id,
        dock_id=dock.id,
        server_time=server_time,
        device_time=device_time,
        clock_offset_seconds=round(offset, 3),
        clock_flagged=flagged,
        battery_percent=battery,
    )
    with context.catalog.session() as session:
        session.add(docking)
        session.flush()
        if flagged:
            record_anomaly(
                session,
                device.id,
                "clock-offset",
                f"device clock {offset:+.3f} s from server time at docking "
                f"(threshold {context.settings.bodycam.clock_offset_threshold_seconds} s)",
                docking_id=docking.id,
                data={"offset_seconds": round(offset, 3), "docking": docking.id},
            )
    return DockingReceipt(docking.id, serial, server_time, device_time, docking.clock_offset_seconds, flagged)


def receive_track(
    context: BodycamContext,
    dock: DockPrincipal,
    docking_id: str,
    sequence: int,
    data: bytes,
    *,
    file_name: str | None = None,
    track_format: str | None = None,
) -> TrackReceipt:
    """Store the GPS track of one recording (before its video: a recording without location is refused)."""
    if len(data) > context.settings.bodycam.max_track_bytes:
        raise BodycamRefusal(413, "too_large", "the track file is larger than bodycam.max_track_bytes")
    if sequence < 0:
        raise BodycamRefusal(400, "bad_sequence", "sequence numbers are non-negative integers")
    docking, device = _docking(context, dock, docking_id)
    try:
        chosen = TrackFormat(track_format) if track_format else guess_format(file_name, data)
    except ValueError:
        raise BodycamRefusal(400, "bad_track_format", "track format must be gpx or nmea") from None
    digest = hashlib.sha256(data).hexdigest()
    parsed = parse_track(data, chosen)
    rows = samples.pack(parsed.points)
    count = len(parsed.points)
    with context.catalog.session() as session:
        existing = session.execute(
            select(BodycamTrack).where(BodycamTrack.device_id == device.id, BodycamTrack.sequence == sequence)
        ).scalar_one_or_none()
        if existing is not None and existing.file_sha256 == digest:
            return TrackReceipt(
                device.serial,
                sequence,
                existing.format,
                existing.point_count,
                existing.dropped_count,
                list(existing.anomalies),
                unchanged=True,
            )
        if existing is not None and existing.indexed:
            raise BodycamRefusal(
                409, "track_locked", f"the track of sequence {sequence} belongs to an accepted recording already"
            )
        track = existing or BodycamTrack(device_id=device.id, sequence=sequence)
        track.format = chosen.value
        track.file_name = (file_name or "")[:200] or None
        track.file_sha256 = digest
        track.samples = rows
        track.point_count = count
        track.dropped_count = parsed.dropped
        track.anomalies = list(parsed.anomalies)
        track.start = datetime.fromtimestamp(parsed.points[0].t, tz=UTC) if parsed.points else None
        track.end = datetime.fromtimestamp(parsed.points[-1].t, tz=UTC) if parsed.points else None
        track.docking_id = docking.id
        track.uploaded_at = utcnow()
        if existing is None:
            try:
                with session.begin_nested():
                    session.add(track)
            except IntegrityError:
                raise BodycamRefusal(409, "conflict", "the same track is being uploaded concurrently") from None
        if parsed.dropped or parsed.anomalies:
            record_anomaly(
                session,
                device.id,
                "gps-points-dropped" if parsed.dropped else "gps-file-damaged",
                f"track of sequence {sequence}: {parsed.dropped} point(s) dropped; " + "; ".join(parsed.anomalies),
                sequence=sequence,
                docking_id=docking.id,
                data={"dropped": parsed.dropped, "kept": count, "file_sha256": digest},
            )
        if not count:
            record_anomaly(
                session,
                device.id,
                "gps-no-fix",
                f"track of sequence {sequence} holds no usable point",
                sequence=sequence,
                docking_id=docking.id,
                data={"file_sha256": digest},
            )
    return TrackReceipt(device.serial, sequence, chosen.value, count, parsed.dropped, list(parsed.anomalies))


def receive_event_log(context: BodycamContext, dock: DockPrincipal, docking_id: str, data: bytes) -> EventLogReceipt:
    """Store a device's event log (lines already received are skipped) and reconcile the device."""
    if len(data) > context.settings.bodycam.max_event_log_bytes:
        raise BodycamRefusal(413, "too_large", "the event log is larger than bodycam.max_event_log_bytes")
    docking, device = _docking(context, dock, docking_id)
    parsed = parse_event_log(data.decode("utf-8", errors="replace"))
    receipt = EventLogReceipt(device=device.serial, lines=parsed.lines, stored=0, duplicates=0)
    with context.catalog.session() as session:
        known_hashes = set(
            session.execute(select(BodycamEvent.line_hash).where(BodycamEvent.device_id == device.id)).scalars()
        )
        stored_starts: dict[int, datetime] = {
            seq: at
            for seq, at in session.execute(
                select(BodycamEvent.sequence, BodycamEvent.at).where(
                    BodycamEvent.device_id == device.id,
                    BodycamEvent.kind == "record-start",
                    BodycamEvent.sequence.is_not(None),
                )
            )
            if seq is not None
        }
        new_events = []
        for event in parsed.events:
            if event.line_hash in known_hashes:
                receipt.duplicates += 1
                continue
            known_hashes.add(event.line_hash)
            if event.kind == "record-start" and event.sequence is not None:
                earlier = stored_starts.get(event.sequence)
                if earlier is not None and earlier != event.at:
                    record_anomaly(
                        session,
                        device.id,
                        "log-duplicate-sequence",
                        f"sequence {event.sequence} started at {earlier.isoformat()} in an earlier log and at "
                        f"{event.at.isoformat()} in this one",
                        sequence=event.sequence,
                        docking_id=docking.id,
                    )
                    receipt.anomalies.append({"kind": "log-duplicate-sequence", "sequence": event.sequence})
                stored_starts.setdefault(event.sequence, event.at)
            new_events.append(
                BodycamEvent(
                    device_id=device.id,
                    docking_id=docking.id,
                    line_no=event.line_no,
                    line_hash=event.line_hash,
                    at=event.at,
                    kind=event.kind,
                    sequence=event.sequence,
                    data=event.data,
                )
            )
        session.add_all(new_events)
        receipt.stored = len(new_events)
        for anomaly in parsed.anomalies:
            record_anomaly(
                session,
                device.id,
                anomaly.kind,
                anomaly.detail,
                sequence=anomaly.sequence,
                docking_id=docking.id,
                data={"line": anomaly.line_no} if anomaly.line_no is not None else {},
            )
            receipt.anomalies.append({"kind": anomaly.kind, "detail": anomaly.detail, "sequence": anomaly.sequence})
        stored_docking = session.get(BodycamDocking, docking.id)
        assert stored_docking is not None
        stored_docking.events_received_at = utcnow()
        stored_docking.event_count += receipt.stored
        session.flush()
        result: ReconcileResult = reconcile_device(session, device)
    receipt.missing_open, receipt.opened, receipt.resolved = result.open_items, result.opened, result.resolved
    return receipt
