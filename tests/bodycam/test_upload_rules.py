"""The tus intake refuses what it must, with the right 4xx, and never accepts the same recording twice."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from vigie.access.audit import AuditQuery
from vigie.catalog.bodycam_models import BodycamRecording, BodycamUpload
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.registry import DeviceView
from vigie.web.services import Services

from .helpers import (
    ADMIN,
    T0,
    TUS,
    UPLOADS,
    TusDock,
    checksum_header,
    gpx,
    sha256,
    spool_is_empty,
    stored_bytes,
    unique,
    walk,
)


def accepted_count(context: BodycamContext) -> int:
    with context.catalog.session() as session:
        return int(session.execute(select(func.count()).select_from(BodycamRecording)).scalar_one())


def test_plain_upload_is_stored_byte_exact_with_its_metadata(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    data = unique(clip, "plain")
    response = dock.upload_whole(device.serial, 1, data, docking)
    assert response.status_code == 204, response.text
    assert response.headers["Upload-Offset"] == str(len(data))
    with context.catalog.session() as session:
        claim = session.execute(select(BodycamRecording)).scalar_one()
        upload = session.execute(select(BodycamUpload)).scalar_one()
    assert claim.recording_id is not None and upload.state == "accepted"
    assert stored_bytes(context, claim.recording_id) == data
    recording = context.vault.recording(claim.recording_id)
    assert recording.sha256 == sha256(data)
    assert recording.media_info["officer"] == "PN-000001" and recording.media_info["sequence"] == 1
    assert recording.media_info["gps_track"]["points"] == 4
    # Nothing of it lingers in the spool: no ciphertext, no plaintext.
    assert spool_is_empty(context)


def test_unregistered_device_is_refused_and_audited(
    dock: TusDock, device: DeviceView, context: BodycamContext, services: Services, clip: bytes
) -> None:
    response = dock.create(len(clip), dock.metadata("NOT-REGISTERED", 1, clip))
    assert response.status_code == 422 and response.json()["code"] == "unknown_device"
    refused = services.audit.search(AuditQuery(action="bodycam.collect", outcome="refused"))[0]
    assert refused and refused[0].object_ids == ["NOT-REGISTERED"]
    docking = dock.client.post(
        "/api/bodycam/dockings", json={"device": "NOT-REGISTERED", "device_clock": T0.isoformat()}, headers=dock.auth
    )
    assert docking.status_code == 422


def test_duplicate_upload_is_not_accepted_twice(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    data = unique(clip, "dup")
    assert dock.upload_whole(device.serial, 7, data, docking).status_code == 204
    again = dock.create(len(data), dock.metadata(device.serial, 7, data, docking=docking))
    assert again.status_code == 409 and again.json()["code"] == "already_received"
    # Two uploads of the same sequence racing: the second to complete is refused, not stored.
    other = unique(clip, "race")
    context.registry  # noqa: B018 - same context as the server
    first = dock.create(len(other), dock.metadata(device.serial, 8, other, docking=docking))
    dock.track(docking, 8, gpx(walk(T0, 3)))
    first = dock.create(len(other), dock.metadata(device.serial, 8, other, docking=docking))
    assert first.status_code == 201
    assert dock.patch(first.headers["location"], 0, other).status_code == 204
    assert dock.create(len(other), dock.metadata(device.serial, 8, other, docking=docking)).status_code == 409
    assert accepted_count(context) == 2


def test_wrong_hash_is_refused_recorded_and_missing(
    dock: TusDock, device: DeviceView, context: BodycamContext, services: Services, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    data = unique(clip, "tampered")
    dock.track(docking, 3, gpx(walk(T0, 3)))
    created = dock.create(len(data), dock.metadata(device.serial, 3, data, docking=docking, digest="ab" * 32))
    response = dock.patch(created.headers["location"], 0, data)
    assert response.status_code == 460 and response.json()["code"] == "checksum_mismatch"
    assert dock.head(created.headers["location"]).status_code == 410
    assert accepted_count(context) == 0
    assert spool_is_empty(context)
    refused = services.audit.search(AuditQuery(action="bodycam.collect", outcome="refused"))[0]
    assert refused[0].details["code"] == "hash-mismatch"
    lines = [
        f'{{"t": "{T0.isoformat()}", "type": "record-start", "seq": 3}}',
        f'{{"t": "{(T0 + timedelta(seconds=3)).isoformat()}", "type": "record-stop", "seq": 3}}',
    ]
    summary = dock.events(docking, lines).json()
    assert summary["missing_open"] == 1
    missing = dock.client.get("/api/bodycam/completeness")  # a dock may not read it
    assert missing.status_code == 401
    from vigie.ingest.bodycam.completeness import missing_items

    with context.catalog.session() as session:
        items = missing_items(session)
    assert [(item.sequence, item.cause) for item in items] == [(3, "hash-mismatch")]
    # The device may try again with the right bytes: then it is accepted and the item resolved.
    dock.track(docking, 3, gpx(walk(T0, 3)))
    created = dock.create(len(data), dock.metadata(device.serial, 3, data, docking=docking))
    assert dock.patch(created.headers["location"], 0, data).status_code == 204
    with context.catalog.session() as session:
        assert missing_items(session) == []
        assert [item.resolved_at is not None for item in missing_items(session, include_resolved=True)] == [True]


def test_metadata_and_protocol_errors_are_clear_4xx(
    dock: TusDock, device: DeviceView, client: TestClient, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    metadata = dock.metadata(device.serial, 5, clip, docking=docking)
    # The GPS track first: a recording without location is refused (R241-2).
    response = dock.create(len(clip), metadata)
    assert response.status_code == 409 and response.json()["code"] == "track_missing"
    assert dock.track(docking, 5, gpx(walk(T0, 3))).status_code == 201
    assert dock.create(len(clip), {**metadata, "sha256": "xyz"}).status_code == 400
    assert dock.create(len(clip), {**metadata, "start": "yesterday"}).status_code == 400
    assert dock.create(len(clip), {**metadata, "trigger": "telepathy"}).status_code == 400
    assert dock.create(len(clip), {key: v for key, v in metadata.items() if key != "track"}).status_code == 400
    assert dock.create(0, metadata).status_code == 400
    assert dock.create(1 << 60, metadata).status_code == 413
    bad_metadata = client.post(
        UPLOADS, headers={**TUS, **dock.auth, "Upload-Length": "10", "Upload-Metadata": "device !!!notbase64"}
    )
    assert bad_metadata.status_code == 400
    assert client.post(UPLOADS, headers={**dock.auth, "Upload-Length": "10"}).status_code == 412
    created = dock.create(len(clip), metadata)
    url = created.headers["location"]
    assert dock.patch(url, 5, clip[5:]).status_code == 409  # wrong offset
    assert dock.patch(url, 0, clip, headers={"Content-Type": "application/json"}).status_code == 415
    assert dock.patch(url, 0, clip + b"extra").status_code == 400  # past Upload-Length
    assert dock.patch(url, 0, clip[:100], checksum="sha256 " + "A" * 44).status_code == 460
    assert dock.patch(url, 0, clip[:100], checksum="crc32 AAAA").status_code == 400
    assert dock.head(url).headers["Upload-Offset"] == "0"  # nothing of the refused bodies was kept
    assert dock.patch(url, 0, clip[:100], checksum=checksum_header(clip[:100])).status_code == 204
    assert dock.patch(url, 100, clip[100:], checksum=checksum_header(clip[100:], "sha1")).status_code == 204
    assert dock.head(url).headers["Upload-Offset"] == str(len(clip))


def test_who_may_upload(
    dock: TusDock, device: DeviceView, client: TestClient, context: BodycamContext, services: Services, clip: bytes
) -> None:
    from access.helpers import everyone
    from vigie.access.sessions import SessionKind

    people = everyone(services.users)
    metadata = dock.metadata(device.serial, 1, clip)
    headers = {**TUS, "Upload-Length": str(len(clip)), "Upload-Metadata": "device QldDLVQx"}
    assert client.post(UPLOADS, headers=headers).status_code == 401
    assert client.post(UPLOADS, headers={**headers, "Authorization": "Bearer vgd_forged"}).status_code == 401
    for person in people.values():
        user = services.users.get(person.username)
        assert user is not None
        token = services.sessions.issue(user, SessionKind.API).token
        response = client.post(UPLOADS, headers={**headers, "Authorization": f"Bearer {token}"})
        assert response.status_code == 403 and response.json()["code"] == "forbidden", person.role
    # A revoked dock is a stranger; another dock cannot touch this dock's uploads.
    docking = dock.dock(device.serial)
    dock.track(docking, 1, gpx(walk(T0, 3)))
    url = dock.create(len(clip), {**metadata, "docking": docking}).headers["location"]
    other = TusDock(client, context.registry.issue_dock_token("dock-other", by=ADMIN).token)
    assert other.head(url).status_code == 404
    assert other.patch(url, 0, clip).status_code == 404
    context.registry.revoke_dock("dock-test", by=ADMIN)
    assert dock.head(url).status_code == 401


def test_termination_and_expiry_delete_the_spooled_bytes(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    dock.track(docking, 1, gpx(walk(T0, 3)))
    url = dock.create(len(clip), dock.metadata(device.serial, 1, clip, docking=docking)).headers["location"]
    assert dock.patch(url, 0, clip[:500]).status_code == 204
    spool_file = context.spool.path(url.rsplit("/", 1)[-1])
    # Encrypted at rest: not even a short run of the plaintext is in the spool file.
    assert spool_file.stat().st_size == 500 and clip[100:132] not in spool_file.read_bytes()
    assert oct(spool_file.stat().st_mode & 0o777) == "0o600"
    assert oct(context.spool.directory.stat().st_mode & 0o777) == "0o700"
    assert dock.client.delete(url, headers={**TUS, **dock.auth}).status_code == 204
    assert not spool_file.exists() and dock.head(url).status_code == 404
    url = dock.create(len(clip), dock.metadata(device.serial, 1, clip, docking=docking)).headers["location"]
    dock.patch(url, 0, clip[:300])
    with context.catalog.session() as session:
        upload = session.get(BodycamUpload, url.rsplit("/", 1)[-1])
        assert upload is not None
        upload.expires_at = upload.created_at - timedelta(seconds=1)
    from vigie.ingest.bodycam.intake import sweep

    assert sweep(context) == 1
    assert not context.spool.path(url.rsplit("/", 1)[-1]).exists()
    assert dock.head(url).status_code == 404
    # A crash can leave a finished upload's ciphertext or plaintext behind: the sweep removes both.
    (context.spool.directory / "deadbeef.part").write_bytes(b"left by a crash")
    (context.spool.directory / "deadbeef.plain").mkdir()
    assert sweep(context) == 2 and spool_is_empty(context)


def test_not_a_video_is_refused(dock: TusDock, device: DeviceView, context: BodycamContext) -> None:
    docking = dock.dock(device.serial)
    data = b"this is not a video at all" * 40
    response = dock.upload_whole(device.serial, 2, data, docking)
    assert response.status_code == 422 and response.json()["code"] == "not_media"
    assert accepted_count(context) == 0 and spool_is_empty(context)


def test_clock_offset_at_docking_is_recorded_and_flagged(
    dock: TusDock, device: DeviceView, context: BodycamContext
) -> None:
    from datetime import UTC, datetime

    fine = dock.client.post(
        "/api/bodycam/dockings",
        headers=dock.auth,
        json={"device": device.serial, "device_clock": datetime.now(UTC).isoformat()},
    ).json()
    assert abs(fine["clock_offset_seconds"]) < 1.0 and not fine["clock_flagged"]
    ahead = datetime.now(UTC) + timedelta(seconds=7)
    late = dock.client.post(
        "/api/bodycam/dockings", headers=dock.auth, json={"device": device.serial, "device_clock": ahead.isoformat()}
    ).json()
    assert 6.0 < late["clock_offset_seconds"] < 8.0 and late["clock_flagged"]
    from vigie.ingest.bodycam.reports import anomaly_list

    with context.catalog.session() as session:
        assert [row["kind"] for row in anomaly_list(session)] == ["clock-offset"]
