"""End to end against the RTSP simulator: continuous recording, outages as gaps, bad cameras, live relay.

One recorder, one run of about 30 seconds, many cameras at once — which is also the point: a
camera that fails, stalls or cannot be stored never disturbs the others.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from vigie.ingest.cameras.health import CameraState, HealthChange, HealthSnapshot
from vigie.ingest.cameras.live import LiveHub
from vigie.ingest.cameras.recorder import Recorder
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
from vigie.ingest.cameras.timeline import camera_timeline
from vigie.sim.rtsp import CameraSimulator
from vigie.vault.blobstore import BlobStoreError, LocalBlobStore
from vigie.vault.store import Vault
from vigie.vault.verify import verify_vault

from .helpers import (
    ACTOR,
    assert_continuous,
    covered_without_holes,
    fake_camera,
    gaps_of,
    installation,
    quick_settings,
    recordings_of,
    segments_of,
    wait_until,
)

pytestmark = pytest.mark.slow
FRAME = timedelta(seconds=0.041)
OUTAGE = 10.0  # seconds cam3 is unplugged
STALL = 6.0  # seconds cam4 sends nothing
DISK_FULL = 7.0  # seconds cam5's writes fail


class FlakyDisk(LocalBlobStore):
    """Writes of the chosen sources fail like a full disk while ``full`` is set."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, fsync=False)
        self.full = threading.Event()
        self.prefixes: set[str] = set()

    def put(self, key: str, *parts: bytes) -> None:
        if self.full.is_set() and key.split("/", 1)[0] in self.prefixes:
            raise BlobStoreError(f"cannot write blob {key}: No space left on device")
        super().put(key, *parts)


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    with CameraSimulator(
        count=6,
        port=0,
        seconds=5,
        main_size=(640, 360),
        sub_size=None,
        special={"radio": "audio-only", "webcam": "vp8"},
    ) as simulator:
        yield simulator


def test_recording_through_outages(tmp_path: Path, simulator: CameraSimulator) -> None:
    disk: FlakyDisk | None = None

    def flaky_vault(settings, catalog):  # type: ignore[no-untyped-def]
        nonlocal disk
        disk = FlakyDisk(settings.vault_dir)
        return Vault(settings, catalog, blobs=disk)

    site = installation(quick_settings(tmp_path / "home"), flaky_vault)
    assert disk is not None
    registry = CameraRegistry(site.vault, site.audit)
    for name in [*simulator.names]:
        registry.add(CameraSpec(name, simulator.url(name)), ACTOR)
    disk.prefixes.add(site.vault.source("cam5").uid)
    changes: list[HealthChange] = []
    hub = LiveHub(site.settings.recorder)
    with fake_camera("garbage") as garbage:
        registry.add(CameraSpec("garbage", garbage.url), ACTOR)
        recorder = Recorder(site.settings, site.catalog, site.vault, hub=hub, on_health_change=changes.append)
        begun = datetime.now(UTC)
        recorder.start()
        try:
            wait_until(lambda: online(recorder) >= {f"cam{i}" for i in range(6)}, 20, "the six cameras online")
            wait_until(
                lambda: all(segments_of(site.catalog, f"cam{i}") for i in range(6)), 15, "a first segment of each"
            )
            simulator.pause("cam3")  # unplugged: connections closed, 404 until it comes back
            simulator.pause("cam4", "stall")  # frozen encoder: connected, silent
            disk.full.set()
            unplugged = datetime.now(UTC)
            check_live_relay(hub, simulator)  # meanwhile, two viewers on cam0
            time.sleep(STALL - (datetime.now(UTC) - unplugged).total_seconds())
            simulator.resume("cam4")
            time.sleep(DISK_FULL - (datetime.now(UTC) - unplugged).total_seconds())
            disk.full.clear()
            time.sleep(OUTAGE - (datetime.now(UTC) - unplugged).total_seconds())
            simulator.resume("cam3")
            replugged = datetime.now(UTC)
            wait_until(lambda: "cam3" in online(recorder), 10, "cam3 back online")
            time.sleep(6)
            health = {snapshot.camera: snapshot for snapshot in recorder.health()}
        finally:
            recorder.stop(timeout=15)
        ended = datetime.now(UTC)

    # Healthy cameras: one recording each, every segment meeting the next within a frame.
    for name in ("cam0", "cam1", "cam2"):
        (recording,) = recordings_of(site.catalog, name)
        segments = segments_of(site.catalog, name)
        assert recording.status == "complete" and len(segments) >= 6
        assert_continuous(segments, FRAME)
        assert all(timedelta(seconds=3.9) <= s.end - s.start <= timedelta(seconds=5.1) for s in segments[:-1])
        covered_without_holes(segments, gaps_of(site.catalog, name), segments[0].start, ended - timedelta(seconds=1))
        assert [g.cause for g in gaps_of(site.catalog, name)] == ["recorder-stopped"]
        assert health[name].fps == pytest.approx(25, abs=3) and (health[name].bitrate or 0) > 100_000
        assert health[name].codec == "h264" and (health[name].width, health[name].height) == (640, 360)
        assert health[name].last_keyframe_at is not None and ended - health[name].last_keyframe_at < timedelta(
            seconds=8
        )
        first_start = segments[0].start
        assert timedelta(0) <= first_start - begun < timedelta(seconds=5)  # pinned to the wall clock

    # Unplugged for 10 s: a gap of about 10 s with its cause, and recording resumed on its own.
    outage = gaps_of(site.catalog, "cam3")[0]
    assert outage.cause == "stream-ended" and outage.end is not None
    assert (outage.end - outage.start).total_seconds() == pytest.approx(OUTAGE, abs=3)
    assert abs((outage.start - unplugged).total_seconds()) < 1.5 and outage.end - replugged < timedelta(seconds=3)
    assert len(recordings_of(site.catalog, "cam3")) == 2
    assert {(c.camera, c.up) for c in changes} >= {("cam3", False), ("cam3", True)}
    timeline = camera_timeline(site.catalog, "cam3").as_json()
    assert [g["cause"] for g in timeline["gaps"]] == ["stream-ended", "recorder-stopped"]
    assert len(timeline["segments"]) == 2

    # Frozen for 6 s: detected as a stall after the stall timeout, then recorded again.
    stall = gaps_of(site.catalog, "cam4")[0]
    assert stall.cause == "stream-stalled" and stall.end is not None
    assert (stall.end - stall.start).total_seconds() == pytest.approx(STALL, abs=3)

    # Full disk for 7 s: footage lost is a gap inside the same recording, which went on.
    (full_disk_recording,) = recordings_of(site.catalog, "cam5")
    lost = gaps_of(site.catalog, "cam5")[0]
    assert lost.cause == "vault-write-failed" and lost.recording_id == full_disk_recording.id
    assert (lost.end - lost.start).total_seconds() == pytest.approx(DISK_FULL, abs=4.5)  # whole segments are lost
    assert_continuous([s for s in segments_of(site.catalog, "cam5") if s.end <= lost.start], FRAME)

    # Cameras Vigie cannot record: a clear status and an open gap each, never a recording.
    for name, cause, words in (
        ("radio", "unsupported-stream", "no video"),
        ("webcam", "unsupported-stream", "vp8"),
        ("garbage", "stream-error", "Invalid data"),
    ):
        assert health[name].state is CameraState.OFFLINE and health[name].cause == cause
        assert words in (health[name].detail or ""), health[name].detail
        assert recordings_of(site.catalog, name) == [] and gaps_of(site.catalog, name)[0].cause == cause

    report = verify_vault(site.vault)
    assert report.intact, report.problems
    site.close()


