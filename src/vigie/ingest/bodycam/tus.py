"""The tus 1.0.0 resumable-upload protocol, server side, without the web framework.

Core protocol (HEAD offsets, PATCH appends at the current offset only) plus the creation,
checksum (sha256, sha1, md5; 460 on mismatch), termination and expiration extensions. An upload
interrupted at any byte keeps every byte that arrived (unless the PATCH carried a checksum, which
cannot be checked on part of a body: then the whole PATCH is undone), so the dock resumes from the
offset HEAD reports. Bytes are encrypted on arrival (see ``spool``).

When the last byte lands, the upload moves to ``completing`` with a conditional UPDATE (so two
racing requests cannot both complete it) and ``intake`` verifies and imports it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from vigie.access.audit import AuditRecord
from vigie.access.secretbox import SecretBox
from vigie.catalog.bodycam_models import (
    BodycamDevice,
    BodycamDocking,
    BodycamRecording,
    BodycamTrack,
    BodycamUpload,
)
from vigie.catalog.types import iso, utcnow
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.eventlog import parse_time
from vigie.ingest.bodycam.refusals import CHECKSUM_MISMATCH, BodycamRefusal
from vigie.ingest.bodycam.registry import MATRICULE, DockPrincipal
from vigie.ingest.bodycam.spool import SpoolBusy, SpoolKey, SpoolWriter

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,termination,expiration"
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}
TRIGGERS = frozenset({"manual", "holster", "weapon", "taser", "vehicle", "remote", "sensor", "other"})
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_RECORDING = timedelta(hours=24)
# A completion that has not finished after this long (a server crash mid-import) is run again.
STALLED_COMPLETION = timedelta(minutes=10)

RECEIVING, COMPLETING, ACCEPTED, REFUSED, ABORTED, EXPIRED = (
    "receiving",
    "completing",
    "accepted",
    "refused",
    "aborted",
    "expired",
)


def decode_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` → dict (400 on anything malformed)."""
    pairs: dict[str, str] = {}
    if not header:
        return pairs
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not _METADATA_KEY.match(key) or key in pairs:
            raise BodycamRefusal(400, "bad_metadata", f"Upload-Metadata key {key[:40]!r} is invalid or repeated")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise BodycamRefusal(400, "bad_metadata", f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    return pairs


def encode_metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode('ascii')}" for key, value in pairs.items())


