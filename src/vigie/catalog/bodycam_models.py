"""Body-worn cameras: devices, officers and assignments, dock credentials, offloads, GPS tracks,
device event logs, and what completeness reconciliation found missing.

A device *is* a vault source of kind ``bodycam`` (its retention profile follows its force). The
footage itself is a vault :class:`~vigie.catalog.models.Recording`; :class:`BodycamRecording` adds
what the device said about it (sequence number, officer, trigger, its own sha256) and is unique per
(device, sequence): the same recording is never accepted twice.

The place-and-time index is not an ORM table: it is an SQLite R*Tree virtual table, or on
PostgreSQL a PostGIS n-D box column or plain integer boxes (see ``vigie.ingest.bodycam.spatial``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vigie.catalog.models import Base
from vigie.catalog.types import utcnow


class BodycamDevice(Base):
    __tablename__ = "bodycam_devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), unique=True)
    serial: Mapped[str] = mapped_column(String(80), unique=True)
    force: Mapped[str] = mapped_column(String(20))  # police | gendarmerie | municipal | firefighters | prison
    model: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class BodycamOfficer(Base):
    """A person who wears cameras, named by matricule (R241-2 2°). Not an account: officers need none to record."""

    __tablename__ = "bodycam_officers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matricule: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    unit: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BodycamAssignment(Base):
    """Who carried which device when: devices are pooled and handed out per shift."""

    __tablename__ = "bodycam_assignments"
    __table_args__ = (Index("ix_bodycam_assignment_device_start", "device_id", "start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("bodycam_officers.id"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime | None] = mapped_column(default=None)  # None: still carried
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BodycamDock(Base):
    """A docking station's credential. Only the SHA-256 of its token is kept; docks can upload, nothing else."""

    __tablename__ = "bodycam_docks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class BodycamDocking(Base):
    """One device docked once: the clock check at docking, and the event log it handed in."""

    __tablename__ = "bodycam_dockings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"), index=True)
    dock_id: Mapped[int] = mapped_column(ForeignKey("bodycam_docks.id"))
    server_time: Mapped[datetime]
    device_time: Mapped[datetime]
    clock_offset_seconds: Mapped[float] = mapped_column(Float)  # device clock minus server clock
    clock_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    battery_percent: Mapped[float | None] = mapped_column(Float, default=None)
    events_received_at: Mapped[datetime | None] = mapped_column(default=None)
    event_count: Mapped[int] = mapped_column(Integer, default=0)


class BodycamUpload(Base):
    """A tus upload in progress or finished. The spooled bytes are encrypted under ``key_sealed``."""

    __tablename__ = "bodycam_uploads"
    __table_args__ = (Index("ix_bodycam_upload_device_sequence", "device_id", "sequence"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dock_id: Mapped[int] = mapped_column(ForeignKey("bodycam_docks.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"))
    docking_id: Mapped[str | None] = mapped_column(ForeignKey("bodycam_dockings.id"), default=None)
    sequence: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    key_sealed: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="receiving")  # receiving | accepted | refused | aborted
    refusal: Mapped[str | None] = mapped_column(String(40), default=None)  # hash-mismatch | duplicate | not-media…
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class BodycamRecording(Base):
    """What the device said about one of its recordings. Unique per (device, sequence): accepted once."""

    __tablename__ = "bodycam_recordings"
    __table_args__ = (UniqueConstraint("device_id", "sequence", name="uq_bodycam_recording_device_sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    # Null while the vault import runs: the row is the claim that makes a concurrent duplicate fail.
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), unique=True, default=None)
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("bodycam_uploads.id"), default=None)
    docking_id: Mapped[str | None] = mapped_column(ForeignKey("bodycam_dockings.id"), default=None)
    officer_matricule: Mapped[str] = mapped_column(String(40), index=True)
    trigger: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime]  # device clock, as the device wrote it
    end: Mapped[datetime]
    device_sha256: Mapped[str] = mapped_column(String(64))
    clock_offset_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    track_id: Mapped[int | None] = mapped_column(ForeignKey("bodycam_tracks.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BodycamTrack(Base):
    """The GPS track a device wrote beside one recording (GPX or NMEA), as clean points.

    ``samples`` holds the points in time order as float64 rows (unix seconds, lat, lon, accuracy m or
    NaN; see ``vigie.ingest.bodycam.samples``); points that were malformed or out of range are
    dropped and counted, never guessed.
    """

    __tablename__ = "bodycam_tracks"
    __table_args__ = (UniqueConstraint("device_id", "sequence", name="uq_bodycam_track_device_sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(8))  # gpx | nmea
    file_name: Mapped[str | None] = mapped_column(String(200), default=None)
    file_sha256: Mapped[str] = mapped_column(String(64))
    samples: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    point_count: Mapped[int] = mapped_column(Integer, default=0)
    dropped_count: Mapped[int] = mapped_column(Integer, default=0)
    anomalies: Mapped[list[Any]] = mapped_column(default=list)
    start: Mapped[datetime | None] = mapped_column(default=None)
    end: Mapped[datetime | None] = mapped_column(default=None)
    docking_id: Mapped[str | None] = mapped_column(ForeignKey("bodycam_dockings.id"), default=None)
    indexed: Mapped[bool] = mapped_column(Boolean, default=False)  # in the place-and-time index (once accepted)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class BodycamEvent(Base):
    """One line of a device's event log (device clock). Re-sent lines are stored once (``line_hash``)."""

    __tablename__ = "bodycam_events"
    __table_args__ = (
        UniqueConstraint("device_id", "line_hash", name="uq_bodycam_event_line"),
        Index("ix_bodycam_event_device_sequence", "device_id", "sequence"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"))
    docking_id: Mapped[str] = mapped_column(ForeignKey("bodycam_dockings.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    line_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int | None] = mapped_column(BigInteger, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BodycamMissing(Base):
    """Footage the device's own log says exists and Vigie does not hold (LAW.md B.13).

    Also written as a catalog :class:`~vigie.catalog.models.Gap` of the device's source. An item
    found later (a late upload) is resolved, never deleted: that it was missing for a while is a fact.
    """

    __tablename__ = "bodycam_missing"
    __table_args__ = (Index("ix_bodycam_missing_device_sequence", "device_id", "sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    cause: Mapped[str] = mapped_column(String(40))  # missing-sequence | not-uploaded | hash-mismatch
    start: Mapped[datetime | None] = mapped_column(default=None)
    end: Mapped[datetime | None] = mapped_column(default=None)
    officer_matricule: Mapped[str | None] = mapped_column(String(40), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("gaps.id"), default=None)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str | None] = mapped_column(String(200), default=None)


class BodycamAnomaly(Base):
    """Something a device or dock handed in that contradicts itself or the rules: recorded and counted, not fatal."""

    __tablename__ = "bodycam_anomalies"
    __table_args__ = (UniqueConstraint("device_id", "fingerprint", name="uq_bodycam_anomaly_fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bodycam_devices.id"), index=True)
    docking_id: Mapped[str | None] = mapped_column(ForeignKey("bodycam_dockings.id"), default=None)
    sequence: Mapped[int | None] = mapped_column(BigInteger, default=None)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))  # the same finding reported twice is stored once
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Tables made by raw SQL in the migration (an SQLite R*Tree and its shadow tables; PostGIS's own
# table): autogenerate must leave them alone instead of proposing to drop them.
UNMANAGED_TABLE_PREFIXES = ("bodycam_track_boxes", "spatial_ref_sys")


def include_in_autogenerate(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(UNMANAGED_TABLE_PREFIXES))
