"""The access register over HTTP: a filtered, paged view, integrity check and file exports."""

from __future__ import annotations

import io
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vigie.access.audit import AuditQuery
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action
from vigie.access.register import entry_row, write_csv, write_json
from vigie.catalog.types import iso, utcnow
from vigie.web.security import Access, require, services_of

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    matricule: str | None
    role: str
    unit: str | None
    action: str
    outcome: str
    object_type: str | None
    object_ids: list[str]
    reason: str | None
    procedure: str | None
    requester: str | None
    recipient: str | None
    client: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    total: int = Field(description="Entries matching the filters, all pages together.")
    offset: int
    limit: int


class Problem(BaseModel):
    kind: str
    object: str
    detail: str


class AuditVerification(BaseModel):
    intact: bool
    entries: int
    problems: list[Problem]


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise AccessRefusal("invalid_request", f"'{name}' needs a time zone (e.g. 2026-11-21T10:00:00Z)", 422)
    return moment


def _query(
    access: Access,
    start: datetime | None,
    end: datetime | None,
    actor: str | None,
    action: str | None,
    object_id: str | None,
    outcome: str | None,
) -> AuditQuery:
    # A head of service reads the register of their own unit; the DPO (no unit) reads all of it.
    return AuditQuery(
        start=_aware(start, "from"),
        end=_aware(end, "to"),
        actor=actor or None,
        action=action or None,
        object_id=object_id or None,
        outcome=outcome or None,
        units=access.user.unit,
    )


FromQ = Annotated[datetime | None, Query(alias="from", description="Entries at or after (ISO 8601 with zone).")]
ToQ = Annotated[datetime | None, Query(alias="to", description="Entries before (ISO 8601 with zone).")]
ActorQ = Annotated[str | None, Query(max_length=120, description="Username.")]
ActionQ = Annotated[str | None, Query(max_length=60, description="Action, or its family ('footage').")]
ObjectQ = Annotated[str | None, Query(alias="object", max_length=200, description="A recording, source or user id.")]
OutcomeQ = Annotated[str | None, Query(pattern="^(allowed|refused|failed)$")]


@router.get("")
def read_register(
    request: Request,
    access: Annotated[Access, Depends(require(Action.AUDIT_READ))],
    start: FromQ = None,
    end: ToQ = None,
    actor: ActorQ = None,
    action: ActionQ = None,
    object_id: ObjectQ = None,
    outcome: OutcomeQ = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """The register, newest first. Reading it is itself written to it."""
    query = _query(access, start, end, actor, action, object_id, outcome)
    rows, total = services_of(request).audit.search(query, offset=offset, limit=limit)
    return AuditPage(
        entries=[AuditEntryOut(**entry_row(row)) for row in rows], total=total, offset=offset, limit=limit
    )


@router.get("/verify")
def verify_register(request: Request, _: Annotated[Access, Depends(require(Action.AUDIT_READ))]) -> AuditVerification:
    """Re-derive the chain and check every signed checkpoint: any edited, removed or inserted entry shows."""
    problems, count = services_of(request).audit.verify()
    return AuditVerification(
        intact=not problems,
        entries=count,
        problems=[Problem(kind=p.kind, object=p.object, detail=p.detail) for p in problems],
    )


@router.get("/export", response_class=Response, responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_register(
    request: Request,
    access: Annotated[Access, Depends(require(Action.AUDIT_EXPORT))],
    start: FromQ = None,
    end: ToQ = None,
    actor: ActorQ = None,
    action: ActionQ = None,
    object_id: ObjectQ = None,
    outcome: OutcomeQ = None,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
) -> Response:
    """The register as a file, oldest first, with each entry's hashes (checkable against the chain)."""
    query = _query(access, start, end, actor, action, object_id, outcome)
    buffer = io.StringIO()
    entries = services_of(request).audit.iter_matching(query)
    if export_format is ExportFormat.csv:
        write_csv(entries, buffer)
        media = "text/csv; charset=utf-8"
    else:
        write_json(entries, buffer)
        media = "application/json"
    name = f"vigie-register-{iso(utcnow())[:19].replace(':', '')}.{export_format.value}"
    return Response(
        buffer.getvalue(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
