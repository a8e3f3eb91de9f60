"""``vigie serve``: the web application under uvicorn. Wiring only; the app is ``vigie.web.app``."""

from __future__ import annotations

from typing import Annotated

import typer

from vigie.cli.context import CliState
from vigie.config import Settings


def run_server(settings: Settings, state: CliState | None, *, host: str, port: int, record: bool = True) -> None:
    """Serve until Ctrl-C. ``record``: record every enabled camera in this process, which feeds live view."""
    import uvicorn  # only the server needs it

    from vigie.web.app import create_app
    from vigie.web.services import Services

    services = Services.build(
        settings, catalog=state.catalog if state else None, vault=state.vault if state else None, record=record
    )
    app = create_app(settings, services=services)
    # No access log: request lines may carry reasons for viewing footage (personal data); the
    # register records accesses, metrics count requests by route template. Open live viewings and
    # playbacks get a few seconds on Ctrl-C, then the recorder seals its recordings.
    uvicorn.run(
        app, host=host, port=port, access_log=False, log_level="info", server_header=False,
        timeout_graceful_shutdown=5,
    )


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default from settings: 8080).")] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Record every enabled camera in this process; its one connection per camera also feeds live "
            "view. --no-record when 'vigie record' runs elsewhere (no live view here then).",
        ),
    ] = True,
) -> None:
    """Run the web application (REST API under /api, pages, /metrics) and, by default, the camera recorder."""
    state = ctx.obj
    assert isinstance(state, CliState)
    settings = state.settings
    chosen_host, chosen_port = host or settings.web.host, port or settings.web.port
    typer.echo(f"Vigie on http://{chosen_host}:{chosen_port}/ (Ctrl-C to stop)")
    run_server(settings, state, host=chosen_host, port=chosen_port, record=record)
