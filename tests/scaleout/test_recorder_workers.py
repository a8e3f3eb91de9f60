"""Two recorder worker processes share 20 simulated cameras through NATS KV leases, on PostgreSQL + S3
(moto, a test stand-in): ``kill -9`` one, the other takes every camera within 10 s, the interruption
is a recorded gap, the vault verifies. Health events cross processes through NATS.

The leases run on their production defaults (``recorder.nats_lease_*``: 3 s lease, 1 s renewal,
0.5 s poll), so the takeover time printed here is the one a deployment gets, plus the camera's
first keyframe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cameras.helpers import (
    ACTOR,
    covered_without_holes,
    gaps_of,
    installation,
    recordings_of,
    segments_of,
    wait_until,
)
from scaleout.helpers import NATS_URL, VIGIE, reachable, s3_settings, worker_env
from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.models import Source
from vigie.config import Settings, VaultSettings
from vigie.events.bus import NatsBus
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
from vigie.sim.rtsp import CameraSimulator

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

CAMERAS = 20
TAKEOVER_SECONDS = 10.0
# Quick reconnection and health for a test of a few seconds; the leases keep their defaults.
RECORDER_ENV = {
    "VIGIE_RECORDER__RECONNECT_INITIAL_SECONDS": "0.2",
    "VIGIE_RECORDER__RECONNECT_MAX_SECONDS": "1",
    "VIGIE_RECORDER__HEALTH_SECONDS": "0.5",
    "VIGIE_RECORDER__STALL_TIMEOUT_SECONDS": "3",
    "VIGIE_RECORDER__CONNECT_TIMEOUT_SECONDS": "5",
    "VIGIE_RECORDER__REGISTRY_POLL_SECONDS": "2",
}


def _holders(settings: Settings) -> dict[str, tuple[str | None, str]]:
    engine = create_engine(settings.catalog_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Source.name, CameraHealth.recorder_id, CameraHealth.state).join(
                    CameraHealth, CameraHealth.camera_id == Source.id
                )
            ).all()
    finally:
        engine.dispose()
    return {name: (holder, state) for name, holder, state in rows}


def test_kill_one_recorder_worker_the_other_takes_every_camera(
    scaleout_url: str, s3_endpoint: str, tmp_path: Path
) -> None:
    s3 = s3_settings(s3_endpoint)
    settings = Settings(
        home=tmp_path / "home",
        database_url=scaleout_url,
        vault=VaultSettings(store="s3", s3=s3, fsync=False),
        operator="tester",
    )
    site = installation(settings)
    env = worker_env(scaleout_url, s3, **RECORDER_ENV)
    names = {"a": f"rec-a-{uuid.uuid4().hex[:6]}", "b": f"rec-b-{uuid.uuid4().hex[:6]}"}
    bus = NatsBus(NATS_URL)
    health = bus.subscribe("vigie.health.>")
    workers: dict[str, subprocess.Popen[str]] = {}
    with CameraSimulator(count=CAMERAS, port=0, seconds=5, main_size=(320, 180), sub_size=None) as simulator:
        registry = CameraRegistry(site.vault, site.audit)
        for name in simulator.names:
            registry.add(CameraSpec(name, simulator.url(name)), ACTOR)
        try:
            for key, name in names.items():
                workers[key] = subprocess.Popen(
                    [*VIGIE, "--home", str(settings.home), "worker", "--role", "recorder", "--id", name],
                    env=env,
                    text=True,
                    stdout=(tmp_path / f"{key}.log").open("w"),
                    stderr=subprocess.STDOUT,
                )

            def all_online() -> bool:
                holders = _holders(settings)
                return len(holders) == CAMERAS and all(
                    holder in names.values() and state == "online" for holder, state in holders.values()
                )

            wait_until(all_online, 40, "every camera online on some worker")
            wait_until(
                lambda: all(segments_of(site.catalog, name) for name in simulator.names), 20, "a segment per camera"
            )
            before = _holders(settings)
            per_worker = {name: sorted(c for c, (h, _) in before.items() if h == name) for name in names.values()}
            print(f"\ncameras per worker before the kill: { {k: len(v) for k, v in per_worker.items()} }")
            assert all(per_worker.values()), f"one worker holds nothing: {per_worker}"

            # Health changes published by the worker processes reached this process through NATS.
            seen: dict[str, set[str]] = {}
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and set(seen) != set(names.values()):
                message = health.get(timeout=0.5)
                if message and message[1].get("worker") in names.values() and message[1].get("up"):
                    seen.setdefault(message[1]["worker"], set()).add(message[1]["camera"])
            assert set(seen) == set(names.values()), f"health events from {sorted(seen)} only"

            victim = workers["a"]
            moved = per_worker[names["a"]]
            victim.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            victim.wait(timeout=10)

            def taken_over() -> bool:
                holders = _holders(settings)
                return all(holder == names["b"] and state == "online" for holder, state in holders.values())

            wait_until(taken_over, 20, "every camera online on the surviving worker", step=0.1)
            takeover = time.monotonic() - killed
            print(f"takeover of {len(moved)} camera(s): {takeover:.1f} s after kill -9")
            assert takeover <= TAKEOVER_SECONDS
            wait_until(
                lambda: all(
                    len(recordings_of(site.catalog, name)) >= 2 and recordings_of(site.catalog, name)[-1].segment_count
                    for name in moved
                ),
                20,
                "a new segment on every camera taken over",
            )
            survivor = workers["b"]
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(timeout=60)
            assert survivor.returncode == 0, (tmp_path / "b.log").read_text()[-3000:]
        finally:
            for process in workers.values():
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
            for key in workers:
                print(f"--- worker {key} log (tail)\n" + (tmp_path / f"{key}.log").read_text()[-2500:])
            health.close()
            bus.close()

    frame = timedelta(seconds=0.1)
    for name in moved:
        interrupted, resumed = recordings_of(site.catalog, name)[:2]
        assert interrupted.status == "interrupted"
        gaps = gaps_of(site.catalog, name)
        down = gaps[0]
        assert down.cause == "recorder-down", [gap.cause for gap in gaps]
        # The gap is exactly the footage nobody stored: from the dead worker's last chained segment (the
        # one it had open died with it) to the survivor's first.
        segments = segments_of(site.catalog, name)
        stored_before = max(segment.end for segment in segments if segment.recording_id == interrupted.id)
        stored_after = min(segment.start for segment in segments if segment.recording_id == resumed.id)
        assert down.end is not None
        assert abs(down.start - stored_before) <= frame and abs(down.end - stored_after) <= frame, (down, name)
        assert (down.end - down.start).total_seconds() < takeover + 2 * settings.vault.segment_seconds
        covered_without_holes(segments, gaps, segments[0].start, segments[-1].end)
    verified = subprocess.run(
        [*VIGIE, "--home", str(settings.home), "verify"], capture_output=True, text=True, timeout=120, env=env
    )
    assert verified.returncode == 0 and verified.stdout.startswith("intact"), verified.stdout + verified.stderr
    site.close()


def test_an_event_published_in_one_process_reaches_another_through_nats() -> None:
    if not reachable(NATS_URL, 4222):
        pytest.skip(f"NATS unreachable at {NATS_URL}")
    subject = f"vigie.events.probe-{uuid.uuid4().hex[:8]}"
    bus = NatsBus(NATS_URL)
    subscription = bus.subscribe(subject)
    try:
        code = (
            "import sys; from vigie.events.bus import NatsBus; b = NatsBus(sys.argv[1]); "
            "b.publish(sys.argv[2], {'kind': 'intrusion', 'pid': __import__('os').getpid()}); b.close()"
        )
        publisher = subprocess.run(
            [sys.executable, "-c", code, NATS_URL, subject], capture_output=True, text=True, timeout=30
        )
        assert publisher.returncode == 0, publisher.stderr
        message = subscription.get(timeout=10)
        assert message is not None and message[0] == subject
        assert message[1]["kind"] == "intrusion" and message[1]["pid"] != os.getpid()
    finally:
        subscription.close()
        bus.close()
