"""Redaction review over HTTP: stills behind a reason, boxes per frame, four-eyes approval, audited decisions."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from access.helpers import Person, enrol
from vigie.access.audit import Actor, AuditQuery
from vigie.access.policy import Role
from vigie.catalog.privacy_models import Redaction
from vigie.web.services import Services

from .alert_helpers import make_redaction
from .camera_helpers import record_footage, register_camera
from .conftest import Tokens

REASON = "demande de droit d'accès n° 2026-17"


@pytest.fixture
def redaction(services: Services, people: dict[Role, Person]) -> Redaction:
    register_camera(services, "parvis-mairie", unit="ville-a")
    recording_id = record_footage(services, "parvis-mairie", seconds=3.0)[0].recording_id
    creator = people[Role.INVESTIGATOR]
    return make_redaction(services, recording_id, Actor(name=creator.username, role="investigator", unit="ville-a"))


def test_the_creator_cannot_approve_another_investigator_can(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, redaction: Redaction
) -> None:
    creator = tokens.headers(people[Role.INVESTIGATOR])
    colleague_person = enrol(services.users, "enq2", Role.INVESTIGATOR, "ville-a", "EN-002")
    colleague = tokens.headers(colleague_person)
    url = f"/api/redactions/{redaction.id}"

    detail = client.get(url, headers=creator).json()
    assert detail["may_approve"] is False and detail["faces_found"] == 0 and detail["status"] == "pending-review"
    assert len(detail["frame_list"]) == detail["frames"] == 30 and detail["fps"] == pytest.approx(10, rel=0.05)
    assert client.get(url, headers=colleague).json()["may_approve"] is True

    own = client.post(f"{url}/approve", json={"reason": "rien de visible, vérifié"}, headers=creator)
    assert own.status_code == 403 and own.json()["code"] == "own_redaction"
    short = client.post(f"{url}/approve", json={"reason": "ok"}, headers=colleague)
    assert short.status_code == 422
    approved = client.post(f"{url}/approve", json={"reason": "30 images vérifiées, aucun visage"}, headers=colleague)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["reviewed_by"]) == ("approved", "enq2")
    twice = client.post(f"{url}/reject", json={"reason": "je change d'avis"}, headers=colleague)
    assert twice.status_code == 409 and twice.json()["code"] == "already_decided"

    entries = services.audit.search(AuditQuery(action="redaction", object_id=redaction.id), limit=20)[0]
    outcomes = sorted((entry.action, entry.actor, entry.outcome) for entry in entries)
    assert ("redaction.approve", "enq1", "refused") in outcomes  # the four-eyes refusal is on the register
    assert ("redaction.approve", "enq2", "allowed") in outcomes
    assert services.audit.verify()[0] == []


def test_the_creator_may_reject_and_operators_may_not_review(
    client: TestClient, people: dict[Role, Person], tokens: Tokens, redaction: Redaction
) -> None:
    url = f"/api/redactions/{redaction.id}/reject"
    assert (
        client.post(
            url, json={"reason": "un visage reste visible"}, headers=tokens.headers(people[Role.OPERATOR])
        ).status_code
        == 403
    )
    rejected = client.post(
        url, json={"reason": "un visage reste visible image 12"}, headers=tokens.headers(people[Role.INVESTIGATOR])
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


def test_stills_need_a_reason_and_carry_the_boxes_of_each_frame(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, redaction: Redaction
) -> None:
    reviewer = tokens.headers(people[Role.SUPERVISOR])
    url = f"/api/redactions/{redaction.id}/stills"
    assert client.get(url, headers=reviewer).json()["code"] == "reason_required"
    stills = client.get(url, params={"count": 6, "width": 160}, headers={**reviewer, "X-Vigie-Reason": quote(REASON)})
    assert stills.status_code == 200
    body = stills.json()
    assert body["video_width"] == 320 and len(body["stills"]) == 6
    first = body["stills"][0]
    assert first["jpeg"].startswith("data:image/jpeg;base64,")
    assert base64.b64decode(first["jpeg"].split(",", 1)[1])[:3] == b"\xff\xd8\xff"
    assert [still["index"] for still in body["stills"]] == [0, 6, 12, 17, 23, 29]
    entries = services.audit.search(AuditQuery(action="footage.view", object_id=redaction.id), limit=10)[0]
    assert [(entry.reason, entry.outcome) for entry in entries] == [(REASON, "allowed"), (None, "refused")]
    video = client.get(f"/api/redactions/{redaction.id}/video", params={"reason": REASON}, headers=reviewer)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    maintainer = client.get(url, headers={**tokens.headers(people[Role.MAINTAINER]), "X-Vigie-Reason": quote(REASON)})
    assert maintainer.status_code == 403 and b"base64" not in maintainer.content


def test_the_review_page_makes_zero_faces_prominent(
    client: TestClient, people: dict[Role, Person], tokens: Tokens, redaction: Redaction
) -> None:
    page = client.get(f"/redactions/{redaction.id}", headers=tokens.headers(people[Role.INVESTIGATOR]))
    assert page.status_code == 200
    assert 'role="alert" data-testid="zero-faces"' in page.text
    assert "0 visage trouvé : vérifiez avec une attention particulière" in page.text
    assert 'id="redaction-approve"' not in page.text  # the creator gets no approve button
    listing = client.get("/redactions", headers=tokens.headers(people[Role.SUPERVISOR]))
    assert listing.status_code == 200 and "Floutages à vérifier" in listing.text
