"""Fixed cameras: the registry (how to reach a camera, where it looks, under which authorisation)
and its live health.

A camera *is* a vault source of kind ``camera``: its name, unit, retention and enabled flag live on
the :class:`~vigie.catalog.models.Source` row the vault and the purge already read, so there is
one truth for them. This table adds what only a fixed camera has. Cameras are never deleted:
"removed" hides a camera and stops its recording, its footage stays under normal retention.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.catalog.models import Base, Source
from vigie.catalog.types import utcnow


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), unique=True)
    main_url: Mapped[str] = mapped_column(Text)  # RTSP main stream (HD), recorded; never holds credentials
    sub_url: Mapped[str | None] = mapped_column(Text, default=None)  # low-resolution substream: analytics, mosaics
    # "user:password" of the camera, sealed under the installation key: a copy of the catalog alone
    # does not hand out the keys to 220 cameras.
    credentials_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)  # WGS 84 degrees
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    heading: Mapped[float | None] = mapped_column(Float, default=None)  # degrees clockwise from north
    authorisation: Mapped[str | None] = mapped_column(String(120), default=None)  # prefect's arrêté (L252-1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)

    source: Mapped[Source] = relationship()


class CameraHealth(Base):
    """One row per camera, rewritten every few seconds by the recorder that holds the camera.

    ``recorder_id`` and ``heartbeat_at`` form a lease: a second recorder leaves a camera alone while
    the holder keeps renewing, and takes it over (recovering its interrupted recording) once the
    heartbeat is older than the lease.
    """

    __tablename__ = "camera_health"
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="unknown")  # online | connecting | offline | stopped
    cause: Mapped[str | None] = mapped_column(String(60), default=None)  # gap cause while not online
    detail: Mapped[str | None] = mapped_column(Text, default=None)  # last error, one line
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    fps: Mapped[float | None] = mapped_column(Float, default=None)  # measured over the last seconds
    bitrate: Mapped[float | None] = mapped_column(Float, default=None)  # bits per second, measured
    codec: Mapped[str | None] = mapped_column(String(16), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    last_keyframe_at: Mapped[datetime | None] = mapped_column(default=None)
    last_packet_at: Mapped[datetime | None] = mapped_column(default=None)
    recorder_id: Mapped[str | None] = mapped_column(String(120), default=None)  # host:pid holding the lease
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
