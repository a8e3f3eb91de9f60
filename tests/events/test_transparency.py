"""Transparency statistics count what happened, per month, and name nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigie.access.audit import Actor, AuditLog, AuditRecord
from vigie.catalog.bodycam_models import BodycamDevice, BodycamMissing
from vigie.catalog.db import Catalog
from vigie.catalog.models import Gap
from vigie.catalog.statistics import transparency
from vigie.events.bus import InProcessBus
from vigie.events.service import EventDraft, EventService
from vigie.ingest.files import import_camera_file
from vigie.vault import retention
from vigie.vault.store import Vault


def test_monthly_counts(vault: Vault, audit: AuditLog, actor: Actor, catalog: Catalog, scenes: Path) -> None:
    start = datetime(2026, 9, 10, 8, 0, tzinfo=UTC)
    camera = vault.ensure_source("cam-1", kind="camera")
    import_camera_file(vault, scenes / "walkers.mp4", camera, start=start)
    operator = Actor(name="agent.leroux", role="operator")
    audit.append(operator, AuditRecord(action="footage.view", reason="incident"))
    audit.append(operator, AuditRecord(action="footage.export", reason="parquet"))
    audit.append(operator, AuditRecord(action="footage.view", reason="curiosity", outcome="refused"))
    with catalog.session() as session:
        session.add(Gap(source_id=camera.id, start=start, end=start + timedelta(hours=2), cause="camera-unreachable"))
    device = vault.ensure_source("BWC-1", kind="bodycam")
    with catalog.session() as session:
        bodycam = BodycamDevice(source_id=device.id, serial="BWC-1", force="police", created_by="t")
        session.add(bodycam)
        session.flush()
        september = datetime(2026, 9, 11, tzinfo=UTC)
        # One recording missing, first seen as a sequence hole, then reclassified: counted once.
        session.add(
            BodycamMissing(
                device_id=bodycam.id,
                sequence=2,
                cause="missing-sequence",
                detected_at=september,
                resolved_at=september,
                resolution="now not-uploaded",
            )
        )
        session.add(BodycamMissing(device_id=bodycam.id, sequence=2, cause="not-uploaded", detected_at=september))
    service = EventService(catalog, vault, audit, InProcessBus())
    service.record_legal_basis(
        camera,
        "fire",
        text_reference="t",
        authorisation="a",
        actor=actor,
        valid_until=datetime.now(UTC) + timedelta(days=1),
    )
    event = service.raise_event(camera, EventDraft(type="fire", start=datetime.now(UTC), score=0.7))
    assert event is not None
    service.review(event.id, decision="dismissed", comment="street light", actor=operator)
    retention.purge(vault, now=start + timedelta(days=40))

    stats = transparency(catalog)
    by_month = {row["month"]: row for row in stats["months"]}
    september = by_month["2026-09"]
    assert september["recordings"] == {"camera": 1}
    assert abs(september["hours_recorded"]["camera"] - 9 / 3600) < 0.001
    assert september["missing_footage_items"] == 1 and september["camera_gap_hours"] == 2.0
    october = by_month["2026-10"]
    assert october["deletions_by_retention"] >= 2
    now = by_month[f"{datetime.now(UTC):%Y-%m}"]
    assert now["consultations"] == 1 and now["exports"] == 1 and now["refused_requests"] == 1
    assert now["alerts"] == {"dismissed": 1}
    assert "leroux" not in str(stats) and "cam-1" not in str(stats)  # no person, no camera named
