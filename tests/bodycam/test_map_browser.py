"""The map in a real browser: Leaflet served locally under the strict CSP, a circle search, a track drawn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI

from access.helpers import ADMIN_ACTOR, STRONG_PASSWORD
from browser_support import SCREENSHOTS, chromium_page
from vigie.cli.bodycam_commands import loopback_server, register_fleet
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.gps import guess_format, parse_track
from vigie.ingest.bodycam.offload import offload_directory
from vigie.sim.bodycam import BodycamSimSpec, simulate_bodycams
from vigie.web.services import Services

from .helpers import ADMIN

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("stack", ["embedded"], indirect=True)]


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_page(height=1000, timezone="UTC") as page:
        yield page


def test_search_on_the_map_and_show_a_track(
    app: FastAPI, services: Services, context: BodycamContext, page: Any, tmp_path: Path
) -> None:
    docks = tmp_path / "docks"
    simulate_bodycams(BodycamSimSpec(devices=2, days=1, missing_rate=0.0, seed=4), docks)
    register_fleet(context.registry, docks, ADMIN)
    enrolment = services.users.create(
        "chef-map", role="supervisor", by=ADMIN_ACTOR, matricule="CS-MAP", password=STRONG_PASSWORD
    )
    token = context.registry.issue_dock_token("dock-map", by=ADMIN).token
    manifest = json.loads(next(docks.glob("*/recordings/*.json")).read_text())
    track_file = docks / manifest["device"] / "recordings" / manifest["track"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    with loopback_server(app) as url:
        report = offload_directory(docks, url, token)
        assert report.uploaded > 0
        page.goto(f"{url}/login?next=/map")
        page.fill("#username", "chef-map")
        page.fill("#password", STRONG_PASSWORD)
        page.fill("#totp", pyotp.TOTP(enrolment.totp_secret).now())
        page.click("#login-submit")
        page.wait_for_url(f"{url}/map")
        page.wait_for_selector(".leaflet-container")
        # The recording's first GPS point is the centre; the period covers its day.
        first = parse_track(track_file.read_bytes(), guess_format(track_file.name, b"")).points[0]
        start = first.t - 3600
        page.fill("input[name=lat]", f"{first.lat:.6f}")
        page.fill("input[name=lon]", f"{first.lon:.6f}")
        page.fill("input[name=radius_m]", "150")
        page.fill("input[name=from]", datetime.fromtimestamp(start, tz=UTC).strftime("%Y-%m-%dT%H:%M"))
        page.fill(
            "input[name=to]", (datetime.fromtimestamp(start, tz=UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        )
        page.fill("input[name=reason]", "recherche de témoins de l'incident")
        page.click("#map-search button[type=submit]")
        try:
            page.wait_for_selector("#map-table tbody tr")
        except Exception:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "bodycam-map-failed.png"), full_page=True)
            raise AssertionError(
                f"no result row; console errors: {errors}; results: "
                f"{page.inner_text('#map-results')!r} {page.inner_text('#map-error')!r}"
            ) from None
        rows = page.locator("#map-table tbody tr")
        assert rows.count() >= 1
        rows.first.click()
        page.locator("path.leaflet-interactive").nth(1).wait_for()  # the circle, then the track (CSP: no eval)
        page.wait_for_timeout(600)  # Leaflet's zoom animation
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "bodycam-map.png"))
        page.goto(f"{url}/bodycam/devices/{manifest['device']}")
        page.wait_for_selector("#device-status")
        page.screenshot(path=str(SCREENSHOTS / "bodycam-device.png"), full_page=True)
    assert not [error for error in errors if "Content Security Policy" in error or "leaflet" in error.lower()], errors
