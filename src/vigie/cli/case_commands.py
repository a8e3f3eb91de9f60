"""Cases and evidence exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigie.catalog.types import iso
from vigie.cli.context import CliState
from vigie.cli.output import byte_progress, fail, parse_time, print_json
from vigie.export.bundle import ExportRequest, export_case
from vigie.export.cases import CaseService

case_app = typer.Typer(help="Cases: gather evidence under legal hold, then export it.", no_args_is_help=True)


def _services(ctx: typer.Context) -> tuple[CliState, CaseService]:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state, CaseService(state.vault, state.audit)


@case_app.command("open")
def case_open(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Case reference (procedure number).")],
    title: Annotated[str | None, typer.Option(help="Short description.")] = None,
) -> None:
    """Open a case."""
    state, cases = _services(ctx)
    case = cases.open(ref, actor=state.actor, title=title)
    typer.echo(f"case {case.ref} opened")


@case_app.command("add")
def case_add(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    reason: Annotated[str, typer.Option(help="Why this footage is evidence in the case.")],
    recording: Annotated[str | None, typer.Option(help="A recording id (e.g. a body-cam recording).")] = None,
    camera: Annotated[str | None, typer.Option(help="A fixed camera, with --from and --to.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Span start (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Span end (ISO 8601).")] = None,
) -> None:
    """Add evidence to a case; it is put under legal hold at once."""
    state, cases = _services(ctx)
    if (recording is None) == (camera is None):
        fail("give either --recording ID or --camera NAME --from T --to T")
    if recording:
        item = cases.add_recording(ref, recording, actor=state.actor, reason=reason)
    else:
        span_start, span_end = parse_time(start, "--from"), parse_time(end, "--to")
        if span_start is None or span_end is None:
            fail("--camera needs --from and --to")
        assert camera is not None
        item = cases.add_span(ref, camera, span_start, span_end, actor=state.actor, reason=reason)
    typer.echo(f"added to {ref}: {iso(item.span_start)} → {iso(item.span_end)} (legal hold {item.hold_id})")


@case_app.command("show")
def case_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A case and its evidence items."""
    _state, cases = _services(ctx)
    case = cases.get(ref)
    items: list[dict[str, Any]] = [
        {
            "source": view.source.name,
            "kind": view.source.kind,
            "recording": view.recording.id if view.recording else None,
            "from": view.item.span_start,
            "to": view.item.span_end,
            "hold": view.item.hold_id,
        }
        for view in cases.items(ref)
    ]
    payload = {"ref": case.ref, "title": case.title, "status": case.status, "opened_by": case.opened_by, "items": items}
    if json_output:
        print_json(payload)
        return
    typer.echo(f"{case.ref}\t{case.status}\t{case.title or ''}")
    for row in items:
        typer.echo(f"  {row['source']}\t{row['recording'] or '-'}\t{iso(row['from'])}\t{iso(row['to'])}")


@case_app.command("list")
def case_list(ctx: typer.Context, json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every case."""
    _state, cases = _services(ctx)
    rows = [{"ref": c.ref, "status": c.status, "title": c.title, "opened_at": c.opened_at} for c in cases.cases()]
    if json_output:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['ref']}\t{row['status']}\t{row['title'] or ''}")


@case_app.command("close")
def case_close(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    reason: Annotated[str, typer.Option(help="Why the case closes.")],
) -> None:
    """Close a case: its legal holds end."""
    state, cases = _services(ctx)
    cases.close(ref, actor=state.actor, reason=reason)
    typer.echo(f"case {ref} closed")


def export(
    ctx: typer.Context,
    case: Annotated[str, typer.Option("--case", help="Case reference.")],
    reason: Annotated[str, typer.Option(help="Why the footage is communicated (R241-2).")],
    requester: Annotated[str, typer.Option(help="Who asks (officer, service).")],
    recipient: Annotated[str, typer.Option(help="Who receives (prosecutor, court, defence…).")],
    out: Annotated[Path, typer.Option("--out", help="The .zip bundle to write.")],
    procedure: Annotated[str | None, typer.Option(help="Procedure number (default: the case reference).")] = None,
    redact: Annotated[str | None, typer.Option(help="'faces': ship approved face-redacted derivatives.")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write an evidence bundle anyone can verify offline with verify.py (inside the bundle)."""
    state, _cases = _services(ctx)
    if redact not in (None, "faces"):
        fail("--redact takes 'faces'")
    from vigie.export.derivatives import mask_hook, redaction_hook

    request = ExportRequest(case_ref=case, reason=reason, requester=requester, recipient=recipient, procedure=procedure)
    with byte_progress(f"exporting {case}", None) as advance:
        result = export_case(
            state.vault,
            state.audit,
            request,
            out,
            actor=state.actor,
            derivative=mask_hook(state.vault),
            redaction=redaction_hook(state.vault) if redact == "faces" else None,
            progress=advance,
        )
    summary = {
        "path": str(result.path),
        "sha256": result.sha256,
        "bytes": result.size,
        "items": result.items,
        "segments": result.segments,
        "withheld": result.withheld,
        "gaps": result.gaps,
    }
    if json_output:
        print_json(summary)
        return
    typer.echo(f"wrote {result.path} ({result.size} bytes, sha256 {result.sha256})")
    typer.echo(f"{result.items} items, {result.segments} segments, {result.withheld} withheld, {len(result.gaps)} gaps")
    for gap in result.gaps:
        typer.echo(f"gap: {gap['source']} {gap['start']} → {gap['end']} ({gap['cause']})")
    typer.echo(f"check it anywhere: python3 verify.py {result.path.name}  (verify.py is inside the bundle)")
