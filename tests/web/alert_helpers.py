"""Alerts and redactions for the web tests: a legal basis, an event with a snapshot, a redacted derivative."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import numpy as np

from vigie.access.audit import Actor
from vigie.catalog.event_models import Event
from vigie.catalog.privacy_models import Redaction
from vigie.events.service import EventDraft
from vigie.privacy.detector import FaceBox
from vigie.privacy.masks import Image
from vigie.privacy.redactions import RedactionService
from vigie.web.services import Services

BASIS_ACTOR = Actor(name="chef1", role="supervisor", unit="ville-a", client="pytest")


def snapshot_jpeg(width: int = 320, height: int = 180) -> bytes:
    """A street-like picture with a red box drawn, as the live worker makes them."""
    image = np.full((height, width, 3), (90, 110, 120), np.uint8)
    image[height // 2 :, :] = (70, 75, 80)  # the road
    cv2.rectangle(image, (140, 100), (170, 118), (40, 60, 160), -1)  # the bag
    cv2.rectangle(image, (136, 96), (174, 122), (0, 0, 255), 2)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(encoded.tobytes())


def allow(services: Services, camera: str, event_type: str = "abandoned_object") -> int:
    now = datetime.now(UTC)
    basis = services.events.record_legal_basis(
        services.vault.source(camera),
        event_type,
        text_reference="TEST — base légale fictive (images de synthèse)",
        authorisation="arrêté de test 2026-000",
        valid_from=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=1),
        actor=BASIS_ACTOR,
    )
    return basis.id


def raise_alert(services: Services, camera: str, event_type: str = "abandoned_object", score: float = 0.87) -> Event:
    """An alert of ``camera`` with its snapshot, through the gate (a basis is recorded if none is in force)."""
    source = services.vault.source(camera)
    if event_type not in services.events.enabled_types(source):
        allow(services, camera, event_type)
    draft = EventDraft(
        type=event_type,
        start=datetime.now(UTC),
        score=score,
        box=(136, 96, 38, 26),
        details={"frame": [320, 180]},
    )
    event = services.events.raise_event(source, draft, snapshot_jpeg=snapshot_jpeg())
    assert event is not None
    return event


class NoFaces:
    """A detector that finds nothing: the case the review page must flag loudest."""

    name = "no-faces"

    def detect(self, frame: Image) -> list[FaceBox]:
        return []

    def describe(self) -> dict[str, Any]:
        return {"detector": "no-faces", "runtime": "test", "runtime_version": "0"}


def make_redaction(services: Services, recording_id: str, creator: Actor, detector: Any = None) -> Redaction:
    service = RedactionService(services.vault, services.audit, detector=detector or NoFaces())
    row, _report = service.redact_recording(recording_id, creator, reason="demande d'accès d'une personne filmée")
    return row
