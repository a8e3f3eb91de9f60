"""Events: the legal-basis gate, storage, publication and human review.

Lawful by construction (décret 2023-828): only the listed event types exist; a camera raises one
only while a legal basis for that type is in force; nothing happens automatically after an event,
an operator confirms or dismisses it with a comment, and every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.db import Catalog
from vigie.catalog.event_models import Event, LegalBasis
from vigie.catalog.models import Source, new_uid
from vigie.catalog.types import iso, utcnow
from vigie.events.bus import EventBus
from vigie.vault.store import Vault

# The event types of décret 2023-828 art. 3 that Vigie provides. "weapon" is in the law but not
# provided: no detector that can ship offline is accurate enough to put before an operator.
LEGAL_EVENT_TYPES = frozenset(
    {
        "abandoned_object",
        "wrong_way",
        "zone_intrusion",
        "person_down",
        "crowd_movement",
        "crowd_density",
        "fire",
    }
)
# Technical health signals about the camera itself: no person is analysed, no legal basis needed.
HEALTH_SIGNAL_TYPES = frozenset({"camera_tamper", "motion"})
REVIEW_DECISIONS = ("confirmed", "dismissed")


class EventError(RuntimeError):
    """An event operation was refused (unknown type, no legal basis, already reviewed…)."""


@dataclass(frozen=True)
class EventDraft:
    """What a detector found, before the gate: times are wall-clock instants."""

    type: str
    start: datetime
    score: float
    end: datetime | None = None
    box: tuple[int, int, int, int] | None = None
    recording_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def event_payload(event: Event, source_name: str) -> dict[str, Any]:
    """What operators' screens and integrations receive: no image bytes, a link to the snapshot."""
    return {
        "id": event.id,
        "camera": source_name,
        "type": event.type,
        "start": iso(event.start),
        "end": iso(event.end) if event.end else None,
        "box": event.box,
        "score": round(event.score, 3),
        "status": event.status,
        "has_snapshot": event.snapshot_key is not None,
        "recording_id": event.recording_id,
        "reviewed_by": event.reviewed_by,
        "reviewed_at": iso(event.reviewed_at) if event.reviewed_at else None,
        "review_comment": event.review_comment,
        "details": event.details,
    }


def subject_for(source_name: str) -> str:
    token = "".join(c if c.isalnum() or c in "-_" else "_" for c in source_name)
    return f"vigie.events.{token}"