@dataclass(frozen=True)
class UploadMetadata:
    """What a dock must say about a recording before sending its bytes (R241-2: time, officer, camera, place)."""

    device: str
    sequence: int
    start: datetime
    end: datetime
    trigger: str
    sha256: str
    track: str  # the GPS track file's name, uploaded before the video (its location must not be missing)
    officer: str | None = None
    filename: str | None = None
    docking: str | None = None

    @classmethod
    def parse(cls, pairs: dict[str, str]) -> UploadMetadata:
        missing = [
            key for key in ("device", "sequence", "start", "end", "trigger", "sha256", "track") if not pairs.get(key)
        ]
        if missing:
            raise BodycamRefusal(400, "metadata_missing", f"Upload-Metadata lacks: {', '.join(missing)}")
        try:
            sequence = int(pairs["sequence"])
        except ValueError:
            raise BodycamRefusal(400, "bad_metadata", "sequence must be an integer") from None
        if sequence < 0:
            raise BodycamRefusal(400, "bad_metadata", "sequence must be non-negative")
        start, end = parse_time(pairs["start"]), parse_time(pairs["end"])
        if start is None or end is None:
            raise BodycamRefusal(400, "bad_metadata", "start and end must be ISO 8601 times with a zone")
        if end < start or end - start > MAX_RECORDING:
            raise BodycamRefusal(400, "bad_metadata", "end must follow start by at most 24 hours")
        trigger = pairs["trigger"].strip().lower()
        if trigger not in TRIGGERS:
            raise BodycamRefusal(
                400, "bad_metadata", f"unknown trigger {trigger!r} (one of: {', '.join(sorted(TRIGGERS))})"
            )
        sha256 = pairs["sha256"].strip().lower()
        if not _SHA256.match(sha256):
            raise BodycamRefusal(400, "bad_metadata", "sha256 must be 64 hexadecimal digits")
        officer = (pairs.get("officer") or "").strip() or None
        if officer is not None and not MATRICULE.match(officer):
            raise BodycamRefusal(400, "bad_metadata", "officer must be a matricule")
        return cls(
            device=pairs["device"].strip(),
            sequence=sequence,
            start=start,
            end=end,
            trigger=trigger,
            sha256=sha256,
            track=pairs["track"].strip()[:200],
            officer=officer,
            filename=(pairs.get("filename") or "").strip()[:200] or None,
            docking=(pairs.get("docking") or "").strip() or None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "sequence": self.sequence,
            "start": iso(self.start),
            "end": iso(self.end),
            "trigger": self.trigger,
            "sha256": self.sha256,
            "track": self.track,
            "officer": self.officer,
            "filename": self.filename,
            "docking": self.docking,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadMetadata:
        return cls.parse({key: str(value) for key, value in data.items() if value is not None})


@dataclass(frozen=True)
class UploadStatus:
    id: str
    offset: int
    length: int
    state: str
    expires_at: datetime
    metadata: dict[str, Any]
    refusal: str | None = None
    detail: str | None = None
    recording_id: str | None = None


def _status(upload: BodycamUpload, offset: int) -> UploadStatus:
    return UploadStatus(
        id=upload.id,
        offset=offset,
        length=upload.length,
        state=upload.state,
        expires_at=upload.expires_at,
        metadata=dict(upload.metadata_),
        refusal=upload.refusal,
        detail=upload.detail,
        recording_id=upload.recording_id,
    )


class UploadService:
    def __init__(self, context: BodycamContext) -> None:
        self.context = context
        self.secrets = SecretBox(context.vault.kek)

    # -- creation ----------------------------------------------------------------------------------
    def create(self, dock: DockPrincipal, length_header: str | None, metadata_header: str | None) -> UploadStatus:
        settings = self.context.settings.bodycam
        if length_header is None:
            raise BodycamRefusal(
                400, "length_required", "Upload-Length is required (Upload-Defer-Length is not supported)"
            )
        try:
            length = int(length_header)
        except ValueError:
            raise BodycamRefusal(400, "bad_length", "Upload-Length must be a non-negative integer") from None
        if length <= 0:
            raise BodycamRefusal(400, "bad_length", "Upload-Length must be positive: an empty file is no recording")
        if length > settings.max_upload_bytes:
            raise BodycamRefusal(413, "too_large", f"Upload-Length exceeds {settings.max_upload_bytes} bytes")
        metadata = UploadMetadata.parse(decode_metadata(metadata_header))
        self.expire_stale()
        now = utcnow()
        upload_id = secrets.token_hex(16)
        with self.context.catalog.session() as session:
            device = session.execute(
                select(BodycamDevice).where(BodycamDevice.serial == metadata.device)
            ).scalar_one_or_none()
            if device is None:
                self._audit_refused(dock, metadata, "unknown_device", "device is not registered")
                raise BodycamRefusal(422, "unknown_device", f"device {metadata.device!r} is not registered")
            if metadata.docking is not None:
                docking = session.get(BodycamDocking, metadata.docking)
                if docking is None or docking.device_id != device.id or docking.dock_id != dock.id:
                    raise BodycamRefusal(
                        400, "unknown_docking", "the docking named in the metadata is not this device's"
                    )
            held = session.execute(
                select(BodycamRecording.id).where(
                    BodycamRecording.device_id == device.id, BodycamRecording.sequence == metadata.sequence
                )
            ).first()
            if held is not None:
                self._audit_refused(dock, metadata, "already_received", "duplicate upload refused")
                raise BodycamRefusal(
                    409, "already_received", f"sequence {metadata.sequence} of {metadata.device} was received already"
                )
            if (
                metadata.officer is None
                and self.context.registry.officer_at(session, device.id, metadata.start) is None
            ):
                raise BodycamRefusal(
                    400,
                    "officer_required",
                    "no officer in the metadata and the device was assigned to nobody at its start (R241-2)",
                )
            track = session.execute(
                select(BodycamTrack.id).where(
                    BodycamTrack.device_id == device.id, BodycamTrack.sequence == metadata.sequence
                )
            ).first()
            if track is None:
                raise BodycamRefusal(
                    409,
                    "track_missing",
                    f"upload the GPS track of sequence {metadata.sequence} first: "
                    "a recording without location is refused",
                )
            # One live upload per recording: a dock that lost its upload URL starts again from zero.
            superseded = list(
                session.execute(
                    select(BodycamUpload).where(
                        BodycamUpload.device_id == device.id,
                        BodycamUpload.sequence == metadata.sequence,
                        BodycamUpload.state == RECEIVING,
                    )
                ).scalars()
            )
            for old in superseded:
                old.state, old.detail, old.updated_at = ABORTED, f"superseded by upload {upload_id}", now
            key = SpoolKey.new()
            upload = BodycamUpload(
                id=upload_id,
                dock_id=dock.id,
                device_id=device.id,
                docking_id=metadata.docking,
                sequence=metadata.sequence,
                length=length,
                metadata_=metadata.as_json(),
                key_sealed=self.secrets.seal(key.pack()),
                state=RECEIVING,
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(hours=settings.upload_expiry_hours),
            )
            session.add(upload)
            self.context.spool.create(upload_id)
        for old in superseded:
            self.context.spool.delete(old.id)
        return _status(upload, 0)

    # -- reading -----------------------------------------------------------------------------------
    def _load(self, dock: DockPrincipal, upload_id: str) -> BodycamUpload:
        with self.context.catalog.session() as session:
            upload = session.get(BodycamUpload, upload_id)
        # Another dock's upload is answered like an unknown one: no upload ids are confirmed to strangers.
        if upload is None or upload.dock_id != dock.id:
            raise BodycamRefusal(404, "unknown_upload", "no such upload")
        return upload

    def status(self, dock: DockPrincipal, upload_id: str) -> UploadStatus:
        upload = self._load(dock, upload_id)
        if upload.state in (ABORTED, EXPIRED):
            raise BodycamRefusal(404, "unknown_upload", f"this upload was {upload.state}")
        if upload.state == REFUSED:
            raise BodycamRefusal(410, upload.refusal or "refused", upload.detail or "this upload was refused")
        if upload.state in (COMPLETING, ACCEPTED):
            return _status(upload, upload.length)
        if upload.expires_at <= utcnow():
            self._expire(upload)
            raise BodycamRefusal(404, "unknown_upload", "this upload expired")
        spool = self.context.spool
        try:
            # Wait for a PATCH still draining a dropped connection: the offset told is then final.
            with spool.locked(upload_id, self.context.settings.bodycam.upload_lock_wait_seconds, exclusive=False):
                return _status(upload, spool.size(upload_id))
        except SpoolBusy:
            raise BodycamRefusal(423, "upload_busy", "another request is writing this upload; retry") from None
        except FileNotFoundError:
            raise BodycamRefusal(404, "unknown_upload", "this upload's bytes are gone") from None

    # -- appending ---------------------------------------------------------------------------------
    def begin_patch(
        self,
        dock: DockPrincipal,
        upload_id: str,
        *,
        offset_header: str | None,
        checksum_header: str | None,
        content_length: int | None,
    ) -> PatchSession:
        upload = self._load(dock, upload_id)
        if upload.state in (ABORTED, EXPIRED):
            raise BodycamRefusal(404, "unknown_upload", f"this upload was {upload.state}")
        if upload.state == REFUSED:
            raise BodycamRefusal(410, upload.refusal or "refused", upload.detail or "this upload was refused")
        if upload.state in (COMPLETING, ACCEPTED):
            raise BodycamRefusal(409, "upload_complete", "this upload is complete")
        if upload.expires_at <= utcnow():
            self._expire(upload)
            raise BodycamRefusal(404, "unknown_upload", "this upload expired")
        try:
            claimed_offset = int(offset_header or "")
        except ValueError:
            raise BodycamRefusal(400, "bad_offset", "Upload-Offset must be an integer") from None
        checksum = _parse_checksum(checksum_header)
        stack = ExitStack()
        try:
            handle = stack.enter_context(
                self.context.spool.locked(upload_id, self.context.settings.bodycam.upload_lock_wait_seconds)
            )
        except SpoolBusy:
            raise BodycamRefusal(423, "upload_busy", "another request is writing this upload; retry") from None
        except FileNotFoundError:
            raise BodycamRefusal(404, "unknown_upload", "this upload's bytes are gone") from None
        try:
            key = SpoolKey.unpack(self.secrets.open(upload.key_sealed))
            writer = SpoolWriter(handle, key, fsync=self.context.spool.fsync)
            if claimed_offset != writer.start:
                raise BodycamRefusal(409, "offset_mismatch", f"Upload-Offset is {writer.start}, not {claimed_offset}")
            if content_length is not None and writer.start + content_length > upload.length:
                raise BodycamRefusal(400, "exceeds_length", "this PATCH would go past Upload-Length")
        except BaseException:
            stack.close()
            raise
        return PatchSession(self, upload, writer, stack, checksum)

    def terminate(self, dock: DockPrincipal, upload_id: str) -> None:
        upload = self._load(dock, upload_id)
        if upload.state in (COMPLETING, ACCEPTED):
            raise BodycamRefusal(409, "upload_complete", "a complete upload cannot be terminated")
        with self.context.catalog.session() as session:
            stored = session.get(BodycamUpload, upload_id)
            assert stored is not None
            if stored.state == RECEIVING:
                stored.state, stored.detail, stored.updated_at = ABORTED, "terminated by the dock", utcnow()
        self.context.spool.delete(upload_id)

    # -- housekeeping ------------------------------------------------------------------------------
    def _expire(self, upload: BodycamUpload) -> None:
        with self.context.catalog.session() as session:
            session.execute(
                update(BodycamUpload)
                .where(BodycamUpload.id == upload.id, BodycamUpload.state == RECEIVING)
                .values(state=EXPIRED, updated_at=utcnow(), detail="expired before it was complete")
            )
        self.context.spool.delete(upload.id)

    def expire_stale(self) -> int:
        """Delete expired partial uploads, their encrypted bytes too (tus expiration)."""
        with self.context.catalog.session() as session:
            expired = list(
                session.execute(
                    select(BodycamUpload).where(BodycamUpload.state == RECEIVING, BodycamUpload.expires_at <= utcnow())
                ).scalars()
            )
        for upload in expired:
            self._expire(upload)
        return len(expired)

    def stalled_completions(self) -> list[str]:
        """Uploads whose completion began long ago and never ended (a crash mid-import)."""
        with self.context.catalog.session() as session:
            return list(
                session.execute(
                    select(BodycamUpload.id).where(
                        BodycamUpload.state == COMPLETING, BodycamUpload.updated_at <= utcnow() - STALLED_COMPLETION
                    )
                ).scalars()
            )

    def _audit_refused(self, dock: DockPrincipal, metadata: UploadMetadata, code: str, why: str) -> None:
        self.context.audit.append(
            dock.actor(),
            AuditRecord(
                action="bodycam.collect",
                object_type="device",
                object_ids=[metadata.device],
                outcome="refused",
                details={"category": "collection", "code": code, "why": why, "sequence": metadata.sequence},
            ),
        )

    def mark_completing(self, upload: BodycamUpload) -> bool:
        with self.context.catalog.session() as session:
            result = session.execute(
                update(BodycamUpload)
                .where(BodycamUpload.id == upload.id, BodycamUpload.state == RECEIVING)
                .values(state=COMPLETING, updated_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0) == 1)


def _parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUMS:
        raise BodycamRefusal(400, "bad_checksum_algorithm", f"checksum algorithm {algorithm!r} is not supported")
    try:
        return algorithm, base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise BodycamRefusal(400, "bad_checksum", "Upload-Checksum value is not base64") from None


class PatchSession:
    """One PATCH request's bytes, appended under the upload's lock."""

    def __init__(
        self,
        service: UploadService,
        upload: BodycamUpload,
        writer: SpoolWriter,
        stack: ExitStack,
        checksum: tuple[str, bytes] | None,
    ) -> None:
        self.service = service
        self.upload = upload
        self.writer = writer
        self.stack = stack
        self.checksum = checksum
        self.digest = CHECKSUMS[checksum[0]]() if checksum else None
        self.overflow = False

    def write(self, chunk: bytes) -> None:
        if self.overflow or not chunk:
            return
        room = self.upload.length - self.writer.offset
        if len(chunk) > room:
            self.overflow = True
            return
        if self.digest is not None:
            self.digest.update(chunk)
        self.writer.write(chunk)

    def finish(self, *, interrupted: bool) -> int:
        """Keep or undo this request's bytes, release the lock; the new offset.

        An interrupted body is kept (that is what makes the upload resumable) unless it carried a
        checksum, which only a whole body can be checked against.
        """
        try:
            if self.overflow:
                self.writer.rollback()
                raise BodycamRefusal(400, "exceeds_length", "the body goes past Upload-Length: nothing of it was kept")
            if self.checksum is not None:
                assert self.digest is not None
                if interrupted:
                    return self.writer.rollback()
                if self.digest.digest() != self.checksum[1]:
                    self.writer.rollback()
                    raise BodycamRefusal(
                        CHECKSUM_MISMATCH,
                        "checksum_mismatch",
                        f"the body's {self.checksum[0]} differs from Upload-Checksum: not kept",
                    )
            return self.writer.commit()
        finally:
            self.stack.close()
            with self.service.context.catalog.session() as session:
                session.execute(
                    update(BodycamUpload).where(BodycamUpload.id == self.upload.id).values(updated_at=utcnow())
                )
