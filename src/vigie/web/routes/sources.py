"""Cameras and body-cam devices within one's scope (metadata only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from vigie.access import scope
from vigie.access.policy import Action
from vigie.web.security import Access, require, services_of

router = APIRouter(prefix="/api/sources", tags=["sources"])


class SourceOut(BaseModel):
    name: str
    kind: str
    unit: str | None
    retention_profile: str
    retention: str | None
    enabled: bool
    created_at: datetime


@router.get("")
def list_sources(request: Request, access: Annotated[Access, Depends(require(Action.CAMERAS_READ))]) -> list[SourceOut]:
    with services_of(request).catalog.session() as session:
        sources = scope.sources_in_scope(session, access.user)
        return [
            SourceOut(
                name=source.name,
                kind=source.kind,
                unit=source.unit,
                retention_profile=source.retention_profile,
                retention=source.retention,
                enabled=source.enabled,
                created_at=source.created_at,
            )
            for source in sources
        ]
