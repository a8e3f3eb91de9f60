"""The live transmission server against real RTSP cameras (the simulator) and the in-process recorder.

Viewers share the recorder's one connection per camera (asserted on the simulator's own client
count), get fMP4 that PyAV decodes, over a WebSocket or HLS; masked cameras are masked live too;
every viewing has a start and an end in the register.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from access.helpers import ADMIN_ACTOR, Person, everyone, fast
from cameras.helpers import quick_settings, wait_until
from vigie.access.audit import AuditQuery
from vigie.access.policy import Role
from vigie.catalog.models import AuditEntry
from vigie.config import Settings
from vigie.ingest.cameras.registry import CameraSpec
from vigie.privacy.masks import PrivacyMask
from vigie.sim.rtsp import CameraSimulator, read_stamp
from vigie.web.app import create_app
from vigie.web.routes import live
from vigie.web.services import Services

from .conftest import Tokens

pytestmark = pytest.mark.slow
REASON = "surveillance de la manifestation place Bellecour"
LEFT_HALF = PrivacyMask("facade", ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    with CameraSimulator(
        count=1, port=0, seconds=4, fps=10, main_size=(320, 180), sub_size=None, stamp_frames=True
    ) as simulator:
        yield simulator


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast(quick_settings(tmp_path / "home"))


@pytest.fixture
def services(settings: Settings, simulator: CameraSimulator) -> Iterator[Services]:
    services = Services.build(settings, record=True)  # as ``vigie serve`` does
    services.cameras.add(CameraSpec(name="cam0", main_url=simulator.url("cam0"), unit="ville-a"), ADMIN_ACTOR)
    yield services
    services.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services=services)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:  # the lifespan starts the recorder
        yield test_client


@pytest.fixture
def people(services: Services) -> dict[Role, Person]:
    return everyone(services.users)


@pytest.fixture
def tokens(services: Services) -> Tokens:
    return Tokens(services)


def register(services: Services, action: str) -> list[AuditEntry]:
    return list(reversed(services.audit.search(AuditQuery(action=action, object_id="cam0"), limit=100)[0]))


def frames_of(*parts: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(b"".join(parts)), "r") as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]


@contextlib.contextmanager
def viewing(client: TestClient, headers: dict[str, str], reason: str = REASON) -> Iterator[tuple[Any, dict[str, Any],
                                                                                                 bytes]]:
    """A live viewing over the WebSocket: (socket, the init message, the init segment); closed on exit."""
    with client.websocket_connect("/api/live/cam0/ws", headers=headers) as socket:
        socket.send_json({"type": "open", "reason": reason})
        message = socket.receive_json()
        while message["type"] == "status":  # the camera is still connecting
            message = socket.receive_json()
        assert message["type"] == "init", message
        yield socket, message, socket.receive_bytes()


def test_two_viewers_share_the_one_camera_connection(
    client: TestClient, services: Services, simulator: CameraSimulator, people: dict[Role, Person], tokens: Tokens
) -> None:
    operator, supervisor = tokens.headers(people[Role.OPERATOR]), tokens.headers(people[Role.SUPERVISOR])
    received: dict[int, list[bytes]] = {0: [], 1: []}
    delays: list[float] = []
    with viewing(client, operator) as (first, announced, first_init):
        assert announced["codec"].startswith("avc1.") and announced["masked"] is False
        assert first_init[4:8] == b"ftyp"
        for _ in range(25):  # alone, read as fast as frames come: the latency of the relay
            received[0].append(first.receive_bytes())
            stamp = read_stamp(received[0][-1])
            if stamp is not None and len(received[0]) > 12:  # past the replayed GOP the viewer joined on
                delays.append(time.time() - stamp)
        with viewing(client, supervisor) as (second, _, second_init):
            assert second_init == first_init
            for _ in range(30):
                for index, socket in enumerate((first, second)):
                    received[index].append(socket.receive_bytes())
            # One RTSP connection to the camera, however many watch: the recorder's.
            assert simulator.connections("cam0") == 1
            assert [status.subscribers for status in services.hub.cameras()] == [2]
    assert len(frames_of(first_init, *received[0])) == 55
    assert len(frames_of(second_init, *received[1])) == 30
    # Camera send time (stamped in each frame by the simulator) to arrival here, through recorder and relay.
    assert delays and statistics.median(delays) < 1.0, delays

    wait_until(lambda: len(register(services, "live.view.end")) == 2, 30, "the ends of both viewings")
    opened = [entry for entry in register(services, "live.view") if entry.action == "live.view"]
    ended = register(services, "live.view.end")
    assert [entry.actor for entry in opened] == [people[Role.OPERATOR].username, people[Role.SUPERVISOR].username]
    assert all(entry.reason == REASON and entry.outcome == "allowed" for entry in opened + ended)
    assert {entry.details["opened_entry"] for entry in ended} == {entry.id for entry in opened}
    for entry in ended:
        assert entry.details["transport"] == "websocket" and entry.details["end"] == "closed by the viewer"
        assert entry.details["duration_seconds"] > 0 and entry.details["fragments"] >= 30
        assert entry.details["started_at"] < entry.details["ended_at"]


def test_hls_playlist_and_parts_from_the_same_connection(
    client: TestClient, services: Services, simulator: CameraSimulator, people: dict[Role, Person], tokens: Tokens
) -> None:
    headers = tokens.headers(people[Role.OPERATOR])
    stated = {**headers, "X-Vigie-Reason": "contr%C3%B4le%20du%20parvis"}  # percent-encoded UTF-8
    opened = client.post("/api/live/cam0/sessions", headers=stated)
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["playlist"] == f"/api/live/cam0/index.m3u8?session={session['session']}"
    assert register(services, "live.view")[0].reason == "contrôle du parvis"

    def playlist() -> str:
        response = client.get(session["playlist"], headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
        return str(response.text)

    wait_until(lambda: playlist().count("#EXTINF") >= 2, 15, "two HLS segments")
    lines = playlist().splitlines()
    assert lines[0] == "#EXTM3U"
    init_uri = next(line for line in lines if line.startswith("#EXT-X-MAP")).split('"')[1]
    parts = [line for line in lines if line and not line.startswith("#")]
    assert init_uri.endswith(f"?session={session['session']}") and all("?session=" in part for part in parts)
    init = client.get(f"/api/live/cam0/{init_uri}", headers=headers)
    segment = client.get(f"/api/live/cam0/{parts[-1].split('?')[0]}",  # the session may ride in a header too
                         headers={**headers, "X-Vigie-Live-Session": session["session"]})
    assert init.status_code == segment.status_code == 200
    assert len(frames_of(init.content, segment.content)) >= 9  # one 1-s GOP at 10 fps
    assert simulator.connections("cam0") == 1

    # Another person cannot ride on this viewing, nor can anyone without one.
    other = client.get(session["playlist"], headers=tokens.headers(people[Role.SUPERVISOR]))
    assert other.status_code == 404
    assert client.get("/api/live/cam0/index.m3u8", headers=headers).status_code == 404
    closed = client.delete(f"/api/live/cam0/sessions/{session['session']}", headers=headers)
    assert closed.status_code == 204
    [end] = register(services, "live.view.end")
    assert end.details["transport"] == "hls" and end.details["fragments"] >= 2
    assert client.get(session["playlist"], headers=headers).status_code == 404


def test_a_masked_camera_is_masked_live(
    client: TestClient, services: Services, simulator: CameraSimulator, people: dict[Role, Person], tokens: Tokens
) -> None:
    services.masks.add("cam0", LEFT_HALF, ADMIN_ACTOR, reason="fenêtres d'habitation")
    headers = tokens.headers(people[Role.OPERATOR])
    with viewing(client, headers) as (socket, announced, init):
        assert announced["masked"] is True
        gops = [socket.receive_bytes() for _ in range(2)]
        frames = frames_of(init, *gops)
        assert len(frames) >= 18  # two 1-s GOPs
        for frame in frames:
            assert frame[:, :155].max() < 40, "masked pixels must be black"
        assert max(frame[:, 170:].mean() for frame in frames) > 60  # the street is still there
        relay = live.live_state(client.app).relays["cam0"]  # type: ignore[arg-type]
        assert relay.transcoded >= 2 and relay.viewers == 1

    # HLS of a masked camera: masked parts, never the camera's own bytes.
    opened = client.post("/api/live/cam0/sessions", params={"reason": REASON}, headers=headers).json()
    assert opened["masked"] is True
    wait_until(lambda: client.get(opened["playlist"], headers=headers).text.count("#EXTINF") >= 1, 15, "a segment")
    lines = client.get(opened["playlist"], headers=headers).text.splitlines()
    init_uri = next(line for line in lines if line.startswith("#EXT-X-MAP")).split('"')[1]
    part = [line for line in lines if line and not line.startswith("#")][-1]
    masked_init = client.get(f"/api/live/cam0/{init_uri}", headers=headers).content
    masked_part = client.get(f"/api/live/cam0/{part}", headers=headers).content
    for frame in frames_of(masked_init, masked_part):
        assert frame[:, :155].max() < 40
    assert simulator.connections("cam0") == 1


def test_adding_a_mask_ends_an_unmasked_viewing(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "CHECK_SECONDS", 0.3)
    with viewing(client, tokens.headers(people[Role.OPERATOR])) as (socket, announced, _):
        assert announced["masked"] is False
        services.masks.add("cam0", LEFT_HALF, ADMIN_ACTOR)
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(200):
                socket.receive_bytes()
        assert closed.value.code == live.CLOSE_MASKS_CHANGED
    wait_until(lambda: len(register(services, "live.view.end")) == 1, 10, "the end of the viewing")
    assert register(services, "live.view.end")[0].details["end"] == "masks changed"


@pytest.mark.parametrize(
    ("role", "reason", "code", "close"),
    [
        (Role.OPERATOR, None, "reason_required", 4400),
        (Role.OPERATOR, "vu", "reason_too_short", 4400),
        (Role.MAINTAINER, REASON, "forbidden", 4403),
        (Role.OFFICER, REASON, "forbidden", 4403),
    ],
)
def test_refusals_are_explained_and_written(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens,
    role: Role, reason: str | None, code: str, close: int,
) -> None:
    with client.websocket_connect("/api/live/cam0/ws", headers=tokens.headers(people[role])) as socket:
        socket.send_json({"type": "open", "reason": reason})
        message = socket.receive_json()
        assert message == {"type": "refused", "code": code, "detail": message["detail"]}
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_bytes()
        assert closed.value.code == close
    [entry] = register(services, "live.view")
    assert (entry.outcome, entry.actor, entry.details["code"]) == ("refused", people[role].username, code)
    # A page of another site cannot open a viewing with the operator's cookie.
    headers = {**tokens.headers(people[Role.OPERATOR]), "Origin": "http://evil.example"}
    with client.websocket_connect("/api/live/cam0/ws", headers=headers) as socket:
        socket.send_json({"type": "open", "reason": REASON})
        assert socket.receive_json()["code"] == "csrf"
    # A socket that never states a reason is closed, and nothing was asked so nothing is written.
    with client.websocket_connect("/api/live/cam0/ws", headers=tokens.headers(people[Role.OPERATOR])) as socket:
        socket.send_json({"type": "hello"})
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4400
    assert len(register(services, "live.view")) == 1
