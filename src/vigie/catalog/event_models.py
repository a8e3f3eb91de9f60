"""Analytic events awaiting a human, and the legal basis without which no camera may raise one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vigie.catalog.models import Base, new_uid
from vigie.catalog.types import utcnow


class LegalBasis(Base):
    """The text that allows one event type on one camera, for a time (décret 2023-828, art. 3)."""

    __tablename__ = "legal_bases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    text_reference: Mapped[str] = mapped_column(Text)  # e.g. "loi 2023-380 art. 10; décret 2023-828"
    authorisation: Mapped[str] = mapped_column(String(200))  # e.g. the prefect's arrêté
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(120), default=None)


class Event(Base):
    """A signal from analytics. It decides nothing: an operator confirms or dismisses it."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_event_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uid)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime]
    end: Mapped[datetime | None] = mapped_column(default=None)
    box: Mapped[list[Any] | None] = mapped_column(default=None)  # [x, y, w, h] in the camera's pixels
    score: Mapped[float] = mapped_column(Float)
    snapshot_key: Mapped[str | None] = mapped_column(String(200), default=None)  # sealed JPEG in the vault
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), default=None)
    legal_basis_id: Mapped[int | None] = mapped_column(ForeignKey("legal_bases.id"), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | dismissed
    reviewed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_comment: Mapped[str | None] = mapped_column(Text, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
