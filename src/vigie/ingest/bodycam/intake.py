"""Accepting a complete upload as evidence: verify, claim, import, index, audit, reconcile.

Order matters. The device's sha256 is checked over the decrypted bytes before anything else
(LAW.md B.8: the hash made on the device must match at every transfer); a mismatch is refused,
audited and becomes missing footage. The (device, sequence) slot is then claimed with a unique row,
so a duplicate racing in from another dock fails *before* anything reaches the vault. Only then
does ``import_bytes_file`` store the file byte-exact, re-hashing it once more against the device's
hash. The plaintext copy exists only during those steps, in a private directory.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from vigie.access.audit import Actor, AuditRecord
from vigie.catalog.bodycam_models import (
    BodycamDevice,
    BodycamDock,
    BodycamDocking,
    BodycamOfficer,
    BodycamRecording,
    BodycamTrack,
    BodycamUpload,
)
from vigie.catalog.models import Source
from vigie.catalog.types import iso, utcnow
from vigie.ingest.bodycam import samples, spatial
from vigie.ingest.bodycam.anomalies import record_anomaly
from vigie.ingest.bodycam.completeness import HASH_MISMATCH, reconcile_device
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.geo import minute_boxes
from vigie.ingest.bodycam.refusals import CHECKSUM_MISMATCH, BodycamRefusal
from vigie.ingest.bodycam.spool import SpoolKey, decrypt_to_private_file, safe_file_name
from vigie.ingest.bodycam.tus import (
    ACCEPTED,
    COMPLETING,
    RECEIVING,
    REFUSED,
    PatchSession,
    UploadMetadata,
    UploadService,
    UploadStatus,
)
from vigie.ingest.files import import_bytes_file
from vigie.ingest.segmenter import MediaError

log = logging.getLogger("vigie.bodycam")


@dataclass(frozen=True)
class _Loaded:
    upload: BodycamUpload
    device: BodycamDevice
    source: Source
    dock: BodycamDock
    docking: BodycamDocking | None
    metadata: UploadMetadata


def finish_patch(service: UploadService, patch: PatchSession, *, interrupted: bool) -> UploadStatus:
    """End one PATCH; when it carried the last byte, verify and import the recording."""
    offset = patch.finish(interrupted=interrupted)
    upload = patch.upload
    if interrupted or offset < upload.length:
        return _status_at(upload, offset)
    if not service.mark_completing(upload):
        return _status_at(upload, offset)  # another request is completing it
    return complete_upload(service.context, upload.id)


def _status_at(upload: BodycamUpload, offset: int) -> UploadStatus:
    return UploadStatus(upload.id, offset, upload.length, upload.state, upload.expires_at, dict(upload.metadata_))


def sweep(context: BodycamContext) -> int:
    """Expire abandoned partial uploads and finish completions a crash interrupted."""
    service = UploadService(context)
    count = service.expire_stale()
    with context.catalog.session() as session:
        live = set(
            session.execute(select(BodycamUpload.id).where(BodycamUpload.state.in_((RECEIVING, COMPLETING)))).scalars()
        )
    count += context.spool.sweep_orphans(live)
    for upload_id in service.stalled_completions():
        with contextlib.suppress(BodycamRefusal):  # a refusal is recorded where it happens
            complete_upload(context, upload_id)
        count += 1
    return count


def _load(context: BodycamContext, upload_id: str) -> _Loaded:
    with context.catalog.session() as session:
        upload = session.get(BodycamUpload, upload_id)
        if upload is None:
            raise BodycamRefusal(404, "unknown_upload", "no such upload")
        device = session.get(BodycamDevice, upload.device_id)
        dock = session.get(BodycamDock, upload.dock_id)
        assert device is not None and dock is not None
        source = session.get(Source, device.source_id)
        assert source is not None
        docking = session.get(BodycamDocking, upload.docking_id) if upload.docking_id else None
        metadata = UploadMetadata.from_json(upload.metadata_)
        return _Loaded(upload, device, source, dock, docking, metadata)


def complete_upload(context: BodycamContext, upload_id: str) -> UploadStatus:
    loaded = _load(context, upload_id)
    upload, metadata = loaded.upload, loaded.metadata
    if upload.state != COMPLETING:
        raise BodycamRefusal(409, "not_completing", f"upload {upload_id} is {upload.state}")
    service = UploadService(context)
    key = SpoolKey.unpack(service.secrets.open(upload.key_sealed))
    file_name = safe_file_name(metadata.filename, f"{loaded.device.serial}-{metadata.sequence:06d}.mp4")
    try:
        plain, digest = decrypt_to_private_file(context.spool, upload_id, key, file_name)
        if digest != metadata.sha256:
            _refuse(context, loaded, HASH_MISMATCH, f"the file's sha256 is {digest}, the device said {metadata.sha256}")
            raise BodycamRefusal(
                CHECKSUM_MISMATCH,
                "checksum_mismatch",
                "the file differs from the device's sha256: refused and recorded",
            )
        try:
            claim_id = _claim(context, loaded)
        except BodycamRefusal as refusal:
            if refusal.code != "already_received":
                _refuse(context, loaded, refusal.code.replace("_", "-"), refusal.message)
            raise
        try:
            result = import_bytes_file(
                context.vault,
                plain,
                loaded.source,
                start=metadata.start,
                expected_sha256=metadata.sha256,
                extra_info=_media_info(context, loaded),
            )
        except MediaError as error:
            _release(context, claim_id)
            _refuse(context, loaded, "not-media", str(error))
            raise BodycamRefusal(422, "not_media", f"the file is not a readable video: {error}") from None
        except BaseException:
            # Unexpected (disk full, crash of a dependency): the claim goes, the upload stays
            # "completing" with its spool, and the sweep tries again later.
            _release(context, claim_id)
            raise
        _accept(context, loaded, claim_id, result.recording.id)
    finally:
        context.spool.delete_plaintext(upload_id)
    context.spool.delete_later(upload_id)
    with context.catalog.session() as session:
        device = session.get(BodycamDevice, loaded.device.id)
        assert device is not None
        reconcile_device(session, device)
        stored = session.get(BodycamUpload, upload_id)
        assert stored is not None
        return UploadStatus(
            stored.id,
            stored.length,
            stored.length,
            stored.state,
            stored.expires_at,
            dict(stored.metadata_),
            recording_id=stored.recording_id,
        )


def _officer(context: BodycamContext, loaded: _Loaded) -> tuple[str, list[str]]:
    """The officer the register names, and what is odd about it (never a refusal: the footage matters more)."""
    notes: list[str] = []
    with context.catalog.session() as session:
        assigned = context.registry.officer_at(session, loaded.device.id, loaded.metadata.start)
        stated = loaded.metadata.officer
        if stated is not None:
            known = session.execute(select(BodycamOfficer.id).where(BodycamOfficer.matricule == stated)).first()
            if known is None:
                notes.append(f"officer {stated} is not in the registry")
            if assigned is not None and assigned != stated:
                notes.append(f"device was assigned to {assigned}, the device names {stated}")
            return stated, notes
    if assigned is None:
        raise BodycamRefusal(
            400, "officer_required", "no officer in the metadata and the device was assigned to nobody then (R241-2)"
        )
    return assigned, notes


def _claim(context: BodycamContext, loaded: _Loaded) -> int:
    officer, notes = _officer(context, loaded)
    loaded_meta = loaded.metadata
    try:
        with context.catalog.session() as session:
            existing = session.execute(
                select(BodycamRecording).where(
                    BodycamRecording.device_id == loaded.device.id, BodycamRecording.sequence == loaded_meta.sequence
                )
            ).scalar_one_or_none()
            if existing is not None and existing.recording_id is None and existing.upload_id == loaded.upload.id:
                return existing.id  # our own claim, left by an interrupted completion
            track_id = session.execute(
                select(BodycamTrack.id).where(
                    BodycamTrack.device_id == loaded.device.id, BodycamTrack.sequence == loaded_meta.sequence
                )
            ).scalar_one_or_none()
            claim = BodycamRecording(
                device_id=loaded.device.id,
                sequence=loaded_meta.sequence,
                upload_id=loaded.upload.id,
                docking_id=loaded.upload.docking_id,
                officer_matricule=officer,
                trigger=loaded_meta.trigger,
                start=loaded_meta.start,
                end=loaded_meta.end,
                device_sha256=loaded_meta.sha256,
                clock_offset_seconds=loaded.docking.clock_offset_seconds if loaded.docking else None,
                track_id=track_id,
            )
            session.add(claim)
            session.flush()
            for note in notes:
                record_anomaly(session, loaded.device.id, "officer-mismatch", note, sequence=loaded_meta.sequence)
            return claim.id
    except IntegrityError:
        _refuse(context, loaded, "duplicate", "another upload of this sequence was accepted first")
        raise BodycamRefusal(
            409, "already_received", f"sequence {loaded_meta.sequence} of {loaded.device.serial} was received already"
        ) from None


def _release(context: BodycamContext, claim_id: int) -> None:
    with context.catalog.session() as session:
        session.execute(
            delete(BodycamRecording).where(BodycamRecording.id == claim_id, BodycamRecording.recording_id.is_(None))
        )


def _media_info(context: BodycamContext, loaded: _Loaded) -> dict[str, Any]:
    metadata = loaded.metadata
    officer, _ = _officer(context, loaded)
    with context.catalog.session() as session:
        track = session.execute(
            select(BodycamTrack).where(
                BodycamTrack.device_id == loaded.device.id, BodycamTrack.sequence == metadata.sequence
            )
        ).scalar_one_or_none()
        track_info = (
            {
                "file": track.file_name or metadata.track,
                "sha256": track.file_sha256,
                "format": track.format,
                "points": track.point_count,
                "dropped": track.dropped_count,
            }
            if track is not None
            else {"file": metadata.track, "missing": True}
        )
    docking = loaded.docking
    return {
        # "officer" is where the access layer looks for whose recording this is (vigie.access.scope).
        "officer": officer,
        "device": loaded.device.serial,
        "force": loaded.device.force,
        "sequence": metadata.sequence,
        "trigger": metadata.trigger,
        "device_start": iso(metadata.start),
        "device_end": iso(metadata.end),
        "device_sha256": metadata.sha256,
        "gps_track": track_info,
        "dock": loaded.dock.name,
        "upload": loaded.upload.id,
        "clock_offset_seconds": docking.clock_offset_seconds if docking else None,
        "clock_flagged": docking.clock_flagged if docking else None,
    }


def _accept(context: BodycamContext, loaded: _Loaded, claim_id: int, recording_id: str) -> None:
    now = utcnow()
    with context.catalog.session() as session:
        claim = session.get(BodycamRecording, claim_id)
        assert claim is not None
        claim.recording_id = recording_id
        if claim.track_id is not None:
            track = session.get(BodycamTrack, claim.track_id)
            if track is not None and not track.indexed:
                rows = samples.unpack(track.samples)
                boxes = minute_boxes([(float(r[0]), float(r[1]), float(r[2])) for r in rows])
                spatial.add_boxes(session, spatial.flavour(session), track.id, boxes)
                track.indexed = True
        session.execute(
            update(BodycamUpload)
            .where(BodycamUpload.id == loaded.upload.id)
            .values(state=ACCEPTED, recording_id=recording_id, updated_at=now, expires_at=now + timedelta(days=1))
        )
        context.audit.append(
            _dock_actor(loaded),
            AuditRecord(
                action="bodycam.collect",
                object_type="recording",
                object_ids=[recording_id, loaded.source.name],
                details={
                    "category": "collection",
                    "device": loaded.device.serial,
                    "sequence": loaded.metadata.sequence,
                    "sha256": loaded.metadata.sha256,
                    "officer": claim.officer_matricule,
                    "trigger": loaded.metadata.trigger,
                    "bytes": loaded.upload.length,
                },
            ),
            session=session,
        )


def _dock_actor(loaded: _Loaded) -> Actor:
    return Actor(name=f"dock:{loaded.dock.name}", role="dock")


def _refuse(context: BodycamContext, loaded: _Loaded, refusal: str, detail: str) -> None:
    now = utcnow()
    with context.catalog.session() as session:
        session.execute(
            update(BodycamUpload)
            .where(BodycamUpload.id == loaded.upload.id)
            .values(state=REFUSED, refusal=refusal, detail=detail[:2000], updated_at=now)
        )
        record_anomaly(
            session,
            loaded.device.id,
            f"upload-{refusal}",
            detail,
            sequence=loaded.metadata.sequence,
            docking_id=loaded.upload.docking_id,
            data={"upload": loaded.upload.id},
        )
        context.audit.append(
            _dock_actor(loaded),
            AuditRecord(
                action="bodycam.collect",
                object_type="device",
                object_ids=[loaded.device.serial, loaded.source.name],
                outcome="refused",
                details={
                    "category": "collection",
                    "code": refusal,
                    "why": detail[:500],
                    "sequence": loaded.metadata.sequence,
                    "upload": loaded.upload.id,
                },
            ),
            session=session,
        )
    log.warning(
        "refused upload %s of %s #%s: %s", loaded.upload.id, loaded.device.serial, loaded.metadata.sequence, detail
    )
    context.spool.delete_later(loaded.upload.id)
