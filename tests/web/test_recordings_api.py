"""Footage behind the policy: scope, reasons, purposes, procedure numbers, and the register."""

from __future__ import annotations

import io
import urllib.parse

import av
from fastapi.testclient import TestClient
from sqlalchemy import update

from access.helpers import ADMIN_ACTOR, FAKE_MP4, Person, enrol, store_recording
from vigie.access.audit import AuditQuery
from vigie.access.policy import Role
from vigie.catalog.models import AuditEntry, Segment
from vigie.catalog.types import utcnow
from vigie.web.services import Services

from .conftest import Tokens

REASON = "identification d'un auteur de vol"


def last_entry(services: Services, recording_id: str) -> AuditEntry:
    rows, _ = services.audit.search(AuditQuery(action="footage", object_id=recording_id), limit=1)
    return rows[0]


def test_listing_is_scoped(client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens) -> None:
    _, mine = store_recording(services.vault, "bodycam-a1", unit="ville-a", officer="AG-001")
    _, colleague = store_recording(services.vault, "bodycam-a2", unit="ville-a", officer="AG-002")
    _, elsewhere = store_recording(services.vault, "bodycam-b1", unit="ville-b", officer="AG-900")
    _, unassigned = store_recording(services.vault, "cam-central", kind="bodycam", unit=None, officer=None)

    def listed(person: Person) -> set[str]:
        response = client.get("/api/recordings", headers=tokens.headers(person))
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == len(body["recordings"])
        return {row["id"] for row in body["recordings"]}

    assert listed(people[Role.SUPERVISOR]) == {mine.id, colleague.id}
    assert listed(people[Role.OPERATOR]) == {mine.id, colleague.id}
    assert listed(people[Role.OFFICER]) == {mine.id}
    assert listed(people[Role.AUDITOR]) == {mine.id, colleague.id, elsewhere.id, unassigned.id}
    paged = client.get("/api/recordings?limit=1&offset=1", headers=tokens.headers(people[Role.AUDITOR])).json()
    assert paged["total"] == 4 and len(paged["recordings"]) == 1
    one = client.get(f"/api/recordings/{colleague.id}", headers=tokens.headers(people[Role.OFFICER]))
    assert one.status_code == 403 and one.json()["code"] == "out_of_scope"


