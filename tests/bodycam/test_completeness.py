"""Provable completeness: the device's own log against what the vault holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from vigie.catalog.bodycam_models import BodycamAnomaly
from vigie.catalog.models import Gap
from vigie.ingest.bodycam.completeness import missing_items, reconcile
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.registry import DeviceView

from .helpers import T0, TusDock, event_line, sha256, unique


def recorded(sequence: int, minutes: int, digest: str | None = None) -> list[str]:
    start = T0 + timedelta(minutes=minutes)
    stop: dict[str, object] = {"seq": sequence}
    if digest:
        stop["sha256"] = digest
    return [
        event_line(start, "record-start", seq=sequence, trigger="manual"),
        event_line(start + timedelta(seconds=3), "record-stop", **stop),
    ]


def open_items(context: BodycamContext) -> list[tuple[str, int, str]]:
    with context.catalog.session() as session:
        return [(item.device, item.sequence, item.cause) for item in missing_items(session)]


def gaps(context: BodycamContext) -> list[tuple[str, int]]:
    """Open gaps (resolved ones stay in the catalog with their resolution)."""
    with context.catalog.session() as session:
        return sorted(
            (gap.cause, int(gap.details["sequence"]))
            for gap in session.execute(select(Gap)).scalars()
            if "resolved_at" not in gap.details
        )


def test_missing_sequence_and_not_uploaded_become_missing_footage_and_gaps(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    for sequence in (1, 2, 5):
        assert (
            dock.upload_whole(
                device.serial, sequence, unique(clip, f"c{sequence}"), docking, start=T0 + timedelta(minutes=sequence)
            ).status_code
            == 204
        )
    # The log knows 1..5 except 3 (erased on the device) and 4 (recorded, never uploaded).
    lines = [
        event_line(T0, "power-on"),
        *recorded(1, 1),
        *recorded(2, 2),
        *recorded(4, 4),
        *recorded(5, 5),
        event_line(T0 + timedelta(hours=8), "dock"),
    ]
    summary = dock.events(docking, lines).json()
    assert summary["missing_open"] == 2
    assert open_items(context) == [(device.serial, 3, "missing-sequence"), (device.serial, 4, "not-uploaded")]
    assert gaps(context) == [("missing-sequence", 3), ("not-uploaded", 4)]
    # Re-sending the same log changes nothing (events and anomalies are stored once).
    again = dock.events(docking, lines).json()
    assert again["stored"] == 0 and again["duplicates"] == len(lines) and again["opened"] == 0
    with context.catalog.session() as session:
        assert reconcile(session).opened == 0
    assert gaps(context) == [("missing-sequence", 3), ("not-uploaded", 4)]
    # A late upload of 4 resolves its item; 3 stays missing.
    assert (
        dock.upload_whole(device.serial, 4, unique(clip, "c4"), docking, start=T0 + timedelta(minutes=4)).status_code
        == 204
    )
    assert open_items(context) == [(device.serial, 3, "missing-sequence")]
    with context.catalog.session() as session:
        resolved = [item for item in missing_items(session, include_resolved=True) if item.resolved_at]
        gap = session.execute(select(Gap).where(Gap.cause == "not-uploaded")).scalar_one()
        every_gap = session.execute(select(func.count()).select_from(Gap)).scalar_one()
    assert [(item.sequence, item.cause, item.resolution) for item in resolved] == [
        (4, "missing-sequence", "now not-uploaded"),
        (4, "not-uploaded", "footage received or the log no longer says it exists"),
    ]
    assert "resolved_at" in gap.details  # the gap stays, with its resolution beside it
    assert every_gap == 3  # uploads alone showed 3 and 4 missing; the log then told why 4 was


def test_a_file_the_log_hashed_differently_is_a_hash_mismatch(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes
) -> None:
    docking = dock.dock(device.serial)
    uploaded = unique(clip, "swapped")
    assert dock.upload_whole(device.serial, 1, uploaded, docking).status_code == 204
    # The device's log says it recorded other bytes than the file that was handed in.
    summary = dock.events(docking, recorded(1, 0, digest=sha256(b"the real recording"))).json()
    assert summary["missing_open"] == 1
    assert open_items(context) == [(device.serial, 1, "hash-mismatch")]


def test_a_self_contradicting_log_is_recorded_not_fatal(
    dock: TusDock, device: DeviceView, context: BodycamContext
) -> None:
    docking = dock.dock(device.serial)
    lines = [
        event_line(T0, "record-start", seq=10),
        event_line(T0 - timedelta(minutes=1), "record-stop", seq=10),  # stop before start, time backwards
        event_line(T0 + timedelta(minutes=5), "record-start", seq=10),  # same sequence, other time
        "{broken json",
        event_line(T0 + timedelta(minutes=6), "record-stop", seq=10),
    ]
    response = dock.events(docking, lines)
    assert response.status_code == 200
    kinds = {item["kind"] for item in response.json()["anomalies"]}
    assert {"log-stop-before-start", "log-time-backwards", "log-duplicate-sequence", "log-unreadable-line"} <= kinds
    with context.catalog.session() as session:
        stored = session.execute(select(func.count()).select_from(BodycamAnomaly)).scalar_one()
    assert stored >= 4
    assert open_items(context) == [(device.serial, 10, "not-uploaded")]
    # A later docking whose log restarts sequence 10 at yet another time is caught across logs too.
    other = dock.dock(device.serial)
    result = dock.events(other, [event_line(T0 + timedelta(hours=2), "record-start", seq=10)]).json()
    assert {"kind": "log-duplicate-sequence", "sequence": 10} in result["anomalies"]


def test_events_of_an_unknown_docking_are_refused(dock: TusDock, device: DeviceView) -> None:
    response = dock.events("no-such-docking", [event_line(T0, "power-on")])
    assert response.status_code == 404 and response.json()["code"] == "unknown_docking"
