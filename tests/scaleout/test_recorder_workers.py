"""Two recorder worker processes share simulated cameras through NATS KV leases, on PostgreSQL + S3
(moto, a test stand-in): ``kill -9`` one, the other takes every camera within 10 s, the interruption
is a recorded gap, the vault verifies. Health events cross processes through NATS."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import create_engine, select

from cameras.helpers import ACTOR, gaps_of, installation, recordings_of, segments_of, wait_until
from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.models import Source
from vigie.config import S3Settings, Settings, VaultSettings
from vigie.events.bus import NatsBus
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
from vigie.sim.rtsp import CameraSimulator

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

VIGIE = [sys.executable, "-m", "vigie"]
CAMERAS = 8
NATS_URL = os.environ.get("VIGIE_TEST_NATS_URL", "nats://127.0.0.1:4222")
POSTGRES_URL = os.environ.get("VIGIE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def scaleout_url() -> Iterator[str]:
    if not _reachable(NATS_URL, 4222):
        pytest.skip(f"NATS unreachable at {NATS_URL}")
    if not _reachable(POSTGRES_URL, 5432):
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    from conftest import postgres_schema_url

    yield from postgres_schema_url(POSTGRES_URL)


def _env(database_url: str, s3: S3Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    return env | {
        "VIGIE_DATABASE_URL": database_url,
        "VIGIE_VAULT__FSYNC": "false",
        "VIGIE_VAULT__STORE": "s3",
        "VIGIE_VAULT__S3__BUCKET": s3.bucket,
        "VIGIE_VAULT__S3__PREFIX": s3.prefix,
        "VIGIE_VAULT__S3__ENDPOINT_URL": s3.endpoint_url or "",
        "VIGIE_VAULT__S3__ACCESS_KEY": "test",
        "VIGIE_VAULT__S3__SECRET_KEY": "test",
        "VIGIE_VAULT__S3__CREATE_BUCKET": "true",
        "VIGIE_EVENTS__BUS": "nats",
        "VIGIE_EVENTS__NATS_URL": NATS_URL,
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
    s3 = S3Settings(
        bucket="vigie-scaleout",
        prefix=uuid.uuid4().hex,
        endpoint_url=s3_endpoint,
        access_key="test",
        secret_key="test",
        create_bucket=True,
    )
    settings = Settings(
        home=tmp_path / "home",
        database_url=scaleout_url,
        vault=VaultSettings(store="s3", s3=s3, fsync=False),
        operator="tester",
    )
    site = installation(settings)
    env = _env(scaleout_url, s3)
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
            assert takeover <= 10.0
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

    for name in moved:
        interrupted = recordings_of(site.catalog, name)[0]
        assert interrupted.status == "interrupted"
        causes = [gap.cause for gap in gaps_of(site.catalog, name)]
        assert causes[0] == "recorder-down", causes
        down = gaps_of(site.catalog, name)[0]
        assert down.end is not None and (down.end - down.start).total_seconds() < 20
    verified = subprocess.run(
        [*VIGIE, "--home", str(settings.home), "verify"], capture_output=True, text=True, timeout=120, env=env
    )
    assert verified.returncode == 0 and verified.stdout.startswith("intact"), verified.stdout + verified.stderr
    site.close()


def test_an_event_published_in_one_process_reaches_another_through_nats() -> None:
    if not _reachable(NATS_URL, 4222):
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
