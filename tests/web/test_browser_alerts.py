"""End to end in a real browser: alerts from the live analytics worker reach an operator's queue; redaction review.

The real server under uvicorn, Debian's chromium driven by Playwright. An operator logs in with a
TOTP code and states why they watch; the live worker analyses two synthetic street scenes (a fire
start, a left bag) fed from files through its stream interface; both alerts appear with their
masked snapshots; the operator dismisses one with a comment. An investigator then reviews a
redaction with no face found. Screenshots: artifacts/screenshots/alert-queue.png and
artifacts/screenshots/redaction-review.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from access.helpers import Person, enrol
from browser_support import SCREENSHOTS, chromium_page, served
from vigie.access.audit import Actor
from vigie.access.policy import Role
from vigie.analytics.source import VideoSource, VideoSourceError
from vigie.config import LiveAnalyticsSettings
from vigie.events.live_analytics import FrameStream, LiveAnalytics
from vigie.ingest.cameras.registry import CameraSpec, CameraTarget
from vigie.ingest.files import import_camera_file
from vigie.privacy.masks import PrivacyMask
from vigie.privacy.redactions import RedactionService
from vigie.sim import SceneSpec, generate
from vigie.web.services import Services

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("stack", ["embedded"], indirect=True)]

ADMIN = Actor(name="admin1", role="admin", client="pytest")


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture
def browser_page() -> Iterator[object]:
    with chromium_page(height=1000) as page:
        yield page


def log_in(page: object, server: str, person: Person, target: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{server}{target}")
    page.fill("#username", person.username)
    page.fill("#password", person.password)
    page.fill("#totp", person.code())
    page.click("#login-submit")
    expect(page).to_have_url(f"{server}{target}")


class PlayOnce:
    """The worker's stream opener: each camera's synthetic clip, played once (then the camera is "down")."""

    def __init__(self, clips: dict[str, Path]) -> None:
        self.clips = dict(clips)

    def __call__(self, target: CameraTarget) -> FrameStream:
        clip = self.clips.pop(target.name, None)
        if clip is None:
            raise VideoSourceError(f"{target.name}: the synthetic clip was already played")
        return VideoSource.open(clip, fps=5.0)


def test_operator_sees_live_alerts_with_snapshots_and_dismisses_one(
    server: str, browser_page: object, services: Services, people: dict[Role, Person], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    clips = {"quai-saone-3": tmp_path / "fire.mp4", "gare-part-dieu-2": tmp_path / "bag.mp4"}
    generate(SceneSpec(kind="fire", width=640, height=360, fps=10, seconds=9.0, seed=1), clips["quai-saone-3"])
    generate(
        SceneSpec(kind="abandoned", width=640, height=360, fps=10, seconds=12.0, seed=1), clips["gare-part-dieu-2"]
    )
    now = datetime.now(UTC)
    for name, event_type in (("quai-saone-3", "fire"), ("gare-part-dieu-2", "abandoned_object")):
        services.cameras.add(CameraSpec(name, f"rtsp://127.0.0.1:1/{name}", unit="ville-a"), ADMIN)
        services.events.record_legal_basis(
            services.vault.source(name),
            event_type,
            text_reference="TEST — base légale fictive (images de synthèse)",
            authorisation="arrêté de test 2026-000",
            valid_from=now - timedelta(minutes=5),
            valid_until=now + timedelta(days=1),
            actor=ADMIN,
        )
    # A dwelling window on the station camera: it must be black in that alert's snapshot.
    services.masks.add(
        "gare-part-dieu-2",
        PrivacyMask("fenetres-immeuble", ((0.72, 0.0), (1.0, 0.0), (1.0, 0.28), (0.72, 0.28))),
        ADMIN,
    )
    services.zones.save(
        services.vault.source("gare-part-dieu-2"), {"zones": []}, width=640, height=360, actor=ADMIN, abandoned_after=3
    )
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)

    operator = people[Role.OPERATOR]
    log_in(page, server, operator, "/alerts")
    expect(page.locator("h1")).to_have_text("File des alertes")
    expect(page.get_by_test_id("no-automation")).to_contain_text("Aucune action automatique")
    expect(page.locator("#alerts-live")).to_contain_text("En direct")
    page.fill("#alerts-reason-input", "veille du poste de commandement, service de nuit")
    page.click("#alerts-start")
    expect(page.locator("#alerts-reason-text")).to_have_text("veille du poste de commandement, service de nuit")

    settings = services.settings.events.analytics
    live = LiveAnalytics(
        services.vault,
        services.events,
        services.settings.model_copy(
            update={
                "events": services.settings.events.model_copy(
                    update={"analytics": LiveAnalyticsSettings(fps=settings.fps, reload_seconds=0.5)}
                )
            }
        ),
        opener=PlayOnce(clips),
        zones=services.zones,
        masks=services.masks,
    )
    with live:
        cards = page.locator("#alert-queue article.alert-card")
        expect(cards).to_have_count(2, timeout=30_000)
    fire = page.locator('article.alert-card[data-type="fire"]')
    bag = page.locator('article.alert-card[data-type="abandoned_object"]')
    expect(fire).to_contain_text("Départ de feu")
    expect(fire).to_contain_text("quai-saone-3")
    expect(bag).to_contain_text("Objet abandonné")
    for card in (fire, bag):
        snapshot = card.get_by_test_id("alert-snapshot")
        expect(snapshot).to_be_visible()
        assert snapshot.evaluate("img => img.naturalWidth") == 480  # masked, scaled-down snapshot
    expect(page.locator("#alerts-count")).to_have_text("2")

    # A decision needs a comment; then the alert moves to the history.
    fire.locator('button[data-decision="dismissed"]').click()
    expect(fire.locator("p.alert.error")).to_have_text(
        "Un commentaire est obligatoire pour confirmer ou écarter une alerte."
    )
    fire.locator("textarea").fill("Barbecue autorisé sur les quais, pas de départ de feu.")
    fire.locator('button[data-decision="dismissed"]').click()
    expect(fire).to_have_count(0)
    expect(page.locator("#alerts-count")).to_have_text("1")
    history = page.locator("#alert-history tbody tr")
    expect(history.first).to_contain_text("écartée")
    expect(history.first).to_contain_text("Barbecue autorisé sur les quais")
    expect(history.first).to_contain_text("oper1")
    bag.locator("textarea").fill("Sac vu par l'équipe")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    shot = SCREENSHOTS / "alert-queue.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    stored = {event.type: event for event in services.events.events()}
    assert stored["fire"].status == "dismissed" and stored["fire"].reviewed_by == "oper1"
    assert stored["abandoned_object"].status == "pending"
    assert console_errors == []


def test_investigator_reviews_a_redaction_with_no_face_found(
    server: str, browser_page: object, services: Services, people: dict[Role, Person], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    clip = tmp_path / "parvis.mp4"
    generate(SceneSpec(kind="walkers", width=640, height=360, fps=10, seconds=3.0, seed=7), clip)
    services.cameras.add(CameraSpec("parvis-mairie", "rtsp://127.0.0.1:1/parvis", unit="ville-a"), ADMIN)
    recording = import_camera_file(services.vault, clip, services.vault.source("parvis-mairie")).recording
    creator = enrol(services.users, "enq2", Role.INVESTIGATOR, "ville-a", "EN-002")
    row, _ = RedactionService(services.vault, services.audit).redact_recording(
        recording.id,
        Actor(name=creator.username, role="investigator", unit="ville-a"),
        reason="demande de droit d'accès n° 2026-17",
    )
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)

    log_in(page, server, people[Role.INVESTIGATOR], f"/redactions/{row.id}")
    expect(page.locator("h1")).to_have_text("Vérification du floutage")
    expect(page.get_by_test_id("zero-faces")).to_contain_text("0 visage trouvé : vérifiez avec une attention")
    page.fill("#redaction-reason input[name=reason]", "demande de droit d'accès n° 2026-17")
    page.click("#redaction-reason button[type=submit]")
    expect(page.locator("#still-strip li")).to_have_count(30)  # every frame of a short clip
    expect(page.locator("#still-info")).to_contain_text("Image 1 / 30")
    page.click("#still-next")
    page.click("#still-next")
    expect(page.locator("#still-info")).to_contain_text("Image 3 / 30")
    page.fill("#decision-reason", "30 images vérifiées une à une : aucun visage visible.")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the header is sticky: shoot from the top
    shot = SCREENSHOTS / "redaction-review.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    page.click("#redaction-approve")
    expect(page.locator("#decision-message")).to_contain_text("Décision enregistrée au registre")
    expect(page.locator("#redaction-status")).to_have_text("approuvée")
    assert console_errors == []


def test_supervisor_records_a_basis_and_draws_zones_on_the_masked_picture(
    server: str, browser_page: object, services: Services, people: dict[Role, Person]
) -> None:
    from playwright.sync_api import Page, expect

    from .camera_helpers import record_footage, register_camera

    page = browser_page
    assert isinstance(page, Page)
    register_camera(services, "pont-wilson", unit="ville-a")
    record_footage(services, "pont-wilson", seconds=2.0)  # the picture to draw on: its latest keyframe
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)

    log_in(page, server, people[Role.SUPERVISOR], "/analytics/cameras/pont-wilson")
    expect(page.locator("#analytics-status")).to_contain_text("Aucune base légale enregistrée")
    page.select_option("#basis-form select[name=event_type]", "zone_intrusion")
    page.fill("#basis-form input[name=text_reference]", "TEST — base légale fictive")
    page.fill("#basis-form input[name=authorisation]", "arrêté de test 2026-000")
    page.fill("#basis-form input[name=valid_until]", "2099-12-31")
    page.click("#basis-form button[type=submit]")
    expect(page.locator("#bases-table tbody tr")).to_have_count(1)
    expect(page.locator("#bases-table tbody tr").first).to_contain_text("en vigueur")

    page.fill("#zones-picture input[name=reason]", "tracé des zones de la caméra")
    page.click("#zones-picture button[type=submit]")
    expect(page.locator("#zones-size")).to_contain_text("320 × 180")  # the masked snapshot's own size
    canvas = page.locator("#zones-canvas")
    box = canvas.bounding_box()
    assert box is not None

    def click(x: float, y: float) -> None:  # picture pixels -> screen
        canvas.click(position={"x": x * box["width"] / 320, "y": y * box["height"] / 180})

    page.fill("#zone-draft input[name=name]", "voie-ferree")
    for x, y in ((10, 120), (310, 120), (310, 150), (10, 150)):
        click(x, y)
    page.click("#zone-close")
    page.fill("#zone-draft input[name=name]", "couloir")
    page.select_option("#zone-draft select[name=kind]", "direction")
    for x, y in ((20, 20), (200, 20), (200, 90), (20, 90)):
        click(x, y)
    page.click("#zone-close")
    expect(page.locator("#zone-hint")).to_contain_text("Cliquez deux points")
    click(40, 60)
    click(160, 60)
    expect(page.locator("#zones-list li")).to_have_count(2)
    page.click("#zones-save")
    expect(page.locator("#zones-message")).to_contain_text("Zones enregistrées")
    setup = services.zones.get(services.vault.source("pont-wilson"))
    assert (setup.frame_width, setup.frame_height) == (320, 180)
    assert [(zone["name"], zone["kind"]) for zone in setup.zones] == [
        ("voie-ferree", "forbidden"),
        ("couloir", "direction"),
    ]
    assert setup.zones[1]["direction"] == [120, 0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "analytics-settings.png"), full_page=True)
    assert console_errors == []
