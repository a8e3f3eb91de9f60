"""Body-worn camera commands: ``vigie bodycam ...`` (devices, assignments, offload, completeness),
``vigie dock token``, ``vigie simulate bodycams`` and ``vigie search``; and :func:`run_demo_docks`
for ``vigie demo``."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from vigie.access.audit import Actor, AuditRecord
from vigie.catalog.types import iso
from vigie.cli.context import CliState
from vigie.cli.output import byte_progress, console, fail, parse_time, print_json
from vigie.config import Settings
from vigie.ingest.bodycam import completeness, intake, reports
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.eventlog import parse_time as parse_zoned
from vigie.ingest.bodycam.offload import OffloadError, OffloadReport, offload_directory
from vigie.ingest.bodycam.registry import DeviceRegistry, Force, RegistryError
from vigie.ingest.bodycam.search import PlaceTimeQuery, SearchError, search_place_time

bodycam_app = typer.Typer(help="Body-worn cameras: devices, assignments, offloads, completeness.", no_args_is_help=True)
device_app = typer.Typer(help="The device registry.", no_args_is_help=True)
dock_app = typer.Typer(help="Docking stations: their upload credentials.", no_args_is_help=True)
bodycam_app.add_typer(device_app, name="device")


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


def _context(state: CliState) -> BodycamContext:
    return BodycamContext.build(state.settings, state.catalog, state.vault, state.audit)


# -- registering a simulated (or exported) fleet ----------------------------------------------------------


def register_fleet(registry: DeviceRegistry, directory: Path, by: Actor) -> tuple[int, int]:
    """Register the devices of ``devices.json`` and the shifts of ``assignments.json`` (as the simulator writes them).

    Devices already registered are left as they are. Returns (devices added, assignments added).
    """
    devices = json.loads((directory / "devices.json").read_text())
    added = 0
    for device in devices:
        if registry.device(str(device["serial"])) is None:
            registry.add_device(
                str(device["serial"]),
                force=str(device["force"]),
                by=by,
                unit=device.get("unit"),
                model=device.get("model"),
            )
            added += 1
    units = {str(device["serial"]): device.get("unit") for device in devices}
    assignments = 0
    shifts = directory / "assignments.json"
    if shifts.exists():
        known = {
            (serial, matricule, iso(assignment.start))
            for serial in units
            for assignment, matricule in registry.assignments(serial)
        }
        for shift in json.loads(shifts.read_text()):
            start, end = parse_zoned(shift["start"]), parse_zoned(shift["end"])
            if start is None or end is None:
                continue
            if (str(shift["device"]), str(shift["officer"]), iso(start)) in known:
                continue
            registry.assign(
                str(shift["device"]),
                str(shift["officer"]),
                by=by,
                start=start,
                end=end,
                officer_unit=units.get(str(shift["device"])),
            )
            assignments += 1
    return added, assignments


# -- vigie bodycam device ... --------------------------------------------------------------------------------


@device_app.command("add")
def device_add(
    ctx: typer.Context,
    serial: Annotated[str | None, typer.Argument(help="Device serial number.")] = None,
    force: Annotated[
        Force | None, typer.Option("--force", help="Who wears it: decides the retention (R241-4).")
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="Unit the device belongs to (scope of who sees it).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Device model.")] = None,
    from_dir: Annotated[
        Path | None,
        typer.Option("--from", help="A directory with devices.json (and assignments.json), e.g. a simulation."),
    ] = None,
) -> None:
    """Register a device (a vault source of kind bodycam), or a whole fleet with --from."""
    state = _state(ctx)
    registry = _context(state).registry
    try:
        if from_dir is not None:
            devices, shifts = register_fleet(registry, from_dir, state.actor)
            typer.echo(f"registered {devices} device(s) and {shifts} assignment(s) from {from_dir}")
            return
        if serial is None or force is None:
            fail("give a SERIAL and --force (or --from DIR)")
        view = registry.add_device(serial, force=force, by=state.actor, unit=unit, model=model)
    except RegistryError as error:
        fail(str(error))
    typer.echo(f"device {view.serial} ({view.force.value}, {view.retention_profile}) is source {view.source_name}")


@device_app.command("list")
def device_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Devices with their completeness status and last clock check."""
    state = _state(ctx)
    with state.catalog.session() as session:
        statuses = reports.device_statuses(session)
    if as_json:
        print_json([status.as_json() for status in statuses])
        return
    for status in statuses:
        docking = status.last_docking
        clock = f"{docking.clock_offset_seconds:+.2f}s{' FLAGGED' if docking.clock_flagged else ''}" if docking else "-"
        typer.echo(
            f"{status.serial}\t{status.force}\t{status.unit or '-'}\t{status.recordings} recordings\t"
            f"{'complete' if status.complete else f'{status.missing_open} MISSING'}\tclock {clock}"
        )


