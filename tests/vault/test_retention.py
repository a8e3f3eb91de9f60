"""Retention under legal caps, legal holds, purge with signed tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from vigie.catalog.models import Tombstone
from vigie.config import (
    RetentionPeriod,
    RetentionProfile,
    RetentionSettings,
    Settings,
    expiry_within_cap,
)
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.vault import retention
from vigie.vault.store import Vault, VaultError
from vigie.vault.verify import verify_vault

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_one_month_is_a_calendar_month() -> None:
    month = RetentionPeriod.parse("P1M")
    assert month.add_to(T0) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert month.add_to(datetime(2026, 3, 15, tzinfo=UTC)) == datetime(2026, 4, 15, tzinfo=UTC)
    # 31 days is accepted for a 1-month cap, but never keeps footage past the month
    assert expiry_within_cap(RetentionProfile.CAMERA, RetentionPeriod.parse("P31D"), T0) == month.add_to(T0)


@pytest.mark.parametrize(
    ("profile", "period"),
    [
        ("camera", "P2M"),
        ("camera", "P40D"),
        ("bodycam_police", "P6M"),
        ("bodycam_gendarmerie", "P32D"),
        ("bodycam_firefighters", "P7M"),
    ],
)
def test_configuration_above_the_legal_cap_is_refused(profile: str, period: str) -> None:
    with pytest.raises(ValidationError, match="exceeds the legal maximum"):
        RetentionSettings(periods={profile: period})


def test_caps_allow_the_law() -> None:
    settings = RetentionSettings(periods={"bodycam_firefighters": "P6M", "camera": "P15D"})
    assert settings.periods[RetentionProfile.BODYCAM_FIREFIGHTERS] == RetentionPeriod(months=6)
    assert settings.periods[RetentionProfile.BODYCAM_POLICE] == RetentionPeriod(months=1)


def test_settings_file_above_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vigie.yaml").write_text("retention:\n  periods:\n    camera: P3M\n")
    monkeypatch.setenv("VIGIE_HOME", str(tmp_path))
    with pytest.raises(ValidationError, match="legal maximum"):
        Settings()


def test_source_retention_above_cap_is_refused(vault: Vault) -> None:
    with pytest.raises(VaultError, match="legal maximum"):
        vault.ensure_source("cam-x", kind="camera", retention=RetentionPeriod(days=45))


def test_purge_respects_retention_holds_and_leaves_tombstones(vault: Vault, scenes: Path) -> None:
    camera = vault.ensure_source("cam-1", kind="camera", retention=RetentionPeriod(days=7))
    firefighter = vault.ensure_source("SP-1", kind="bodycam", profile=RetentionProfile.BODYCAM_FIREFIGHTERS)
    police = vault.ensure_source("PN-1", kind="bodycam", profile=RetentionProfile.BODYCAM_POLICE)
    cam_rec = import_camera_file(vault, scenes / "walkers.mp4", camera, start=T0).recording
    import_bytes_file(vault, scenes / "night.mp4", firefighter, start=T0)
    import_bytes_file(vault, scenes / "night.mp4", police, start=T0)
    held_segment = vault.segments(cam_rec)[0]
    retention.add_hold(
        vault,
        case_ref="PV-2026-0042",
        source_name="cam-1",
        start=held_segment.start,
        end=held_segment.end,
        reason="assault on 31 Jan",
        by="tester",
    )

    # After 8 days only the 7-day camera expires; the held segment stays.
    eight_days = retention.purge(vault, now=T0 + timedelta(days=8), dry_run=True)
    assert {item.source for item in eight_days.purged} == {"cam-1"}
    assert eight_days.held == 1
    assert len(list(vault.blobs.iter_keys())) > 0
    before = sorted(vault.blobs.iter_keys())
    assert sorted(vault.blobs.iter_keys()) == before  # dry run deleted nothing

    # After 2 months: police gone (1 month), firefighters kept (6 months).
    result = retention.purge(vault, now=T0 + timedelta(days=62))
    purged_sources = {item.source for item in result.purged}
    assert purged_sources == {"cam-1", "PN-1"}
    assert result.held == 1
    assert verify_vault(vault).intact, verify_vault(vault).problems
    with vault.catalog.session() as session:
        tombstones = list(session.execute(select(Tombstone)).scalars())
    assert len(tombstones) == len(result.purged)
    assert all(t.reason == "retention" and t.signature for t in tombstones)
    remaining = set(vault.blobs.iter_keys())
    assert held_segment.blob_key in remaining

    # Releasing the hold lets the held segment go at the next purge.
    hold = retention.holds(vault)[0]
    retention.release_hold(vault, hold.id, by="tester")
    again = retention.purge(vault, now=T0 + timedelta(days=62))
    assert [item.segment_id for item in again.purged] == [held_segment.id]
    assert verify_vault(vault).intact

    # After 7 months the firefighters' footage goes too.
    assert {i.source for i in retention.purge(vault, now=T0 + timedelta(days=215)).purged} == {"SP-1"}
    assert list(vault.blobs.iter_keys()) == []
    assert verify_vault(vault).intact


def test_forged_tombstone_is_detected(vault: Vault, scenes: Path) -> None:
    camera = vault.ensure_source("cam-1", kind="camera")
    import_camera_file(vault, scenes / "walkers.mp4", camera, start=T0)
    retention.purge(vault, now=T0 + timedelta(days=40))
    with vault.catalog.session() as session:
        session.execute(update(Tombstone).values(reason="operator request"))
    assert {p.kind for p in verify_vault(vault).problems} == {"bad-signature"}


def test_hold_needs_a_reference(vault: Vault) -> None:
    with pytest.raises(VaultError, match="reference"):
        retention.add_hold(
            vault, case_ref=" ", source_name=None, start=T0, end=T0 + timedelta(hours=1), reason="x", by="t"
        )
