"""The alert queue's API: review with a comment (once, audited), snapshots behind a reason, live stream, settings."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from access.helpers import Person
from browser_support import served
from vigie.access.audit import AuditQuery
from vigie.access.policy import Role
from vigie.config import LiveAnalyticsSettings, Settings
from vigie.web.app import create_app
from vigie.web.services import Services

from .alert_helpers import raise_alert
from .camera_helpers import register_camera
from .conftest import Tokens

REASON = "veille du poste de commandement"
CAMERA = "rue-de-la-republique"


def with_reason(headers: dict[str, str], reason: str = REASON) -> dict[str, str]:
    return {**headers, "X-Vigie-Reason": reason}


@pytest.fixture
def camera(services: Services) -> str:
    register_camera(services, CAMERA, unit="ville-a")
    return CAMERA


def test_review_needs_a_comment_happens_once_and_is_audited(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    event = raise_alert(services, camera)
    operator = tokens.headers(people[Role.OPERATOR])
    url = f"/api/events/{event.id}/review"

    # The queue lists it for the operator, without image bytes.
    listed = client.get("/api/events", headers=operator)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [event.id]
    assert listed.json()[0]["has_snapshot"] and listed.json()[0]["type"] == "abandoned_object"

    # A footage action: no reason, no review (and the refusal is on the register).
    refused = client.post(url, json={"decision": "dismissed", "comment": "reflet"}, headers=operator)
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    blank = client.post(url, json={"decision": "dismissed", "comment": "   "}, headers=with_reason(operator))
    assert blank.status_code == 422 and blank.json()["code"] == "invalid_request"
    wrong = client.post(url, json={"decision": "ignored", "comment": "x"}, headers=with_reason(operator))
    assert wrong.status_code == 422

    done = client.post(
        url,
        json={"decision": "dismissed", "comment": "sac de courses, propriétaire revenu"},
        headers=with_reason(operator),
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["reviewed_by"], body["review_comment"]) == (
        "dismissed",
        "oper1",
        "sac de courses, propriétaire revenu",
    )
    again = client.post(url, json={"decision": "confirmed", "comment": "finalement"}, headers=with_reason(operator))
    assert again.status_code == 409 and again.json()["code"] == "already_reviewed"

    entries = services.audit.search(AuditQuery(object_id=event.id), limit=50)[0]
    decisions = [e for e in entries if e.action == "event.dismiss"]
    assert len(decisions) == 1 and decisions[0].reason == "sac de courses, propriétaire revenu"
    assert decisions[0].actor == "oper1"
    consultations = [e for e in entries if e.action == "events.review"]
    assert {e.outcome for e in consultations} == {"allowed", "refused"}
    assert all(e.reason == REASON for e in consultations if e.outcome == "allowed")
    assert services.audit.verify()[0] == []

    # Reviewed alerts leave the queue and join the history.
    assert client.get("/api/events", headers=operator).json() == []
    history = client.get("/api/events?status=reviewed", headers=operator).json()
    assert [item["id"] for item in history] == [event.id]


def test_snapshots_go_to_operators_with_a_reason_never_to_the_maintainer(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    event = raise_alert(services, camera)
    url = f"/api/events/{event.id}/snapshot"
    operator = tokens.headers(people[Role.OPERATOR])
    assert client.get(url, headers=operator).json()["code"] == "reason_required"
    picture = client.get(url, headers=with_reason(operator))
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:3] == b"\xff\xd8\xff"
    for role in (Role.MAINTAINER, Role.AUDITOR, Role.ADMIN, Role.INVESTIGATOR, Role.OFFICER):
        response = client.get(url, headers=with_reason(tokens.headers(people[role])))
        assert response.status_code == 403, role
        assert b"\xff\xd8\xff" not in response.content
        assert client.get("/api/events", headers=tokens.headers(people[role])).status_code == 403, role

    # A camera of another commune: its alerts are neither listed nor shown to this operator.
    register_camera(services, "autre-ville-cam", unit="ville-b")
    other = raise_alert(services, "autre-ville-cam", "fire")
    assert other.id not in {item["id"] for item in client.get("/api/events", headers=operator).json()}
    outside = client.get(f"/api/events/{other.id}/snapshot", headers=with_reason(operator))
    assert outside.status_code == 403 and outside.json()["code"] == "out_of_scope"


def test_zones_are_validated_against_the_picture_and_bases_only_for_lawful_types(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    supervisor = tokens.headers(people[Role.SUPERVISOR])
    zones_url = f"/api/analytics/cameras/{camera}/zones"
    quay = {"name": "quai", "kind": "forbidden", "polygon": [[0, 125], [639, 125], [639, 142], [0, 142]]}
    outside = {**quay, "polygon": [[0, 125], [700, 125], [700, 142], [0, 142]]}
    refused = client.put(zones_url, json={"width": 640, "height": 360, "zones": [outside]}, headers=supervisor)
    assert refused.status_code == 422 and refused.json()["code"] == "zone_invalid"
    assert "zone 'quai'" in refused.json()["detail"] and "outside the 640x360 image" in refused.json()["detail"]
    one_way = {
        "name": "couloir",
        "kind": "direction",
        "polygon": [[10, 10], [200, 10], [200, 80], [10, 80]],
        "direction": [1, 0],
    }
    saved = client.put(
        zones_url,
        json={"width": 640, "height": 360, "zones": [quay, one_way], "abandoned_after": 30},
        headers=supervisor,
    )
    assert saved.status_code == 200, saved.text
    assert [zone["name"] for zone in saved.json()["zones"]] == ["quai", "couloir"]
    assert (
        client.put(
            zones_url, json={"width": 640, "height": 360, "zones": []}, headers=tokens.headers(people[Role.OPERATOR])
        ).status_code
        == 403
    )

    bases_url = f"/api/analytics/cameras/{camera}/bases"
    admin = tokens.headers(people[Role.ADMIN])
    face = client.post(
        bases_url,
        json={
            "event_type": "face_match",
            "text_reference": "aucun",
            "authorisation": "aucune",
            "valid_until": "2099-01-01",
        },
        headers=admin,
    )
    assert face.status_code == 422 and face.json()["code"] == "basis_refused"
    created = client.post(
        bases_url,
        json={
            "event_type": "zone_intrusion",
            "text_reference": "loi n° 2099-1 art. 1",
            "authorisation": "arrêté 2099-7",
            "valid_until": "2099-01-01",
        },
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["state"] == "in_force"
    basis_id = created.json()["id"]
    detail = client.get(f"/api/analytics/cameras/{camera}", headers=supervisor).json()
    assert detail["in_force"] == ["zone_intrusion"] and detail["frame"] == [640, 360]
    assert [zone["name"] for zone in detail["setup"]["zones"]] == ["quai", "couloir"]
    revoked = client.post(
        f"/api/analytics/bases/{basis_id}/revoke", json={"reason": "fin de l'autorisation"}, headers=supervisor
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.get(f"/api/analytics/cameras/{camera}", headers=supervisor).json()["in_force"] == []
    actions = [entry.action for entry in services.audit.entries()]
    assert {"analytics.zones", "analytics.legal-basis", "analytics.legal-basis-revoke"} <= set(actions)


def test_pages_render_in_french_with_the_no_automation_notice(
    client: TestClient, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    page = client.get("/alerts", headers=tokens.headers(people[Role.OPERATOR]))
    assert page.status_code == 200 and "File des alertes" in page.text
    assert "Aucune action automatique ne suit une alerte" in page.text
    settings = client.get(f"/analytics/cameras/{camera}", headers=tokens.headers(people[Role.ADMIN]))
    assert settings.status_code == 200 and "Bases légales" in settings.text
    assert "les zones se dessinent sur la grille" in settings.text  # an administrator never sees the picture
    assert client.get("/alerts", headers=tokens.headers(people[Role.MAINTAINER])).status_code == 403


# -- the live stream, through a real server ---------------------------------------------------------


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The application under a real uvicorn: Server-Sent Events as a browser receives them."""
    with served(app) as url:
        yield url


