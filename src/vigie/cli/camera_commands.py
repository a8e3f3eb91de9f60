"""Fixed-camera commands: the registry (``vigie camera``), ``vigie record``, ``vigie timeline`` and
the RTSP camera simulator (``vigie simulate cameras``)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any

import typer

from vigie.access.audit import AuditRecord
from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.types import iso
from vigie.cli.context import CliState
from vigie.cli.output import fail, parse_time, print_json
from vigie.config import RetentionPeriod
from vigie.ingest.cameras.recorder import Recorder
from vigie.ingest.cameras.registry import CameraRecord, CameraRegistry, CameraSpec
from vigie.ingest.cameras.timeline import camera_timeline

camera_app = typer.Typer(help="Fixed cameras: register, list, disable, remove.", no_args_is_help=True)
simulate_app = typer.Typer(help="Simulators for tests and demonstrations.", no_args_is_help=True)


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


def _registry(state: CliState) -> CameraRegistry:
    return CameraRegistry(state.vault, state.audit)


# -- vigie camera ... -------------------------------------------------------------------------------
@camera_app.command("add")
def camera_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Camera name (letters, digits, '.', '_', '-').")],
    url: Annotated[str, typer.Option("--url", help="RTSP URL of the main (HD) stream, recorded.")],
    sub_url: Annotated[str | None, typer.Option("--sub-url", help="RTSP URL of the low-resolution substream.")] = None,
    lat: Annotated[float | None, typer.Option("--lat", help="Latitude, WGS 84 degrees.")] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="Longitude, WGS 84 degrees.")] = None,
    heading: Annotated[
        float | None, typer.Option("--heading", help="Direction the camera faces, degrees from north.")
    ] = None,
    retention_days: Annotated[
        int | None,
        typer.Option(
            "--retention-days", min=1, help="Days footage is kept, as the prefect's authorisation sets (≤ 1 month)."
        ),
    ] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Unit (commune, service) the camera belongs to.")] = None,
    authorisation: Annotated[
        str | None, typer.Option("--authorisation", help="Reference of the prefect's authorisation (L252-1).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the camera as JSON.")] = False,
) -> None:
    """Register a fixed camera; the recorder picks it up within seconds. Credentials in the URL are sealed."""
    state = _state(ctx)
    spec = CameraSpec(
        name=name,
        main_url=url,
        sub_url=sub_url,
        latitude=lat,
        longitude=lon,
        heading=heading,
        retention=RetentionPeriod(days=retention_days) if retention_days is not None else None,
        unit=unit,
        authorisation=authorisation,
    )
    record = _registry(state).add(spec, state.actor)
    if json_output:
        print_json(record.as_dict())
        return
    typer.echo(
        f"camera {record.name} added: {record.main_url}" + (" (credentials sealed)" if record.has_credentials else "")
    )


def _health_view(row: CameraHealth | None, lease_seconds: float, now: datetime) -> dict[str, Any]:
    if row is None:
        return {"state": "never-recorded"}
    state = row.state
    if row.recorder_id is not None and (
        row.heartbeat_at is None or now - row.heartbeat_at > timedelta(seconds=lease_seconds)
    ):
        state = "unknown"  # the recorder holding it stopped reporting (crashed, or host down)
    return {
        "state": state,
        "cause": row.cause,
        "detail": row.detail,
        "since": row.state_since,
        "fps": row.fps,
        "bitrate": row.bitrate,
        "codec": row.codec,
        "resolution": f"{row.width}x{row.height}" if row.width and row.height else None,
        "last_keyframe_at": row.last_keyframe_at,
        "recorder": row.recorder_id,
        "updated_at": row.updated_at,
    }


@camera_app.command("list")
def camera_list(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print cameras and their health as JSON.")] = False,
    include_removed: Annotated[bool, typer.Option("--all", help="Include removed cameras.")] = False,
) -> None:
    """List cameras with their health: online/offline and why, measured fps and bitrate, last keyframe."""
    state = _state(ctx)
    registry = _registry(state)
    cameras = registry.cameras(include_removed=include_removed)
    health = registry.health()
    now = datetime.now(UTC)
    lease = state.settings.recorder.lease_seconds
    rows = [{**camera.as_dict(), "health": _health_view(health.get(camera.id), lease, now)} for camera in cameras]
    if json_output:
        print_json(rows)
        return
    if not rows:
        typer.echo("no camera registered (vigie camera add NAME --url rtsp://...)")
        return
    for camera, row in zip(cameras, rows, strict=True):
        typer.echo(_list_line(camera, row["health"]))


def _list_line(camera: CameraRecord, health: dict[str, Any]) -> str:
    status = "removed" if camera.removed else ("enabled" if camera.enabled else "disabled")
    state = health["state"]
    if health.get("cause"):
        state += f" ({health['cause']})"
    measures = ""
    if health.get("fps") is not None:
        measures = f"{health['fps']:.1f} fps {health['bitrate'] / 1e6:.2f} Mb/s"
    keyframe = iso(health["last_keyframe_at"]) if health.get("last_keyframe_at") else "-"
    return f"{camera.name}\t{status}\t{state}\t{measures or '-'}\tkeyframe {keyframe}\t{camera.main_url}"


@camera_app.command("disable")
def camera_disable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Camera name.")],
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Stop recording a camera (no gap is counted while it is disabled)."""
    state = _state(ctx)
    _registry(state).set_enabled(name, False, state.actor, reason=reason)
    typer.echo(f"camera {name} disabled")


