"""The ``vigie`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from vigie.access.audit import AuditRecord
from vigie.catalog.db import CatalogError
from vigie.cli import (
    analytics_commands,
    audit_commands,
    bodycam_commands,
    camera_commands,
    case_commands,
    live_analytics_commands,
    privacy_commands,
    serve,
    user_commands,
    vault_commands,
)
from vigie.cli import demo as demo_module
from vigie.cli import worker as worker_module
from vigie.cli.context import CliState
from vigie.cli.output import console
from vigie.ingest.segmenter import MediaError
from vigie.vault.blobstore import BlobStoreError
from vigie.vault.envelope import EnvelopeError
from vigie.vault.keys import KeyError_
from vigie.vault.store import VaultError

app = typer.Typer(
    name="vigie",
    help="Vigie: open, accountable video protection.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None, typer.Option("--home", help="Installation directory (default $VIGIE_HOME or ./vigie-data).")
    ] = None,
) -> None:
    state = CliState(home=home)
    ctx.obj = state
    ctx.call_on_close(state.close)


app.command("import")(vault_commands.import_video)
app.command("verify")(vault_commands.verify)
app.command("purge")(vault_commands.purge)
app.command("sources")(vault_commands.sources)
app.command("recordings")(vault_commands.recordings)
app.command("extract")(vault_commands.extract)
app.add_typer(vault_commands.hold_app, name="hold")
app.command("demo")(demo_module.demo)
app.add_typer(camera_commands.camera_app, name="camera")
app.command("record")(camera_commands.record)
app.command("timeline")(camera_commands.timeline)
app.add_typer(camera_commands.simulate_app, name="simulate")
app.add_typer(user_commands.user_app, name="user")
app.add_typer(audit_commands.audit_app, name="audit")
app.command("serve")(serve.serve)
app.add_typer(privacy_commands.mask_app, name="mask")
app.add_typer(privacy_commands.redact_app, name="redact")
app.add_typer(case_commands.case_app, name="case")
app.command("export")(case_commands.export)
app.add_typer(bodycam_commands.bodycam_app, name="bodycam")
app.add_typer(bodycam_commands.dock_app, name="dock")
app.command("search")(bodycam_commands.search)
camera_commands.simulate_app.command("bodycams")(bodycam_commands.simulate_bodycams)
app.command("analyse")(analytics_commands.analyse)
app.command("evaluate")(analytics_commands.evaluate)
app.add_typer(live_analytics_commands.analytics_app, name="analytics")
app.command("worker")(worker_module.worker)


@app.command("migrate")
def migrate(ctx: typer.Context) -> None:
    """Bring the catalog schema up to date (done automatically on every command too)."""
    state = ctx.obj
    assert isinstance(state, CliState)
    state.audit.append(state.actor, AuditRecord(action="migrate", object_type="catalog"))
    typer.echo(f"catalog at {state.settings.catalog_url.split('@')[-1]} is up to date")


USER_ERRORS = (
    VaultError,
    MediaError,
    KeyError_,
    BlobStoreError,
    CatalogError,
    EnvelopeError,
    ValidationError,
    ValueError,
)


def main() -> None:
    """Entry point: known failures become one clear line and exit code 2, never a traceback."""
    try:
        app(standalone_mode=True)
    except USER_ERRORS as error:
        message = str(error).splitlines()[0] if not isinstance(error, ValidationError) else _validation_line(error)
        console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)


def _validation_line(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"configuration: {where}: {first['msg']}"
