"""Privacy records: the masks of each camera (L251-3) and the redacted derivatives of recordings.

Masks are never deleted, only marked removed (by whom, when): what was hidden on a camera at a given
time is part of the system's accountability. A redaction is a derivative: its own blob, its own
sha256, a pointer to the original recording, which it never modifies (LAW.md B.12).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vigie.catalog.models import Base, new_uid
from vigie.catalog.types import utcnow


class PrivacyMaskRecord(Base):
    """One named polygon of one camera source, normalised to 0..1 so it survives resolution changes."""

    __tablename__ = "privacy_masks"
    __table_args__ = (Index("ix_privacy_mask_source_name", "source_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    polygon: Mapped[list[Any]] = mapped_column()  # [[x, y], ...] normalised
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_by: Mapped[str | None] = mapped_column(String(120), default=None)


class Redaction(Base):
    """A face-redacted (and masked) copy of a recording, awaiting or past human review."""

    __tablename__ = "redactions"
    __table_args__ = (Index("ix_redaction_recording_status", "recording_id", "status"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uid)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    video_key: Mapped[str] = mapped_column(String(200))  # sealed MP4 in the vault (derived/)
    boxes_key: Mapped[str] = mapped_column(String(200))  # sealed JSON: hidden boxes per frame
    sha256: Mapped[str] = mapped_column(String(64))  # of the derivative's plaintext
    size: Mapped[int] = mapped_column(BigInteger)
    parent_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # whole original, when known
    detector: Mapped[str] = mapped_column(String(40))
    detector_version: Mapped[str] = mapped_column(String(120))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    masks: Mapped[list[Any]] = mapped_column(default=list)  # names of the privacy masks burnt in
    frames: Mapped[int] = mapped_column(Integer)
    faces_found: Mapped[int] = mapped_column(Integer)
    frames_with_faces: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending-review")  # | approved | rejected
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_reason: Mapped[str | None] = mapped_column(Text, default=None)
