"""The timeline contract: runs of segments merged, gaps with causes, ISO times with Z, window filtering."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigie.ingest.cameras import gaps
from vigie.ingest.cameras.failures import GapCause
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec, UnknownCamera
from vigie.ingest.cameras.timeline import camera_timeline

from .helpers import ACTOR, Installation, installation, quick_settings

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Installation]:
    site = installation(quick_settings(tmp_path / "home"))
    CameraRegistry(site.vault, site.audit).add(CameraSpec("cam", "rtsp://h/cam"), ACTOR)
    yield site
    site.close()


def _record(site: Installation, start: datetime, count: int, seconds: float = 4.0) -> str:
    """A recording of ``count`` back-to-back segments (the bytes do not matter to the timeline)."""
    vault = site.vault
    source = vault.source("cam")
    recording = vault.begin_recording(source, start=start)
    for index in range(count):
        begin = start + timedelta(seconds=index * seconds)
        vault.append(
            source,
            recording,
            vault.prepare(b"x" * 64),
            start=begin,
            end=begin + timedelta(seconds=seconds),
            kind="fmp4",
        )
    vault.finish(source, recording)
    return recording.id


def test_runs_are_merged_and_gaps_carry_their_cause(site: Installation) -> None:
    source_id = site.vault.source("cam").id
    first = _record(site, T0, 5)  # 10:00:00 - 10:00:20
    gaps.add_closed_gap(
        site.catalog, source_id, T0 + timedelta(seconds=20), T0 + timedelta(seconds=31), GapCause.STREAM_ENDED
    )
    second = _record(site, T0 + timedelta(seconds=31), 3)  # 10:00:31 - 10:00:43
    gaps.open_gap(site.catalog, source_id, T0 + timedelta(seconds=43), GapCause.CAMERA_UNREACHABLE)

    result = camera_timeline(site.catalog, "cam").as_json()
    assert list(result) == ["segments", "gaps"]
    assert [(run["recording"], run["segments"]) for run in result["segments"]] == [(first, 5), (second, 3)]
    assert result["segments"][0]["start"] == "2026-11-21T10:00:00.000000Z"
    assert result["segments"][0]["end"] == "2026-11-21T10:00:20.000000Z"
    assert [set(gap) for gap in result["gaps"]] == [{"start", "end", "cause"}] * 2
    assert [gap["cause"] for gap in result["gaps"]] == ["stream-ended", "camera-unreachable"]
    assert result["gaps"][0]["end"] == "2026-11-21T10:00:31.000000Z"
    # An open gap lasts until now.
    assert result["gaps"][1]["end"] > "2026-11-21T10:00:43"
    for item in result["segments"] + result["gaps"]:
        assert ISO_Z.match(item["start"]) and ISO_Z.match(item["end"])


def test_window_keeps_what_overlaps_it(site: Installation) -> None:
    source_id = site.vault.source("cam").id
    _record(site, T0, 5)
    gaps.add_closed_gap(
        site.catalog, source_id, T0 + timedelta(seconds=20), T0 + timedelta(seconds=31), GapCause.RECORDER_DOWN
    )
    _record(site, T0 + timedelta(seconds=31), 3)
    only_gap = camera_timeline(site.catalog, "cam", T0 + timedelta(seconds=21), T0 + timedelta(seconds=30))
    assert only_gap.runs == [] and [gap.cause for gap in only_gap.gaps] == ["recorder-down"]
    later = camera_timeline(site.catalog, "cam", T0 + timedelta(seconds=32))
    assert len(later.runs) == 1 and later.gaps == []
    assert later.recorded_seconds() == pytest.approx(12)
    with pytest.raises(ValueError, match="after its start"):
        camera_timeline(site.catalog, "cam", T0, T0)
    with pytest.raises(UnknownCamera):
        camera_timeline(site.catalog, "nope")
