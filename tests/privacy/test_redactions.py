"""Redacted derivatives in the vault, masks in the catalog, and the audited review flow."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, cast

import av
import cv2
import numpy as np
import pytest

from vigie.access.audit import Actor, AuditLog
from vigie.catalog.privacy_models import Redaction
from vigie.config import RetentionProfile
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.privacy.detector import CenterFace
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.masks import MaskError, masks_for_source, raster
from vigie.privacy.redactions import RedactionError, RedactionService, approved_redaction
from vigie.vault.store import Vault
from vigie.vault.verify import verify_vault

from .conftest import HOUSE

REVIEWER = Actor(name="inspecteur.martin", role="investigator", matricule="123456")


@pytest.fixture
def service(vault: Vault, audit: AuditLog, detector: CenterFace) -> RedactionService:
    return RedactionService(vault, audit, detector=detector)


def test_masks_are_stored_listed_removed_and_audited(vault: Vault, audit: AuditLog, actor: Actor) -> None:
    vault.ensure_source("cam-1", kind="camera")
    vault.ensure_source("BC-1", kind="bodycam", profile=RetentionProfile.BODYCAM_POLICE)
    store = MaskStore(vault.catalog, audit)
    store.add("cam-1", HOUSE, actor, reason="arrêté 2026-01 art. 3")
    with pytest.raises(MaskError, match="already has a mask named"):
        store.add("cam-1", HOUSE, actor)
    with pytest.raises(MaskError, match="body-worn camera"):
        store.add("BC-1", HOUSE, actor)
    with pytest.raises(MaskError, match="unknown camera"):
        store.add("nowhere", HOUSE, actor)
    assert store.masks("cam-1").masks == (HOUSE,)
    store.remove("cam-1", HOUSE.name, actor, reason="wrong window")
    assert not store.masks("cam-1")
    history = store.entries("cam-1", include_removed=True)
    assert len(history) == 1 and history[0].removed_by == actor.name
    # Footage of the past keeps every mask that was ever in force.
    assert masks_for_source(vault.catalog, vault.source("cam-1")) == (HOUSE,)
    actions = [(e.action, list(e.object_ids)) for e in audit.entries()]
    assert ("mask.add", ["cam-1", HOUSE.name]) in actions and ("mask.remove", ["cam-1", HOUSE.name]) in actions


def test_redaction_is_a_sealed_derivative_pointing_to_its_untouched_parent(
    vault: Vault, audit: AuditLog, actor: Actor, service: RedactionService, faces_clip: Path
) -> None:
    source = vault.ensure_source("cam-1", kind="camera")
    MaskStore(vault.catalog, audit).add("cam-1", HOUSE, actor)
    recording = import_camera_file(vault, faces_clip, source).recording
    originals = {segment.sha256 for segment in vault.segments(recording)}

    row, report = service.redact_recording(recording.id, actor, reason="réquisition 2026/118", procedure="PV 118")

    assert row.recording_id == recording.id and row.status == "pending-review"
    assert row.masks == [HOUSE.name] and row.faces_found == report.faces_found >= 1
    data = service.derivative(row)
    assert hashlib.sha256(data).hexdigest() == row.sha256 and row.sha256 not in originals
    assert row.video_key.startswith("derived/") and row.boxes_key.startswith("derived/")
    assert {s.sha256 for s in vault.segments(recording)} == originals
    assert verify_vault(vault).intact  # the original chain is exactly as recorded
    with cast(Any, av.open(io.BytesIO(data))) as container:
        first = next(container.decode(video=0)).to_ndarray(format="bgr24")
    inner = cv2.erode(raster([HOUSE], 640, 360).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert first[inner].max() < 30  # the camera's masks are burnt into the derivative too
    frames = service.frames(row.id)
    assert len(frames) == row.frames == 30 and any(f.boxes for f in frames)
    stills = service.thumbnails(row.id, count=3)
    assert len(stills) == 3 and all(s.jpeg[:2] == b"\xff\xd8" for s in stills)
    entry = next(e for e in audit.entries() if e.action == "redaction.create")
    assert entry.object_ids == [recording.id, row.id] and entry.procedure == "PV 118"
    assert entry.details["sha256"] == row.sha256


def test_review_is_required_and_audited(
    vault: Vault, audit: AuditLog, actor: Actor, service: RedactionService, faces_clip: Path
) -> None:
    source = vault.ensure_source("cam-1", kind="camera")
    recording = import_camera_file(vault, faces_clip, source).recording
    first, _ = service.redact_recording(recording.id, actor)
    second, _ = service.redact_recording(recording.id, actor)
    assert approved_redaction(vault.catalog, recording.id) is None  # export must refuse
    with pytest.raises(RedactionError, match="at least 8 characters"):
        service.approve(first.id, REVIEWER, reason="ok")
    service.reject(first.id, REVIEWER, reason="one face visible at 00:02")
    with pytest.raises(RedactionError, match="already rejected"):
        service.approve(first.id, REVIEWER, reason="changed my mind")
    approved = service.approve(second.id[:8], REVIEWER, reason="watched in full, nothing visible")
    assert approved.status == "approved" and approved.reviewed_by == REVIEWER.name
    found = approved_redaction(vault.catalog, recording.id)
    assert isinstance(found, Redaction) and found.id == second.id
    decisions = [e for e in audit.entries() if e.action in ("redaction.approve", "redaction.reject")]
    assert [(e.action, e.actor, e.object_ids[0]) for e in decisions] == [
        ("redaction.reject", REVIEWER.name, first.id),
        ("redaction.approve", REVIEWER.name, second.id),
    ]
    assert decisions[1].details["matricule"] == "123456"
    assert audit.verify()[0] == []


def test_bodycam_files_are_read_from_their_chunks(
    vault: Vault, actor: Actor, service: RedactionService, faces_clip: Path
) -> None:
    device = vault.ensure_source("BC-7", kind="bodycam", profile=RetentionProfile.BODYCAM_POLICE)
    result = import_bytes_file(vault, faces_clip, device)
    assert result.segments >= 2  # the file spans several encrypted chunks: the reader seeks across them
    row, report = service.redact_recording(result.recording.id, actor)
    assert row.parent_sha256 == result.sha256 == hashlib.sha256(faces_clip.read_bytes()).hexdigest()
    assert report.frames == 30 and report.faces_found >= 1 and row.masks == []
