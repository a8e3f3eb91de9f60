"""Exports never carry unmasked dwellings or unreviewed faces; what they carry instead is declared."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from vigie.access.audit import Actor, AuditLog
from vigie.export import verify as verifier
from vigie.export.bundle import ExportRequest, export_case
from vigie.export.cases import CaseError, CaseService
from vigie.export.derivatives import mask_hook, redaction_hook
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.masks import PrivacyMask
from vigie.privacy.redactions import RedactionService
from vigie.vault.store import Vault

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
REQUEST = ExportRequest(case_ref="PV-9", reason="right of access", requester="M. X", recipient="M. X")


def first_frame(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="gray")


def test_masked_camera_ships_a_masked_declared_derivative(
    vault: Vault, audit: AuditLog, actor: Actor, scenes: Path, tmp_path: Path
) -> None:
    camera = vault.ensure_source("cam-1", kind="camera")
    import_camera_file(vault, scenes / "walkers.mp4", camera, start=T0)
    MaskStore(vault.catalog, audit).add(
        "cam-1", PrivacyMask("window", ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5))), actor
    )
    cases = CaseService(vault, audit)
    cases.open(REQUEST.case_ref, actor=actor)
    cases.add_span(REQUEST.case_ref, "cam-1", T0, T0 + timedelta(seconds=5), actor=actor, reason="request")
    out = tmp_path / "b.zip"
    result = export_case(vault, audit, REQUEST, out, actor=actor, derivative=mask_hook(vault))
    assert result.withheld == result.segments >= 2
    report, manifest = verifier.verify_bundle(str(out))
    assert report.problems == [] and report.checked["declared derivative"] == result.segments
    item = manifest["items"][0]
    assert all(s["withheld"].startswith("original withheld: privacy masks") for s in item["segments"])
    with zipfile.ZipFile(out) as archive:
        shipped = archive.read(item["derivatives"][0]["path"])
    gray = first_frame(shipped)
    height, width = gray.shape
    assert gray[: height // 2 - 4, : width // 2 - 4].max() <= 20  # the masked quarter is black
    assert gray[height // 2 + 4 :, width // 2 + 4 :].std() > 5  # the rest still shows the street


def test_face_redaction_must_be_approved_before_it_leaves(
    vault: Vault, audit: AuditLog, actor: Actor, scenes: Path, tmp_path: Path
) -> None:
    device = vault.ensure_source("BC-1", kind="bodycam")
    recording = import_bytes_file(vault, scenes / "night.mp4", device, start=T0).recording
    cases = CaseService(vault, audit)
    cases.open(REQUEST.case_ref, actor=actor)
    cases.add_recording(REQUEST.case_ref, recording.id, actor=actor, reason="request")
    with pytest.raises(CaseError, match="no approved face redaction"):
        export_case(vault, audit, REQUEST, tmp_path / "r.zip", actor=actor, redaction=redaction_hook(vault))
    assert not (tmp_path / "r.zip").exists()

    service = RedactionService(vault, audit)
    redaction, _report = service.redact_recording(recording.id, actor, reason="right of access")
    service.approve(redaction.id, Actor(name="inv.martin", role="investigator"), reason="reviewed frame by frame")
    out = tmp_path / "r.zip"
    export_case(vault, audit, REQUEST, out, actor=actor, redaction=redaction_hook(vault))
    report, manifest = verifier.verify_bundle(str(out))
    assert report.problems == []
    item = manifest["items"][0]
    assert item["original"] is None and all(s["withheld"] for s in item["segments"])
    derivative = item["derivatives"][0]
    assert derivative["kind"] == "face-redaction" and derivative["approved_by"] == "inv.martin"
    assert derivative["parent_recording"] == recording.id
    with zipfile.ZipFile(out) as archive:
        assert all("original" not in name for name in archive.namelist())
        assert json.loads(archive.read("manifest.json"))["items"][0]["derivatives"][0]["sha256"] == redaction.sha256
