"""Cases: an investigation reference that gathers evidence items and keeps them under legal hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vigie.catalog.models import Base
from vigie.catalog.types import utcnow


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(120), unique=True)  # procedure number, e.g. PV 2026/001234
    title: Mapped[str | None] = mapped_column(Text, default=None)
    unit: Mapped[str | None] = mapped_column(String(120), default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    opened_by: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class CaseItem(Base):
    """A body-cam recording, or a span of a fixed camera, held as evidence in a case."""

    __tablename__ = "case_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), default=None)
    span_start: Mapped[datetime]
    span_end: Mapped[datetime]
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"), default=None)
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
