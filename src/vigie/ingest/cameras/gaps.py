"""Gap rows, and recovery of what a dead recorder left behind.

A gap is opened the moment recording stops unexpectedly (so a crash right after still leaves it
on record) and closed at the start of the first segment stored after it, so segments and gaps
tile a camera's timeline without overlap.

Recovery runs when a recorder takes a camera over. Recordings still marked ``recording`` were
cut by a crash: their stored segments are already chained, so they are sealed as
``interrupted``; what the dead recorder held in memory, and the downtime after it, become one
``recorder-down`` gap. Blobs written but never chained (the crash fell between the two) are
removed, so ``vigie verify`` finds no orphan.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from vigie.catalog.db import Catalog
from vigie.catalog.models import Gap, Recording, Segment, Source
from vigie.ingest.cameras.failures import GapCause
from vigie.vault.blobstore import LocalBlobStore
from vigie.vault.store import Vault

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
RECORDER_CAUSES = {GapCause.RECORDER_DOWN.value, GapCause.RECORDER_STOPPED.value}


def open_gap(
    catalog: Catalog,
    source_id: int,
    start: datetime,
    cause: GapCause,
    *,
    recording_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """A gap still going on: its end is written when recording resumes."""
    return _insert_gap(catalog, source_id, start, None, cause, recording_id, details)


def add_closed_gap(
    catalog: Catalog,
    source_id: int,
    start: datetime,
    end: datetime,
    cause: GapCause,
    *,
    recording_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """A gap already over when it is found (e.g. a lost segment, recovery after a crash)."""
    return _insert_gap(catalog, source_id, start, end, cause, recording_id, details)


def _insert_gap(
    catalog: Catalog,
    source_id: int,
    start: datetime,
    end: datetime | None,
    cause: GapCause,
    recording_id: str | None,
    details: dict[str, Any] | None,
) -> int:
    with catalog.session() as session:
        gap = Gap(
            source_id=source_id,
            recording_id=recording_id,
            start=start,
            end=end,
            cause=cause.value,
            details=details or {},
        )
        session.add(gap)
        session.flush()
        return gap.id


def update_details(catalog: Catalog, gap_id: int, details: dict[str, Any]) -> None:
    with catalog.session() as session:
        gap = session.get(Gap, gap_id)
        if gap is not None:
            gap.details = {**gap.details, **details}


def close_open_gaps(catalog: Catalog, source_id: int, end: datetime) -> int:
    """Close every open gap of a source at ``end`` (never before a gap's own start)."""
    with catalog.session() as session:
        gaps = list(session.execute(select(Gap).where(Gap.source_id == source_id, Gap.end.is_(None))).scalars())
        for gap in gaps:
            gap.end = max(end, gap.start)
        return len(gaps)


def open_gaps(catalog: Catalog, source_id: int) -> list[Gap]:
    with catalog.session() as session:
        return list(
            session.execute(
                select(Gap).where(Gap.source_id == source_id, Gap.end.is_(None)).order_by(Gap.start)
            ).scalars()
        )


def coverage_end(catalog: Catalog, source_id: int) -> datetime | None:
    """Up to when the source's timeline is accounted for (by stored segments or closed gaps)."""
    with catalog.session() as session:
        segment_end = session.execute(select(func.max(Segment.end)).where(Segment.source_id == source_id)).scalar()
        gap_end = session.execute(select(func.max(Gap.end)).where(Gap.source_id == source_id)).scalar()
    ends = [moment for moment in (segment_end, gap_end) if moment is not None]
    return max(ends) if ends else None


@dataclass
class RecoveryReport:
    interrupted: list[str] = field(default_factory=list)  # recording ids sealed as interrupted
    gap_id: int | None = None  # the recorder-down gap opened, if any
    swept_blobs: int = 0


def recover_source(
    vault: Vault, source: Source, *, previous_heartbeat: datetime | None, previous_holder_died: bool
) -> RecoveryReport:
    """Seal what a dead recorder left open and account for its downtime (see the module docstring).

    ``previous_holder_died``: the camera's lease was still held by a recorder that stopped renewing it.
    ``previous_heartbeat``: that recorder's last sign of life, where its own open gaps stop being true.
    """
    report = RecoveryReport()
    catalog = vault.catalog
    with catalog.session() as session:
        interrupted = list(
            session.execute(
                select(Recording)
                .where(Recording.source_id == source.id, Recording.status == "recording")
                .order_by(Recording.start)
            ).scalars()
        )
    for recording in interrupted:
        report.swept_blobs += _sweep_unchained_blobs(vault, source, recording)
        vault.finish(
            source,
            recording,
            status=INTERRUPTED,
            anomalies=[
                "interrupted: the recorder stopped without closing this recording; "
                "footage after its last stored segment was lost"
            ],
        )
        report.interrupted.append(recording.id)
    if not (previous_holder_died or interrupted):
        return report
    still_open = open_gaps(catalog, source.id)
    if previous_heartbeat is not None:
        # The dead recorder's own gaps (camera offline...) were true until it died; from then on,
        # nobody was watching the camera at all.
        for gap in still_open:
            if gap.cause not in RECORDER_CAUSES:
                with catalog.session() as session:
                    session.execute(update(Gap).where(Gap.id == gap.id).values(end=max(gap.start, previous_heartbeat)))
        still_open = open_gaps(catalog, source.id)
    if still_open:
        return report
    start = coverage_end(catalog, source.id) or previous_heartbeat
    if start is None:
        return report
    report.gap_id = open_gap(
        catalog,
        source.id,
        start,
        GapCause.RECORDER_DOWN,
        recording_id=interrupted[-1].id if interrupted else None,
        details={
            "detail": "the recorder stopped without closing its recording (crash, kill, power loss)",
            "interrupted_recordings": report.interrupted,
        },
    )
    log.warning(
        "camera %s: recovered from a dead recorder: %d recording(s) sealed as interrupted, gap from %s",
        source.name,
        len(interrupted),
        start.isoformat(),
    )
    return report


def _sweep_unchained_blobs(vault: Vault, source: Source, recording: Recording) -> int:
    """Delete blobs of a crashed recording that were stored but never chained into the catalog.

    Only the local store lays keys out as directories; other stores are swept by ``vigie verify``'s
    orphan report (their listing is too costly to walk here).
    """
    if not isinstance(vault.blobs, LocalBlobStore):
        return 0
    folder = vault.blobs.root / source.uid / recording.id
    if not folder.is_dir():
        return 0
    with vault.catalog.session() as session:
        chained = set(session.execute(select(Segment.blob_key).where(Segment.recording_id == recording.id)).scalars())
    removed = 0
    for path in folder.iterdir():
        key = f"{source.uid}/{recording.id}/{path.name}"
        if path.name.startswith(".") or key not in chained:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed
