"""The web shell: login page, languages, navigation per role, escaping, static assets, security headers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from access.helpers import Person
from vigie.access.policy import Role
from vigie.web.i18n import LANGUAGES, MESSAGES
from vigie.web.services import Services

from .conftest import Tokens


def test_message_catalogues_have_the_same_keys() -> None:
    assert set(LANGUAGES) == set(MESSAGES) == {"fr", "en"}
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])
    assert all(value.strip() for catalogue in MESSAGES.values() for value in catalogue.values())


def test_every_error_code_the_api_uses_has_a_translation() -> None:
    from pathlib import Path

    from vigie.access import policy

    package = Path(policy.__file__).parents[1]
    source = "\n".join(path.read_text() for path in package.joinpath("access").glob("*.py"))
    source += "\n".join(path.read_text() for path in package.joinpath("web").rglob("*.py"))
    codes = set(re.findall(r'AccessRefusal\(\s*"([a-z_]+)"', source))
    assert {"reason_required", "out_of_scope", "account_locked"} <= codes
    for code in codes:
        assert f"error.{code}" in MESSAGES["fr"], code


def test_login_page_is_french_by_default_and_english_on_request(client: TestClient) -> None:
    french = client.get("/login")
    assert french.status_code == 200 and '<html lang="fr">' in french.text
    assert "Code à usage unique" in french.text and 'autocomplete="one-time-code"' in french.text
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in english.text and "One-time code" in english.text
    switched = client.get("/lang/en?next=/login", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "vigie_lang=en" in switched.headers["set-cookie"]
    assert '<html lang="en">' in client.get("/login").text  # the cookie now decides
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"] == "/"


def test_navigation_follows_the_policy(client: TestClient, people: dict[Role, Person], tokens: Tokens) -> None:
    def nav(role: Role) -> set[str]:
        page = client.get("/", headers=tokens.headers(people[role]))
        assert page.status_code == 200
        sidebar = page.text.split('<nav class="sidebar"', 1)[1].split("</nav>", 1)[0]
        return set(re.findall(r'href="(/[a-z]*)"', sidebar))

    # Pages of every role (/cameras and /transparency: camera metadata and public statistics).
    common = {"/", "/transparency"}
    assert nav(Role.ADMIN) == common | {"/cameras", "/users", "/system", "/analytics"}
    assert nav(Role.AUDITOR) == common | {"/cameras", "/recordings", "/audit", "/users"}
    assert nav(Role.MAINTAINER) == common | {"/cameras", "/system"}
    assert nav(Role.OFFICER) == common | {"/recordings", "/map"}
    assert nav(Role.OPERATOR) == common | {"/cameras", "/live", "/alerts", "/recordings"}
    assert nav(Role.INVESTIGATOR) == common | {"/cameras", "/recordings", "/map", "/redactions"}
    assert nav(Role.SUPERVISOR) == common | {
        "/cameras", "/live", "/alerts", "/recordings", "/map", "/redactions", "/audit", "/users", "/analytics",
        "/system",
    }  # fmt: skip
    assert client.get("/audit", headers=tokens.headers(people[Role.ADMIN])).status_code == 403


def test_user_supplied_text_is_escaped(client: TestClient, services: Services, tokens: Tokens) -> None:
    from access.helpers import ADMIN_ACTOR, STRONG_PASSWORD

    services.users.create(
        "xss", role="auditor", by=ADMIN_ACTOR, full_name="<script>alert(1)</script>", password=STRONG_PASSWORD
    )
    person = Person("xss", Role.AUDITOR, None, None, STRONG_PASSWORD, "")
    page = client.get("/", headers=tokens.headers(person))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_static_assets_are_local_and_headers_are_strict(client: TestClient) -> None:
    css = client.get("/static/vigie.css")
    assert css.status_code == 200 and "--accent" in css.text
    for script in ("common.js", "audit.js", "users.js", "recordings.js", "system.js"):
        assert client.get(f"/static/js/{script}").status_code == 200
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from another host


def test_unknown_pages_and_api_paths(client: TestClient) -> None:
    api = client.get("/api/nothing-here")
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert client.get("/nothing-here").headers["content-type"].startswith("text/html")
    assert client.delete("/api/health").status_code == 405