def online(recorder: Recorder) -> set[str]:
    return {s.camera for s in recorder.health() if s.state is CameraState.ONLINE}


def check_live_relay(hub: LiveHub, simulator: CameraSimulator) -> None:
    """Two viewers on cam0 get the same init segment and decodable fragments; the camera still sees one client."""
    first = hub.subscribe("cam0", timeout=5)
    second = hub.subscribe("cam0", timeout=5)
    try:
        assert first.init == second.init
        fragments = [first.get(timeout=3) for _ in range(30)]
        assert all(fragment is not None for fragment in fragments)
        with av.open(io.BytesIO(first.init + b"".join(f.data for f in fragments if f)), "r") as container:
            frames = [frame for frame in container.decode(video=0)]
        assert len(frames) == 30 and (frames[0].width, frames[0].height) == (640, 360)
        assert second.get(timeout=3) is not None
        assert simulator.connections("cam0") == 1  # the recorder's, nobody else's
    finally:
        first.close()
        second.close()


def _health_line(snapshot: HealthSnapshot) -> str:
    return f"{snapshot.camera} {snapshot.state} {snapshot.cause} {snapshot.fps}"


def test_a_freeze_on_an_open_connection_is_a_gap(tmp_path: Path) -> None:
    """The camera stops sending for 3 s but keeps the connection: the hole is cut out, not hidden in a segment."""
    site = installation(quick_settings(tmp_path / "home", stall_timeout_seconds=8.0))
    with CameraSimulator(count=1, port=0, seconds=5, main_size=(640, 360), sub_size=None) as simulator:
        CameraRegistry(site.vault, site.audit).add(CameraSpec("cam0", simulator.url("cam0")), ACTOR)
        recorder = Recorder(site.settings, site.catalog, site.vault)
        recorder.start()
        try:
            wait_until(lambda: len(segments_of(site.catalog, "cam0")) >= 1, 15, "a first segment")
            simulator.pause("cam0", "stall")
            time.sleep(3)
            simulator.resume("cam0")
            wait_until(lambda: len(recordings_of(site.catalog, "cam0")) == 2, 15, "a second recording")
            wait_until(lambda: recordings_of(site.catalog, "cam0")[1].segment_count >= 1, 15, "its first segment")
        finally:
            recorder.stop(timeout=15)
    first, _ = recordings_of(site.catalog, "cam0")
    assert first.anomalies and first.anomalies[0].startswith("cut: no video for 3.")
    hole = gaps_of(site.catalog, "cam0")[0]
    assert hole.cause == "stream-stalled" and hole.recording_id == first.id and hole.end is not None
    assert (hole.end - hole.start).total_seconds() == pytest.approx(3, abs=1.5)  # up to a GOP more, to a keyframe
    assert_continuous(segments_of(site.catalog, "cam0"), FRAME)
    assert verify_vault(site.vault).intact
    site.close()
