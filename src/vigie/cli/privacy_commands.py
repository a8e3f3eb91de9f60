"""``vigie mask`` (privacy masks of fixed cameras) and ``vigie redact`` (face-redacted derivatives)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from vigie.access.audit import AuditRecord
from vigie.cli.context import CliState
from vigie.cli.output import console, fail, print_json
from vigie.privacy.detector import DetectorUnavailable
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.masks import MaskError, PrivacyMask, parse_polygon, parse_size
from vigie.privacy.redact import RedactionReport, redact_video
from vigie.privacy.redactions import RedactionError, RedactionService, parameters_from_settings
from vigie.privacy.transcode import TranscodeError
from vigie.vault.store import VaultError

mask_app = typer.Typer(help="Privacy masks of fixed cameras (CSI L251-3): hide dwellings.", no_args_is_help=True)


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


def _masks(state: CliState) -> MaskStore:
    return MaskStore(state.catalog, state.audit)


@mask_app.command("add")
def mask_add(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera (source) name.")],
    name: Annotated[str, typer.Option("--name", help="Name of the mask, e.g. 'windows-12-rue-x'.")],
    polygon: Annotated[str, typer.Option("--polygon", help='Points "x1,y1 x2,y2 x3,y3 ..." (at least 3).')],
    normalised: Annotated[
        bool, typer.Option("--normalised", help="Points are fractions 0..1 of width and height (the default).")
    ] = False,
    pixels: Annotated[
        str | None, typer.Option("--pixels", help="Points are pixels of a frame of this size, e.g. 1920x1080.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (e.g. the authorisation's article).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the mask as JSON.")] = False,
) -> None:
    """Hide a polygon of a camera's image on every way out (live, playback, snapshots, exports, analytics)."""
    if normalised and pixels:
        fail("--normalised and --pixels exclude each other")
    state = _state(ctx)
    try:
        size = parse_size(pixels) if pixels else None
        mask = PrivacyMask(name, parse_polygon(polygon, pixels=size))
        entry = _masks(state).add(camera, mask, state.actor, reason=reason)
    except MaskError as error:
        fail(str(error))
    if json_output:
        print_json(entry.as_dict())
        return
    typer.echo(f"mask {entry.mask.name!r} added to {camera}: {entry.mask.as_text()}")


