"""Recordings: metadata within one's scope, and the footage itself behind a stated reason.

``/media`` streams the plaintext: a body-cam file byte-exact (its sha256 is the device's), a
camera recording as its fMP4 segments joined into one MP4 without re-encoding. ``/download`` is
the same bytes leaving the system: an export, which also needs a procedure number.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.background import BackgroundTask

from vigie.access import policy, scope
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Person
from vigie.catalog.models import Recording, Segment, Source
from vigie.export.extract import extract_recording
from vigie.vault.store import Vault
from vigie.web.security import Access, Target, require, services_of
from vigie.web.services import Services

router = APIRouter(prefix="/api/recordings", tags=["recordings"])

_MEDIA_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
FOOTAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}}, "description": "The footage (written to the register before it is sent)."},
}


class RecordingOut(BaseModel):
    id: str
    source: str
    kind: str
    unit: str | None
    start: datetime
    end: datetime | None
    status: str
    segments: int
    bytes: int
    sha256: str | None = Field(description="Whole-file hash of byte-exact (body-cam) recordings.")
    anomalies: list[Any]

    @classmethod
    def of(cls, recording: Recording, source: Source) -> RecordingOut:
        return cls(
            id=recording.id,
            source=source.name,
            kind=recording.kind,
            unit=source.unit,
            start=recording.start,
            end=recording.end,
            status=recording.status,
            segments=recording.segment_count,
            bytes=recording.size,
            sha256=recording.sha256,
            anomalies=list(recording.anomalies or []),
        )


class RecordingPage(BaseModel):
    recordings: list[RecordingOut]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class RecordingRef:
    recording: Recording
    source: Source


def recording_target(request: Request, services: Services) -> Target:
    """The recording named in the path, or 404."""
    recording_id = str(request.path_params.get("recording_id", ""))
    with services.catalog.session() as session:
        recording = session.get(Recording, recording_id)
        if recording is None:
            raise AccessRefusal("not_found", f"no recording {recording_id!r}", 404)
        source = session.get(Source, recording.source_id)
        assert source is not None
    officer = scope.recording_officer(recording)

    def in_scope(user: Person) -> bool:
        return policy.can_access_recording(user, source, officer)

    return Target("recording", (recording.id, source.name), in_scope, RecordingRef(recording, source))


def footage_target(request: Request, services: Services) -> Target:
    """As :func:`recording_target`, and 410 when retention already purged some of its footage."""
    target = recording_target(request, services)
    recording_id = target.object_ids[0]
    with services.catalog.session() as session:
        purged = session.execute(
            select(Segment.id).where(Segment.recording_id == recording_id, Segment.purged_at.is_not(None)).limit(1)
        ).first()
    if purged is not None:
        gone = AccessRefusal("gone", f"recording {recording_id} was purged by retention; its tombstones remain", 410)
        return replace(target, unavailable=gone)
    return target


def _ref(access: Access) -> RecordingRef:
    assert access.target is not None and isinstance(access.target.value, RecordingRef)
    return access.target.value


@router.get("")
def list_recordings(
    request: Request,
    access: Annotated[Access, Depends(require(Action.RECORDINGS_LIST))],
    source: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RecordingPage:
    """Recordings within the caller's scope, newest first (officers: their own body-cam recordings)."""
    with services_of(request).catalog.session() as session:
        rows, total = scope.recordings_in_scope(session, access.user, source_name=source, offset=offset, limit=limit)
    return RecordingPage(
        recordings=[RecordingOut.of(rec, src) for rec, src in rows], total=total, offset=offset, limit=limit
    )


@router.get("/{recording_id}")
def get_recording(
    recording_id: str,
    access: Annotated[Access, Depends(require(Action.RECORDINGS_LIST, target=recording_target))],
) -> RecordingOut:
    ref = _ref(access)
    return RecordingOut.of(ref.recording, ref.source)


def _stream_plaintext(vault: Vault, recording: Recording) -> Iterator[bytes]:
    for _segment, data in vault.iter_plaintext(recording):
        yield data


def _footage_response(request: Request, access: Access, *, attachment: bool) -> Response:
    services = services_of(request)
    ref = _ref(access)
    recording = ref.recording
    suffix = Path(recording.original_name or "").suffix.lower()
    filename = f"{ref.source.name}-{recording.id}{suffix if suffix in _MEDIA_TYPES else '.mp4'}"
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if attachment:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if recording.kind == "bodycam":
        if recording.sha256:
            headers["X-Vigie-Sha256"] = recording.sha256
        headers["Content-Length"] = str(recording.size)
        return StreamingResponse(
            _stream_plaintext(services.vault, recording),
            media_type=_MEDIA_TYPES.get(suffix, "video/mp4"),
            headers=headers,
        )
    # Camera footage: the segments remuxed into one playable MP4 (same packets, no re-encode).
    scratch = Path(tempfile.mkdtemp(prefix="vigie-media-"))
    try:
        out = scratch / filename
        extract_recording(services.vault, recording, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type="video/mp4",
        headers=headers,
        content_disposition_type="attachment" if attachment else "inline",
        filename=filename if attachment else None,
        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True),
    )


@router.get("/{recording_id}/media", response_class=Response, responses=FOOTAGE_RESPONSES)
def recording_media(
    recording_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.FOOTAGE_VIEW, target=footage_target))],
) -> Response:
    """Play a recording. Needs a reason (officers: also a purpose); it is in the register before a byte leaves."""
    return _footage_response(request, access, attachment=False)


@router.get("/{recording_id}/download", response_class=Response, responses=FOOTAGE_RESPONSES)
def recording_download(
    recording_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.FOOTAGE_EXPORT, target=footage_target))],
) -> Response:
    """Export a recording as a file: reason, procedure number, requester and recipient go to the register."""
    return _footage_response(request, access, attachment=True)