def read_events(lines: Iterator[str], wanted: int, timeout: float) -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    kind = ""
    deadline = time.monotonic() + timeout
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            found.append((kind, json.loads(line[6:])))
            if len(found) >= wanted:
                return found
        assert time.monotonic() < deadline, f"stream gave {found} within {timeout} s"
    return found


def test_the_stream_delivers_new_alerts_and_decisions_within_scope(
    server: str, services: Services, people: dict[Role, Person], tokens: Tokens, camera: str
) -> None:
    register_camera(services, "autre-ville-cam", unit="ville-b")
    operator = tokens.headers(people[Role.OPERATOR])
    with (
        httpx.Client(base_url=server, timeout=10) as http,
        http.stream("GET", "/api/events/stream", headers=operator) as stream,
    ):
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert read_events(lines, 1, 5)[0][0] == "ready"
        raise_alert(services, "autre-ville-cam", "fire")  # another commune's camera: not for this operator
        event = raise_alert(services, camera, "crowd_density", score=0.64)
        kind, payload = read_events(lines, 1, 5)[0]
        assert kind == "alert" and payload["id"] == event.id and payload["camera"] == camera
        assert payload["type"] == "crowd_density" and payload["score"] == 0.64 and payload["has_snapshot"]
        reviewed = http.post(
            f"/api/events/{event.id}/review",
            json={"decision": "confirmed", "comment": "foule dense devant la gare, équipe prévenue"},
            headers=with_reason(operator),
        )
        assert reviewed.status_code == 200
        kind, payload = read_events(lines, 1, 5)[0]
        assert kind == "review" and payload["id"] == event.id and payload["status"] == "confirmed"
    refused = httpx.get(f"{server}/api/events/stream", headers=tokens.headers(people[Role.MAINTAINER]))
    assert refused.status_code == 403


def test_the_server_runs_the_live_worker_only_when_enabled(settings: Settings, services: Services) -> None:
    assert not settings.events.analytics.enabled  # off by default (LAW.md F.33): nothing to start
    with TestClient(create_app(settings, services=services)):
        assert services.live_analytics is None
    enabled = settings.model_copy(
        update={"events": settings.events.model_copy(update={"analytics": LiveAnalyticsSettings(enabled=True)})}
    )
    services.settings = enabled
    with TestClient(create_app(enabled, services=services)):
        worker = services.live_analytics
        assert worker is not None
        deadline = time.monotonic() + 5
        while worker.reloads == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.reloads >= 1 and worker.running() == []  # no camera has a legal basis: nothing decoded
    assert services.live_analytics is None  # stopped with the server
