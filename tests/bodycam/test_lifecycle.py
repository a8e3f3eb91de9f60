"""A body-cam recording's life beyond upload: its officer plays it (four purposes), its track is fixed
once accepted, and its GPS points go when retention purges its footage."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from access.helpers import everyone
from vigie.access.sessions import SessionKind
from vigie.catalog.bodycam_models import BodycamRecording, BodycamTrack
from vigie.catalog.models import Segment
from vigie.catalog.types import utcnow
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.registry import DeviceView
from vigie.ingest.bodycam.retention import purge_tracks_of_purged_footage
from vigie.ingest.bodycam.search import PlaceTimeQuery, search_bodycams
from vigie.web.services import Services

from .helpers import ADMIN, LYON, T0, TusDock, gpx, unique, walk


def test_the_officer_who_recorded_plays_it_for_a_legal_purpose_and_nobody_else_of_that_rank(
    dock: TusDock, device: DeviceView, client: TestClient, services: Services, context: BodycamContext, clip: bytes
) -> None:
    people = everyone(services.users)  # the officer AG-001 of "ville-a"
    docking = dock.dock(device.serial)
    data = unique(clip, "mine")
    assert dock.upload_whole(device.serial, 1, data, docking, officer="AG-001").status_code == 204
    with context.catalog.session() as session:
        recording_id = session.execute(select(BodycamRecording.recording_id)).scalar_one()

    def headers(username: str) -> dict[str, str]:
        user = services.users.get(username)
        assert user is not None
        return {"Authorization": f"Bearer {services.sessions.issue(user, SessionKind.API).token}"}

    officer = headers(people[next(role for role in people if role.value == "officer")].username)
    url = f"/api/recordings/{recording_id}/media?reason={quote('rédaction du procès-verbal')}"
    assert client.get(url, headers=officer).status_code == 400  # officers state one of the four purposes
    played = client.get(url + "&purpose=accurate-report", headers=officer)
    assert played.status_code == 200 and played.content == data
    services.users.create(
        "agent2", role="officer", by=ADMIN, unit="ville-a", matricule="AG-002", password="Vigie-test-Passw0rd!"
    )
    colleague = headers("agent2")
    assert client.get(url + "&purpose=accurate-report", headers=colleague).status_code == 403


def test_a_track_is_fixed_once_its_recording_is_accepted(dock: TusDock, device: DeviceView, clip: bytes) -> None:
    docking = dock.dock(device.serial)
    first, second = gpx(walk(T0, 3)), gpx(walk(T0, 5))
    assert dock.track(docking, 1, first).status_code == 201
    assert dock.track(docking, 1, second).status_code == 201  # replaced while no recording uses it
    assert dock.track(docking, 1, second).status_code == 200  # the same file again: nothing changes
    created = dock.create(len(clip), dock.metadata(device.serial, 1, clip, docking=docking))
    assert dock.patch(created.headers["location"], 0, clip).status_code == 204
    assert dock.track(docking, 1, second).status_code == 200
    locked = dock.track(docking, 1, first)
    assert locked.status_code == 409 and locked.json()["code"] == "track_locked"
    garbage = dock.track(docking, 2, b"\x00\xffnot a track at all")
    assert garbage.status_code == 201 and garbage.json()["points"] == 0
    too_big = dock.client.put(f"/api/bodycam/dockings/{docking}/tracks/3", content=b"x" * (33 << 20), headers=dock.auth)
    assert too_big.status_code == 413


def test_gps_points_go_when_retention_purges_the_footage(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    assert dock.upload_whole(device.serial, 1, unique(clip, "old"), docking).status_code == 204
    query = PlaceTimeQuery(LYON[0], LYON[1], 100.0, T0 - timedelta(minutes=1), T0 + timedelta(minutes=5))
    with context.catalog.session() as session:
        assert len(search_bodycams(session, query, join_seconds=30)) == 1
        assert purge_tracks_of_purged_footage(session) == 0  # footage still there: nothing to forget
        recording_id = session.execute(select(BodycamRecording.recording_id)).scalar_one()
        session.execute(update(Segment).where(Segment.recording_id == recording_id).values(purged_at=utcnow()))
    with context.catalog.session() as session:
        assert purge_tracks_of_purged_footage(session) == 1
    with context.catalog.session() as session:
        track = session.execute(select(BodycamTrack)).scalar_one()
        assert track.samples == b"" and track.file_sha256  # the fact remains, not the places
        assert session.execute(text("SELECT count(*) FROM bodycam_track_boxes")).scalar_one() == 0
        assert search_bodycams(session, query, join_seconds=30) == []
        assert purge_tracks_of_purged_footage(session) == 0
