"""Login over the API (the scripts' contract), tokens, cookies, expiry, lockout, bad input."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from access.helpers import Person
from vigie.access.policy import Role
from vigie.catalog.access_models import AccessSession
from vigie.catalog.types import utcnow
from vigie.web.security import SESSION_COOKIE
from vigie.web.services import Services


def login(client: TestClient, person: Person, **override: str) -> object:
    body = {"username": person.username, "password": person.password, "totp": person.code(), **override}
    return client.post("/api/auth/login", json=body)


def test_login_returns_a_bearer_token(client: TestClient, people: dict[Role, Person], services: Services) -> None:
    auditor = people[Role.AUDITOR]
    response = client.post(
        "/api/auth/login", json={"username": auditor.username, "password": auditor.password, "totp": auditor.code()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"token", "token_type", "expires_at", "user", "actions"}
    assert body["token_type"] == "bearer" and body["user"]["role"] == "auditor"
    assert "audit.read" in body["actions"] and "footage.view" not in body["actions"]
    assert SESSION_COOKIE not in response.cookies  # API logins get a token, not a cookie
    headers = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["user"]["username"] == auditor.username
    assert client.get("/api/audit", headers=headers).status_code == 200
    with services.catalog.session() as session:
        hashes = list(session.execute(select(AccessSession.token_hash)).scalars())
    assert body["token"] not in hashes
    # Logout ends the token.
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    refused = client.get("/api/auth/me", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "session_invalid"


def test_bad_credentials_are_clear_4xx(client: TestClient, people: dict[Role, Person]) -> None:
    officer = people[Role.OFFICER]
    cases = [
        ({"password": "Wrong-Passw0rd!"}, 401, "invalid_credentials"),
        ({"totp": ""}, 401, "totp_required"),
        ({"totp": "12"}, 401, "totp_invalid"),
        ({"username": "ghost"}, 401, "invalid_credentials"),
    ]
    for override, status, code in cases:
        response = login(client, officer, **override)
        assert (response.status_code, response.json()["code"]) == (status, code), override
        assert response.headers["content-type"] == "application/json"
    missing = client.post("/api/auth/login", json={"username": "x"})
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_request"
    assert "password" in missing.json()["detail"]
    malformed = client.post(
        "/api/auth/login", content=b'{"username": "x", ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_json"
    extra = client.post("/api/auth/login", json={"username": "x", "password": "y", "admin": True})
    assert extra.status_code == 422
    # Validation errors never echo what was sent (a password may be in it).
    secret = client.post("/api/auth/login", json={"username": "x", "password": 12345678901234})
    assert "12345678901234" not in secret.text
    # The server is still fine.
    assert client.get("/api/health").json()["status"] == "ok"


def test_lockout_after_five_failures(client: TestClient, people: dict[Role, Person]) -> None:
    operator = people[Role.OPERATOR]
    statuses = [login(client, operator, password=f"Wrong-Passw0rd-{i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = login(client, operator)
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"
    assert "locked until" in locked.json()["detail"]


def test_expired_and_forged_tokens(client: TestClient, people: dict[Role, Person], services: Services) -> None:
    response = login(client, people[Role.SUPERVISOR])
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    assert client.get("/api/recordings", headers=headers).status_code == 200
    with services.catalog.session() as session:
        session.execute(update(AccessSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = client.get("/api/recordings", headers=headers)
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"
    assert expired.headers["www-authenticate"].startswith("Bearer")
    forged = client.get("/api/recordings", headers={"Authorization": "Bearer vgt_forged"})
    assert forged.json()["code"] == "session_invalid"
    wrong_scheme = client.get("/api/recordings", headers={"Authorization": "Basic YTpi"})
    assert wrong_scheme.status_code == 401


def test_browser_login_sets_a_strict_http_only_cookie(client: TestClient, people: dict[Role, Person]) -> None:
    admin = people[Role.ADMIN]
    response = client.post(
        "/login",
        data={"username": admin.username, "password": admin.password, "totp": admin.code(), "next": "/users"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/users"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=vgs_")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/users").status_code == 200
    # A cookie-authenticated change without the same-origin header is refused (CSRF).
    forged = client.post("/api/users/admin1/disable", json={})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf"
    # API tokens are not accepted as cookies and browser sessions end at logout.
    assert client.post("/logout", headers={"X-Requested-With": "vigie"}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_browser_login_failures_show_the_form_again(client: TestClient, people: dict[Role, Person]) -> None:
    admin = people[Role.ADMIN]
    response = client.post(
        "/login",
        data={"username": admin.username, "password": "nope", "totp": admin.code(), "next": "https://evil.example/"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 401
    assert "Wrong username, password or code." in response.text
    assert 'value="/"' in response.text  # an external "next" is dropped


def test_change_own_password(client: TestClient, people: dict[Role, Person], services: Services) -> None:
    dpo = people[Role.AUDITOR]
    token = login(client, dpo).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    weak = client.post("/api/auth/password", json={"current": dpo.password, "new": "weak"}, headers=headers)
    assert weak.status_code == 400 and weak.json()["code"] == "weak_password"
    wrong = client.post("/api/auth/password", json={"current": "nope", "new": "N3w-Passw0rd!x"}, headers=headers)
    assert wrong.status_code == 400
    done = client.post("/api/auth/password", json={"current": dpo.password, "new": "N3w-Passw0rd!x"}, headers=headers)
    assert done.status_code == 204
