"""What an installer sets for one camera's live analytics: its zones, and a few tuning values.

One row per camera source, created on first change. Zones are kept as the JSON document the
analytics package reads (``vigie.analytics.zones.parse_setup``), in the pixels of the picture they
were drawn on (``frame_width`` x ``frame_height``): the live worker rescales them to whatever
stream it analyses, so a zone drawn on the main stream's snapshot still fits the substream.

Switching analytics *on* is not here: that is a legal basis (``legal_bases``), never a setting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vigie.catalog.models import Base
from vigie.catalog.types import utcnow


class CameraAnalyticsSettings(Base):
    __tablename__ = "camera_analytics_settings"
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    zones: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"zones": [...], "person_height": ...}
    frame_width: Mapped[int | None] = mapped_column(Integer, default=None)  # the picture the zones were drawn on
    frame_height: Mapped[int | None] = mapped_column(Integer, default=None)
    abandoned_after: Mapped[float | None] = mapped_column(Float, default=None)  # seconds; None: analytics default
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change: the worker reloads
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
