"""Evidence-vault commands: import, verify, purge, holds, listings, extract."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from vigie.access.audit import AuditRecord
from vigie.catalog.models import Recording, Source
from vigie.catalog.types import iso
from vigie.cli.context import CliState
from vigie.cli.output import byte_progress, console, fail, parse_time, print_json
from vigie.config import RetentionProfile
from vigie.export.extract import extract_recording
from vigie.ingest.files import ImportResult, import_bytes_file, import_camera_file
from vigie.vault import retention
from vigie.vault.verify import verify_vault


class SourceKind(StrEnum):
    camera = "camera"
    bodycam = "bodycam"


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


def import_video(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video file to import.")],
    source: Annotated[str, typer.Option("--source", help="Camera or device name (created if new).")],
    kind: Annotated[SourceKind, typer.Option(help="camera: fMP4 segments; bodycam: byte-exact.")] = SourceKind.camera,
    start: Annotated[str | None, typer.Option(help="Wall-clock start (ISO 8601); default: the file's own.")] = None,
    profile: Annotated[RetentionProfile | None, typer.Option(help="Retention profile of a new source.")] = None,
    sha256: Annotated[str | None, typer.Option(help="The device's hash of the file; refused if it differs.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Store a video in the vault: camera footage remuxed into ~4 s fMP4 segments, body-cam files byte-exact."""
    state = _state(ctx)
    if not video.exists():
        fail(f"{video} does not exist")
    started = parse_time(start, "--start")
    vault = state.vault
    src = vault.ensure_source(source, kind=kind.value, profile=profile)
    with byte_progress(f"importing {video.name}", video.stat().st_size) as advance:
        result: ImportResult
        if kind is SourceKind.camera:
            result = import_camera_file(vault, video, src, start=started, progress=advance)
        else:
            result = import_bytes_file(vault, video, src, start=started, expected_sha256=sha256, progress=advance)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="collect",
            object_type="recording",
            object_ids=[result.recording.id, src.name],
            details={"file": video.name, "segments": result.segments, "bytes": result.size, "sha256": result.sha256},
        ),
    )
    summary = {
        "id": result.recording.id,
        "source": src.name,
        "kind": src.kind,
        "segments": result.segments,
        "duration": round(result.duration, 3),
        "bytes": result.size,
        "sha256": result.sha256,
        "status": result.recording.status,
        "anomalies": result.anomalies,
    }
    if json_output:
        print_json(summary)
        return
    typer.echo(f"recording {result.recording.id}")
    typer.echo(f"source    {src.name} ({src.kind})")
    typer.echo(f"segments  {result.segments}")
    typer.echo(f"duration  {result.duration:.2f} s")
    if result.sha256:
        typer.echo(f"sha256    {result.sha256}")
    for anomaly in result.anomalies:
        console.print(f"[yellow]anomaly:[/] {anomaly}", highlight=False)


