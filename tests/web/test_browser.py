"""End to end in a real browser: the real server under uvicorn, Debian's chromium driven by Playwright.

An auditor logs in with a TOTP code, reads the access register, checks its integrity, and a
screenshot of the register is kept in artifacts/screenshots/audit-register.png.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from access.helpers import Person, store_recording
from browser_support import SCREENSHOTS, chromium_page, served
from vigie.access.policy import Role
from vigie.web.services import Services

from .conftest import Tokens

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("stack", ["embedded"], indirect=True)]


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture
def browser_page() -> Iterator[object]:
    with chromium_page() as page:
        yield page


def test_auditor_logs_in_with_totp_and_reads_the_register(
    server: str,
    browser_page: object,
    services: Services,
    people: dict[Role, Person],
    tokens: Tokens,
    app: FastAPI,
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    # Something worth reading: a supervisor watched a body-cam recording, an operator was refused.
    _, recording = store_recording(services.vault, "bodycam-7")
    client = TestClient(app)
    client.get(
        f"/api/recordings/{recording.id}/media",
        params={"reason": "vérification d'une interpellation"},
        headers=tokens.headers(people[Role.SUPERVISOR]),
    )
    client.get(
        f"/api/recordings/{recording.id}/download",
        params={"reason": "demande du parquet"},
        headers=tokens.headers(people[Role.OPERATOR]),
    )
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)

    auditor = people[Role.AUDITOR]
    page.goto(f"{server}/audit")
    expect(page).to_have_url(f"{server}/login?next=%2Faudit")
    expect(page.locator("h1")).to_have_text("Connexion")
    # A wrong code first: a clear message, and the form again.
    page.fill("#username", auditor.username)
    page.fill("#password", auditor.password)
    page.fill("#totp", "000000" if auditor.code() != "000000" else "111111")
    page.click("#login-submit")
    expect(page.get_by_test_id("login-error")).to_contain_text("Code à usage unique incorrect")

    page.fill("#password", auditor.password)
    page.fill("#totp", auditor.code())
    page.click("#login-submit")
    expect(page).to_have_url(f"{server}/audit")
    console_errors.clear()  # the refused login above answered 401 on purpose; from here on, no error
    expect(page.locator("h1")).to_have_text("Registre des accès")
    expect(page.get_by_test_id("username")).to_have_text(auditor.username)

    rows = page.locator("#audit-table tbody tr[data-id]")
    expect(rows.first).to_be_visible()
    table = page.locator("#audit-table")
    expect(table).to_contain_text("footage.view")
    expect(table).to_contain_text("vérification d'une interpellation")
    expect(table).to_contain_text("CS-001")
    expect(table).to_contain_text("refusé")

    # Filter to footage refusals only.
    page.select_option("select[name=outcome]", "refused")
    page.fill("input[name=action]", "footage")
    page.click("#audit-filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("footage.export")
    page.select_option("select[name=outcome]", "")
    page.fill("input[name=action]", "")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator("#page-info")).to_contain_text("entrées")

    page.click("#audit-verify")
    expect(page.locator("#audit-integrity")).to_contain_text("Registre intègre")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "audit-register.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # The same page in English, then logout.
    page.click("a.lang[lang=en]")
    expect(page.locator("h1")).to_have_text("Access register")
    page.click("#logout")
    expect(page).to_have_url(f"{server}/login?bye=1")
    page.goto(f"{server}/audit")
    expect(page).to_have_url(f"{server}/login?next=%2Faudit")
    assert console_errors == []
