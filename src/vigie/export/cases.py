"""Cases: open, gather evidence (held), close."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.case_models import Case, CaseItem
from vigie.catalog.models import Recording, Source
from vigie.catalog.types import iso, utcnow
from vigie.vault import retention
from vigie.vault.store import Vault, VaultError


class CaseError(VaultError):
    """A case operation was refused."""


@dataclass(frozen=True)
class ItemView:
    item: CaseItem
    source: Source
    recording: Recording | None


class CaseService:
    def __init__(self, vault: Vault, audit: AuditLog) -> None:
        self.vault = vault
        self.catalog = vault.catalog
        self.audit = audit

    def open(self, ref: str, *, actor: Actor, title: str | None = None) -> Case:
        ref = ref.strip()
        if not ref:
            raise CaseError("a case needs a reference (procedure number)")
        with self.catalog.session() as session:
            if session.execute(select(Case).where(Case.ref == ref)).scalar_one_or_none():
                raise CaseError(f"case {ref} exists already")
            case = Case(ref=ref, title=title, unit=actor.unit, opened_by=actor.name)
            session.add(case)
            self.audit.append(
                actor,
                AuditRecord(action="case.open", object_type="case", object_ids=[ref], procedure=ref),
                session=session,
            )
            return case

    def get(self, ref: str) -> Case:
        with self.catalog.session() as session:
            case = session.execute(select(Case).where(Case.ref == ref)).scalar_one_or_none()
        if case is None:
            raise CaseError(f"unknown case {ref!r}")
        return case

    def cases(self) -> list[Case]:
        with self.catalog.session() as session:
            return list(session.execute(select(Case).order_by(Case.opened_at)).scalars())

    def _open_case(self, ref: str) -> Case:
        case = self.get(ref)
        if case.status != "open":
            raise CaseError(f"case {ref} is closed")
        return case

    def add_recording(self, ref: str, recording_id: str, *, actor: Actor, reason: str) -> CaseItem:
        case = self._open_case(ref)
        recording = self.vault.recording(recording_id)
        with self.catalog.session() as session:
            source = session.get(Source, recording.source_id)
            assert source is not None
        return self._add(case, source, recording, recording.start, recording.end or recording.start, actor, reason)

    def add_span(self, ref: str, camera: str, start: datetime, end: datetime, *, actor: Actor, reason: str) -> CaseItem:
        case = self._open_case(ref)
        if end <= start:
            raise CaseError("the span must end after it starts")
        source = self.vault.source(camera)
        return self._add(case, source, None, start, end, actor, reason)

    def _add(
        self,
        case: Case,
        source: Source,
        recording: Recording | None,
        start: datetime,
        end: datetime,
        actor: Actor,
        reason: str,
    ) -> CaseItem:
        hold = retention.add_hold(
            self.vault, case_ref=case.ref, source_name=source.name, start=start, end=end, reason=reason, by=actor.name
        )
        with self.catalog.session() as session:
            item = CaseItem(
                case_id=case.id,
                source_id=source.id,
                recording_id=recording.id if recording else None,
                span_start=start,
                span_end=end,
                hold_id=hold.id,
                added_by=actor.name,
            )
            session.add(item)
            self.audit.append(
                actor,
                AuditRecord(
                    action="case.add",
                    object_type="case",
                    object_ids=[case.ref, source.name, *([recording.id] if recording else [])],
                    reason=reason,
                    procedure=case.ref,
                    details={"from": iso(start), "to": iso(end), "hold": hold.id},
                ),
                session=session,
            )
            return item

    def items(self, ref: str) -> list[ItemView]:
        case = self.get(ref)
        with self.catalog.session() as session:
            rows = session.execute(
                select(CaseItem, Source)
                .join(Source, CaseItem.source_id == Source.id)
                .where(CaseItem.case_id == case.id)
                .order_by(CaseItem.id)
            ).all()
            views = []
            for item, source in rows:
                recording = session.get(Recording, item.recording_id) if item.recording_id else None
                views.append(ItemView(item, source, recording))
        return views

    def close(self, ref: str, *, actor: Actor, reason: str) -> Case:
        """Close a case: its holds end, its footage falls back under normal retention."""
        case = self._open_case(ref)
        for view in self.items(ref):
            if view.item.hold_id is not None:
                with contextlib.suppress(VaultError):  # released by hand already
                    retention.release_hold(self.vault, view.item.hold_id, by=actor.name)
        with self.catalog.session() as session:
            stored = session.get(Case, case.id)
            assert stored is not None
            stored.status, stored.closed_by, stored.closed_at = "closed", actor.name, utcnow()
            self.audit.append(
                actor,
                AuditRecord(action="case.close", object_type="case", object_ids=[ref], reason=reason, procedure=ref),
                session=session,
            )
            return stored
