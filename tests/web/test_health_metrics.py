"""Health for everyone (minimal), details and metrics for the maintainer — without personal data."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from access.helpers import Person, store_recording
from vigie.access.policy import Action, Role
from vigie.access.sessions import SessionKind
from vigie.web.services import Services

from .conftest import Tokens


def test_public_health_is_minimal(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "version"} and response.json()["status"] == "ok"


def test_details_for_the_maintainer(client: TestClient, people: dict[Role, Person], tokens: Tokens) -> None:
    details = client.get("/api/health/details", headers=tokens.headers(people[Role.MAINTAINER])).json()
    assert details["catalog"]["ok"] and details["vault"]["ok"]
    assert details["audit"]["entries"] >= 1 and details["audit"]["last_checkpoint_at"] is not None
    assert client.get("/api/health/details", headers=tokens.headers(people[Role.OFFICER])).status_code == 403


def test_metrics_are_prometheus_text_without_personal_data(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-a1")
    supervisor = tokens.headers(people[Role.SUPERVISOR])
    client.get(f"/api/recordings/{recording.id}/media", params={"reason": "contrôle qualité"}, headers=supervisor)
    client.post("/api/auth/login", json={"username": "agent1", "password": "nope", "totp": "000000"})
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=supervisor).status_code == 403
    response = client.get("/metrics", headers=tokens.headers(people[Role.MAINTAINER]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE vigie_http_requests_total counter" in text
    assert 'route="/api/recordings/{recording_id}/media"' in text
    assert 'vigie_footage_access_total{action="footage.view"} 1' in text
    assert 'vigie_login_failures_total{code="invalid_credentials"} 1' in text
    assert 'vigie_recordings{kind="bodycam"} 1' in text
    assert "vigie_http_request_duration_seconds_bucket" in text and 'le="+Inf"' in text
    for personal in (recording.id, "agent1", "chef1", "contrôle", "testclient", "AG-001", "ville-a"):
        assert personal not in text, personal


def test_a_scraper_token_reads_metrics_and_nothing_else(
    client: TestClient, services: Services, people: dict[Role, Person]
) -> None:
    user = services.users.get(people[Role.MAINTAINER].username)
    assert user is not None
    issued = services.sessions.issue(user, SessionKind.API, lifetime=timedelta(days=90), scope=[Action.METRICS_READ])
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/metrics", headers=headers).status_code == 200
    assert client.get("/api/health/details", headers=headers).status_code == 403