@mask_app.command("list")
def mask_list(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera (source) name.")],
    include_removed: Annotated[bool, typer.Option("--all", help="Also masks removed earlier (history).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The masks of a camera."""
    try:
        entries = _masks(_state(ctx)).entries(camera, include_removed=include_removed)
    except MaskError as error:
        fail(str(error))
    if json_output:
        print_json([entry.as_dict() for entry in entries])
        return
    if not entries:
        typer.echo(f"{camera} has no privacy mask")
    for entry in entries:
        removed = f"  (removed {entry.removed_at:%Y-%m-%d} by {entry.removed_by})" if entry.removed_at else ""
        typer.echo(f"{entry.mask.name}\t{entry.mask.as_text()}\t{entry.created_by}{removed}")


@mask_app.command("remove")
def mask_remove(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera (source) name.")],
    name: Annotated[str, typer.Argument(help="Mask name.")],
    reason: Annotated[str | None, typer.Option(help="Why the mask goes.")] = None,
) -> None:
    """Stop applying a mask (it stays in the history; footage recorded while it was in force stays hidden)."""
    state = _state(ctx)
    try:
        _masks(state).remove(camera, name, state.actor, reason=reason)
    except MaskError as error:
        fail(str(error))
    typer.echo(f"mask {name!r} removed from {camera}")


# -- redaction --------------------------------------------------------------------------------------


class _DefaultToRun(TyperGroup):
    """``vigie redact TARGET`` runs a redaction; ``vigie redact approve|reject|list ...`` are subcommands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


redact_app = typer.Typer(
    cls=_DefaultToRun,
    help="Face redaction: vigie redact RECORDING_OR_FILE, then approve or reject the derivative.",
    no_args_is_help=True,
)


def _print_report(report: RedactionReport, extra: dict[str, Any], json_output: bool) -> None:
    summary = {**extra, **report.summary()}
    if json_output:
        print_json(summary)
    else:
        for key in ("redaction", "recording", "status", "out"):
            if summary.get(key):
                typer.echo(f"{key:<18}{summary[key]}")
        typer.echo(f"{'faces found':<18}{report.faces_found}")
        typer.echo(f"{'frames':<18}{report.frames} ({report.frames_with_faces} with a hidden face)")
        typer.echo(f"{'sha256':<18}{report.sha256}")
    if report.warning:
        console.print(f"[bold yellow]warning:[/] {report.warning}", highlight=False)


@redact_app.command("run", hidden=True)
def redact_run(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="A recording id (or unique prefix) of the vault, or a video file.")],
    out: Annotated[Path | None, typer.Option("--out", help="Also write the derivative here (MP4).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why this footage is redacted (audited).")] = None,
    procedure: Annotated[str | None, typer.Option(help="Procedure number (audited).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Redact faces (and the camera's masks) into a new video; the original is never modified."""
    state = _state(ctx)
    path = Path(target)
    if out is not None and out.exists():
        fail(f"{out} exists already: refusing to overwrite")
    try:
        if path.is_file():
            _redact_file(state, path, out, json_output)
            return
        service = RedactionService(state.vault, state.audit)
        row, report = service.redact_recording(target, state.actor, reason=reason, procedure=procedure)
        if out is not None:
            out.write_bytes(service.derivative(row))
            state.audit.append(
                state.actor,
                AuditRecord(
                    action="redaction.copy",
                    object_type="redaction",
                    object_ids=[row.id, row.recording_id],
                    reason=reason,
                    procedure=procedure,
                    details={"file": out.name, "status": row.status, "sha256": row.sha256},
                ),
            )
    except (MaskError, RedactionError, TranscodeError, DetectorUnavailable, VaultError) as error:
        fail(str(error))
    _print_report(
        report,
        {"redaction": row.id, "recording": row.recording_id, "parent_sha256": row.parent_sha256,
         "status": row.status, "masks": row.masks, "out": str(out) if out else None},
        json_output,
    )
    if not json_output:
        typer.echo(f"review it, then: vigie redact approve {row.id} --reason '...'", err=True)


def _redact_file(state: CliState, path: Path, out: Path | None, json_output: bool) -> None:
    """A file outside the vault: the derivative is written beside it (or to --out); nothing is stored."""
    settings = state.settings.privacy
    from vigie.privacy.redactions import detector_from_settings  # the model loads only when needed

    target = out or path.with_name(f"{path.stem}.redacted.mp4")
    if target.exists():
        fail(f"{target} exists already: refusing to overwrite")
    _data, report = redact_video(path, detector_from_settings(settings), parameters_from_settings(settings), out=target)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="redaction.file",
            object_type="file",
            object_ids=[path.name],
            details={"out": target.name, "sha256": report.sha256, "faces_found": report.faces_found},
        ),
    )
    _print_report(report, {"input": str(path), "out": str(target)}, json_output)


@redact_app.command("approve")
def redact_approve(
    ctx: typer.Context,
    redaction: Annotated[str, typer.Argument(help="Redaction id (or unique prefix).")],
    reason: Annotated[str, typer.Option("--reason", help="What was checked (audited).")],
) -> None:
    """Release a derivative after watching it: no face or dwelling left visible."""
    state = _state(ctx)
    try:
        row = RedactionService(state.vault, state.audit).approve(redaction, state.actor, reason=reason)
    except RedactionError as error:
        fail(str(error))
    typer.echo(f"redaction {row.id} approved (recording {row.recording_id}, sha256 {row.sha256})")


@redact_app.command("reject")
def redact_reject(
    ctx: typer.Context,
    redaction: Annotated[str, typer.Argument(help="Redaction id (or unique prefix).")],
    reason: Annotated[str, typer.Option("--reason", help="What is wrong (audited).")],
) -> None:
    """Refuse a derivative (something left visible): it can never be exported."""
    state = _state(ctx)
    try:
        row = RedactionService(state.vault, state.audit).reject(redaction, state.actor, reason=reason)
    except RedactionError as error:
        fail(str(error))
    typer.echo(f"redaction {row.id} rejected")


@redact_app.command("list")
def redact_list(
    ctx: typer.Context,
    recording: Annotated[str | None, typer.Option("--recording", help="Only this recording's.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Redactions and their review status."""
    state = _state(ctx)
    rows = RedactionService(state.vault, state.audit).redactions(recording)
    if json_output:
        print_json(
            [
                {"id": r.id, "recording": r.recording_id, "status": r.status, "faces_found": r.faces_found,
                 "frames": r.frames, "sha256": r.sha256, "created_by": r.created_by, "created_at": r.created_at,
                 "reviewed_by": r.reviewed_by, "reviewed_at": r.reviewed_at}
                for r in rows
            ]
        )
        return
    for r in rows:
        typer.echo(f"{r.id}\t{r.recording_id}\t{r.status}\t{r.faces_found} faces\t{r.frames} frames")
