"""The cameras API: registry with health and scope, timeline contract, playback and snapshots behind a reason."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from access.helpers import Person
from vigie.access.audit import AuditQuery
from vigie.access.policy import Role
from vigie.catalog.models import AuditEntry
from vigie.ingest.cameras.failures import GapCause
from vigie.ingest.cameras.gaps import add_closed_gap
from vigie.privacy.masks import PrivacyMask
from vigie.web.services import Services

from .camera_helpers import START, range_params, record_footage, register_camera
from .conftest import Tokens

REASON = "vérification d'un signalement de dégradation"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LEFT_HALF = PrivacyMask("facade", ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))


def entries(services: Services, camera: str, action: str = "footage") -> list[AuditEntry]:
    return services.audit.search(AuditQuery(action=action, object_id=camera), limit=100)[0]


def grey_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "not a JPEG"
    return image


def decoded(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), "r") as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]


@pytest.fixture
def camera(services: Services) -> str:
    register_camera(services, "place-bellecour", unit="ville-a")
    record_footage(services, "place-bellecour")
    return "place-bellecour"


def test_list_shows_health_and_only_the_callers_unit(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    register_camera(services, "gare-b", unit="ville-b")
    operator = client.get("/api/cameras", headers=tokens.headers(people[Role.OPERATOR]))
    assert operator.status_code == 200
    [listed] = operator.json()
    assert listed["name"] == camera and listed["unit"] == "ville-a"
    assert listed["authorisation"] == "arrêté 69-2026-0142" and listed["latitude"] == pytest.approx(45.7578)
    assert listed["health"]["state"] == "never-recorded"  # no recorder has reported on it
    assert listed["live"] == {"relayed": False, "streaming": False}
    assert set(listed["health"]) >= {"state", "fps", "bitrate", "last_keyframe_at", "last_keyframe_age_seconds"}
    # The maintainer sees the technical list of the whole installation (no image).
    maintainer = tokens.headers(people[Role.MAINTAINER])
    names = {item["name"] for item in client.get("/api/cameras", headers=maintainer).json()}
    assert names == {camera, "gare-b"}
    assert client.get("/api/cameras", headers=tokens.headers(people[Role.OFFICER])).status_code == 403


def test_registry_changes_are_validated_like_the_cli_and_audited(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    admin = tokens.headers(people[Role.ADMIN])
    body = {"name": "quai-ouest", "main_url": "rtsp://user:secret@10.0.0.7:554/main", "latitude": 45.76,
            "longitude": 4.84, "retention_days": 20, "unit": "ville-a", "authorisation": "arrêté 69-2026-0143"}
    created = client.post("/api/cameras", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["main_url"] == "rtsp://10.0.0.7:554/main" and created.json()["credentials"] is True
    assert created.json()["retention"] == "P20D"
    assert entries(services, "quai-ouest", "camera.add")[0].actor == people[Role.ADMIN].username

    too_long = client.post("/api/cameras", json={**body, "name": "quai-est", "retention_days": 40}, headers=admin)
    assert too_long.status_code == 400 and "one month" in too_long.json()["detail"]
    assert client.post("/api/cameras", json=body, headers=admin).status_code == 409
    bad_url = client.post("/api/cameras", json={**body, "name": "x", "main_url": "http://x/"}, headers=admin)
    assert bad_url.status_code == 400 and bad_url.json()["code"] == "camera_error"
    assert client.post("/api/cameras", json=body, headers=tokens.headers(people[Role.OPERATOR])).status_code == 403

    disabled = client.patch("/api/cameras/quai-ouest", json={"enabled": False, "reason": "travaux"}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert entries(services, "quai-ouest", "camera.disable")[0].reason == "travaux"
    removed = client.delete("/api/cameras/quai-ouest", params={"reason": "démontée"}, headers=admin)
    assert removed.status_code == 200 and removed.json()["removed"] is True
    assert client.get("/api/cameras", headers=admin).json() == []
    assert [item["name"] for item in client.get("/api/cameras?all=1", headers=admin).json()] == ["quai-ouest"]
    assert client.patch("/api/cameras/quai-ouest", json={"enabled": True}, headers=admin).status_code == 409
    assert client.delete("/api/cameras/nowhere", headers=admin).status_code == 404


def test_timeline_contract(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    source_id = services.vault.source(camera).id
    add_closed_gap(services.catalog, source_id, START + timedelta(seconds=6), START + timedelta(seconds=20),
                   GapCause.CAMERA_UNREACHABLE)
    response = client.get(f"/api/cameras/{camera}/timeline", params=range_params(START, 3600),
                          headers=tokens.headers(people[Role.MAINTAINER]))
    assert response.status_code == 200
    timeline = response.json()
    assert set(timeline) == {"segments", "gaps"}
    [run] = timeline["segments"]  # three 2-s segments of one recording, merged
    assert set(run) >= {"start", "end"} and run["segments"] == 3
    assert ISO_Z.match(run["start"]) and ISO_Z.match(run["end"])
    assert timeline["gaps"] == [
        {"start": "2026-11-20T10:00:06.000000Z", "end": "2026-11-20T10:00:20.000000Z", "cause": "camera-unreachable"}
    ]
    # Outside the window: nothing; a reversed window: a clear 400.
    later = client.get(f"/api/cameras/{camera}/timeline", params=range_params(START + timedelta(hours=2), 60),
                       headers=tokens.headers(people[Role.MAINTAINER]))
    assert later.json() == {"segments": [], "gaps": []}
    reversed_range = {"from": "2026-11-20T11:00:00Z", "to": "2026-11-20T10:00:00Z"}
    bad = client.get(f"/api/cameras/{camera}/timeline", params=reversed_range,
                     headers=tokens.headers(people[Role.MAINTAINER]))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_range"
    unknown = client.get("/api/cameras/nowhere/timeline", headers=tokens.headers(people[Role.MAINTAINER]))
    assert unknown.status_code == 404


def test_playback_needs_a_reason_and_writes_exactly_one_entry(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    headers = tokens.headers(people[Role.OPERATOR])
    url = f"/api/cameras/{camera}/playback"
    missing = client.get(url, params=range_params(), headers=headers)
    assert missing.status_code == 400 and missing.json()["code"] == "reason_required"
    assert [entry.outcome for entry in entries(services, camera)] == ["refused"]

    played = client.get(url, params={**range_params(START + timedelta(seconds=1), 4), "reason": REASON},
                        headers=headers)
    assert played.status_code == 200 and played.headers["content-type"] == "video/mp4"
    assert played.headers["x-vigie-masked"] == "0"
    allowed = [entry for entry in entries(services, camera) if entry.outcome == "allowed"]
    assert len(allowed) == 1 and len(entries(services, camera)) == 2
    entry = allowed[0]
    assert (entry.action, entry.actor, entry.reason) == ("footage.view", people[Role.OPERATOR].username, REASON)
    assert entry.object_ids[0] == camera and len(entry.object_ids) == 2  # the camera and its recording
    assert entry.details["from"] == "2026-11-20T10:00:01.000000Z" and entry.details["segments"] == 3
    # Whole segments overlapping 10:00:01-10:00:05: the three 2-s segments, 6 s at 10 fps, one MP4 stream.
    frames = decoded(played.content)
    assert len(frames) == 60
    assert played.content[4:8] == b"ftyp" and played.content.count(b"moov") == 1

    empty = client.get(url, params={**range_params(START + timedelta(hours=3), 60), "reason": REASON},
                       headers=headers)
    assert empty.status_code == 404 and empty.json()["code"] == "no_footage"
    too_long = client.get(url, params={**range_params(START, 3 * 3600), "reason": REASON}, headers=headers)
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid_range"
    # Every attempt is one entry: 1 refused + 1 allowed + 2 refused.
    assert len(entries(services, camera)) == 4


def test_another_units_camera_is_refused_and_the_refusal_audited(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    register_camera(services, "gare-b", unit="ville-b")
    record_footage(services, "gare-b")
    operator = tokens.headers(people[Role.OPERATOR])
    for path in ("playback", "snapshot"):
        response = client.get(f"/api/cameras/gare-b/{path}", params={**range_params(), "reason": REASON},
                              headers=operator)
        assert response.status_code == 403 and response.json()["code"] == "out_of_scope"
    refused = entries(services, "gare-b", "footage") + entries(services, "gare-b", "live.view")
    assert len(refused) == 2 and {entry.outcome for entry in refused} == {"refused"}
    assert {entry.details["code"] for entry in refused} == {"out_of_scope"}
    timeline = client.get("/api/cameras/gare-b/timeline", headers=operator)
    assert timeline.status_code == 403
    # Officers never get fixed-camera footage, whatever their unit (L241-1: their own recordings only).
    officer = client.get("/api/cameras/gare-b/playback", params={**range_params(), "reason": REASON,
                                                                 "purpose": "rescue"},
                         headers=tokens.headers(people[Role.OFFICER]))
    assert officer.status_code == 403


def test_masked_camera_snapshot_and_playback_have_black_masked_pixels(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    from access.helpers import ADMIN_ACTOR

    headers = tokens.headers(people[Role.SUPERVISOR])
    plain = client.get(f"/api/cameras/{camera}/snapshot", params={"reason": REASON}, headers=headers)
    assert plain.status_code == 200 and plain.headers["x-vigie-masked"] == "0"
    image = grey_jpeg(plain.content)
    assert image[:, :150].mean() > 150  # the scene is bright everywhere

    services.masks.add(camera, LEFT_HALF, ADMIN_ACTOR, reason="façade d'immeuble")
    masked = client.get(f"/api/cameras/{camera}/snapshot", params={"reason": REASON}, headers=headers)
    assert masked.status_code == 200 and masked.headers["content-type"] == "image/jpeg"
    assert masked.headers["x-vigie-masked"] == "1"
    image = grey_jpeg(masked.content)
    assert image.shape == (180, 320)
    assert image[:, :155].max() < 40  # masked: black, JPEG noise aside
    assert image[:, 170:].mean() > 150  # the rest untouched

    played = client.get(f"/api/cameras/{camera}/playback", params={**range_params(), "reason": REASON},
                        headers=headers)
    assert played.status_code == 200 and played.headers["x-vigie-masked"] == "1"
    frames = decoded(played.content)
    assert len(frames) == 60
    for frame in frames:
        assert frame[:, :155].max() < 40 and frame[:, 170:].mean() > 150
    # The snapshot is a consultation of live images: one live.view entry each, with the reason.
    assert [entry.reason for entry in entries(services, camera, "live.view")] == [REASON, REASON]


def test_pages_render_for_those_allowed(
    client: TestClient, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    operator = tokens.headers(people[Role.OPERATOR])
    listing = client.get("/cameras", headers=operator)
    assert listing.status_code == 200 and 'id="cameras-table"' in listing.text and 'data-live="1"' in listing.text
    page = client.get(f"/cameras/{camera}/timeline", headers=operator)
    assert page.status_code == 200 and f'data-camera="{camera}"' in page.text and 'data-play="1"' in page.text
    maintainer = client.get(f"/cameras/{camera}/timeline", headers=tokens.headers(people[Role.MAINTAINER]))
    assert maintainer.status_code == 200 and 'data-play="0"' in maintainer.text and "<dialog" not in maintainer.text
    assert client.get("/cameras/nowhere/timeline", headers=operator).status_code == 404
