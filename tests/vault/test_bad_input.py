"""Bad input gets a clear error and leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vigie.catalog.db import Catalog
from vigie.catalog.models import Recording, Segment
from vigie.config import Settings
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.ingest.segmenter import MediaError
from vigie.vault.blobstore import BlobPart, BlobStore, BlobStoreError
from vigie.vault.store import Vault, VaultError, open_blob_store
from vigie.vault.verify import verify_vault


def counts(vault: Vault) -> tuple[int, int, int]:
    with vault.catalog.session() as session:
        recordings = session.execute(select(func.count()).select_from(Recording)).scalar_one()
        segments = session.execute(select(func.count()).select_from(Segment)).scalar_one()
    return recordings, segments, len(list(vault.blobs.iter_keys()))


def test_not_a_video_is_refused(vault: Vault, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    with pytest.raises(MediaError, match="not a readable video"):
        import_camera_file(vault, text, vault.ensure_source("cam-1", kind="camera"))
    with pytest.raises(MediaError, match="not an MP4"):
        import_bytes_file(vault, text, vault.ensure_source("BC-1", kind="bodycam"))
    assert counts(vault) == (0, 0, 0)


def test_truncated_camera_file_keeps_the_readable_part_as_truncated(vault: Vault, scenes: Path, tmp_path: Path) -> None:
    data = (scenes / "walkers.mp4").read_bytes()  # faststart: the index is at the front
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    result = import_camera_file(vault, cut, vault.ensure_source("cam-1", kind="camera"))
    assert result.recording.status == "truncated"
    assert result.anomalies and result.anomalies[0].startswith("truncated")
    assert 0 < result.duration < 9.0
    assert verify_vault(vault).intact


def test_truncated_bodycam_file_is_kept_byte_exact_with_an_anomaly(vault: Vault, scenes: Path, tmp_path: Path) -> None:
    data = (scenes / "night.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    result = import_bytes_file(vault, cut, vault.ensure_source("BC-1", kind="bodycam"))
    assert result.recording.status == "truncated"
    assert any(a.startswith("truncated") for a in result.anomalies)
    assert b"".join(d for _, d in vault.iter_plaintext(result.recording)) == data[: len(data) // 2]


def test_empty_file_is_refused(vault: Vault, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError, match="empty"):
        import_bytes_file(vault, empty, vault.ensure_source("BC-1", kind="bodycam"))


class FillingStore:
    """The real store of the stack under test, whose space 'runs out' after a number of blobs."""

    def __init__(self, store: BlobStore, room: int) -> None:
        self.store = store
        self.room = room

    def put(self, key: str, *parts: BlobPart) -> None:
        if self.room <= 0:
            raise BlobStoreError(f"cannot write blob {key}: No space left on device")
        self.room -= 1
        self.store.put(key, *parts)

    def get(self, key: str) -> bytes:
        return self.store.get(key)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def iter_keys(self) -> Iterator[str]:
        return self.store.iter_keys()


@pytest.fixture
def full_disk_vault(settings: Settings, catalog: Catalog) -> Vault:
    return Vault(settings, catalog, blobs=FillingStore(open_blob_store(settings), room=2))


def test_full_disk_leaves_nothing_half_written(full_disk_vault: Vault, scenes: Path) -> None:
    vault = full_disk_vault
    with pytest.raises(BlobStoreError, match="No space left"):
        import_camera_file(vault, scenes / "walkers.mp4", vault.ensure_source("cam-1", kind="camera"))
    assert counts(vault) == (0, 0, 0)
    assert verify_vault(vault).intact
    with pytest.raises(BlobStoreError, match="No space left"):
        import_bytes_file(vault, scenes / "night.mp4", vault.ensure_source("BC-1", kind="bodycam"))
    assert counts(vault) == (0, 0, 0)


def test_earlier_footage_survives_a_failed_import(vault: Vault, scenes: Path, tmp_path: Path) -> None:
    source = vault.ensure_source("cam-1", kind="camera")
    import_camera_file(vault, scenes / "walkers.mp4", source)
    before = counts(vault)
    bogus = tmp_path / "bogus.mp4"
    bogus.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 1000)
    with pytest.raises(MediaError):
        import_camera_file(vault, bogus, source)
    assert counts(vault) == before
    assert verify_vault(vault).intact


def test_wrong_installation_key_is_refused(settings: Settings, catalog: Catalog, vault: Vault, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(b"\x01" * 32)
    wrong = settings.model_copy(update={"vault": settings.vault.model_copy(update={"installation_key_file": other})})
    with pytest.raises(VaultError, match="wrong key"):
        Vault(wrong, catalog)


def test_missing_key_is_not_silently_recreated(settings: Settings, catalog: Catalog, vault: Vault) -> None:
    settings.installation_key_file.unlink()
    with pytest.raises(RuntimeError, match="does not exist"):
        Vault(settings, catalog)


def test_source_kind_cannot_change(vault: Vault) -> None:
    vault.ensure_source("cam-1", kind="camera")
    with pytest.raises(VaultError, match="is a camera"):
        vault.ensure_source("cam-1", kind="bodycam")