def verify(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Only this source (the audit log is checked anyway).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Re-hash every blob; check chains, checkpoints, tombstones and the audit log. Exit 1 on any problem."""
    state = _state(ctx)
    vault = state.vault
    with state.catalog.session() as session:
        total = sum(size for size in session.execute(select(Recording.size)).scalars())
    with byte_progress("verifying", total or None) as advance:
        report = verify_vault(vault, source, progress=advance)
    audit_problems, audit_count = state.audit.verify()
    report.problems.extend(audit_problems)
    report.audit_entries = audit_count
    state.audit.append(
        state.actor,
        AuditRecord(
            action="verify",
            object_type="vault",
            object_ids=[source] if source else [],
            outcome="allowed",
            details={"problems": len(report.problems), "segments": report.segments},
        ),
    )
    if json_output:
        print_json(
            {
                "intact": report.intact,
                "segments": report.segments,
                "bytes": report.bytes_checked,
                "checkpoints": report.checkpoints,
                "audit_entries": report.audit_entries,
                "problems": [{"kind": p.kind, "object": p.object, "detail": p.detail} for p in report.problems],
            }
        )
    else:
        for problem in report.problems:
            typer.echo(problem.line())
        if report.intact:
            typer.echo(
                f"intact: {report.segments} segments, {report.bytes_checked} bytes, "
                f"{report.checkpoints} checkpoints, {report.audit_entries} audit entries"
            )
    if not report.intact:
        raise typer.Exit(1)


def purge(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")] = False,
    as_of: Annotated[str | None, typer.Option(help="Evaluate expiry at this time (ISO 8601) instead of now.")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete footage past its retention (never past the legal cap) unless held; leave signed tombstones."""
    state = _state(ctx)
    now = parse_time(as_of, "--as-of") or datetime.now(UTC)
    result = retention.purge(state.vault, now=now, dry_run=dry_run)
    if not dry_run:
        from vigie.ingest.bodycam.retention import purge_tracks_of_purged_footage  # GPS points go with footage

        with state.catalog.session() as session:
            purge_tracks_of_purged_footage(session)
    if not dry_run and result.purged:
        state.audit.append(
            state.actor,
            AuditRecord(
                action="delete",
                object_type="segment",
                object_ids=sorted({item.source for item in result.purged}),
                reason="retention period elapsed",
                details={
                    "segments": len(result.purged),
                    "bytes": sum(item.size for item in result.purged),
                    "held": result.held,
                    "as_of": iso(now),
                },
            ),
        )
    if json_output:
        print_json(
            {
                "dry_run": dry_run,
                "held": result.held,
                "purged": [
                    {
                        "source": i.source,
                        "seq": i.seq,
                        "start": i.start,
                        "end": i.end,
                        "bytes": i.size,
                        "expired_at": i.expired_at,
                    }
                    for i in result.purged
                ],
            }
        )
        return
    verb = "would delete" if dry_run else "deleted"
    for item in result.purged:
        typer.echo(f"{verb}\t{item.source}#{item.seq}\t{iso(item.start)}\t{iso(item.end)}\t{item.size}")
    typer.echo(f"{verb} {len(result.purged)} segments; {result.held} expired segments kept under legal hold")


hold_app = typer.Typer(help="Legal holds: keep footage of a case whatever its retention.", no_args_is_help=True)


@hold_app.command("add")
def hold_add(
    ctx: typer.Context,
    case: Annotated[str, typer.Option(help="Case or procedure reference.")],
    start: Annotated[str, typer.Option("--from", help="Span start (ISO 8601).")],
    end: Annotated[str, typer.Option("--to", help="Span end (ISO 8601).")],
    reason: Annotated[str, typer.Option(help="Why the footage must be kept.")],
    source: Annotated[str | None, typer.Option(help="Only this source (default: every source).")] = None,
) -> None:
    """Put a span of footage under legal hold."""
    state = _state(ctx)
    span_start, span_end = parse_time(start, "--from"), parse_time(end, "--to")
    assert span_start and span_end
    hold = retention.add_hold(
        state.vault,
        case_ref=case,
        source_name=source,
        start=span_start,
        end=span_end,
        reason=reason,
        by=state.actor.name,
    )
    state.audit.append(
        state.actor,
        AuditRecord(
            action="hold",
            object_type="hold",
            object_ids=[str(hold.id), *([source] if source else [])],
            reason=reason,
            procedure=case,
            details={"from": iso(span_start), "to": iso(span_end)},
        ),
    )
    typer.echo(f"hold {hold.id} on {source or 'all sources'} for {case}")


@hold_app.command("list")
def hold_list(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List legal holds, active and released."""
    state = _state(ctx)
    names = {source.id: source.name for source in state.vault.sources()}
    rows: list[dict[str, Any]] = [
        {
            "id": hold.id,
            "case": hold.case_ref,
            "source": names.get(hold.source_id) if hold.source_id else None,
            "from": hold.span_start,
            "to": hold.span_end,
            "reason": hold.reason,
            "created_by": hold.created_by,
            "released_at": hold.released_at,
        }
        for hold in retention.holds(state.vault)
    ]
    if json_output:
        print_json(rows)
        return
    for row in rows:
        status = f"released {iso(row['released_at'])}" if row["released_at"] else "active"
        typer.echo(
            f"{row['id']}\t{row['case']}\t{row['source'] or '*'}\t{iso(row['from'])}\t{iso(row['to'])}\t{status}"
        )


@hold_app.command("release")
def hold_release(
    ctx: typer.Context,
    hold_id: Annotated[int, typer.Argument(help="Hold number.")],
    reason: Annotated[str, typer.Option(help="Why the hold ends (e.g. case closed).")],
) -> None:
    """Release a legal hold: its footage falls back under normal retention."""
    state = _state(ctx)
    hold = retention.release_hold(state.vault, hold_id, by=state.actor.name)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="hold-release", object_type="hold", object_ids=[str(hold.id)], reason=reason, procedure=hold.case_ref
        ),
    )
    typer.echo(f"hold {hold.id} released")


def sources(ctx: typer.Context, json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List cameras and body-cam devices known to the vault."""
    state = _state(ctx)
    rows = []
    for src in state.vault.sources():
        profile, period = retention.retention_of(state.vault, src)
        rows.append(
            {
                "name": src.name,
                "kind": src.kind,
                "unit": src.unit,
                "retention_profile": profile.value,
                "retention": period.iso(),
            }
        )
    if json_output:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['name']}\t{row['kind']}\t{row['retention_profile']}\t{row['retention']}")


def recording_row(recording: Recording, source: Source) -> dict[str, Any]:
    return {
        "id": recording.id,
        "source": source.name,
        "kind": recording.kind,
        "start": recording.start,
        "end": recording.end,
        "segments": recording.segment_count,
        "bytes": recording.size,
        "sha256": recording.sha256,
        "status": recording.status,
        "anomalies": recording.anomalies,
        "media": recording.media_info,
    }


def recordings(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recordings. The JSON form (id, source, kind, start, end, segments, sha256…) is a stable contract."""
    state = _state(ctx)
    with state.catalog.session() as session:
        query = select(Recording, Source).join(Source, Recording.source_id == Source.id).order_by(Recording.start)
        if source:
            state.vault.source(source)  # unknown source: clear error
            query = query.where(Source.name == source)
        rows = [recording_row(recording, src) for recording, src in session.execute(query).all()]
    if json_output:
        print_json(rows)
        return
    for row in rows:
        end = iso(row["end"]) if row["end"] else "-"
        typer.echo(
            f"{row['id']}\t{row['source']}\t{row['kind']}\t{iso(row['start'])}\t{end}\t{row['segments']}\t{row['status']}"
        )


def extract(
    ctx: typer.Context,
    recording_id: Annotated[str, typer.Argument(help="Recording id (or a unique prefix).")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    reason: Annotated[str, typer.Option(help="Why the footage leaves the vault (audited).")],
    procedure: Annotated[str | None, typer.Option(help="Procedure number.")] = None,
) -> None:
    """Write a recording's plaintext: body-cam files byte-exact, camera footage joined into one MP4 (no re-encode)."""
    state = _state(ctx)
    if not reason.strip():
        fail("a reason is required to take footage out of the vault")
    recording = state.vault.recording(recording_id)
    digest = extract_recording(state.vault, recording, out)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="extract",
            object_type="recording",
            object_ids=[recording.id],
            reason=reason,
            procedure=procedure,
            details={"sha256": digest, "file": out.name},
        ),
    )
    typer.echo(f"wrote {out} sha256 {digest}")
