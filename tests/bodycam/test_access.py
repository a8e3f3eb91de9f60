"""Who may search by place, see tracks, devices and missing footage; everything in the register."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from access.helpers import Person, everyone
from vigie.access.audit import AuditQuery
from vigie.access.policy import Role
from vigie.access.sessions import SessionKind
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.registry import DeviceView
from vigie.web.services import Services

from .helpers import ADMIN, BASE_POINTS, LYON, T0, index_track

REASON = "recherche de témoins de l'incident"


@pytest.fixture
def people(services: Services) -> dict[Role, Person]:
    return everyone(services.users)  # scoped roles belong to "ville-a"; the officer is AG-001


def bearer(services: Services, person: Person) -> dict[str, str]:
    user = services.users.get(person.username)
    assert user is not None
    return {"Authorization": f"Bearer {services.sessions.issue(user, SessionKind.API).token}"}


@pytest.fixture
def recordings(context: BodycamContext, device: DeviceView) -> dict[str, str]:
    """Two recordings at the same place and time: one by the test officer AG-001, one by a colleague."""
    elsewhere = context.registry.add_device("BWC-OTHER-UNIT", force="municipal", by=ADMIN, unit="ville-b")
    return {
        "own": index_track(context, device, 1, BASE_POINTS, officer="AG-001"),
        "colleague": index_track(context, device, 2, BASE_POINTS, officer="AG-777"),
        "other-unit": index_track(context, elsewhere, 1, BASE_POINTS, officer="PM-123"),
    }


def search(client: TestClient, headers: dict[str, str], **extra: str) -> object:
    params = {
        "lat": str(LYON[0]),
        "lon": str(LYON[1]),
        "radius_m": "200",
        "from": T0.isoformat(),
        "to": (T0 + timedelta(hours=1)).isoformat(),
        **extra,
    }
    return client.get("/api/search", params=params, headers=headers)


def test_search_needs_a_reason_and_officers_a_purpose_and_sees_only_their_own(
    client: TestClient, services: Services, people: dict[Role, Person], recordings: dict[str, str]
) -> None:
    investigator = bearer(services, people[Role.INVESTIGATOR])
    refused = search(client, investigator)
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"  # type: ignore[attr-defined]
    found = search(client, investigator, reason=REASON).json()  # type: ignore[attr-defined]
    # Scope: the investigator of "ville-a" sees both of ville-a's recordings, not ville-b's.
    assert {hit["recording_id"] for hit in found["results"]} == {recordings["own"], recordings["colleague"]}
    officer = bearer(services, people[Role.OFFICER])
    assert search(client, officer, reason=REASON).json()["code"] == "purpose_required"  # type: ignore[attr-defined]
    mine = search(client, officer, reason=REASON, purpose="accurate-report").json()  # type: ignore[attr-defined]
    assert [hit["recording_id"] for hit in mine["results"]] == [recordings["own"]]
    entries = services.audit.search(AuditQuery(action="recordings.search"))[0]
    allowed = [entry for entry in entries if entry.outcome == "allowed"]
    assert len(allowed) == 2 and all(entry.reason == REASON for entry in allowed)
    assert allowed[0].details["purpose"] == "accurate-report" and allowed[0].object_ids == [recordings["own"]]
    assert {entry.details["code"] for entry in entries if entry.outcome == "refused"} == {
        "reason_required",
        "purpose_required",
    }
    bad = search(client, investigator, reason=REASON, radius_m="1e9")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_search"  # type: ignore[attr-defined]
    backwards = search(client, investigator, reason=REASON, **{"to": (T0 - timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 400  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN, Role.MAINTAINER, Role.OPERATOR])
def test_roles_without_place_search(
    client: TestClient, services: Services, people: dict[Role, Person], role: Role
) -> None:
    response = search(client, bearer(services, people[role]), reason=REASON)
    assert response.status_code == 403  # type: ignore[attr-defined]


def test_tracks_follow_the_recording_scope_and_are_audited(
    client: TestClient, services: Services, people: dict[Role, Person], recordings: dict[str, str]
) -> None:
    officer = bearer(services, people[Role.OFFICER])
    own = client.get(f"/api/bodycam/recordings/{recordings['own']}/track", headers=officer)
    assert own.status_code == 200 and own.json()["geometry"]["type"] == "LineString"
    assert len(own.json()["geometry"]["coordinates"]) == len(BASE_POINTS)
    assert client.get(f"/api/bodycam/recordings/{recordings['colleague']}/track", headers=officer).status_code == 403
    investigator = bearer(services, people[Role.INVESTIGATOR])
    assert (
        client.get(f"/api/bodycam/recordings/{recordings['other-unit']}/track", headers=investigator).status_code == 403
    )
    assert services.audit.search(AuditQuery(action="bodycam.track"))[1] == 1


def test_missing_footage_is_for_supervisors_and_auditors(
    client: TestClient, services: Services, people: dict[Role, Person], device: DeviceView
) -> None:
    for role, status in (
        (Role.SUPERVISOR, 200),
        (Role.AUDITOR, 200),
        (Role.OFFICER, 403),
        (Role.INVESTIGATOR, 403),
        (Role.MAINTAINER, 403),
        (Role.ADMIN, 403),
    ):
        response = client.get("/api/bodycam/completeness", headers=bearer(services, people[role]))
        assert response.status_code == status, role
    body = client.get("/api/bodycam/completeness", headers=bearer(services, people[Role.SUPERVISOR])).json()
    assert body == {"missing": [], "open": 0, "by_cause": {}}


def test_pages(client: TestClient, services: Services, people: dict[Role, Person], device: DeviceView) -> None:
    supervisor = bearer(services, people[Role.SUPERVISOR])
    page = client.get("/map", headers=supervisor)
    assert page.status_code == 200 and 'id="map"' in page.text and "/static/vendor/leaflet/leaflet.js" in page.text
    assert "Recherche par lieu et période" in page.text  # French first
    english = client.get("/map", headers={**supervisor, "Accept-Language": "en"})
    assert "Search by place and period" in english.text
    assert 'name="purpose"' not in page.text
    officer_page = client.get("/map", headers=bearer(services, people[Role.OFFICER]))
    assert 'name="purpose"' in officer_page.text
    devices = client.get("/bodycam/devices", headers=supervisor)
    assert devices.status_code == 200 and "BWC-T1" in devices.text
    detail = client.get("/bodycam/devices/BWC-T1", headers=supervisor)
    assert detail.status_code == 200 and 'id="device-status"' in detail.text and 'id="missing-none"' in detail.text
    restricted = client.get("/bodycam/devices/BWC-T1", headers=bearer(services, people[Role.MAINTAINER]))
    assert restricted.status_code == 200 and "missing-table" not in restricted.text
    assert client.get("/map", headers=bearer(services, people[Role.AUDITOR])).status_code == 403
    for asset in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/map/map.js",
        "/static/vendor/leaflet/images/marker-icon.png",
    ):
        assert client.get(asset).status_code == 200, asset


def test_configured_tiles_widen_only_the_map_page_image_policy(
    client: TestClient, services: Services, people: dict[Role, Person]
) -> None:
    services.settings.bodycam.map_tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"
    supervisor = bearer(services, people[Role.SUPERVISOR])
    page = client.get("/map", headers=supervisor)
    assert "img-src 'self' data: https://tiles.example.org" in page.headers["content-security-policy"]
    assert "tiles.example.org" not in client.get("/", headers=supervisor).headers["content-security-policy"]


def test_device_registration_over_the_api(client: TestClient, services: Services, people: dict[Role, Person]) -> None:
    admin = bearer(services, people[Role.ADMIN])
    created = client.post(
        "/api/bodycam/devices", headers=admin, json={"serial": "BWC-API-1", "force": "firefighters", "unit": "ville-a"}
    )
    assert created.status_code == 201 and created.json()["retention_profile"] == "bodycam_firefighters"
    again = client.post("/api/bodycam/devices", headers=admin, json={"serial": "BWC-API-1", "force": "police"})
    assert again.status_code == 409
    supervisor = bearer(services, people[Role.SUPERVISOR])
    assert (
        client.post("/api/bodycam/devices", headers=supervisor, json={"serial": "X", "force": "police"}).status_code
        == 403
    )
    listed = client.get("/api/bodycam/devices", headers=supervisor).json()
    assert [device["serial"] for device in listed] == ["BWC-API-1"]
