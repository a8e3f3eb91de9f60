"""The live analytics worker: the legal-basis gate, synthetic scenes raising events on the bus, failures per camera.

Streams come through the worker's opener: a synthetic clip from vigie.sim read as a file (fast), or
the RTSP camera simulator serving the ``abandoned`` scene (slow, real RTSP substream).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from vigie.access.audit import Actor, AuditLog
from vigie.analytics.frames import Frame
from vigie.analytics.source import VideoSource, VideoSourceError
from vigie.analytics.zones import ZoneError
from vigie.catalog.db import Catalog
from vigie.catalog.event_models import Event
from vigie.catalog.models import AuditEntry
from vigie.config import LiveAnalyticsSettings, Settings
from vigie.events.bus import InProcessBus, Subscription
from vigie.events.live_analytics import (
    AnalysisState,
    FrameStream,
    LiveAnalytics,
    alert_snapshot,
    masked_frame,
    scale_frame,
)
from vigie.events.service import EventService
from vigie.events.zone_store import ZoneStore
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec, CameraTarget
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.masks import PrivacyMask
from vigie.sim import SceneSpec, generate
from vigie.vault.store import Vault

NOW = datetime.now(UTC)
# Upper right corner: a "dwelling window" far from the fire of the fire scene (lower left).
WINDOW = PrivacyMask("window", ((0.7, 0.0), (1.0, 0.0), (1.0, 0.3), (0.7, 0.3)))


@pytest.fixture(scope="module")
def fire_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live") / "fire.mp4"
    generate(SceneSpec(kind="fire", width=320, height=180, fps=10, seconds=10.0, seed=1), path)
    return path


@pytest.fixture
def quick(settings: Settings) -> Settings:
    live = LiveAnalyticsSettings(reload_seconds=0.2, reconnect_initial_seconds=0.2, reconnect_max_seconds=1.0)
    return settings.model_copy(update={"events": settings.events.model_copy(update={"analytics": live})})


@pytest.fixture
def events(vault: Vault, audit: AuditLog) -> EventService:
    return EventService(vault.catalog, vault, audit, InProcessBus())


def register(vault: Vault, audit: AuditLog, actor: Actor, name: str, unit: str | None = "ville-a") -> None:
    CameraRegistry(vault, audit).add(
        CameraSpec(name, f"rtsp://127.0.0.1:1/{name}", sub_url=f"rtsp://127.0.0.1:1/{name}/sub", unit=unit), actor
    )


def allow(events: EventService, vault: Vault, actor: Actor, camera: str, event_type: str) -> int:
    basis = events.record_legal_basis(
        vault.source(camera),
        event_type,
        text_reference="TEST — base légale fictive pour les tests",
        authorisation="arrêté de test 2026-000",
        valid_from=NOW - timedelta(minutes=5),
        valid_until=NOW + timedelta(days=1),
        actor=actor,
    )
    return basis.id


def decode(jpeg: bytes) -> npt.NDArray[np.uint8]:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, "not a JPEG"
    return np.asarray(picture, dtype=np.uint8)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def next_event(subscription: Subscription, event_type: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = subscription.get(0.2)
        if item is not None and item[1].get("type") == event_type:
            return item[1]
    raise AssertionError(f"no {event_type} event on the bus within {timeout:g} s")


class Opener:
    """Streams by camera name, and a record of which cameras were opened (decoded) at all."""

    def __init__(self, streams: dict[str, Callable[[], FrameStream]]) -> None:
        self.streams = streams
        self.opened: list[str] = []

    def __call__(self, target: CameraTarget) -> FrameStream:
        self.opened.append(target.name)
        return self.streams[target.name]()


class Frames:
    """A stream of synthetic grey frames whose size changes after ``switch_after`` frames."""

    def __init__(self, switch_after: int) -> None:
        self.switch_after = switch_after

    def __iter__(self) -> Iterator[Frame]:
        for index in range(40):
            width = 96 if index < self.switch_after else 128
            yield Frame.from_grey(index / 5, np.full((64, width), 90, np.uint8))

    def close(self) -> None:
        return None


def test_no_basis_no_decoding_and_no_event(
    quick: Settings, vault: Vault, audit: AuditLog, events: EventService, actor: Actor, fire_clip: Path
) -> None:
    register(vault, audit, actor, "cam-a")
    opener = Opener({"cam-a": lambda: VideoSource.open(fire_clip, fps=5.0)})
    watcher = events.bus.subscribe("vigie.events.>")
    live = LiveAnalytics(vault, events, quick, opener=opener)
    live.reload()
    time.sleep(0.3)
    assert opener.opened == [] and live.running() == []  # not one frame decoded without a legal basis
    status = live.status("cam-a")
    assert status is not None and status.state is AnalysisState.OFF and status.detail == "no legal basis in force"
    assert watcher.get(0.2) is None

    # A basis for a zone type but no zone drawn: still nothing to decode, and the page says why.
    allow(events, vault, actor, "cam-a", "zone_intrusion")
    live.reload()
    status = live.status("cam-a")
    assert opener.opened == [] and status is not None and status.state is AnalysisState.OFF
    assert status.detail == "zone_intrusion: no forbidden zone drawn"
    live.stop()
    with events.catalog.session() as session:
        assert session.query(Event).count() == 0


def test_fire_scene_raises_a_masked_event_that_reaches_a_bus_subscriber(
    quick: Settings, vault: Vault, audit: AuditLog, events: EventService, actor: Actor, fire_clip: Path
) -> None:
    register(vault, audit, actor, "cam-fire")
    MaskStore(vault.catalog, audit).add("cam-fire", WINDOW, actor, reason="fenêtre d'habitation (test)")
    source = vault.source("cam-fire")
    running = vault.begin_recording(source, start=NOW - timedelta(minutes=2))  # the recorder's current run
    basis_id = allow(events, vault, actor, "cam-fire", "fire")
    opener = Opener({"cam-fire": lambda: VideoSource.open(fire_clip, fps=5.0)})
    watcher = events.bus.subscribe("vigie.events.>")
    with LiveAnalytics(vault, events, quick, opener=opener) as live:
        payload = next_event(watcher, "fire", timeout=30)
        status = live.status("cam-fire")
        assert status is not None and status.detectors == ("camera_tamper", "fire")
        assert status.width == 320 and status.height == 180 and status.frames > 0
    assert payload["camera"] == "cam-fire" and payload["status"] == "pending" and payload["has_snapshot"]
    assert payload["recording_id"] == running.id  # the alert links to the footage of that instant
    assert payload["details"]["frame"] == [320, 180]  # type: ignore[index]
    with events.catalog.session() as session:
        stored = session.get(Event, payload["id"])
        assert stored is not None and stored.legal_basis_id == basis_id
    snapshot = events.snapshot(stored)
    assert snapshot is not None and snapshot[:3] == b"\xff\xd8\xff"
    picture = decode(snapshot)
    assert picture.shape[:2] == (180, 320)  # at most snapshot_width wide: not enlarged
    # The dwelling window is black in the snapshot (JPEG: near black), the rest of the street is not.
    assert picture[5:50, 230:315].max() <= 24
    assert picture[100:170, 120:200].mean() > 40
    # The box is drawn in red around the fire.
    x, y, w, _h = stored.box or [0, 0, 0, 0]
    edge = picture[y, x + w // 2]
    assert edge[2] > 150 and edge[0] < 100, edge


def test_revoking_the_basis_stops_the_camera(
    quick: Settings, vault: Vault, audit: AuditLog, events: EventService, actor: Actor, fire_clip: Path
) -> None:
    register(vault, audit, actor, "cam-r")
    basis_id = allow(events, vault, actor, "cam-r", "fire")
    opener = Opener({"cam-r": lambda: VideoSource.open(fire_clip, fps=5.0)})
    with LiveAnalytics(vault, events, quick, opener=opener).start() as live:
        wait_until(lambda: live.running() == ["cam-r"], 5, "the camera to start")
        events.revoke_legal_basis(basis_id, actor=actor, reason="fin de l'autorisation (test)")
        wait_until(lambda: live.running() == [], 5, "the periodic reload to stop the camera")
        status = live.status("cam-r")
        assert status is not None and status.state is AnalysisState.OFF


def test_broken_streams_get_a_clear_status_and_other_cameras_carry_on(
    quick: Settings,
    vault: Vault,
    audit: AuditLog,
    events: EventService,
    actor: Actor,
    fire_clip: Path,
    tmp_path: Path,
) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(np.random.default_rng(1).integers(0, 255, 50_000)))
    for name in ("cam-corrupt", "cam-resized", "cam-down", "cam-good"):
        register(vault, audit, actor, name)
        allow(events, vault, actor, name, "fire")

    def refused() -> FrameStream:
        raise VideoSourceError("rtsp://127.0.0.1:1/cam-down/sub: cannot read video (Connection refused)")

    opener = Opener(
        {
            "cam-corrupt": lambda: VideoSource.open(corrupt, fps=5.0),
            "cam-resized": lambda: Frames(switch_after=10),
            "cam-down": refused,
            "cam-good": lambda: VideoSource.open(fire_clip, fps=5.0),
        }
    )
    watcher = events.bus.subscribe("vigie.events.>")
    with LiveAnalytics(vault, events, quick, opener=opener) as live:
        payload = next_event(watcher, "fire", timeout=30)
        wait_until(lambda: opener.opened.count("cam-down") >= 2, 10, "a reconnection attempt with backoff")
        wait_until(lambda: all(s.detail for s in live.statuses() if s.camera != "cam-good"), 10, "statuses")
        statuses = {status.camera: status for status in live.statuses()}
    assert payload["camera"] == "cam-good"
    assert statuses["cam-resized"].state is AnalysisState.ERROR
    assert statuses["cam-resized"].detail == (
        "picture size changed: the picture changed from 96x64 to 128x64; analysis restarts at the new size"
    )
    assert statuses["cam-corrupt"].state is AnalysisState.ERROR
    assert "cannot open the stream" in str(statuses["cam-corrupt"].detail)
    down = str(statuses["cam-down"].detail)
    # The URL (which may carry the camera's password) never reaches a status: the camera's name does.
    assert down == "cannot open the stream: cam-down substream: cannot read video (Connection refused)", down


def test_frames_are_masked_in_every_plane_and_scaled_down(fire_clip: Path) -> None:
    with VideoSource.open(fire_clip, fps=5.0) as source:
        frame = next(iter(source))
    hidden = masked_frame(frame, (WINDOW,))
    assert hidden.luma[0:50, 230:320].max() == 0 and frame.luma[0:50, 230:320].max() > 0
    assert hidden.chroma_blue is not None and hidden.chroma_red is not None
    assert set(np.unique(hidden.chroma_blue[0:25, 115:160])) == {128}  # no colour left under the mask
    big = Frame.from_bgr(0.0, np.zeros((720, 1280, 3), np.uint8))
    small = scale_frame(big, 640)
    assert (small.width, small.height) == (640, 360) and small.chroma_blue is not None
    assert small.chroma_blue.shape == (180, 320)
    jpeg = alert_snapshot(hidden, None, (WINDOW,), 160)
    assert decode(jpeg).shape[:2] == (90, 160)


def test_zones_are_validated_against_the_picture_and_rescaled(vault: Vault, audit: AuditLog, actor: Actor) -> None:
    register(vault, audit, actor, "cam-z")
    store = ZoneStore(vault.catalog, audit)
    source = vault.source("cam-z")
    door = {"name": "porte", "kind": "forbidden", "polygon": [[100, 100], [300, 100], [300, 400], [100, 400]]}
    with pytest.raises(ZoneError, match="outside the 640x360 image"):
        store.save(source, {"zones": [door]}, width=640, height=360, actor=actor)
    saved = store.save(source, {"zones": [door]}, width=640, height=480, actor=actor, abandoned_after=20)
    assert saved.version == 1 and saved.abandoned_after == 20
    setup = store.get(source).setup_for(320, 240)
    assert setup.zones[0].polygon == ((50.0, 50.0), (150.0, 50.0), (150.0, 200.0), (50.0, 200.0))
    entries = [(entry.action, list(entry.object_ids)) for entry in audit.entries()]
    assert ("analytics.zones", ["cam-z"]) in entries


@pytest.mark.slow
def test_abandoned_bag_on_the_rtsp_simulator_reaches_a_bus_subscriber(
    quick: Settings, vault: Vault, audit: AuditLog, events: EventService, actor: Actor
) -> None:
    from vigie.sim.rtsp import CameraSimulator, SimulatorError

    try:
        simulator = CameraSimulator(
            count=1, port=0, scene="abandoned", seconds=30, fps=10, main_size=(640, 360), sub_size=(320, 180)
        ).start()
    except SimulatorError as error:
        pytest.skip(f"RTSP simulator unavailable: {error}")
    try:
        CameraRegistry(vault, audit).add(
            CameraSpec("rue-1", simulator.url("cam0"), sub_url=simulator.url("cam0", sub=True), unit="ville-a"), actor
        )
        ZoneStore(vault.catalog, audit).save(
            vault.source("rue-1"), {"zones": []}, width=640, height=360, actor=actor, abandoned_after=3
        )
        allow(events, vault, actor, "rue-1", "abandoned_object")
        watcher = events.bus.subscribe("vigie.events.rue-1")
        with LiveAnalytics(vault, events, quick) as live:  # the real opener: the RTSP substream
            payload = next_event(watcher, "abandoned_object", timeout=60)
            status = live.status("rue-1")
        assert status is not None and (status.width, status.height) == (320, 180)  # the substream, not the main
        assert payload["camera"] == "rue-1" and payload["box"] is not None and payload["has_snapshot"]
    finally:
        simulator.stop()


def test_the_cli_records_lists_and_revokes_bases_only_for_lawful_types(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigie.cli.main import app

    home = ["--home", str(tmp_path / "home")]
    runner = CliRunner()

    def vigie(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*home, *args])
        return result.exit_code, result.output

    assert vigie("camera", "add", "quai-1", "--url", "rtsp://127.0.0.1:1/quai")[0] == 0
    assert "analytics are off" in vigie("analytics", "basis", "list")[1]
    code, output = vigie("analytics", "basis", "add", "quai-1", "--type", "face_match", "--text", "aucun",
                         "--authorisation", "aucune", "--until", "2099-01-01")  # fmt: skip
    assert code == 2 and "lawful event types" in output
    code, output = vigie("analytics", "basis", "add", "quai-1", "--type", "fire", "--text", "loi n° 2099-1 (test)",
                         "--authorisation", "arrêté 2099-7", "--until", "2099-01-01")  # fmt: skip
    assert code == 0 and "written to the register" in output
    code, output = vigie("analytics", "basis", "list", "quai-1", "--json")
    assert code == 0 and [(row["event_type"], row["state"]) for row in json.loads(output)] == [("fire", "in force")]
    code, output = vigie("analytics", "basis", "revoke", "quai-1", "--type", "fire", "--reason", "fin de l'arrêté")
    assert code == 0 and "revoked" in output
    assert json.loads(vigie("analytics", "basis", "list", "--json")[1])[0]["state"] == "revoked"
    catalog = Catalog(Settings(home=tmp_path / "home").catalog_url)
    try:
        with catalog.session() as session:
            actions = {entry.action for entry in session.query(AuditEntry)}
    finally:
        catalog.dispose()
    assert {"analytics.legal-basis", "analytics.legal-basis-revoke"} <= actions
