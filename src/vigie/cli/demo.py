"""``vigie demo``: a whole small installation on embedded defaults, from synthetic scenes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vigie.access.audit import AuditRecord
from vigie.cli.context import CliState
from vigie.config import RetentionProfile
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.vault.verify import verify_vault


def demo(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(help="Length of each synthetic scene.")] = 12.0,
) -> None:
    """Create a demo installation: synthetic scenes recorded into the vault, then verified."""
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
        typer.echo(f"generated synthetic scenes: {camera_clip.name} ({len(truth.events)} ground-truth events), {bodycam_clip.name}")
        camera = vault.ensure_source("demo-cam-1", kind="camera")
        device = vault.ensure_source("demo-bodycam-1", kind="bodycam", profile=RetentionProfile.BODYCAM_POLICE)
        for source, clip, importer in ((camera, camera_clip, import_camera_file), (device, bodycam_clip, import_bytes_file)):
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
    report = verify_vault(vault)
    problems, entries = audit.verify()
    verdict = "intact" if report.intact and not problems else "PROBLEMS FOUND"
    typer.echo(
        f"verify: {verdict} ({report.segments} segments, {report.bytes_checked} bytes re-hashed, "
        f"{report.checkpoints} signed checkpoints, {entries} audit entries)"
    )
    typer.echo(f"public key for offline verification: {settings.signing_key_file.with_name('signing.pub.pem')}")
    typer.echo("next: vigie --home vigie-demo recordings --json | vigie --home vigie-demo verify")