@camera_app.command("enable")
def camera_enable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Camera name.")],
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Record a disabled camera again."""
    state = _state(ctx)
    _registry(state).set_enabled(name, True, state.actor, reason=reason)
    typer.echo(f"camera {name} enabled")


@camera_app.command("remove")
def camera_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Camera name.")],
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Disable and hide a camera. Its footage is never deleted here: it expires with its retention."""
    state = _state(ctx)
    _registry(state).remove(name, state.actor, reason=reason)
    typer.echo(f"camera {name} removed (its footage stays until its retention ends)")


# -- vigie record -----------------------------------------------------------------------------------
def record(
    ctx: typer.Context,
    cameras: Annotated[
        list[str] | None, typer.Option("--camera", help="Only this camera (repeatable). Default: every enabled camera.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0.1, help="Stop after this long (default: run until stopped).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log only problems, not every camera start.")] = False,
) -> None:
    """Record the cameras' main streams into the vault until Ctrl-C or SIGTERM (recordings are sealed on exit)."""
    state = _state(ctx)
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    vault = state.vault
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # Up/down changes are logged by the recorder itself (one line each, on stderr).
    recorder = Recorder(state.settings, state.catalog, vault, cameras=cameras or None)
    recorder.start()  # unknown --camera names are refused here, before any signal handler changes
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        state.audit.append(
            state.actor,
            AuditRecord(
                action="record.start",
                object_type="camera",
                object_ids=recorder.cameras,
                details={"recorder": recorder.recorder_id},
            ),
        )
        names = ", ".join(recorder.cameras) or "-"
        typer.echo(f"recording {len(recorder.cameras)} camera(s): {names} (Ctrl-C to stop)")
        while not stop.wait(0.5):
            if seconds is not None and time.monotonic() - started >= seconds:
                break
    finally:
        recorder.stop(timeout=state.settings.recorder.stall_timeout_seconds + 10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="record.stop",
            object_type="camera",
            object_ids=recorder.cameras,
            details={"recorder": recorder.recorder_id},
        ),
    )
    typer.echo("recorder stopped; recordings sealed")


# -- vigie timeline -----------------------------------------------------------------------------------
def timeline(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera name.")],
    start: Annotated[str | None, typer.Option("--from", help="From (ISO 8601, e.g. 2026-11-21T10:00:00Z).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="To (ISO 8601).")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help='Print {"segments": [...], "gaps": [...]} (stable contract).')
    ] = False,
) -> None:
    """What was recorded of a camera, and every gap with its cause."""
    state = _state(ctx)
    _registry(state).get(camera, include_removed=True)  # unknown camera: clear error, exit 2
    result = camera_timeline(state.catalog, camera, parse_time(start, "--from"), parse_time(end, "--to"))
    if json_output:
        print_json(result.as_json())
        return
    payload = result.as_json()
    events = [("recorded", item["start"], item["end"], f"{item['segments']} segments") for item in payload["segments"]]
    events += [("GAP", item["start"], item["end"], item["cause"]) for item in payload["gaps"]]
    for kind, begin, finish, what in sorted(events, key=lambda event: event[1]):
        typer.echo(f"{begin}\t{finish}\t{kind}\t{what}")
    typer.echo(f"recorded {result.recorded_seconds():.0f} s, gaps {result.gap_seconds():.0f} s")


# -- vigie simulate cameras -----------------------------------------------------------------------------
@simulate_app.command("cameras")
def simulate_cameras(
    count: Annotated[int, typer.Option("--count", min=1, max=1000, help="Number of cameras (cam0, cam1, ...).")] = 4,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="RTSP port on 127.0.0.1 (0: any free port).")
    ] = 8554,
    scene: Annotated[str, typer.Option("--scene", help="walkers, crowd, abandoned, night or rain.")] = "walkers",
    seconds: Annotated[float, typer.Option("--seconds", min=1, help="Length of the scene loop.")] = 10.0,
    duration: Annotated[
        float | None, typer.Option("--duration", min=1, help="Stop after this long (default: until Ctrl-C).")
    ] = None,
    width: Annotated[int, typer.Option(help="Main stream width.")] = 1280,
    height: Annotated[int, typer.Option(help="Main stream height.")] = 720,
    fps: Annotated[int, typer.Option(min=1, max=60, help="Frames per second.")] = 25,
    substream: Annotated[bool, typer.Option(help="Also serve a 320x180 substream at /camN/sub.")] = True,
) -> None:
    """Serve looping synthetic scenes as RTSP cameras (H.264 encoded once, no per-viewer encoding)."""
    from vigie.sim.rtsp import SCENES, CameraSimulator  # the simulator is for tests and demos only

    if scene not in SCENES:
        fail(f"unknown scene {scene!r}: choose one of {', '.join(SCENES)}")
    simulator = CameraSimulator(
        count=count,
        port=port,
        scene=scene,
        seconds=seconds,
        fps=fps,
        main_size=(width, height),
        sub_size=(320, 180) if substream else None,
    )
    typer.echo(f"encoding the {scene} scene once ({width}x{height}, {seconds:g} s loop; cached after the first run)...")
    simulator.start(timeout=60)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        typer.echo(f"serving {count} camera(s): {simulator.url('cam0')} ... {simulator.url(f'cam{count - 1}')}")
        if substream:
            typer.echo(f"substreams: {simulator.url('cam0', sub=True)} ...")
        stop.wait(duration)
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
