"""Every route of the OpenAPI document, for every role and for nobody.

- unauthenticated: 401 everywhere except the routes declared public;
- each role gets exactly what the policy table says (never 401/403 when allowed, 403 when not);
- the maintainer never receives image or video bytes (content type and magic bytes);
- every footage request, allowed or refused, writes exactly one register entry, with its reason.

Fixed-camera routes are walked on a camera of the walkers' unit with real footage in the vault;
officers are refused its footage by scope (L241-1: their own body-cam recordings only).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from access.helpers import ADMIN_ACTOR, FAKE_MP4, Person, store_recording
from vigie.access import policy
from vigie.access.audit import AuditQuery
from vigie.access.policy import Action, Role
from vigie.catalog.models import AuditEntry
from vigie.web.security import PUBLIC_PATHS, Public, Requirement, declared_routes
from vigie.web.services import Services

from .alert_helpers import allow, make_redaction, raise_alert
from .camera_helpers import START, range_params, record_footage, register_camera
from .conftest import Tokens

REASON = "vérification de l'intervention du 20/11"
STATED = {"reason": REASON, "purpose": "accurate-report", "procedure": "PV-2026-0042", "recipient": "parquet",
          **range_params(START, 60)}
CAMERA = "place-bellecour"
# MP4/MOV boxes, JPEG, PNG, GIF, RIFF (AVI/WebP/WAV), Matroska/WebM.
MEDIA_MAGIC = (
    b"ftyp", b"moov", b"mdat", b"moof", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF", b"\x1aE\xdf\xa3"
)


def operations(app: FastAPI, client: TestClient) -> list[tuple[str, str, Requirement | Public]]:
    """(method, path, declaration) for every operation of the OpenAPI document."""
    document = client.get("/api/openapi.json").json()
    declared = {(method, item.path): item.declared for item in declared_routes(app.routes) for method in item.methods}
    found = []
    for path, methods in document["paths"].items():
        for method in methods:
            declaration = declared[(method.upper(), path)]
            assert declaration is not None, f"{method} {path} declares no action"
            found.append((method.upper(), path, declaration))
    assert len(found) >= 20
    return found


def concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    if path.endswith("/stream"):  # Server-Sent Events never end by themselves: read the first message, hang up
        with client.stream(method, path, params=STATED, headers=headers) as streamed:
            first = next(streamed.iter_bytes(), b"") if streamed.status_code == 200 else streamed.read()
        return httpx.Response(streamed.status_code, headers=streamed.headers, content=first)
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    if path == "/api/auth/login":
        body = {"username": "nobody", "password": "wrong", "totp": "000000"}
    return client.request(method, path, params=STATED, headers=headers, json=body)


def assert_no_media(response: Any, where: str) -> None:
    content_type = response.headers.get("content-type", "")
    assert not content_type.startswith(("video/", "image/", "audio/")), where
    head = response.content[:4096]
    for magic in MEDIA_MAGIC:
        assert magic not in head, f"{where}: media signature {magic!r} in the body"
    assert FAKE_MP4[:64] not in response.content, where


def footage_entries(services: Services, recording_id: str, action: str = "footage") -> list[AuditEntry]:
    return services.audit.search(AuditQuery(action=action, object_id=recording_id), limit=500)[0]


def image_entries(services: Services) -> int:
    """Register entries of every action that carries images, on the walk's recording or camera."""
    return sum(len(footage_entries(services, CAMERA, action)) for action in ("footage", "live.view"))


