"""``vigie demo``: a whole small installation on embedded defaults, from synthetic scenes."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from vigie.access.audit import AuditRecord
from vigie.cli.bodycam_commands import run_demo_docks
from vigie.cli.context import CliState
from vigie.cli.live_analytics_commands import demo_analytics
from vigie.cli.serve import run_server
from vigie.cli.user_commands import create_demo_accounts
from vigie.config import RetentionProfile
from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec, UnknownCamera
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.vault.verify import verify_vault

# The demo's fixed cameras: simulated RTSP cameras around Lyon (name, scene, latitude, longitude, heading).
DEMO_CAMERAS: tuple[tuple[str, str, float, float, float], ...] = (
    ("lyon-terreaux", "walkers", 45.7673, 4.8336, 180.0),
    ("lyon-bellecour", "crowd", 45.7578, 4.8320, 90.0),
    ("lyon-part-dieu", "abandoned", 45.7606, 4.8593, 270.0),
    ("lyon-berges-rhone", "night", 45.7530, 4.8440, 0.0),
)
DEMO_AUTHORISATION = "DEMO-arrêté-69-2026-0001"  # not a real prefect's authorisation
DEMO_UNIT = "lyon"


@contextlib.contextmanager
def demo_cameras(state: CliState, rtsp_port: int) -> Iterator[list[str]]:
    """Four simulated RTSP cameras (one per scene, ports rtsp_port..+3), registered; stopped on exit."""
    from vigie.sim.rtsp import CameraSimulator  # test and demo tooling only

    registry = CameraRegistry(state.vault, state.audit)
    simulators: list[CameraSimulator] = []
    try:
        for index, (name, scene, latitude, longitude, heading) in enumerate(DEMO_CAMERAS):
            typer.echo(f"camera {name}: {scene} scene (encoded once, cached)...")
            simulator = CameraSimulator(count=1, port=rtsp_port + index, scene=scene, seconds=10.0,
                                        main_size=(1280, 720), sub_size=None, seed=index).start(timeout=120)
            simulators.append(simulator)
            url = simulator.url("cam0")
            try:
                known = registry.get(name)
            except UnknownCamera:
                known = None
            if known is None:
                registry.add(
                    CameraSpec(name=name, main_url=url, latitude=latitude, longitude=longitude, heading=heading,
                               unit=DEMO_UNIT, authorisation=DEMO_AUTHORISATION),
                    state.actor,
                )
            elif known.main_url != url:
                typer.echo(f"  warning: {name} is registered with {known.main_url}, not {url}: it will be offline")
            typer.echo(f"  {url} ({latitude:.4f}, {longitude:.4f})")
        yield [name for name, *_ in DEMO_CAMERAS]
    finally:
        for simulator in simulators:
            simulator.stop()


def demo(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(help="Length of each synthetic scene.")] = 24.0,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the demo web server.")] = 8080,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Do not start the web server, the cameras or the recorder at the end.")
    ] = False,
    rtsp_port: Annotated[
        int, typer.Option(min=1, max=65531, help="First RTSP port of the four simulated cameras.")
    ] = 8554,
) -> None:
    """The whole demo on embedded defaults: synthetic scenes, cameras, body-cam docks, analytics, web."""
    from vigie.sim import SceneSpec, generate  # the generator is only needed here

    state = ctx.obj
    assert isinstance(state, CliState)
    if state.home is None:
        state.home = Path("vigie-demo")
    settings = state.settings
    typer.echo(f"demo home: {settings.home.resolve()}")
    vault, audit = state.vault, state.audit
    with tempfile.TemporaryDirectory(prefix="vigie-demo-") as scratch:
        camera_clip = Path(scratch) / "street.mp4"
        bodycam_clip = Path(scratch) / "bodycam.mp4"
        truth = generate(SceneSpec(kind="abandoned", seconds=seconds, seed=1), camera_clip)
        generate(SceneSpec(kind="walkers", seconds=seconds, seed=2, variant="night"), bodycam_clip)
        typer.echo(
            f"generated synthetic scenes: {camera_clip.name} ({len(truth.events)} ground-truth events), "
            f"{bodycam_clip.name}"
        )
        camera = vault.ensure_source("demo-cam-1", kind="camera")
        device = vault.ensure_source("demo-bodycam-1", kind="bodycam", profile=RetentionProfile.BODYCAM_POLICE)
        for source, clip, importer in (
            (camera, camera_clip, import_camera_file),
            (device, bodycam_clip, import_bytes_file),
        ):
            result = importer(vault, clip, source)
            audit.append(
                state.actor,
                AuditRecord(action="collect", object_type="recording", object_ids=[result.recording.id, source.name]),
            )
            typer.echo(
                f"imported {clip.name} as {source.kind} {source.name}: recording {result.recording.id}, "
                f"{result.segments} segments, {result.duration:.1f} s"
                + (f", sha256 {result.sha256}" if result.sha256 else "")
            )
            if source.kind == "camera":  # a DEMO legal basis, then the clip through the live analytics
                alerts = demo_analytics(state, source.name, clip, result.recording.start)
                typer.echo(f"demo analytics on {source.name} (DEMO legal basis, synthetic footage): {alerts} alert(s)")
    docks = run_demo_docks(settings, state, devices=3, days=1)
    typer.echo(
        f"body-cams: {len(docks.report.devices)} devices docked, {docks.report.uploaded} recordings offloaded "
        f"(tus over loopback, {docks.report.bytes / 1e6:.1f} MB); {len(docks.withheld)} withheld by the simulator, "
        f"{len(docks.missing)} reported missing by Vigie ({'all found' if docks.complete_match else 'MISMATCH'})"
    )
    bundle = _demo_export(state, settings.home / "exports" / "demo-case.zip")
    report = verify_vault(vault)
    problems, entries = audit.verify()
    verdict = "intact" if report.intact and not problems else "PROBLEMS FOUND"
    typer.echo(
        f"verify: {verdict} ({report.segments} segments, {report.bytes_checked} bytes re-hashed, "
        f"{report.checkpoints} signed checkpoints, {entries} audit entries)"
    )
    typer.echo(f"public key for offline verification: {settings.signing_key_file.with_name('signing.pub.pem')}")
    typer.echo(f"evidence bundle: {bundle} (check it anywhere: python3 verify.py {bundle.name}, verify.py is inside)")
    typer.echo(f"next: vigie --home {settings.home} recordings --json | vigie --home {settings.home} verify")
    for enrolment in create_demo_accounts(state):
        typer.echo(
            f"demo account {enrolment.user.username} ({enrolment.user.role.value}): password {enrolment.password}, "
            f"TOTP secret {enrolment.totp_secret}"
        )
        typer.echo(f"  {enrolment.totp_uri}")
    if not no_serve:
        with demo_cameras(state, rtsp_port) as names:
            typer.echo(f"recording and relaying live: {', '.join(names)} (live wall: /live, as demo-supervisor)")
            typer.echo(f"web: http://127.0.0.1:{port}/ (Ctrl-C to stop)")
            run_server(settings, state, host="127.0.0.1", port=port, record=True)


def _demo_export(state: CliState, out: Path) -> Path:
    """A case with the demo body-cam recording, exported and checked by the standalone verifier."""
    from vigie.export import verify as verifier
    from vigie.export.bundle import ExportRequest, export_case
    from vigie.export.cases import CaseService

    cases = CaseService(state.vault, state.audit)
    ref = "DEMO-PV-0001"
    if ref not in {case.ref for case in cases.cases()}:
        cases.open(ref, actor=state.actor, title="Démonstration")
        recording = next(r for r in _recordings_of(state, "demo-bodycam-1"))
        cases.add_recording(ref, recording, actor=state.actor, reason="démonstration")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    request = ExportRequest(ref, reason="démonstration", requester="OPJ démo", recipient="Parquet (démo)")
    export_case(state.vault, state.audit, request, out, actor=state.actor)
    report, _manifest = verifier.verify_bundle(str(out))
    typer.echo(f"exported case {ref}: {'VERIFIED' if not report.problems else 'NOT VERIFIED'} by the offline verifier")
    return out


def _recordings_of(state: CliState, source_name: str) -> Iterator[str]:
    from sqlalchemy import select

    from vigie.catalog.models import Recording, Source

    with state.catalog.session() as session:
        yield from session.execute(
            select(Recording.id).join(Source, Recording.source_id == Source.id).where(Source.name == source_name)
        ).scalars()