@bodycam_app.command("assign")
def assign(
    ctx: typer.Context,
    serial: Annotated[str, typer.Argument(help="Device serial.")],
    matricule: Annotated[str, typer.Argument(help="Officer's matricule.")],
    start: Annotated[str | None, typer.Option("--from", help="ISO 8601 start (default: now).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO 8601 end (default: until reassigned).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Officer's name.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Officer's unit.")] = None,
) -> None:
    """Hand a device to an officer (the device's previous assignment ends then)."""
    state = _state(ctx)
    try:
        assignment = _context(state).registry.assign(
            serial,
            matricule,
            by=state.actor,
            start=parse_time(start, "--from"),
            end=parse_time(end, "--to"),
            officer_name=name,
            officer_unit=unit,
        )
    except RegistryError as error:
        fail(str(error))
    typer.echo(
        f"{serial} → {matricule} from {iso(assignment.start)}"
        + (f" to {iso(assignment.end)}" if assignment.end else "")
    )


# -- offload, completeness, anomalies, sweep -----------------------------------------------------------------


@bodycam_app.command("offload")
def offload(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Dock directory: one folder per docked device.")],
    server: Annotated[str, typer.Option("--server", help="Vigie server URL, e.g. http://127.0.0.1:8080.")],
    token: Annotated[
        str, typer.Option("--token", help="The dock's token (vigie dock token).", envvar="VIGIE_DOCK_TOKEN")
    ],
    chunk_mib: Annotated[int, typer.Option("--chunk-mib", min=1, max=512, help="tus PATCH size.")] = 4,
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Delete each recording's files once the server confirms it holds them.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Upload what docked devices hold: clock check, GPS tracks, recordings (tus, resumable), event logs."""
    if not directory.is_dir():
        fail(f"{directory} is not a directory")
    total = sum(path.stat().st_size for path in directory.glob("*/recordings/*.mp4"))
    try:
        with byte_progress("offloading", total) as advance:
            report = offload_directory(
                directory, server, token, chunk_size=chunk_mib << 20, progress=advance, wipe=wipe
            )
    except OffloadError as error:
        fail(str(error))
    _print_offload(report, as_json)


def _print_offload(report: OffloadReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_json())
        return
    for device in report.devices:
        if device.error:
            typer.echo(f"{device.device}\tERROR {device.error}")
            continue
        clock = f"clock {device.clock_offset_seconds:+.2f}s{' FLAGGED' if device.clock_flagged else ''}"
        missing = device.events.get("missing_open", 0)
        typer.echo(
            f"{device.device}\t{device.uploaded} uploaded, {device.already_received} already there, "
            f"{len(device.refused)} refused\t{clock}\tmissing footage: {missing}"
        )
    rate = report.bytes / report.seconds / 1e6 if report.seconds else 0.0
    typer.echo(
        f"{report.uploaded} recording(s), {report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s ({rate:.1f} MB/s)"
    )


@bodycam_app.command("completeness")
def completeness_command(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Option("--device", help="One device's serial.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array of {device, sequence, cause, ...}.")] = False,
    include_resolved: Annotated[bool, typer.Option("--all", help="Also items that were found later.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Reconcile logs and uploads again first.")] = False,
) -> None:
    """Missing footage: what devices' own logs say they recorded that the vault does not hold."""
    state = _state(ctx)
    if device is not None and _context(state).registry.device(device) is None:
        fail(f"unknown device {device!r}")
    with state.catalog.session() as session:
        if refresh or device is not None:
            completeness.reconcile(session, device)
        items = completeness.missing_items(session, serial=device, include_resolved=include_resolved)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="bodycam.completeness",
            object_type="device",
            object_ids=[device] if device else [],
            details={"items": len(items)},
        ),
    )
    if as_json:
        print_json([item.as_json() for item in items])
        return
    for item in items:
        span = f"{iso(item.start) if item.start else '?'} → {iso(item.end) if item.end else '?'}"
        resolved = f"\tresolved {iso(item.resolved_at)}" if item.resolved_at else ""
        typer.echo(f"{item.device}\t#{item.sequence}\t{item.cause}\t{span}\t{item.officer or '-'}{resolved}")
    open_items = sum(1 for item in items if item.resolved_at is None)
    typer.echo(f"{open_items} missing item(s)", err=True)


