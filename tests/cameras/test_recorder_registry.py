"""A running recorder follows the registry, holds its cameras with a lease, and checkpoints as it goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.models import Checkpoint
from vigie.ingest.cameras.archive import CameraArchive
from vigie.ingest.cameras.health import CameraState, HealthStore, Lease
from vigie.ingest.cameras.recorder import Recorder
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
from vigie.sim.rtsp import CameraSimulator
from vigie.vault.verify import verify_vault

from .helpers import ACTOR, gaps_of, installation, quick_settings, recordings_of, segments_of, wait_until


@pytest.mark.slow
def test_registry_changes_reach_a_running_recorder(tmp_path: Path) -> None:
    site = installation(quick_settings(tmp_path / "home"))
    registry = CameraRegistry(site.vault, site.audit)
    with CameraSimulator(count=2, port=0, seconds=5, main_size=(640, 360), sub_size=None) as simulator:
        registry.add(CameraSpec("cam0", simulator.url("cam0")), ACTOR)
        recorder = Recorder(site.settings, site.catalog, site.vault)
        recorder.start()
        try:
            wait_until(lambda: len(segments_of(site.catalog, "cam0")) >= 1, 15, "cam0 recorded")
            # A second recorder on the same catalog leaves the camera alone while the first one lives.
            other = HealthStore(site.catalog, "elsewhere:1", site.settings.recorder.lease_seconds)
            assert not other.acquire(recorder.worker("cam0").target.camera_id).acquired

            registry.add(CameraSpec("cam1", simulator.url("cam1")), ACTOR)  # picked up without a restart
            wait_until(lambda: len(segments_of(site.catalog, "cam1")) >= 1, 15, "cam1 recorded")

            registry.set_enabled("cam0", False, ACTOR, reason="maintenance")
            wait_until(lambda: "cam0" not in recorder.cameras, 10, "cam0 stopped")
            disabled_at = datetime.now(UTC)
            wait_until(lambda: recordings_of(site.catalog, "cam0")[0].status == "complete", 10, "cam0 sealed")
            registry.set_enabled("cam0", True, ACTOR)
            wait_until(lambda: len(recordings_of(site.catalog, "cam0")) == 2, 15, "cam0 recording again")
            wait_until(lambda: len(segments_of(site.catalog, "cam0")) >= 2, 15, "cam0's new segment")
        finally:
            recorder.stop(timeout=15)
    # Disabled means nobody expects footage: no gap for that time, only the final stop.
    assert [gap.cause for gap in gaps_of(site.catalog, "cam0")] == ["recorder-stopped"]
    first, second = recordings_of(site.catalog, "cam0")
    assert first.end is not None and first.end <= disabled_at + timedelta(seconds=1) < second.start
    with site.catalog.session() as session:
        rows = {row.camera_id: row for row in session.execute(select(CameraHealth)).scalars()}
    assert all(row.state == CameraState.STOPPED.value and row.recorder_id is None for row in rows.values())
    assert verify_vault(site.vault).intact
    site.close()


def test_archive_checkpoints_while_recording(tmp_path: Path) -> None:
    site = installation(quick_settings(tmp_path / "home"))
    source = site.vault.ensure_source("cam", kind="camera")
    archive = CameraArchive(site.vault, source, checkpoint_seconds=0)  # "every hour", compressed to every segment
    archive.recover(Lease(True, None, None)).result()
    start = datetime(2026, 11, 21, 10, tzinfo=UTC)
    for index in range(3):
        begin = start + timedelta(seconds=4 * index)
        archive.store_segment(b"segment %d" % index, begin, begin + timedelta(seconds=4), {"codec": "h264"})
    archive.flush(5)
    with site.catalog.session() as session:
        checkpoints = session.execute(select(func.count()).select_from(Checkpoint)).scalar_one()
    assert checkpoints == 3  # one signed checkpoint per segment here, before the recording is even sealed
    archive.stopped(cause=None, at=start + timedelta(seconds=12))
    archive.close()
    (recording,) = recordings_of(site.catalog, "cam")
    assert recording.status == "complete" and recording.segment_count == 3 and recording.seal_signature
    assert verify_vault(site.vault).intact
    site.close()