class EventService:
    def __init__(self, catalog: Catalog, vault: Vault, audit: AuditLog, bus: EventBus) -> None:
        self.catalog = catalog
        self.vault = vault
        self.audit = audit
        self.bus = bus
        self.refused_without_basis = 0

    # -- legal basis ----------------------------------------------------------------------------
    def record_legal_basis(
        self,
        source: Source,
        event_type: str,
        *,
        text_reference: str,
        authorisation: str,
        valid_until: datetime,
        actor: Actor,
        valid_from: datetime | None = None,
    ) -> LegalBasis:
        if event_type not in LEGAL_EVENT_TYPES:
            raise EventError(
                f"{event_type!r} cannot be enabled: only {', '.join(sorted(LEGAL_EVENT_TYPES))} are lawful event types"
            )
        if not text_reference.strip() or not authorisation.strip():
            raise EventError("a legal basis needs the text reference and the authorisation")
        start = valid_from or utcnow()
        if valid_until <= start:
            raise EventError("the legal basis must end after it starts")
        with self.catalog.session() as session:
            basis = LegalBasis(
                source_id=source.id,
                event_type=event_type,
                text_reference=text_reference.strip(),
                authorisation=authorisation.strip(),
                valid_from=start,
                valid_until=valid_until,
                created_by=actor.name,
            )
            session.add(basis)
            session.flush()
            self.audit.append(
                actor,
                AuditRecord(
                    action="analytics.legal-basis",
                    object_type="camera",
                    object_ids=[source.name, str(basis.id)],
                    reason=text_reference,
                    details={"event_type": event_type, "authorisation": authorisation, "until": iso(valid_until)},
                ),
                session=session,
            )
            return basis

    def revoke_legal_basis(self, basis_id: int, *, actor: Actor, reason: str) -> LegalBasis:
        with self.catalog.session() as session:
            basis = session.get(LegalBasis, basis_id)
            if basis is None:
                raise EventError(f"unknown legal basis {basis_id}")
            basis.revoked_at, basis.revoked_by = utcnow(), actor.name
            self.audit.append(
                actor,
                AuditRecord(
                    action="analytics.legal-basis-revoke",
                    object_type="legal-basis",
                    object_ids=[str(basis_id)],
                    reason=reason,
                ),
                session=session,
            )
            return basis

    def legal_bases(self, source: Source | None = None) -> list[LegalBasis]:
        with self.catalog.session() as session:
            query = select(LegalBasis).order_by(LegalBasis.id)
            if source is not None:
                query = query.where(LegalBasis.source_id == source.id)
            return list(session.execute(query).scalars())

    def basis_in_force(self, source: Source, event_type: str, at: datetime | None = None) -> LegalBasis | None:
        moment = at or utcnow()
        for basis in self.legal_bases(source):
            if (
                basis.event_type == event_type
                and basis.revoked_at is None
                and basis.valid_from <= moment < basis.valid_until
            ):
                return basis
        return None

    def enabled_types(self, source: Source, at: datetime | None = None) -> set[str]:
        """The legal event types this camera may raise now (empty: person analytics stay off).

        Health signals (camera tamper, motion) look at the camera, not at people: always allowed.
        """
        return {t for t in LEGAL_EVENT_TYPES if self.basis_in_force(source, t, at)}

    # -- raising and reviewing ------------------------------------------------------------------
    def raise_event(self, source: Source, draft: EventDraft, *, snapshot_jpeg: bytes | None = None) -> Event | None:
        """Store and publish an event, or drop it (counted) when no legal basis covers it."""
        if draft.type not in LEGAL_EVENT_TYPES | HEALTH_SIGNAL_TYPES:
            raise EventError(f"{draft.type!r} is not an event type Vigie may signal")
        basis = None
        if draft.type in LEGAL_EVENT_TYPES:
            basis = self.basis_in_force(source, draft.type, draft.start)
            if basis is None:
                self.refused_without_basis += 1
                return None
        event = Event(
            id=new_uid(),  # now, not at flush: the snapshot's vault key below is named after it
            source_id=source.id,
            type=draft.type,
            start=draft.start,
            end=draft.end,
            box=list(draft.box) if draft.box else None,
            score=float(draft.score),
            recording_id=draft.recording_id,
            legal_basis_id=basis.id if basis else None,
            details=draft.details,
        )
        if snapshot_jpeg is not None:
            event.snapshot_key = self.vault.put_derived(f"snapshots/{source.uid}/{event.id}.jpg", snapshot_jpeg)
        with self.catalog.session() as session:
            session.add(event)
        self.bus.publish(subject_for(source.name), event_payload(event, source.name))
        return event

    def review(self, event_id: str, *, decision: str, comment: str, actor: Actor) -> Event:
        if decision not in REVIEW_DECISIONS:
            raise EventError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}")
        if not comment.strip():
            raise EventError("a review needs a comment")
        with self.catalog.session() as session:
            event = session.get(Event, event_id)
            if event is None:
                raise EventError(f"unknown event {event_id}")
            if event.status != "pending":
                raise EventError(f"event {event_id} was already {event.status} by {event.reviewed_by}")
            source = session.get(Source, event.source_id)
            assert source is not None
            event.status, event.reviewed_by, event.reviewed_at = decision, actor.name, utcnow()
            event.review_comment = comment.strip()
            self.audit.append(
                actor,
                AuditRecord(
                    action=f"event.{decision[:-2] if decision.endswith('ed') else decision}",
                    object_type="event",
                    object_ids=[event.id, source.name],
                    reason=comment.strip(),
                    details={"type": event.type},
                ),
                session=session,
            )
            payload = event_payload(event, source.name)
        self.bus.publish(subject_for(source.name) + ".review", payload)
        return event

    def events(self, *, status: str | None = None, source_ids: set[int] | None = None, limit: int = 200) -> list[Event]:
        with self.catalog.session() as session:
            query = select(Event).order_by(Event.created_at.desc()).limit(limit)
            if status:
                query = query.where(Event.status == status)
            if source_ids is not None:
                query = query.where(Event.source_id.in_(source_ids))
            return list(session.execute(query).scalars())

    def snapshot(self, event: Event) -> bytes | None:
        return self.vault.get_derived(event.snapshot_key) if event.snapshot_key else None
