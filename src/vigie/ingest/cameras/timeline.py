"""A camera's timeline: what was recorded (runs of segments) and what was not (gaps, with a cause).

The JSON form is a contract (``vigie timeline --json``, the web API)::

    {"segments": [{"start", "end", "recording", "segments"}, ...], "gaps": [{"start", "end", "cause"}, ...]}

Times are ISO 8601 UTC with ``Z``. Consecutive segments of one recording that meet (within
``MERGE_TOLERANCE``) are merged into one entry, which keeps a month of 4-second segments small.
A gap still open (the camera is down now) ends "now". Purged footage is neither recorded nor a
gap: it is simply gone by law, and accounted for by its signed tombstones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from vigie.catalog.db import Catalog
from vigie.catalog.models import Gap, Segment, Source
from vigie.catalog.types import iso, utcnow
from vigie.ingest.cameras.registry import UnknownCamera

MERGE_TOLERANCE = timedelta(milliseconds=500)


@dataclass(frozen=True)
class RecordedRun:
    start: datetime
    end: datetime
    recording_id: str
    segments: int


@dataclass(frozen=True)
class TimelineGap:
    start: datetime
    end: datetime | None  # None: still open
    cause: str


@dataclass(frozen=True)
class Timeline:
    camera: str
    runs: list[RecordedRun]
    gaps: list[TimelineGap]
    generated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "segments": [
                {"start": iso(run.start), "end": iso(run.end), "recording": run.recording_id, "segments": run.segments}
                for run in self.runs
            ],
            "gaps": [
                {"start": iso(gap.start), "end": iso(gap.end or self.generated_at), "cause": gap.cause}
                for gap in self.gaps
            ],
        }

    def recorded_seconds(self) -> float:
        return sum((run.end - run.start).total_seconds() for run in self.runs)

    def gap_seconds(self) -> float:
        return sum(((gap.end or self.generated_at) - gap.start).total_seconds() for gap in self.gaps)


def camera_timeline(
    catalog: Catalog, camera: str, start: datetime | None = None, end: datetime | None = None
) -> Timeline:
    """Runs and gaps of ``camera`` overlapping [start, end) (unbounded sides when None)."""
    if start is not None and end is not None and end <= start:
        raise ValueError("the timeline's end must come after its start")
    now = utcnow()
    with catalog.session() as session:
        source = session.execute(select(Source).where(Source.name == camera)).scalar_one_or_none()
        if source is None:
            raise UnknownCamera(f"unknown camera {camera!r}")
        segment_query = (
            select(Segment.start, Segment.end, Segment.recording_id)
            .where(Segment.source_id == source.id, Segment.purged_at.is_(None))
            .order_by(Segment.start, Segment.seq)
        )
        gap_query = select(Gap).where(Gap.source_id == source.id).order_by(Gap.start, Gap.id)
        if start is not None:
            segment_query = segment_query.where(Segment.end > start)
            gap_query = gap_query.where(or_(Gap.end.is_(None), Gap.end > start))
        if end is not None:
            segment_query = segment_query.where(Segment.start < end)
            gap_query = gap_query.where(Gap.start < end)
        rows = session.execute(segment_query).all()
        gap_rows = list(session.execute(gap_query).scalars())
    runs: list[RecordedRun] = []
    for segment_start, segment_end, recording_id in rows:
        last = runs[-1] if runs else None
        if last is not None and last.recording_id == recording_id and abs(segment_start - last.end) <= MERGE_TOLERANCE:
            runs[-1] = RecordedRun(last.start, max(last.end, segment_end), recording_id, last.segments + 1)
        else:
            runs.append(RecordedRun(segment_start, segment_end, recording_id, 1))
    gaps = [TimelineGap(gap.start, gap.end, gap.cause) for gap in gap_rows if gap.end is None or gap.end > gap.start]
    return Timeline(camera=camera, runs=runs, gaps=gaps, generated_at=now)
