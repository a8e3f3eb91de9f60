"""Web tests: the real application (create_app) on the shared installation fixtures, driven by TestClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from access.helpers import Person, everyone, fast
from vigie.access.policy import Role
from vigie.access.sessions import SessionKind
from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.vault.store import Vault
from vigie.web.app import create_app
from vigie.web.services import Services


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return fast(settings)


@pytest.fixture
def services(settings: Settings, catalog: Catalog, vault: Vault) -> Services:
    return Services.build(settings, catalog=catalog, vault=vault)


@pytest.fixture
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services=services)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:  # runs the lifespan (checkpoints)
        yield test_client


@pytest.fixture
def people(services: Services) -> dict[Role, Person]:
    return everyone(services.users)


class Tokens:
    """Bearer headers for people, issued straight from the session store (login itself is tested apart)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def headers(self, person: Person) -> dict[str, str]:
        user = self.services.users.get(person.username)
        assert user is not None
        issued = self.services.sessions.issue(user, SessionKind.API, client="testclient")
        return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
def tokens(services: Services) -> Tokens:
    return Tokens(services)
