"""``vigie audit``: the access register (R241-5) as a file, its integrity, its signed checkpoints.

The register is kept three years and never purged by Vigie: no command here deletes anything.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vigie.access.audit import AuditQuery, AuditRecord
from vigie.access.register import write_csv, write_json
from vigie.cli.context import CliState
from vigie.cli.output import fail, parse_time

audit_app = typer.Typer(help="The access register: export, verify, checkpoint.", no_args_is_help=True)


class RegisterFormat(StrEnum):
    csv = "csv"
    json = "json"


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


@audit_app.command("export")
def export(
    ctx: typer.Context,
    start: Annotated[str | None, typer.Option("--from", help="Entries at or after (ISO 8601 with zone).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Entries before (ISO 8601 with zone).")] = None,
    register_format: Annotated[RegisterFormat, typer.Option("--format", help="csv or json.")] = RegisterFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this person's entries.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action or family (e.g. footage).")] = None,
    object_id: Annotated[str | None, typer.Option("--object", help="Only entries naming this object.")] = None,
) -> None:
    """Write the register (oldest first), each row with its chain hashes."""
    state = _state(ctx)
    query = AuditQuery(
        start=parse_time(start, "--from"), end=parse_time(end, "--to"), actor=actor, action=action, object_id=object_id
    )
    if out is not None and out.exists():
        fail(f"{out} exists already: refusing to overwrite")
    writer = write_csv if register_format is RegisterFormat.csv else write_json
    entries = state.audit.iter_matching(query)
    if out is None:
        count = writer(entries, sys.stdout)
        sys.stdout.flush()
    else:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            count = writer(entries, handle)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="audit.export",
            object_type="register",
            details={"format": register_format.value, "entries": count, "from": start, "to": end,
                     "file": out.name if out else None},
        ),
    )
    if out is not None:
        typer.echo(f"wrote {count} entries to {out}", err=True)


@audit_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Check the register's hash chain and signed checkpoints. Exit 1 on any problem."""
    problems, count = _state(ctx).audit.verify()
    for problem in problems:
        typer.echo(problem.line())
    if problems:
        raise typer.Exit(1)
    typer.echo(f"intact: {count} audit entries")


@audit_app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the register's current head now (the server also does it periodically)."""
    signed = _state(ctx).audit.checkpoint()
    if signed is None:
        typer.echo("register is empty: nothing to sign")
    else:
        typer.echo(f"signed checkpoint at entry #{signed.last_entry_id} ({signed.last_entry_hash[:16]}…)")
