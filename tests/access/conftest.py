"""Access tests run on the shared installation fixtures (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import pytest

from vigie.access.audit import AuditLog
from vigie.access.secretbox import SecretBox
from vigie.access.sessions import SessionStore
from vigie.access.users import UserStore
from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.vault.store import Vault

from .helpers import fast


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return fast(settings)


@pytest.fixture
def users(catalog: Catalog, audit: AuditLog, vault: Vault, settings: Settings) -> UserStore:
    return UserStore(catalog, audit, SecretBox(vault.kek), settings.access)


@pytest.fixture
def sessions(catalog: Catalog, settings: Settings) -> SessionStore:
    return SessionStore(catalog, settings.access)
