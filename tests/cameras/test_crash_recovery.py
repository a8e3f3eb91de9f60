"""``kill -9`` a recorder in the middle of a segment, restart it: nothing chained is lost, the vault
verifies, and the time the recorder was dead is a gap with the cause "recorder-down"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
from vigie.sim.rtsp import CameraSimulator

from .helpers import (
    ACTOR,
    assert_continuous,
    gaps_of,
    installation,
    quick_settings,
    recordings_of,
    segments_of,
    wait_until,
)

pytestmark = pytest.mark.slow
VIGIE = [sys.executable, "-m", "vigie"]
QUICK = {
    "VIGIE_VAULT__FSYNC": "false",
    "VIGIE_RECORDER__RECONNECT_INITIAL_SECONDS": "0.2",
    "VIGIE_RECORDER__RECONNECT_MAX_SECONDS": "1",
    "VIGIE_RECORDER__HEALTH_SECONDS": "0.5",
}


def vigie(home: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")} | QUICK
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [*VIGIE, "--home", str(home), *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def test_kill_minus_nine_then_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    site = installation(quick_settings(home))
    with CameraSimulator(count=2, port=0, seconds=5, main_size=(640, 360), sub_size=None) as simulator:
        registry = CameraRegistry(site.vault, site.audit)
        for name in simulator.names:
            registry.add(CameraSpec(name, simulator.url(name)), ACTOR)

        first = vigie(home, "record")
        try:
            wait_until(lambda: len(segments_of(site.catalog, "cam1")) >= 2, 30, "two stored segments of cam1")
            # Mid-segment: about half a segment after the last one was stored.
            last = segments_of(site.catalog, "cam1")[-1]
            time.sleep(max(0.0, 2.0 - (datetime.now(UTC) - last.created_at).total_seconds()))
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=10)
        killed = datetime.now(UTC)
        assert first.returncode == -signal.SIGKILL
        before = {name: segments_of(site.catalog, name) for name in simulator.names}
        assert [r.status for r in recordings_of(site.catalog, "cam0")] == ["recording"]  # left open by the crash
        time.sleep(2)  # the recorder stays dead a little while

        second = vigie(home, "record")
        try:
            wait_until(lambda: len(recordings_of(site.catalog, "cam1")) == 2, 20, "recording resumed")
            wait_until(lambda: recordings_of(site.catalog, "cam1")[1].segment_count >= 1, 20, "a new segment")
        finally:
            second.send_signal(signal.SIGTERM)  # a clean stop: recordings sealed, leases released
            _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        restarted = killed + timedelta(seconds=2)

    verified = subprocess.run(
        [*VIGIE, "--home", str(home), "verify"], capture_output=True, text=True, timeout=60, env=os.environ | QUICK
    )
    assert verified.returncode == 0 and verified.stdout.startswith("intact"), verified.stdout + verified.stderr

    for name in simulator.names:
        interrupted, resumed = recordings_of(site.catalog, name)
        assert interrupted.status == "interrupted" and "interrupted" in interrupted.anomalies[0]
        assert resumed.status == "complete"
        # Everything chained before the kill is still there, unchanged.
        after = segments_of(site.catalog, name)
        assert [s.sha256 for s in after[: len(before[name])]] == [s.sha256 for s in before[name]]
        assert interrupted.segment_count == len(before[name]) and interrupted.end == before[name][-1].end
        down = gaps_of(site.catalog, name)[0]
        assert down.cause == "recorder-down" and down.recording_id == interrupted.id
        # The gap runs from the last stored frame to the first frame recorded after the restart: it holds
        # the partial segment lost with the process and the time nobody was recording.
        first_after = next(s for s in after if s.recording_id == resumed.id)
        assert down.start == interrupted.end and down.end == first_after.start
        assert down.start < killed < restarted < down.end
        assert (down.end - down.start).total_seconds() < 15
        assert_continuous(after, timedelta(seconds=0.041))
        assert [g.cause for g in gaps_of(site.catalog, name)] == ["recorder-down", "recorder-stopped"]

    timeline = subprocess.run(
        [*VIGIE, "--home", str(home), "timeline", "cam0", "--json"], capture_output=True, text=True, timeout=60
    )
    payload = json.loads(timeline.stdout)
    assert [gap["cause"] for gap in payload["gaps"]] == ["recorder-down", "recorder-stopped"]
    assert len(payload["segments"]) == 2
    site.close()
