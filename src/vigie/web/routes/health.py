"""Health: a minimal public probe, details for those allowed, Prometheus metrics for the maintainer.

None of these carries personal data or image bytes: counts, sizes, ages and versions only.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import func, select, text

from vigie.access.policy import Action
from vigie.catalog.models import AuditCheckpoint, AuditEntry, Recording, Source
from vigie.catalog.types import utcnow
from vigie.vault.blobstore import BlobStoreError
from vigie.web.metrics import Labels
from vigie.web.security import PUBLIC, Access, require, services_of
from vigie.web.services import Services

router = APIRouter(tags=["health"])


def vigie_version() -> str:
    try:
        return version("vigie")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


class Health(BaseModel):
    status: str
    version: str


class CatalogHealth(BaseModel):
    ok: bool
    dialect: str


class VaultHealth(BaseModel):
    ok: bool
    store: str
    free_bytes: int | None
    total_bytes: int | None


class AuditHealth(BaseModel):
    entries: int
    last_checkpoint_at: datetime | None
    unsigned_entries: int


class HealthDetails(BaseModel):
    status: str
    version: str
    uptime_seconds: float
    catalog: CatalogHealth
    vault: VaultHealth
    audit: AuditHealth


def _vault_health(services: Services) -> VaultHealth:
    """Reach the blob store (any kind) with a harmless lookup; disk space only for a local store."""
    store = services.settings.vault.store
    try:
        services.vault.blobs.exists("health-probe")
        reachable = True
    except (BlobStoreError, OSError):
        reachable = False
    if store != "local":
        return VaultHealth(ok=reachable, store=store, free_bytes=None, total_bytes=None)
    try:
        usage = shutil.disk_usage(services.settings.vault_dir)
    except OSError:
        return VaultHealth(ok=False, store=store, free_bytes=None, total_bytes=None)
    return VaultHealth(ok=reachable, store=store, free_bytes=usage.free, total_bytes=usage.total)


def _catalog_ok(services: Services) -> bool:
    try:
        with services.catalog.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get("/api/health", dependencies=[Depends(PUBLIC)], responses={503: {"model": Health}})
def health(request: Request, response: Response) -> Health:
    """Liveness and catalog reachability: nothing more, for anyone (load balancers, probes)."""
    if not _catalog_ok(services_of(request)):
        response.status_code = 503
        return Health(status="unavailable", version=vigie_version())
    return Health(status="ok", version=vigie_version())


@router.get("/api/health/details")
def health_details(request: Request, _: Annotated[Access, Depends(require(Action.HEALTH_READ))]) -> HealthDetails:
    services = services_of(request)
    catalog_ok = _catalog_ok(services)
    vault = _vault_health(services)
    with services.catalog.session() as session:
        entries = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        last = session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar_one_or_none()
    return HealthDetails(
        status="ok" if catalog_ok and vault.ok else "degraded",
        version=vigie_version(),
        uptime_seconds=round(time.time() - services.started_at, 1),
        catalog=CatalogHealth(ok=catalog_ok, dialect=services.catalog.engine.dialect.name),
        vault=vault,
        audit=AuditHealth(
            entries=int(entries),
            last_checkpoint_at=last.created_at if last else None,
            unsigned_entries=int(entries) - (last.last_entry_id if last else 0),
        ),
    )


def _gauges(services: Services) -> list[tuple[str, str, Labels, float]]:
    gauges: list[tuple[str, str, Labels, float]] = [
        ("vigie_up", "1 while the server runs.", (), 1.0),
        ("vigie_uptime_seconds", "Seconds since the server started.", (), round(time.time() - services.started_at, 1)),
    ]
    with services.catalog.session() as session:
        for kind, count in session.execute(select(Source.kind, func.count()).group_by(Source.kind)).all():
            gauges.append(("vigie_sources", "Cameras and body-cam devices, by kind.", (("kind", kind),), count))
        for kind, count, size in session.execute(
            select(Recording.kind, func.count(), func.coalesce(func.sum(Recording.size), 0)).group_by(Recording.kind)
        ).all():
            gauges.append(("vigie_recordings", "Recordings in the catalog, by kind.", (("kind", kind),), count))
            gauges.append(("vigie_recorded_bytes", "Plaintext bytes of recordings, by kind.", (("kind", kind),), size))
        entries = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        last = session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar_one_or_none()
    gauges.append(("vigie_audit_entries", "Entries in the access register.", (), entries))
    age = (utcnow() - last.created_at).total_seconds() if last else -1
    gauges.append(
        ("vigie_audit_checkpoint_age_seconds", "Age of the last signed audit checkpoint (-1: none).", (), age)
    )
    gauges.append(("vigie_sessions_active", "Open sessions and tokens.", (), services.sessions.active_count()))
    try:
        usage = shutil.disk_usage(services.settings.vault_dir)
        gauges.append(("vigie_vault_free_bytes", "Free space where the vault lives.", (), usage.free))
    except OSError:
        pass
    return gauges


@router.get("/metrics", response_class=PlainTextResponse, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, _: Annotated[Access, Depends(require(Action.METRICS_READ))]) -> PlainTextResponse:
    """Prometheus text exposition. Scrape with a token limited to metrics.read (``vigie user token``)."""
    services = services_of(request)
    return PlainTextResponse(
        services.metrics.render(_gauges(services)), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
