"""The public transparency page and its JSON: counts by month for anyone, and nothing personal in them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from access.helpers import Person, store_recording
from vigie.access.policy import Role
from vigie.catalog.types import utcnow
from vigie.web.routes import transparency
from vigie.web.services import Services

from .camera_helpers import range_params, record_footage, register_camera
from .conftest import Tokens

REASON = "recherche suite à un vol à l'arraché"


@pytest.fixture(autouse=True)
def _fresh_figures() -> Iterator[None]:
    transparency.forget()
    yield
    transparency.forget()


def test_figures_are_public_and_count_consultations_without_naming_anyone(
    client: TestClient, services: Services, people: dict[Role, Person], tokens: Tokens
) -> None:
    register_camera(services, "place-bellecour")
    record_footage(services, "place-bellecour")
    _, recording = store_recording(services.vault, "bodycam-7")
    operator = tokens.headers(people[Role.OPERATOR])
    assert client.get("/api/cameras/place-bellecour/playback", params={**range_params(), "reason": REASON},
                      headers=operator).status_code == 200
    assert client.get("/api/cameras/place-bellecour/playback", params=range_params(),
                      headers=operator).status_code == 400  # refused: no reason
    transparency.forget()

    response = client.get("/api/transparency")  # no login
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"months", "definitions"}
    by_month = {month["month"]: month for month in data["months"]}
    november = by_month["2026-11"]  # the recordings' month
    assert november["recordings"] == {"camera": 1, "bodycam": 1}
    assert november["hours_recorded"]["camera"] == pytest.approx(6 / 3600, abs=1e-3)
    now = utcnow()
    this_month = by_month[f"{now.year:04d}-{now.month:02d}"]  # the register's month
    assert this_month["consultations"] == 1 and this_month["refused_requests"] == 1
    text = response.text
    for personal in (people[Role.OPERATOR].username, "OP-001", REASON, "place-bellecour", "bodycam-7", recording.id,
                     "ville-a"):
        assert personal not in text


def test_the_page_is_public_french_first_and_scriptable(client: TestClient) -> None:
    page = client.get("/transparency")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page.text and "Transparence de la vidéoprotection" in page.text
    for metric in transparency.CHARTS:
        assert f'data-metric="{metric}"' in page.text
    assert "/static/js/transparency.js" in page.text and 'class="sidebar"' not in page.text
    english = client.get("/transparency", headers={"Accept-Language": "en"})
    assert "Video protection transparency" in english.text
    # The login page points the public to it.
    assert 'href="/transparency"' in client.get("/login").text
    assert client.get("/static/js/transparency.js").status_code == 200