@bodycam_app.command("anomalies")
def anomalies(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Option("--device")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What devices and docks handed in that contradicts itself: event logs, GPS, clocks, hashes."""
    state = _state(ctx)
    with state.catalog.session() as session:
        rows = reports.anomaly_list(session, device, limit=100_000)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['at']}\t{row['device']}\t{row['kind']}\t{row['sequence'] or '-'}\t{row['detail']}")


@bodycam_app.command("sweep")
def sweep(ctx: typer.Context) -> None:
    """Delete expired partial uploads (with their encrypted bytes) and finish completions a crash interrupted."""
    count = intake.sweep(_context(_state(ctx)))
    typer.echo(f"{count} upload(s) swept")


# -- vigie dock ... ----------------------------------------------------------------------------------------


@dock_app.command("token")
def dock_token(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The dock's name, e.g. commissariat-1-dock-3.")],
) -> None:
    """Issue a dock's upload token. Printed once; only its hash is kept. A previous token of this dock stops working."""
    state = _state(ctx)
    try:
        issued = _context(state).registry.issue_dock_token(name, by=state.actor)
    except RegistryError as error:
        fail(str(error))
    console.print(f"token of dock {issued.name} (shown once, store it in the dock):", highlight=False)
    typer.echo(issued.token)


@dock_app.command("list")
def dock_list(ctx: typer.Context) -> None:
    for dock in _context(_state(ctx)).registry.docks():
        seen = iso(dock.last_seen_at) if dock.last_seen_at else "never"
        typer.echo(f"{dock.name}\t{'REVOKED' if dock.revoked_at else 'active'}\tlast seen {seen}")


@dock_app.command("revoke")
def dock_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    state = _state(ctx)
    try:
        _context(state).registry.revoke_dock(name, by=state.actor)
    except RegistryError as error:
        fail(str(error))
    typer.echo(f"dock {name} revoked")


# -- vigie simulate bodycams ------------------------------------------------------------------------------


def simulate_bodycams(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the docked devices into.")],
    devices: Annotated[int, typer.Option("--devices", min=1, max=20000)] = 5,
    days: Annotated[int, typer.Option("--days", min=1, max=62)] = 1,
    missing_rate: Annotated[float, typer.Option("--missing-rate", min=0.0, max=1.0)] = 0.1,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    centre: Annotated[str, typer.Option("--centre", help="LAT,LON of the simulated city.")] = "45.7600,4.8400",
    register: Annotated[
        bool,
        typer.Option("--register/--no-register", help="Also register the devices and shifts in this installation."),
    ] = True,
) -> None:
    """Write what docked body-cams hold (MP4s, GPX/NMEA tracks, event logs), some recordings withheld (truth.json)."""
    from vigie.sim.bodycam import BodycamSimSpec  # only the simulator needs it
    from vigie.sim.bodycam import simulate_bodycams as simulate

    lat, lon = _lat_lon(centre, "--centre")
    started = time.monotonic()
    result = simulate(
        BodycamSimSpec(
            devices=devices, days=days, missing_rate=missing_rate, seed=seed, centre_lat=lat, centre_lon=lon
        ),
        out,
    )
    typer.echo(
        f"{len(result.recordings)} recordings on {devices} device(s) over {days} day(s) in {out} "
        f"({len(result.withheld)} withheld, listed in {out / 'truth.json'}) in {time.monotonic() - started:.1f} s"
    )
    if register:
        state = _state(ctx)
        added, shifts = register_fleet(_context(state).registry, out, state.actor)
        typer.echo(f"registered {added} device(s) and {shifts} assignment(s) in {state.settings.home}")


def _lat_lon(text: str, what: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = text.split(",")
        return float(lat_text), float(lon_text)
    except ValueError:
        fail(f"{what}: {text!r} is not LAT,LON")


# -- vigie search ------------------------------------------------------------------------------------------


def search(
    ctx: typer.Context,
    near: Annotated[str, typer.Option("--near", help="LAT,LON of the centre (WGS 84).")],
    radius: Annotated[float, typer.Option("--radius", help="Radius in metres.")],
    start: Annotated[str, typer.Option("--from", help="ISO 8601 start of the period.")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 end of the period.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (written to the register).")] = "command-line search",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recordings that were within RADIUS metres of a place during a period, with the spans they were there."""
    state = _state(ctx)
    lat, lon = _lat_lon(near, "--near")
    begin, finish = parse_time(start, "--from"), parse_time(end, "--to")
    assert begin is not None and finish is not None  # both options are required
    query = PlaceTimeQuery(lat, lon, radius, begin, finish)
    settings = state.settings.bodycam
    try:
        query.check(max_radius_m=settings.search_max_radius_m, max_days=settings.search_max_days)
    except SearchError as error:
        fail(str(error))
    with state.catalog.session() as session:
        hits = search_place_time(session, query, join_seconds=settings.span_join_seconds)
    state.audit.append(
        state.actor,
        AuditRecord(
            action="recordings.search",
            object_type="recording",
            object_ids=[hit.recording_id for hit in hits],
            reason=reason,
            details={"category": "consultation", "query": query.as_json(), "results": len(hits)},
        ),
    )
    if as_json:
        print_json({"query": query.as_json(), "results": [hit.as_json() for hit in hits]})
        return
    for hit in hits:
        spans = ", ".join(f"{iso(span.start)}→{iso(span.end)} ({span.closest_m:.0f} m)" for span in hit.spans)
        who = f"{hit.device} #{hit.sequence} {hit.officer}" if hit.kind == "bodycam" else hit.source
        typer.echo(f"{hit.recording_id}\t{hit.kind}\t{who}\t{spans}")
    typer.echo(f"{len(hits)} recording(s)", err=True)


# -- demo docks (for vigie demo) -----------------------------------------------------------------------------


@contextmanager
def loopback_server(app: Any, *, timeout: float = 20.0) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 (any free port) in a thread; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="vigie-loopback-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


@dataclass
class DemoDocks:
    directory: Path
    report: OffloadReport
    withheld: list[dict[str, Any]]
    missing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete_match(self) -> bool:
        """True when completeness found exactly what the simulator withheld."""
        found = sorted((item["device"], item["sequence"]) for item in self.missing)
        return found == sorted((item["device"], item["sequence"]) for item in self.withheld)


def run_demo_docks(
    settings: Settings,
    state: CliState | None = None,
    *,
    devices: int = 3,
    days: int = 1,
    missing_rate: float = 0.15,
    seed: int = 7,
    out: Path | None = None,
) -> DemoDocks:
    """Simulate docked devices, register them, and offload them to this installation through a real
    loopback server (tus over HTTP), then reconcile. ``state`` shares the caller's catalog and vault."""
    from vigie.sim.bodycam import BodycamSimSpec
    from vigie.sim.bodycam import simulate_bodycams as simulate
    from vigie.web.app import create_app
    from vigie.web.services import Services

    own_state = state or CliState(home=settings.home)
    directory = out or Path(tempfile.mkdtemp(prefix="vigie-docks-"))
    result = simulate(BodycamSimSpec(devices=devices, days=days, missing_rate=missing_rate, seed=seed), directory)
    context = BodycamContext.build(settings, own_state.catalog, own_state.vault, own_state.audit)
    register_fleet(context.registry, directory, own_state.actor)
    token = context.registry.issue_dock_token("demo-dock", by=own_state.actor).token
    app = create_app(settings, services=Services.build(settings, catalog=own_state.catalog, vault=own_state.vault))
    with loopback_server(app) as url:
        report = offload_directory(directory, url, token)
    with own_state.catalog.session() as session:
        serials = [device["serial"] for device in result.devices]
        missing = [item.as_json() for item in completeness.missing_items(session) if item.device in serials]
    return DemoDocks(directory, report, result.withheld, missing)
