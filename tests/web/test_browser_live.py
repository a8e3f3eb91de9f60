"""End to end in a real browser: RTSP cameras (the simulator) → the recorder inside the real server
under uvicorn → the live wall in Debian's chromium, the timeline with a playback, the transparency page.

An operator logs in with a TOTP code, gives one reason, and watches two cameras live (Media Source
over WebSocket, then the hls.js fallback). The simulator stamps each frame with its send time, so
the test measures live latency: camera send → browser receipt, and → the frame on screen.
Screenshots: artifacts/screenshots/live-wall.png, timeline.png, transparency.png.

The timeline's earlier hour is test data (real segment blobs with chosen times, and gaps with
their causes), so the screenshot shows what an operator sees on a camera with a history.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from access.helpers import ADMIN_ACTOR, Person, everyone, fast
from browser_support import SCREENSHOTS, chromium_page, served
from cameras.helpers import quick_settings, wait_until
from vigie.access.audit import AuditQuery
from vigie.access.policy import Role
from vigie.catalog.types import utcnow
from vigie.config import Settings
from vigie.ingest.cameras.failures import GapCause
from vigie.ingest.cameras.gaps import add_closed_gap, open_gap
from vigie.ingest.cameras.registry import CameraSpec
from vigie.sim.rtsp import CameraSimulator
from vigie.web.app import create_app
from vigie.web.routes import transparency
from vigie.web.services import Services

from .camera_helpers import record_footage

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REASON = "surveillance du marché de Noël (réquisition 2026-118)"
CAMERAS = ("quai-saone", "place-terreaux")
LATENCY_REPORT = SCREENSHOTS.parent / "live-latency.json"

# Runs in the page before its scripts: notes, for each WebSocket binary message carrying a
# simulator stamp, the camera's send time and the arrival time (same clock: same machine).
STAMP_PROBE = """
(() => {
  const uuid = [0x76,0x69,0x67,0x69,0x65,0x73,0x6e,0x64,0x2d,0x74,0x69,0x6d,0x65,0xab,0x11,0xee];
  window.__live = { arrivals: [], last: {} };
  function stamp(bytes) {
    outer: for (let i = 0; i + 16 < bytes.length; i++) {
      for (let j = 0; j < 16; j++) if (bytes[i + j] !== uuid[j]) continue outer;
      let digits = "";
      for (let k = i + 16; k < bytes.length && k < i + 36 && bytes[k] >= 48 && bytes[k] <= 57; k++) {
        digits += String.fromCharCode(bytes[k]);
      }
      return digits ? Number(digits) / 1e6 : null;
    }
    return null;
  }
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      const camera = decodeURIComponent(new URL(url).pathname.split("/")[3]);
      this.addEventListener("message", (event) => {
        if (typeof event.data === "string") return;
        const sent = stamp(new Uint8Array(event.data));
        if (sent === null) return;
        const now = Date.now() / 1000;
        window.__live.arrivals.push([camera, now - sent]);
        window.__live.last[camera] = sent;
      });
    }
  };
})();
"""


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    with CameraSimulator(
        count=2, port=0, seconds=6, fps=25, main_size=(640, 360), sub_size=None, stamp_frames=True
    ) as simulator:
        yield simulator


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast(quick_settings(tmp_path / "home"))


@pytest.fixture
def services(settings: Settings, simulator: CameraSimulator) -> Iterator[Services]:
    services = Services.build(settings, record=True)
    for index, name in enumerate(CAMERAS):
        services.cameras.add(
            CameraSpec(
                name=name,
                main_url=simulator.url(f"cam{index}"),
                unit="ville-a",
                latitude=45.764 + index / 100,
                longitude=4.835,
                heading=120.0,
                authorisation="arrêté 69-2026-0142",
            ),
            ADMIN_ACTOR,
        )
    history(services, CAMERAS[0])
    yield services
    services.close()


def history(services: Services, camera: str) -> None:
    """The hour before the test on one camera: recorded runs and two gaps with their causes."""
    now = utcnow().replace(microsecond=0)
    source = services.vault.source(camera)
    [clip] = record_footage(services, camera, seconds=2, start=now - timedelta(minutes=59), segment_seconds=10)
    blob = services.vault.read(clip)
    for begin, end in ((58, 44), (33, 12)):
        recording = services.vault.begin_recording(source, start=now - timedelta(minutes=begin))
        for minute in range(begin, end, -1):
            services.vault.append(
                source,
                recording,
                services.vault.prepare(blob),
                start=now - timedelta(minutes=minute),
                end=now - timedelta(minutes=minute - 1),
                kind="fmp4",
            )
        services.vault.finish(source, recording, end=now - timedelta(minutes=end))
    add_closed_gap(
        services.catalog,
        source.id,
        now - timedelta(minutes=44),
        now - timedelta(minutes=33),
        GapCause.CAMERA_UNREACHABLE,
        details={"detail": "connection refused"},
    )
    # Left open, as a stopped recorder leaves it: the recorder of this test closes it with its first segment.
    open_gap(services.catalog, source.id, now - timedelta(minutes=12), GapCause.RECORDER_STOPPED)


@pytest.fixture
def people(services: Services) -> dict[Role, Person]:
    return everyone(services.users)


@pytest.fixture
def server(settings: Settings, services: Services) -> Iterator[str]:
    with served(create_app(settings, services=services)) as url:
        yield url


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with chromium_page(timezone="Europe/Paris", extra_args=("--autoplay-policy=no-user-gesture-required",)) as page:
        yield page


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def wait_js(page: Any, expression: str, timeout: float, what: str) -> None:
    """Poll an expression (wait_for_function would eval it in the page, which its CSP rightly forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        page.wait_for_timeout(200)


def video_times(page: Any) -> list[float]:
    return list(page.evaluate("Array.from(document.querySelectorAll('#wall video')).map(v => v.currentTime)"))


def test_operator_watches_the_live_wall_then_plays_back_from_the_timeline(
    server: str, browser_page: Any, services: Services, simulator: CameraSimulator, people: dict[Role, Person]
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(STAMP_PROBE)
    operator = people[Role.OPERATOR]
    wait_until(
        lambda: all(status.live for status in services.hub.cameras()) and len(services.hub.cameras()) == 2,
        20,
        "both cameras streaming into the relay",
    )

    page.goto(f"{server}/live")
    expect(page).to_have_url(f"{server}/login?next=%2Flive")
    page.fill("#username", operator.username)
    page.fill("#password", operator.password)
    page.fill("#totp", operator.code())
    page.click("#login-submit")
    expect(page).to_have_url(f"{server}/live")
    expect(page.locator("h1")).to_have_text("Mur d'images")
    expect(page.locator("#reason-dialog")).to_be_visible()
    page.fill("#wall-reason", REASON)
    page.click("#wall-start")

    tiles = page.locator("#wall .tile")
    expect(tiles).to_have_count(4)  # 2×2, two cameras assigned
    expect(page.locator('#wall .tile[data-state="live"]')).to_have_count(2, timeout=20_000)
    # The pictures move: each playing video's clock advances.
    wait_js(
        page,
        "Array.from(document.querySelectorAll('#wall video')).filter(v => v.currentTime > 1.5).length === 2",
        20,
        "two playing videos",
    )
    before = video_times(page)
    page.wait_for_timeout(1500)
    after = video_times(page)
    assert after[0] > before[0] + 0.8 and after[1] > before[1] + 0.8, (before, after)
    assert simulator.connections("cam0") == 1 and simulator.connections("cam1") == 1  # the recorder's only

    # Latency over ten seconds: arrival of each stamped frame, and the age of the frame on screen
    # (its arrival delay plus what the player holds before showing it), sampled every 200 ms.
    page.evaluate("window.__live.arrivals = []")
    displayed: list[float] = []
    for _ in range(50):
        page.wait_for_timeout(200)
        samples = page.evaluate("""Array.from(document.querySelectorAll('#wall .tile')).map(tile => {
            const video = tile.querySelector('video');
            const camera = tile.querySelector('select').value;
            const last = window.__live.last[camera];
            if (!camera || !last || !video.buffered.length) return null;
            const held = video.buffered.end(video.buffered.length - 1) - video.currentTime;
            return Date.now() / 1000 - last + held;
        }).filter(x => x !== null)""")
        displayed.extend(samples)
    arrivals = [delay for _, delay in page.evaluate("window.__live.arrivals")]
    assert len(arrivals) > 300, len(arrivals)  # 2 cameras × 25 fps × 10 s, give or take
    report = {
        "frames": len(arrivals),
        "receive_median_s": round(statistics.median(arrivals), 3),
        "receive_p95_s": round(percentile(arrivals, 0.95), 3),
        "display_median_s": round(statistics.median(displayed), 3),
        "display_p95_s": round(percentile(displayed, 0.95), 3),
        "cameras": 2,
        "fps": 25,
        "size": "640x360",
        "transport": "websocket+mse",
    }
    LATENCY_REPORT.parent.mkdir(parents=True, exist_ok=True)
    LATENCY_REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print("live latency:", report)
    assert report["receive_median_s"] < 1.0 and report["display_median_s"] < 2.5, report

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "live-wall.png"))
    assert (SCREENSHOTS / "live-wall.png").stat().st_size > 50_000

    # The hls.js fallback plays the same cameras, from the same single connection.
    page.goto(f"{server}/live?transport=hls")
    page.fill("#wall-reason", REASON)
    page.click("#wall-start")
    wait_js(
        page,
        "Array.from(document.querySelectorAll('#wall video')).filter(v => v.currentTime > 1).length === 2",
        30,
        "two videos playing through hls.js",
    )
    expect(page.locator('#wall .tile[data-state="live"]').first).to_contain_text("HLS")
    assert simulator.connections("cam0") == 1
    page.click("#wall-stop")

    # Every viewing opened with the reason, and (once closed) ended, in the register.
    wait_until(
        lambda: len(services.audit.search(AuditQuery(action="live.view.end"), limit=50)[0]) >= 4,
        30,
        "the ends of the four viewings",
    )
    opened = services.audit.search(AuditQuery(action="live.view", actor=operator.username), limit=50)[0]
    assert {entry.reason for entry in opened} == {REASON}
    transports = {entry.details.get("transport") for entry in opened if entry.action == "live.view.end"}
    assert transports == {"websocket", "hls"}

    # The timeline: recorded runs, gaps in red with their cause on hover; a click plays back.
    page.goto(f"{server}/cameras/{CAMERAS[0]}/timeline")
    expect(page.locator("h1")).to_contain_text(CAMERAS[0])
    gap = page.locator('rect.tl-gap[data-cause="camera-unreachable"]')
    expect(gap).to_have_count(1)
    expect(page.locator("rect.tl-run").first).to_be_visible()
    gap.hover()
    expect(page.locator(".tl-tip")).to_contain_text("caméra injoignable")
    page.screenshot(path=str(SCREENSHOTS / "timeline.png"), full_page=True)

    page.locator("rect.tl-run.playable").nth(1).click()  # the run from -58 to -44 min
    expect(page.locator("#player")).to_be_visible()
    page.fill("#play-form input[name=reason]", "vérification d'un signalement de vol")
    page.click("#play-form button[type=submit]")
    wait_js(page, "document.getElementById('player-video').currentTime > 0.5", 20, "the playback to play")
    views = services.audit.search(AuditQuery(action="footage.view", object_id=CAMERAS[0]), limit=10)[0]
    assert [(entry.outcome, entry.reason) for entry in views] == [("allowed", "vérification d'un signalement de vol")]
    page.click("#player-close")

    # The transparency page, for anyone: log out first.
    transparency.forget()
    page.click("#logout")
    expect(page).to_have_url(f"{server}/login?bye=1")
    page.click("a[href='/transparency']")
    expect(page.locator("h1")).to_have_text("Transparence de la vidéoprotection")
    expect(page.locator('figure[data-metric="consultations"] rect.bar')).not_to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "transparency.png"), full_page=True)
    assert errors == [], errors
