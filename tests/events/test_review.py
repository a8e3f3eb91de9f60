"""The legal-basis gate and human review of events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigie.access.audit import Actor, AuditLog
from vigie.catalog.db import Catalog
from vigie.events.bus import InProcessBus
from vigie.events.service import LEGAL_EVENT_TYPES, EventDraft, EventError, EventService
from vigie.vault.store import Vault
from vigie.vault.verify import verify_vault

NOW = datetime.now(UTC)


@pytest.fixture
def service(catalog: Catalog, vault: Vault, audit: AuditLog) -> EventService:
    return EventService(catalog, vault, audit, InProcessBus())


def test_analytics_stay_off_without_a_legal_basis(service: EventService, vault: Vault, actor: Actor) -> None:
    camera = vault.ensure_source("cam-1", kind="camera")
    assert service.enabled_types(camera) == set()
    draft = EventDraft(type="abandoned_object", start=NOW, score=0.9, box=(10, 20, 30, 40))
    assert service.raise_event(camera, draft) is None
    assert service.refused_without_basis == 1

    service.record_legal_basis(
        camera,
        "abandoned_object",
        text_reference="loi 2023-380 art. 10 (demo)",
        authorisation="arrêté préfectoral 2026-001",
        valid_until=NOW + timedelta(days=30),
        valid_from=NOW - timedelta(minutes=1),
        actor=actor,
    )
    assert service.enabled_types(camera) == {"abandoned_object"}
    assert service.raise_event(camera, draft) is not None
    # another type, or the same type after the basis lapsed, is still refused
    assert service.raise_event(camera, EventDraft(type="fire", start=NOW, score=0.9)) is None
    lapsed = EventDraft(type="abandoned_object", start=NOW + timedelta(days=31), score=0.9)
    assert service.raise_event(camera, lapsed) is None


def test_only_lawful_types_can_be_enabled(service: EventService, vault: Vault, actor: Actor) -> None:
    camera = vault.ensure_source("cam-1", kind="camera")
    for forbidden in ("face_match", "weapon", "loitering", "licence_plate"):
        with pytest.raises(EventError, match="lawful"):
            service.record_legal_basis(
                camera, forbidden, text_reference="x", authorisation="y", valid_until=NOW + timedelta(1), actor=actor
            )
    with pytest.raises(EventError, match="not an event type"):
        service.raise_event(camera, EventDraft(type="face_match", start=NOW, score=1.0))
    assert "weapon" not in LEGAL_EVENT_TYPES  # in the law, not provided (no offline model fit for it)


def test_review_needs_a_comment_happens_once_and_is_audited(
    service: EventService, vault: Vault, audit: AuditLog, actor: Actor
) -> None:
    camera = vault.ensure_source("cam-1", kind="camera")
    service.record_legal_basis(
        camera,
        "fire",
        text_reference="t",
        authorisation="a",
        valid_from=NOW - timedelta(minutes=1),
        valid_until=NOW + timedelta(days=1),
        actor=actor,
    )
    watcher = service.bus.subscribe("vigie.events.>")
    event = service.raise_event(camera, EventDraft(type="fire", start=NOW, score=0.8), snapshot_jpeg=b"\xff\xd8jpeg")
    assert event is not None and event.status == "pending"
    subject, payload = watcher.get(1) or ("", {})
    assert subject == "vigie.events.cam-1" and payload["type"] == "fire" and payload["has_snapshot"]
    assert "jpeg" not in str(payload)  # no image bytes on the bus
    assert service.snapshot(event) == b"\xff\xd8jpeg"

    operator = Actor(name="op.martin", role="operator", unit="CSU")
    with pytest.raises(EventError, match="comment"):
        service.review(event.id, decision="confirmed", comment=" ", actor=operator)
    with pytest.raises(EventError, match="decision"):
        service.review(event.id, decision="ignored", comment="x", actor=operator)
    reviewed = service.review(event.id, decision="dismissed", comment="reflection on a shop window", actor=operator)
    assert (reviewed.status, reviewed.reviewed_by) == ("dismissed", "op.martin")
    with pytest.raises(EventError, match="already dismissed"):
        service.review(event.id, decision="confirmed", comment="changed my mind", actor=operator)

    actions = [(e.actor, e.action, e.reason) for e in audit.entries()]
    assert ("op.martin", "event.dismiss", "reflection on a shop window") in actions
    assert any(a == "analytics.legal-basis" for _, a, _ in actions)
    assert audit.verify()[0] == []
    assert verify_vault(vault).intact  # the sealed snapshot is not mistaken for an inserted segment
