"""Every kind of tampering is found by verify and named with the right kind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from conftest import RawBlobs
from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.models import AuditEntry, Checkpoint, Recording, Segment
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.vault.store import Vault
from vigie.vault.verify import verify_vault


@pytest.fixture
def filled(vault: Vault, audit: AuditLog, actor: Actor, scenes: Path) -> list[Segment]:
    source = vault.ensure_source("cam-1", kind="camera")
    recording = import_camera_file(vault, scenes / "walkers.mp4", source).recording
    audit.append(actor, AuditRecord(action="collect", object_type="recording", object_ids=[recording.id]))
    audit.append(actor, AuditRecord(action="view", object_ids=[recording.id], reason="check"))
    audit.checkpoint()
    segments = vault.segments(recording)
    assert len(segments) >= 3
    assert verify_vault(vault).intact
    return segments


def kinds(vault: Vault) -> set[str]:
    return {problem.kind for problem in verify_vault(vault).problems}


def test_flipped_byte_in_any_blob_is_modified(vault: Vault, filled: list[Segment], raw_blobs: RawBlobs) -> None:
    for segment in (filled[0], filled[-1]):
        original = raw_blobs.read(segment.blob_key)
        for position in (0, 20, len(original) // 2, len(original) - 1):  # header, wrapped key, body, tag
            data = bytearray(original)
            data[position] ^= 0x01
            raw_blobs.write(segment.blob_key, bytes(data))
            report = verify_vault(vault)
            assert [(p.kind, p.object) for p in report.problems] == [("modified", f"segment cam-1#{segment.seq}")]
            raw_blobs.write(segment.blob_key, original)
    assert verify_vault(vault).intact


def test_deleted_blob_is_missing(vault: Vault, filled: list[Segment], raw_blobs: RawBlobs) -> None:
    raw_blobs.delete(filled[1].blob_key)
    report = verify_vault(vault)
    assert [(p.kind, p.object) for p in report.problems] == [("missing", f"segment cam-1#{filled[1].seq}")]


def test_swapped_blobs_are_reordered(vault: Vault, filled: list[Segment], raw_blobs: RawBlobs) -> None:
    first, second = filled[0].blob_key, filled[1].blob_key
    a, b = raw_blobs.read(first), raw_blobs.read(second)
    raw_blobs.write(first, b)
    raw_blobs.write(second, a)
    assert kinds(vault) == {"reordered"}


def test_swapped_catalog_positions_are_reordered(vault: Vault, filled: list[Segment]) -> None:
    one, two = filled[0], filled[1]
    with vault.catalog.session() as session:
        session.execute(update(Segment).where(Segment.id == one.id).values(seq=-1))
        session.execute(update(Segment).where(Segment.id == two.id).values(seq=one.seq))
        session.execute(update(Segment).where(Segment.id == one.id).values(seq=two.seq))
    assert kinds(vault) == {"reordered"}


def test_edited_catalog_row_is_modified(vault: Vault, filled: list[Segment]) -> None:
    segment = filled[1]
    with vault.catalog.session() as session:
        session.execute(
            update(Segment).where(Segment.id == segment.id).values(start=segment.start - timedelta(seconds=30))
        )
    report = verify_vault(vault)
    assert ("modified", f"segment cam-1#{segment.seq}") in [(p.kind, p.object) for p in report.problems]
    assert kinds(vault) == {"modified"}


def test_edited_recording_metadata_is_modified(vault: Vault, filled: list[Segment]) -> None:
    with vault.catalog.session() as session:
        session.execute(update(Recording).values(start=filled[0].start + timedelta(hours=1)))
    assert kinds(vault) == {"modified"}


def test_deleted_catalog_row_is_missing(vault: Vault, filled: list[Segment]) -> None:
    with vault.catalog.session() as session:
        session.execute(Segment.__table__.delete().where(Segment.id == filled[1].id))
    assert "missing" in kinds(vault)


def test_inserted_blob_is_inserted(vault: Vault, filled: list[Segment], raw_blobs: RawBlobs) -> None:
    planted = filled[0].blob_key.rsplit("/", 1)[0] + "/planted"
    raw_blobs.write(planted, raw_blobs.read(filled[0].blob_key))
    report = verify_vault(vault)
    assert [p.kind for p in report.problems] == ["inserted"]


def test_forged_checkpoint_is_bad_signature(vault: Vault, filled: list[Segment]) -> None:
    with vault.catalog.session() as session:
        checkpoint = session.execute(select(Checkpoint)).scalars().first()
        assert checkpoint is not None
        leaves = list(checkpoint.leaves)
        leaves[0] = "f" * 64
        from vigie.vault import merkle

        checkpoint.leaves = leaves
        checkpoint.merkle_root = merkle.root([bytes.fromhex(x) for x in leaves]).hex()
    assert "bad-signature" in kinds(vault)


def test_edited_audit_entry_is_audit_tampered(audit: AuditLog, filled: list[Segment]) -> None:
    with audit.catalog.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 2).values(reason="nothing to see"))
    problems, _ = audit.verify()
    assert {p.kind for p in problems} == {"audit-tampered"}
    assert problems[0].object == "audit #2" and problems[0].detail == "entry content was edited"


def test_truncated_audit_log_is_audit_tampered(audit: AuditLog, filled: list[Segment]) -> None:
    with audit.catalog.session() as session:
        session.execute(AuditEntry.__table__.delete().where(AuditEntry.id == 2))
    problems, _ = audit.verify()
    assert problems and {p.kind for p in problems} == {"audit-tampered"}


def test_audit_chain_stays_linear_under_concurrent_writers(audit: AuditLog) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(worker: int) -> None:
        for index in range(15):
            audit.append(Actor(name=f"w{worker}", role="operator"), AuditRecord(action="view", reason=str(index)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    problems, count = audit.verify()
    assert problems == [] and count == 60


def test_bodycam_chunks_are_checked_too(vault: Vault, scenes: Path, raw_blobs: RawBlobs) -> None:
    device = vault.ensure_source("BC-1", kind="bodycam")
    recording = import_bytes_file(vault, scenes / "night.mp4", device).recording
    segment = vault.segments(recording)[-1]
    data = bytearray(raw_blobs.read(segment.blob_key))
    data[-5] ^= 0xFF
    raw_blobs.write(segment.blob_key, bytes(data))
    assert [(p.kind, p.object) for p in verify_vault(vault).problems] == [("modified", f"segment BC-1#{segment.seq}")]


def test_swapped_bodycam_chunks_are_reordered(vault: Vault, scenes: Path, raw_blobs: RawBlobs) -> None:
    device = vault.ensure_source("BC-1", kind="bodycam")
    recording = import_bytes_file(vault, scenes / "night.mp4", device).recording
    first, second = vault.segments(recording)[:2]
    first_blob, second_blob = raw_blobs.read(first.blob_key), raw_blobs.read(second.blob_key)
    raw_blobs.write(first.blob_key, second_blob)
    raw_blobs.write(second.blob_key, first_blob)
    # Both blobs still decrypt: genuine blobs in the wrong place, found where the running hash breaks.
    assert [(p.kind, p.object) for p in verify_vault(vault).problems] == [("reordered", f"segment BC-1#{first.seq}")]


def test_a_flipped_byte_in_a_middle_chunk_names_that_chunk(vault: Vault, scenes: Path, raw_blobs: RawBlobs) -> None:
    device = vault.ensure_source("BC-1", kind="bodycam")
    recording = import_bytes_file(vault, scenes / "night.mp4", device).recording
    segments = vault.segments(recording)
    assert len(segments) >= 3
    middle = segments[len(segments) // 2]
    data = bytearray(raw_blobs.read(middle.blob_key))
    data[100] ^= 0x01
    raw_blobs.write(middle.blob_key, bytes(data))
    assert [(p.kind, p.object) for p in verify_vault(vault).problems] == [("modified", f"segment BC-1#{middle.seq}")]


def test_a_chunk_from_another_recording_is_reordered(vault: Vault, scenes: Path, raw_blobs: RawBlobs) -> None:
    device = vault.ensure_source("BC-1", kind="bodycam")
    night = vault.segments(import_bytes_file(vault, scenes / "night.mp4", device).recording)
    walkers = vault.segments(import_bytes_file(vault, scenes / "walkers.mp4", device).recording)
    raw_blobs.write(night[1].blob_key, raw_blobs.read(walkers[1].blob_key))
    assert [(p.kind, p.object) for p in verify_vault(vault).problems] == [("reordered", f"segment BC-1#{night[1].seq}")]
