"""Body-cam tests: the real application on the shared installation fixtures (SQLite, and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from access.helpers import fast
from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.registry import DeviceView
from vigie.vault.store import Vault
from vigie.web.app import create_app
from vigie.web.services import Services

from .helpers import ADMIN, TusDock, make_clip


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return fast(settings)


@pytest.fixture
def services(settings: Settings, catalog: Catalog, vault: Vault) -> Services:
    return Services.build(settings, catalog=catalog, vault=vault)


@pytest.fixture
def context(settings: Settings, catalog: Catalog, vault: Vault, services: Services) -> BodycamContext:
    return BodycamContext.build(settings, catalog, vault, services.audit)


@pytest.fixture
def app(settings: Settings, services: Services, context: BodycamContext) -> FastAPI:
    application = create_app(settings, services=services)
    application.state.bodycam = context  # one context for the test and the server
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def device(context: BodycamContext) -> DeviceView:
    view = context.registry.add_device("BWC-T1", force="police", by=ADMIN, unit="ville-a")
    context.registry.ensure_officer("PN-000001", unit="ville-a")
    return view


@pytest.fixture
def dock(client: TestClient, context: BodycamContext) -> TusDock:
    return TusDock(client, context.registry.issue_dock_token("dock-test", by=ADMIN).token)


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 3-second H.264 MP4 of about 10 KB."""
    return make_clip(Path(tmp_path_factory.mktemp("clips")))
