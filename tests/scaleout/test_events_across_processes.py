"""An alert raised by an analytics worker process reaches an operator's browser on an API node in another process.

Three processes, as deployed (deploy/nodes.yaml), on PostgreSQL + S3 (moto, a test stand-in) and
NATS JetStream: ``vigie worker --role api`` serves the web application; Debian's chromium logs an
operator into it and opens the alert queue (Server-Sent Events); then ``vigie worker --role
analytics`` analyses a simulated RTSP camera (people walking into a forbidden zone) and raises the
alert through its event service, which publishes on NATS. The alert must appear in the page, pushed live (not
loaded from the list), with its snapshot read back from S3 by the API node. This test process
publishes nothing: its own services use the in-process bus. Screenshot:
artifacts/screenshots/alert-across-processes.png.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from access.helpers import FAST_ACCESS, Person, enrol
from browser_support import SCREENSHOTS, chromium_page, free_port
from scaleout.helpers import VIGIE, s3_settings, worker_env
from vigie.access.audit import Actor
from vigie.access.policy import Role
from vigie.config import Settings, VaultSettings
from vigie.ingest.cameras.registry import CameraSpec
from vigie.web.services import Services

pytestmark = [pytest.mark.scaleout, pytest.mark.slow, pytest.mark.browser]

ADMIN = Actor(name="admin1", role="admin", client="pytest")
CAMERA = "parvis-gare-nord"
# The lower part of the square, where the simulated walkers cross: forbidden for the test's sake.
FORBIDDEN = {"name": "voies", "kind": "forbidden", "polygon": [[0, 150], [640, 150], [640, 360], [0, 360]]}
FAST_ARGON2 = {
    "VIGIE_ACCESS__ARGON2_TIME_COST": str(FAST_ACCESS.argon2_time_cost),
    "VIGIE_ACCESS__ARGON2_MEMORY_KIB": str(FAST_ACCESS.argon2_memory_kib),
    "VIGIE_ACCESS__ARGON2_PARALLELISM": str(FAST_ACCESS.argon2_parallelism),
}
QUICK_ANALYTICS = {
    "VIGIE_EVENTS__ANALYTICS__RELOAD_SECONDS": "0.5",
    "VIGIE_EVENTS__ANALYTICS__RECONNECT_INITIAL_SECONDS": "0.2",
    "VIGIE_EVENTS__ANALYTICS__RECONNECT_MAX_SECONDS": "1",
}


@pytest.fixture
def simulator() -> Iterator[Any]:
    from vigie.sim.rtsp import CameraSimulator, SimulatorError

    try:
        camera = CameraSimulator(
            count=1, port=0, scene="walkers", seconds=20, fps=10, main_size=(640, 360), sub_size=(320, 180)
        ).start()
    except SimulatorError as error:
        pytest.skip(f"RTSP simulator unavailable: {error}")
    try:
        yield camera
    finally:
        camera.stop()


def start(role: str, home: Path, env: dict[str, str], log: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*VIGIE, "--home", str(home), "worker", "--role", role, "--id", f"{role}-1", *options],
        env=env,
        text=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for_health(base: str, process: subprocess.Popen[str], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the API node exited: {log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the API node did not answer within {timeout:g} s: {log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def log_in(page: Any, base: str, person: Person, target: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}{target}")
    page.fill("#username", person.username)
    page.fill("#password", person.password)
    page.fill("#totp", person.code())
    page.click("#login-submit")
    expect(page).to_have_url(f"{base}{target}")


def test_an_alert_from_an_analytics_worker_reaches_a_browser_on_an_api_node(
    scaleout_url: str, s3_endpoint: str, simulator: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    s3 = s3_settings(s3_endpoint)
    home = tmp_path / "home"
    # This process only sets the installation up; its bus is in-process, so nothing it does reaches NATS.
    settings = Settings(
        home=home,
        database_url=scaleout_url,
        vault=VaultSettings(store="s3", s3=s3, fsync=False),
        access=FAST_ACCESS,
        operator="tester",
    )
    assert settings.events.bus == "inprocess"
    services = Services.build(settings)
    operator = enrol(services.users, "oper1", Role.OPERATOR, "ville-a", "OP-001")
    services.cameras.add(
        CameraSpec(CAMERA, simulator.url("cam0"), sub_url=simulator.url("cam0", sub=True), unit="ville-a"), ADMIN
    )
    source = services.vault.source(CAMERA)
    services.zones.save(source, {"zones": [FORBIDDEN]}, width=640, height=360, actor=ADMIN)
    now = datetime.now(UTC)
    services.events.record_legal_basis(
        source,
        "zone_intrusion",
        text_reference="TEST — base légale fictive (images de synthèse)",
        authorisation="arrêté de test 2026-000",
        valid_from=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=1),
        actor=ADMIN,
    )

    env = worker_env(scaleout_url, s3, **FAST_ARGON2, **QUICK_ANALYTICS)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = {"api": tmp_path / "api.log", "analytics": tmp_path / "analytics.log"}
    processes: dict[str, subprocess.Popen[str]] = {}
    try:
        processes["api"] = start("api", home, env, logs["api"], "--host", "127.0.0.1", "--port", str(port))
        wait_for_health(base, processes["api"], logs["api"])
        with chromium_page(height=1000) as page:
            console_errors: list[str] = []
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            log_in(page, base, operator, "/alerts")
            # The stream is open (its "ready" event turns the badge on) and the queue is empty.
            expect(page.locator("#alerts-live")).to_contain_text("En direct")
            expect(page.locator("#alerts-count")).to_have_text("0")
            page.fill("#alerts-reason-input", "veille du poste de commandement, service de nuit")
            page.click("#alerts-start")
            expect(page.locator("#alerts-reason-text")).to_have_text("veille du poste de commandement, service de nuit")

            # Only now the analytics worker starts, in its own process: whatever it raises must be pushed.
            processes["analytics"] = start("analytics", home, env, logs["analytics"], "--camera", CAMERA)
            card = page.locator('#alert-queue article.alert-card[data-type="zone_intrusion"]').first
            expect(card).to_be_visible(timeout=60_000)
            # "fresh": the card came over the event stream, not from the list loaded with the page.
            expect(card).to_have_class(re.compile(r"\bfresh\b"))
            expect(card).to_contain_text("Présence en zone interdite")
            expect(card).to_contain_text(CAMERA)
            snapshot = card.get_by_test_id("alert-snapshot")  # footage, fetched by the API node from S3
            expect(snapshot).to_be_visible(timeout=20_000)
            assert snapshot.evaluate("img => img.naturalWidth") > 0

            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            shot = SCREENSHOTS / "alert-across-processes.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            shown = card.get_attribute("data-id")
            assert console_errors == []
        stored = {event.id: event for event in services.events.events()}
        assert shown in stored and stored[shown].type == "zone_intrusion" and stored[shown].status == "pending"
        assert stop(processes["analytics"]) == 0, logs["analytics"].read_text()[-3000:]
        # uvicorn shuts down gracefully, then ends by the signal it got (systemd counts that as clean).
        assert stop(processes["api"]) in (0, -signal.SIGTERM), logs["api"].read_text()[-3000:]
        assert "Application shutdown complete" in logs["api"].read_text()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        for role, log in logs.items():
            if log.exists():
                print(f"--- {role} log (tail)\n" + log.read_text()[-2000:])
        services.close()
