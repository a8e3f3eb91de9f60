"""The register over HTTP: filters, paging, unit scope, exports, integrity check."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import update

from access.helpers import Person
from vigie.access.audit import Actor, AuditRecord
from vigie.access.policy import Role
from vigie.catalog.models import AuditEntry
from vigie.web.services import Services

from .conftest import Tokens

CITY_B = Actor(name="oper-b", role="operator", unit="ville-b", client="10.1.1.1", matricule="OP-900")
CITY_A = Actor(name="oper-a", role="operator", unit="ville-a", client="10.1.1.2", matricule="OP-100")


def seed(services: Services) -> None:
    for index in range(30):
        services.audit.append(
            CITY_A if index % 2 else CITY_B,
            AuditRecord(action="footage.view", object_type="recording", object_ids=[f"rec-{index}"],
                        reason=f"motif numéro {index}"),
        )


def test_the_dpo_reads_everything_with_filters_and_pages(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    seed(services)
    headers = tokens.headers(people[Role.AUDITOR])
    page = client.get("/api/audit", params={"action": "footage", "limit": 10}, headers=headers).json()
    assert page["total"] == 30 and len(page["entries"]) == 10
    assert page["entries"][0]["reason"] == "motif numéro 29"  # newest first
    assert page["entries"][0]["matricule"] == "OP-100"
    second = client.get("/api/audit", params={"action": "footage", "limit": 10, "offset": 10}, headers=headers).json()
    assert second["entries"][0]["reason"] == "motif numéro 19"
    by_object = client.get("/api/audit", params={"object": "rec-7"}, headers=headers).json()
    assert [entry["object_ids"] for entry in by_object["entries"]] == [["rec-7"]]
    by_actor = client.get("/api/audit", params={"actor": "oper-b", "limit": 500}, headers=headers).json()
    assert by_actor["total"] == 15
    # Reading the register is itself in the register.
    reads = client.get("/api/audit", params={"action": "audit.read"}, headers=headers).json()
    assert reads["total"] >= 4 and reads["entries"][0]["actor"] == people[Role.AUDITOR].username
    assert reads["entries"][0]["details"]["filters"] == {"action": "audit.read"}


def test_a_head_of_service_reads_only_their_units_entries(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    seed(services)
    page = client.get(
        "/api/audit", params={"action": "footage", "limit": 500}, headers=tokens.headers(people[Role.SUPERVISOR])
    ).json()
    assert page["total"] == 15 and {entry["unit"] for entry in page["entries"]} == {"ville-a"}


def test_bad_filters_are_clear_4xx(client: TestClient, people: dict[Role, Person], tokens: Tokens) -> None:
    headers = tokens.headers(people[Role.AUDITOR])
    naive = client.get("/api/audit", params={"from": "2026-11-21T10:00:00"}, headers=headers)
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
    assert client.get("/api/audit", params={"from": "hier"}, headers=headers).status_code == 422
    assert client.get("/api/audit", params={"limit": 100000}, headers=headers).status_code == 422
    assert client.get("/api/audit", params={"outcome": "maybe"}, headers=headers).status_code == 422
    ok = client.get("/api/audit", params={"from": "2026-11-21T10:00:00Z", "to": "2999-01-01T00:00:00+01:00"},
                    headers=headers)
    assert ok.status_code == 200


def test_exports(client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens) -> None:
    seed(services)
    headers = tokens.headers(people[Role.AUDITOR])
    response = client.get("/api/audit/export", params={"format": "csv", "action": "footage"}, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="vigie-register-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 30 and rows[0]["reason"] == "motif numéro 0" and rows[0]["matricule"] == "OP-900"
    as_json = client.get("/api/audit/export", params={"format": "json", "actor": "oper-a"}, headers=headers)
    assert as_json.headers["content-type"] == "application/json" and len(as_json.json()) == 15
    assert client.get("/api/audit/export", params={"format": "xml"}, headers=headers).status_code == 422
    forbidden = client.get("/api/audit/export", headers=tokens.headers(people[Role.ADMIN]))
    assert forbidden.status_code == 403


def test_the_integrity_check_shows_an_edited_row(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    seed(services)
    headers = tokens.headers(people[Role.AUDITOR])
    intact = client.get("/api/audit/verify", headers=headers).json()
    assert intact["intact"] and intact["entries"] > 30
    with services.catalog.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 5).values(reason="rien à signaler"))
    tampered = client.get("/api/audit/verify", headers=headers).json()
    assert not tampered["intact"]
    assert {problem["kind"] for problem in tampered["problems"]} == {"audit-tampered"}
    assert any(problem["object"] == "audit #5" for problem in tampered["problems"])