def test_every_route_for_every_role(
    app: FastAPI, client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    _, recording = store_recording(services.vault, "bodycam-7", unit="ville-a", officer="AG-001")
    services.users.create("walk-target", role=Role.AUDITOR, by=ADMIN_ACTOR)
    register_camera(services, CAMERA, unit="ville-a")
    camera_recording = record_footage(services, CAMERA)[0].recording_id
    # An alert with its snapshot on that camera, a legal basis, a redaction of the camera's footage.
    event = raise_alert(services, CAMERA)
    basis_id = allow(services, CAMERA, "fire")
    redaction = make_redaction(services, camera_recording, ADMIN_ACTOR)
    values = {"recording_id": recording.id, "username": "walk-target", "code": "en",
              "upload_id": "no-such-upload", "docking_id": "no-such-docking", "sequence": "1", "serial": "no-such",
              "camera": CAMERA, "session": "no-such-session", "part": "seg-0.m4s",
              "event_id": event.id, "basis_id": str(basis_id), "redaction_id": redaction.id}
    walked = operations(app, client)

    # Nobody: 401 except the declared-public routes.
    for method, path, declaration in walked:
        response = call(client, method, concrete(path, values), {})
        if isinstance(declaration, Public):
            assert response.status_code != 401 or path == "/api/auth/login", (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["code"] == "not_authenticated"
        assert_no_media(response, f"anonymous {method} {path}")
    assert {path for _, path, d in walked if isinstance(d, Public)} == {
        "/api/auth/login", "/api/health", "/api/transparency"
    }
    assert "/api/openapi.json" in PUBLIC_PATHS

    for role, person in people.items():
        for method, path, declaration in walked:
            if isinstance(declaration, Public):
                continue
            url = concrete(path, values)
            action = declaration.action
            allowed = policy.allows(role, action)
            on_camera = path.startswith(("/api/cameras/{camera}", "/api/live/{camera}"))
            # Fixed-camera footage is never an officer's own recording: refused by scope, not by the table.
            out_of_scope = allowed and (on_camera or "{redaction_id}" in path) and role is Role.OFFICER
            # An alert's snapshot or review, a redaction's stills or video: footage of that event or redaction.
            footage_object = next((values[key] for key in ("event_id", "redaction_id") if f"{{{key}}}" in path), None)
            before_object = len(footage_entries(services, footage_object, action.value)) if footage_object else 0
            before = len(footage_entries(services, recording.id))
            before_images = image_entries(services)
            response = call(client, method, url, tokens.headers(person))
            where = f"{role.value} {method} {path} -> {response.status_code}"
            if out_of_scope:
                assert response.status_code == 403 and response.json()["code"] == "out_of_scope", where
            elif allowed:
                assert response.status_code not in (401, 403), where
                not_relayed = on_camera and path.endswith("/sessions") and response.status_code == 503
                assert response.status_code < 500 or not_relayed, where
            else:
                assert response.status_code == 403, where
                assert response.json()["code"] == "forbidden", where
            if role is Role.MAINTAINER:
                assert_no_media(response, where)
            if not policy.rule(action).footage:
                assert len(footage_entries(services, recording.id)) == before, where
                assert image_entries(services) == before_images, where
                continue
            if footage_object is not None:
                after_object = footage_entries(services, footage_object, action.value)
                assert len(after_object) == before_object + 1, where
                entry = after_object[0]
                assert (entry.actor, entry.reason) == (person.username, REASON), where
                if out_of_scope or not allowed:
                    assert entry.outcome == "refused", where
                elif method == "POST":  # the walk's empty body: refused after the consultation is written
                    assert response.status_code == 422 and entry.outcome == "allowed", where
                else:
                    assert response.status_code == 200 and entry.outcome == "allowed", where
                continue
            if on_camera:
                # A camera's footage: exactly one new entry on the camera, whatever the outcome.
                assert image_entries(services) == before_images + 1, where
                entry = footage_entries(services, CAMERA, action.value)[0]
                assert (entry.action, entry.actor, entry.reason) == (action.value, person.username, REASON), where
                if out_of_scope or not allowed:
                    assert entry.outcome == "refused", where
                elif path.endswith("/sessions"):  # nothing relays this camera live in this test
                    assert response.status_code == 503 and entry.details["code"] == "not_live", where
                else:
                    assert response.status_code == 200 and entry.outcome == "allowed", where
                    if path.endswith("/playback"):
                        assert response.content[4:8] == b"ftyp", where
                        assert entry.object_ids == [CAMERA, camera_recording], where
                        assert entry.details["from"] == STATED["from"].replace("Z", ".000000Z"), where
                    else:
                        assert response.headers["content-type"] == "image/jpeg", where
                continue
            # A footage request: exactly one new register entry, whatever the outcome.
            after = footage_entries(services, recording.id)
            assert len(after) == before + 1, where
            entry = after[0]
            assert (entry.action, entry.actor, entry.role) == (action.value, person.username, role.value), where
            assert entry.reason == REASON, where
            if allowed:
                assert response.status_code == 200, where
                assert response.content == FAKE_MP4, where  # byte-exact
                assert entry.outcome == "allowed", where
                assert entry.object_ids == [recording.id, "bodycam-7"], where
                if action is Action.FOOTAGE_EXPORT:
                    assert (entry.procedure, entry.recipient) == ("PV-2026-0042", "parquet"), where
            else:
                assert entry.outcome == "refused" and entry.details["code"] == "forbidden", where


@pytest.mark.parametrize("page", ["/", "/audit", "/users", "/recordings", "/system", "/cameras", "/live"])
def test_pages_send_strangers_to_login_and_show_the_maintainer_no_media(
    client: TestClient, people: dict[Role, Person], tokens: Tokens, page: str
) -> None:
    response = client.get(page, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    for person in people.values():
        response = client.get(page, headers=tokens.headers(person), follow_redirects=False)
        assert response.status_code in (200, 403)
        assert response.headers["content-type"].startswith("text/html")
        if person.role is Role.MAINTAINER:
            assert_no_media(response, page)
