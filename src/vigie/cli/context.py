"""The CLI's composition root: settings → catalog → vault → audit log, built once per command."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from vigie.access.audit import Actor, AuditLog
from vigie.catalog.db import Catalog
from vigie.config import Settings, load_settings
from vigie.vault.store import Vault


@dataclass
class CliState:
    home: Path | None = None

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.home)
        settings.home.mkdir(parents=True, exist_ok=True)
        return settings

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.catalog_url)

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.settings, self.catalog)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.catalog, self.vault.signer)

    @cached_property
    def actor(self) -> Actor:
        return Actor(name=self.settings.operator, role="local-admin", client=f"cli@{socket.gethostname()}")

    def close(self) -> None:
        if "audit" in self.__dict__:
            self.audit.checkpoint()
        if "catalog" in self.__dict__:
            self.catalog.dispose()