def test_media_needs_a_reason_and_every_refusal_is_audited(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-a1")
    url = f"/api/recordings/{recording.id}/media"
    supervisor = tokens.headers(people[Role.SUPERVISOR])

    missing = client.get(url, headers=supervisor)
    assert missing.status_code == 400 and missing.json()["code"] == "reason_required"
    entry = last_entry(services, recording.id)
    assert (entry.outcome, entry.details["code"], entry.actor) == ("refused", "reason_required", "chef1")

    short = client.get(url, params={"reason": "vu"}, headers=supervisor)
    assert short.status_code == 400 and short.json()["code"] == "reason_too_short"

    anonymous = client.get(url, params={"reason": REASON})
    assert anonymous.status_code == 401
    entry = last_entry(services, recording.id)
    assert (entry.actor, entry.outcome, entry.client) == ("(unauthenticated)", "refused", "testclient")

    unknown = client.get("/api/recordings/no-such-recording/media", params={"reason": REASON}, headers=supervisor)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert last_entry(services, "no-such-recording").outcome == "refused"

    granted = client.get(url, params={"reason": REASON}, headers=supervisor)
    assert granted.status_code == 200 and granted.content == FAKE_MP4
    assert granted.headers["content-type"] == "video/mp4"
    assert granted.headers["cache-control"] == "no-store"
    assert granted.headers["x-vigie-sha256"] == recording.sha256
    entry = last_entry(services, recording.id)
    assert (entry.outcome, entry.reason, entry.details["category"]) == ("allowed", REASON, "consultation")
    assert entry.details["matricule"] == "CS-001" and entry.unit == "ville-a"


def test_the_reason_may_come_in_a_header_percent_encoded(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-a1")
    headers = {**tokens.headers(people[Role.INVESTIGATOR]), "X-Vigie-Reason": urllib.parse.quote("réquisition n°12")}
    response = client.get(f"/api/recordings/{recording.id}/media", headers=headers)
    assert response.status_code == 200
    assert last_entry(services, recording.id).reason == "réquisition n°12"


def test_another_units_camera_is_refused_and_audited(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-b1", unit="ville-b", officer="AG-900")
    for role in (Role.OPERATOR, Role.SUPERVISOR, Role.INVESTIGATOR):
        response = client.get(
            f"/api/recordings/{recording.id}/media", params={"reason": REASON}, headers=tokens.headers(people[role])
        )
        assert response.status_code == 403 and response.json()["code"] == "out_of_scope", role
        entry = last_entry(services, recording.id)
        assert (entry.outcome, entry.actor, entry.reason) == ("refused", people[role].username, REASON)


def test_officers_need_a_legal_purpose_and_see_only_their_own(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, mine = store_recording(services.vault, "bodycam-a1", officer="AG-001")
    _, theirs = store_recording(services.vault, "bodycam-a2", officer="AG-002")
    officer = tokens.headers(people[Role.OFFICER])
    no_purpose = client.get(f"/api/recordings/{mine.id}/media", params={"reason": REASON}, headers=officer)
    assert no_purpose.status_code == 400 and no_purpose.json()["code"] == "purpose_required"
    params = {"reason": REASON, "purpose": "identify-offenders"}
    assert client.get(f"/api/recordings/{mine.id}/media", params=params, headers=officer).status_code == 200
    assert last_entry(services, mine.id).details["purpose"] == "identify-offenders"
    other = client.get(f"/api/recordings/{theirs.id}/media", params=params, headers=officer)
    assert other.status_code == 403 and other.json()["code"] == "out_of_scope"


def test_exports_need_a_procedure_and_record_who_asked_and_who_receives(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-a1")
    url = f"/api/recordings/{recording.id}/download"
    investigator = tokens.headers(people[Role.INVESTIGATOR])
    refused = client.get(url, params={"reason": REASON}, headers=investigator)
    assert refused.status_code == 400 and refused.json()["code"] == "procedure_required"
    params = {"reason": REASON, "procedure": "PV-2026-0042", "requester": "OPJ Martin", "recipient": "parquet de Lyon"}
    response = client.get(url, params=params, headers=investigator)
    assert response.status_code == 200 and response.content == FAKE_MP4
    assert response.headers["content-disposition"].startswith("attachment;")
    entry = last_entry(services, recording.id)
    assert (entry.action, entry.procedure, entry.requester, entry.recipient) == (
        "footage.export", "PV-2026-0042", "OPJ Martin", "parquet de Lyon"
    )
    assert entry.details["category"] == "communication"
    operator = client.get(url, params=params, headers=tokens.headers(people[Role.OPERATOR]))
    assert operator.status_code == 403


def test_purged_footage_is_gone_but_only_for_those_in_scope(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-a1")
    with services.catalog.session() as session:
        session.execute(update(Segment).where(Segment.recording_id == recording.id).values(purged_at=utcnow()))
    params = {"reason": REASON}
    supervisor = tokens.headers(people[Role.SUPERVISOR])
    gone = client.get(f"/api/recordings/{recording.id}/media", params=params, headers=supervisor)
    assert gone.status_code == 410 and gone.json()["code"] == "gone"
    enrol(services.users, "oper-b", Role.OPERATOR, "ville-b", "OP-900")
    outsider = Person("oper-b", Role.OPERATOR, "ville-b", "OP-900", "", "")
    hidden = client.get(f"/api/recordings/{recording.id}/media", params=params, headers=tokens.headers(outsider))
    assert hidden.status_code == 403


def test_camera_footage_is_joined_into_one_playable_mp4(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, scenes: object
) -> None:
    from pathlib import Path

    from vigie.ingest.files import import_camera_file

    assert isinstance(scenes, Path)
    source = services.vault.ensure_source("cam-place", kind="camera", unit="ville-a")
    result = import_camera_file(services.vault, scenes / "walkers.mp4", source)
    assert result.segments >= 2
    response = client.get(
        f"/api/recordings/{result.recording.id}/media",
        params={"reason": REASON},
        headers=tokens.headers(people[Role.OPERATOR]),
    )
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 80  # 9 s at 10 fps, all segments, not just the first
    assert services.users.get("oper1") is not None and ADMIN_ACTOR.name == "tester"
