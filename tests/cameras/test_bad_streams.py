"""Cameras that misbehave: each gets a clear status and a gap with its cause; the recording side survives.

These run without the RTSP simulator: fake servers for protocol-level failures, and MPEG-TS files
(which PyAV opens like a stream) for timestamp breaks and vault write failures.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.ingest.cameras.health import CameraState, HealthChange
from vigie.ingest.cameras.recorder import Recorder
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec, CameraTarget
from vigie.ingest.cameras.worker import CameraWorker
from vigie.vault.blobstore import BlobStoreError, LocalBlobStore
from vigie.vault.store import Vault
from vigie.vault.verify import verify_vault

from .helpers import (
    ACTOR,
    Installation,
    assert_continuous,
    closed_port,
    fake_camera,
    gaps_of,
    h264_transport_stream,
    installation,
    quick_settings,
    recordings_of,
    segments_of,
    wait_until,
)


def test_unreachable_garbage_and_refused_credentials(tmp_path: Path) -> None:
    site = installation(quick_settings(tmp_path / "home"))
    registry = CameraRegistry(site.vault, site.audit)
    changes: list[HealthChange] = []
    with fake_camera("garbage") as garbage, fake_camera("unauthorized") as locked:
        registry.add(CameraSpec("garbage", garbage.url), ACTOR)
        registry.add(CameraSpec("locked", locked.url), ACTOR)
        registry.add(CameraSpec("unplugged", f"rtsp://127.0.0.1:{closed_port()}/cam"), ACTOR)
        recorder = Recorder(site.settings, site.catalog, site.vault, on_health_change=changes.append)
        recorder.start()
        try:
            wait_until(
                lambda: all(gap_attempts(site.catalog, name) >= 2 for name in ("garbage", "locked", "unplugged")),
                timeout=20,
                what="two failed attempts on each camera",
            )
            health = {snapshot.camera: snapshot for snapshot in recorder.health()}
        finally:
            recorder.stop(timeout=10)
    expected = {"garbage": "stream-error", "locked": "auth-failed", "unplugged": "camera-unreachable"}
    for name, cause in expected.items():
        assert health[name].state is CameraState.OFFLINE and health[name].cause == cause, health[name]
        assert recordings_of(site.catalog, name) == []
        camera_gaps = gaps_of(site.catalog, name)
        assert camera_gaps[0].cause == cause and camera_gaps[0].end is not None  # closed when the recorder stopped
        assert camera_gaps[-1].cause == "recorder-stopped" and camera_gaps[-1].end is None
    assert "401" in (health["locked"].detail or "")
    assert {change.camera for change in changes if not change.up} == set(expected)
    with site.catalog.session() as session:
        rows = list(session.query(CameraHealth))
    assert {row.state for row in rows} == {"stopped"} and all(row.recorder_id is None for row in rows)
    site.close()


def gap_attempts(catalog: Catalog, name: str) -> int:
    gaps = gaps_of(catalog, name)
    return int(gaps[0].details.get("attempts", 0)) if gaps else 0


@pytest.fixture
def file_site(tmp_path: Path) -> Iterator[Installation]:
    # A long first reconnect delay: the worker is stopped before it reads the file a second time.
    site = installation(quick_settings(tmp_path / "home", reconnect_initial_seconds=30, reconnect_max_seconds=30))
    yield site
    site.close()


def record_file(site: Installation, path: Path, vault: Vault | None = None) -> CameraWorker:
    """Record a file as if it were a camera, until the "camera" closes the stream (end of file)."""
    vault = vault or site.vault
    source = vault.ensure_source("file-cam", kind="camera")
    target = CameraTarget(camera_id=0, source=source, name="file-cam", main_url=str(path), sub_url=None)
    worker = CameraWorker(target, settings=site.settings, vault=vault, events=queue.SimpleQueue())
    worker.start()
    wait_until(lambda: worker.status.cause == "stream-ended", timeout=30, what="the end of the file")
    worker.stop(None)
    assert worker.join(10)
    return worker


@pytest.mark.parametrize(
    ("first_stamp", "cause", "words"),
    [
        (30.0, "timestamps-backwards", "went backwards"),
        # FFmpeg reads a drop of more than a minute in MPEG-TS as a 33-bit wrap: the clock then leaps ahead.
        (100.0, "timestamps-jumped", "jumped ahead"),
    ],
)
def test_camera_clock_breaks_cut_the_recording(
    file_site: Installation, tmp_path: Path, first_stamp: float, cause: str, words: str
) -> None:
    clip = tmp_path / "restart.ts"
    # 6 s of video, then the camera's clock restarts at 0: like a camera rebooting its encoder.
    clip.write_bytes(h264_transport_stream(6, pts_offset=first_stamp) + h264_transport_stream(6))
    record_file(file_site, clip)
    recordings = recordings_of(file_site.catalog, "file-cam")
    assert len(recordings) == 2
    assert recordings[0].anomalies == [f"cut: camera timestamps {words}"]
    assert [r.status for r in recordings] == ["complete", "complete"]
    causes = [gap.cause for gap in gaps_of(file_site.catalog, "file-cam")]
    assert causes[0] == cause
    segments = segments_of(file_site.catalog, "file-cam")
    assert_continuous(segments, frame=timedelta(seconds=0.041))
    # The second run never starts before the first one ended (no overlap on the timeline).
    first_end = max(s.end for s in segments if s.recording_id == recordings[0].id)
    assert min(s.start for s in segments if s.recording_id == recordings[1].id) >= first_end
    assert sum((s.end - s.start).total_seconds() for s in segments) == pytest.approx(12, abs=0.2)
    assert verify_vault(file_site.vault).intact


class FullDisk(LocalBlobStore):
    """A blob store that fails, like a full disk, for the writes chosen by the test."""

    def __init__(self, root: Path, failing: set[int]) -> None:
        super().__init__(root, fsync=False)
        self.failing = failing
        self.writes = 0
        self._lock = threading.Lock()

    def put(self, key: str, *parts: bytes) -> None:
        with self._lock:
            self.writes += 1
            number = self.writes
        if number in self.failing:
            raise BlobStoreError(f"cannot write blob {key}: No space left on device")
        super().put(key, *parts)


def test_vault_write_failure_becomes_a_gap_inside_the_recording(file_site: Installation, tmp_path: Path) -> None:
    clip = tmp_path / "twelve.ts"
    clip.write_bytes(h264_transport_stream(12))
    store = FullDisk(file_site.settings.vault_dir, failing={2})
    vault = Vault(file_site.settings, file_site.catalog, blobs=store)
    worker = record_file(file_site, clip, vault)
    (recording,) = recordings_of(file_site.catalog, "file-cam")
    segments = segments_of(file_site.catalog, "file-cam")
    assert len(segments) == 2 and recording.segment_count == 2 and recording.status == "complete"
    lost = gaps_of(file_site.catalog, "file-cam")[0]
    assert lost.cause == "vault-write-failed" and lost.recording_id == recording.id
    assert "No space left" in lost.details["detail"]
    # The gap is exactly the lost segment: from the first segment's end to the third's start.
    assert lost.start == segments[0].end and lost.end == segments[1].start
    assert (lost.end - lost.start).total_seconds() == pytest.approx(4, abs=0.05)
    assert worker.archive.storage_error is None  # later writes succeeded
    assert verify_vault(vault).intact


def test_recorder_settings_are_strict() -> None:
    with pytest.raises(ValueError, match="rtsp_transport"):
        Settings(recorder={"rtsp_transport": "http"})  # type: ignore[arg-type]
