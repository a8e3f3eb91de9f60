"""What the body-cam intake works with, built once per process (web app, CLI, demo)."""

from __future__ import annotations

from dataclasses import dataclass

from vigie.access.audit import AuditLog
from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.ingest.bodycam.registry import DeviceRegistry
from vigie.ingest.bodycam.spool import Spool
from vigie.vault.store import Vault


@dataclass
class BodycamContext:
    settings: Settings
    catalog: Catalog
    vault: Vault
    audit: AuditLog
    registry: DeviceRegistry
    spool: Spool

    @classmethod
    def build(cls, settings: Settings, catalog: Catalog, vault: Vault, audit: AuditLog) -> BodycamContext:
        return cls(
            settings=settings,
            catalog=catalog,
            vault=vault,
            audit=audit,
            registry=DeviceRegistry(catalog, vault, audit),
            spool=Spool(settings.bodycam_spool_dir, fsync=settings.vault.fsync),
        )
