"""``vigie worker --role recorder|analytics|api``: one role of a scale-out installation per process.

Same settings as every other command (PostgreSQL, S3 vault and NATS come from them). Wiring only:

- ``recorder``: the camera :class:`Recorder`, no web. With ``events.bus = "nats"`` cameras are spread
  over recorder workers by NATS KV leases (:mod:`vigie.events.leases`); otherwise the database lease.
  Camera health changes are published on the bus as ``vigie.health.<camera>``.
- ``analytics``: the live analytics worker (as ``vigie analytics run``).
- ``api``: the web application without recording (as ``vigie serve --no-record``).

SIGTERM or Ctrl-C stops cleanly: recordings sealed, leases released.
"""

from __future__ import annotations

import hashlib
import logging
import re
import signal
import threading
from enum import StrEnum
from types import FrameType
from typing import Annotated, Any

import typer

from vigie.cli.context import CliState
from vigie.events.bus import EventBus, open_bus
from vigie.ingest.cameras.health import HealthChange, HealthStore, recorder_identity


class Role(StrEnum):
    RECORDER = "recorder"
    ANALYTICS = "analytics"
    API = "api"


def _stop_on_signals() -> tuple[threading.Event, dict[signal.Signals, Any]]:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    return stop, previous


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def health_subject(camera: str) -> str:
    return "vigie.health." + re.sub(r"[^-_a-zA-Z0-9]", "_", camera)


def _publisher(bus: EventBus, worker_id: str) -> object:
    def publish(change: HealthChange) -> None:
        bus.publish(
            health_subject(change.camera),
            {
                "camera": change.camera,
                "up": change.up,
                "state": change.state.value,
                "cause": change.cause,
                "detail": change.detail,
                "at": change.at.isoformat(),
                "worker": worker_id,
            },
        )

    return publish


def run_recorder(state: CliState, worker_id: str) -> None:
    from vigie.ingest.cameras.recorder import Recorder

    settings = state.settings
    leases = None
    health_store: HealthStore | None = None
    if settings.events.bus == "nats":
        from vigie.events.leases import NatsCameraLeases, NatsLeasedHealthStore

        namespace = hashlib.sha256(settings.catalog_url.encode()).hexdigest()[:12]  # one installation's keys
        leases = NatsCameraLeases(
            settings.events.nats_url,
            worker_id,
            namespace=namespace,
            ttl_seconds=settings.recorder.nats_lease_ttl_seconds,
            renew_seconds=settings.recorder.nats_lease_renew_seconds,
            poll_seconds=settings.recorder.nats_lease_poll_seconds,
        )
        health_store = NatsLeasedHealthStore(state.catalog, worker_id, settings.recorder.lease_seconds, leases)
    bus = open_bus(settings.events)
    recorder = Recorder(settings, state.catalog, state.vault, recorder_id=worker_id, health_store=health_store)
    recorder.add_health_listener(_publisher(bus, worker_id))  # type: ignore[arg-type]
    stop, previous = _stop_on_signals()
    try:
        if leases is not None:
            # Workers started within a lease of each other see each other before taking cameras (balance).
            stop.wait(leases.ttl_seconds)
        recorder.start()
        typer.echo(f"worker {worker_id}: recorder running (lease: {'nats' if leases else 'database'})")
        while not stop.wait(0.5):
            pass
    finally:
        recorder.stop(timeout=settings.recorder.stall_timeout_seconds + 10)
        if leases is not None:
            leases.close()
        bus.close()
        _restore(previous)
    typer.echo(f"worker {worker_id}: recorder stopped; recordings sealed")


def run_analytics(state: CliState, worker_id: str, cameras: list[str] | None) -> None:
    from vigie.events.live_analytics import LiveAnalytics
    from vigie.events.service import EventService

    settings = state.settings
    events = EventService(state.catalog, state.vault, state.audit, open_bus(settings.events))
    stop, previous = _stop_on_signals()
    worker = LiveAnalytics(state.vault, events, settings, cameras=cameras).start()
    typer.echo(f"worker {worker_id}: live analytics running")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        worker.stop()
        events.bus.close()
        _restore(previous)
    typer.echo(f"worker {worker_id}: live analytics stopped")


def worker(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option("--role", help="recorder, analytics or api.")],
    worker_id: Annotated[
        str | None, typer.Option("--id", help="Worker name (default host:pid); unique among live workers.")
    ] = None,
    camera: Annotated[
        list[str] | None, typer.Option("--camera", help="analytics: only these cameras (repeatable).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="api: listen address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="api: port (default from settings).")] = None,
) -> None:
    """Run one role of a scale-out installation (recorder, analytics or api) until SIGTERM."""
    state = ctx.obj
    assert isinstance(state, CliState)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    name = worker_id or recorder_identity()
    if role is Role.RECORDER:
        run_recorder(state, name)
    elif role is Role.ANALYTICS:
        run_analytics(state, name, camera)
    else:
        from vigie.cli.serve import run_server

        settings = state.settings
        chosen_host, chosen_port = host or settings.web.host, port or settings.web.port
        typer.echo(f"worker {name}: api on http://{chosen_host}:{chosen_port}/")
        run_server(settings, state, host=chosen_host, port=chosen_port, record=False)  # uvicorn handles SIGTERM
