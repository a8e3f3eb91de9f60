"""``vigie analytics``: the legal-basis gate of live analytics, camera zones, and the live worker.

    vigie analytics basis add CAMERA --type fire --text "loi …; décret …" --authorisation "arrêté …" --until 2026-12-31
    vigie analytics basis list [CAMERA]
    vigie analytics basis revoke CAMERA --type fire --reason "fin de l'autorisation"
    vigie analytics zones CAMERA zones.json --size 1920x1080 [--abandoned-after 60]
    vigie analytics run [--camera NAME ...]

Every change is audited. Without a basis in force a camera's stream is never decoded; only the
event types the law lists can be enabled (décret 2023-828 art. 3).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from vigie.analytics.zones import ZoneError
from vigie.catalog.event_models import LegalBasis
from vigie.catalog.types import iso, utcnow
from vigie.cli.context import CliState
from vigie.cli.output import console, fail, print_json
from vigie.events.bus import InProcessBus, open_bus
from vigie.events.live_analytics import LiveAnalytics
from vigie.events.service import LEGAL_EVENT_TYPES, EventError, EventService
from vigie.events.zone_store import ZoneStore
from vigie.privacy.masks import MaskError, parse_size

analytics_app = typer.Typer(
    help="Live analytics: legal bases (analytics stay off without one), zones, and the worker.", no_args_is_help=True
)
basis_app = typer.Typer(
    help="Legal bases: the text that allows one event type on one camera, until a date.", no_args_is_help=True
)
analytics_app.add_typer(basis_app, name="basis")
LAWFUL = ", ".join(sorted(LEGAL_EVENT_TYPES))


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


def _events(state: CliState) -> EventService:
    # Recording a basis publishes nothing: an in-process bus is enough here.
    return EventService(state.catalog, state.vault, state.audit, InProcessBus())


def _instant(text: str, what: str, *, end_of_day: bool) -> datetime:
    """``YYYY-MM-DD`` is a whole day (``--until`` runs to its end, UTC); else an ISO date-time (UTC if naive)."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day + timedelta(days=1) if end_of_day else day, datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{what} {text!r} is not a date (YYYY-MM-DD) or an ISO date-time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state_of(basis: LegalBasis, now: datetime) -> str:
    if basis.revoked_at is not None:
        return "revoked"
    if now < basis.valid_from:
        return "future"
    return "expired" if now >= basis.valid_until else "in force"


def _basis_dict(basis: LegalBasis, camera: str, now: datetime) -> dict[str, object]:
    return {
        "id": basis.id,
        "camera": camera,
        "event_type": basis.event_type,
        "text_reference": basis.text_reference,
        "authorisation": basis.authorisation,
        "valid_from": basis.valid_from,
        "valid_until": basis.valid_until,
        "created_by": basis.created_by,
        "created_at": basis.created_at,
        "revoked_at": basis.revoked_at,
        "revoked_by": basis.revoked_by,
        "state": _state_of(basis, now),
    }


@basis_app.command("add")
def basis_add(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera (source) name.")],
    event_type: Annotated[str, typer.Option("--type", help=f"Event type, one of: {LAWFUL}.")],
    text: Annotated[str, typer.Option("--text", help="The legal text that allows it (law, decree, article).")],
    authorisation: Annotated[str, typer.Option("--authorisation", help="The prefect's authorisation (arrêté).")],
    until: Annotated[str, typer.Option("--until", help="End: YYYY-MM-DD (to the end of that day, UTC) or ISO.")],
    start: Annotated[str | None, typer.Option("--from", help="Start (default: now).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the basis as JSON.")] = False,
) -> None:
    """Record a legal basis: from now on (or --from) the camera may raise this event type, until --until."""
    state = _state(ctx)
    source = state.vault.source(camera)
    if source.kind != "camera":
        fail(f"{camera} is a {source.kind} source: analytics apply to fixed cameras only")
    try:
        basis = _events(state).record_legal_basis(
            source,
            event_type,
            text_reference=text,
            authorisation=authorisation,
            valid_until=_instant(until, "--until", end_of_day=True),
            valid_from=_instant(start, "--from", end_of_day=False) if start else None,
            actor=state.actor,
        )
    except EventError as error:
        fail(str(error))
    if json_output:
        print_json(_basis_dict(basis, camera, utcnow()))
        return
    typer.echo(
        f"legal basis #{basis.id} recorded: {event_type} on {camera} until {iso(basis.valid_until)} "
        f"({authorisation}); written to the register"
    )


@basis_app.command("list")
def basis_list(
    ctx: typer.Context,
    camera: Annotated[str | None, typer.Argument(help="Only this camera.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Legal bases (in force, future, expired, revoked), newest first."""
    state = _state(ctx)
    events = _events(state)
    names = {source.id: source.name for source in state.vault.sources()}
    bases = events.legal_bases(state.vault.source(camera) if camera else None)
    now = utcnow()
    rows = [_basis_dict(basis, names.get(basis.source_id, "?"), now) for basis in reversed(bases)]
    if json_output:
        print_json(rows)
        return
    if not rows:
        typer.echo("no legal basis recorded: analytics are off" + (f" for {camera}" if camera else ""))
        return
    for row in rows:
        typer.echo(
            f"#{row['id']:<4} {row['camera']:<24} {row['event_type']:<17} {row['state']:<9} "
            f"until {iso(row['valid_until'])}  {row['authorisation']}  ({row['text_reference']})"  # type: ignore[arg-type]
        )


@basis_app.command("revoke")
def basis_revoke(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera (source) name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is revoked (written to the register).")],
    event_type: Annotated[str | None, typer.Option("--type", help="Revoke the bases of this event type.")] = None,
    basis_id: Annotated[int | None, typer.Option("--id", help="Revoke this basis only.")] = None,
) -> None:
    """Revoke the camera's bases in force (or future) for one type, or one basis by id. Audited."""
    if (event_type is None) == (basis_id is None):
        fail("give --type or --id (one of them)")
    if len(reason.strip()) < 8:
        fail("the reason must say why in at least 8 characters")
    state = _state(ctx)
    events = _events(state)
    now = utcnow()
    chosen = [
        basis
        for basis in events.legal_bases(state.vault.source(camera))
        if basis.revoked_at is None
        and basis.valid_until > now
        and (basis.id == basis_id if basis_id is not None else basis.event_type == event_type)
    ]
    if not chosen:
        fail(f"no basis in force or to come matches on {camera}")
    for basis in chosen:
        events.revoke_legal_basis(basis.id, actor=state.actor, reason=reason.strip())
        typer.echo(f"legal basis #{basis.id} ({basis.event_type} on {camera}) revoked; written to the register")


@analytics_app.command("zones")
def zones(
    ctx: typer.Context,
    camera: Annotated[str, typer.Argument(help="Camera (source) name.")],
    file: Annotated[Path, typer.Argument(help='Zones JSON: {"zones": [{"name", "kind", "polygon", ...}]}.')],
    size: Annotated[str, typer.Option("--size", help="The picture the points are in, e.g. 1920x1080.")],
    abandoned_after: Annotated[
        float | None, typer.Option("--abandoned-after", help="Seconds unattended before an abandoned-object alert.")
    ] = None,
) -> None:
    """Replace a camera's zones (validated against --size; a point outside the picture is refused). Audited."""
    state = _state(ctx)
    try:
        width, height = parse_size(size)
        document = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            fail('the zones file must hold a JSON object like {"zones": [...]}')
        setup = ZoneStore(state.catalog, state.audit).save(
            state.vault.source(camera),
            document,
            width=width,
            height=height,
            actor=state.actor,
            abandoned_after=abandoned_after,
        )
    except (ZoneError, MaskError, OSError, json.JSONDecodeError) as error:
        fail(str(error))
    typer.echo(f"{len(setup.zones)} zone(s) saved for {camera} ({width}x{height}, version {setup.version})")


@analytics_app.command("run")
def run(
    ctx: typer.Context,
    camera: Annotated[
        list[str] | None, typer.Option("--camera", help="Only these cameras (spread cameras over workers).")
    ] = None,
    status_seconds: Annotated[float, typer.Option("--status-every", min=1.0, help="Print statuses this often.")] = 30,
) -> None:
    """Run the live analytics worker in the foreground (Ctrl-C to stop).

    Events go to the configured bus: with the in-process default only this process sees them live
    (they are stored either way); with NATS the web's alert queue receives them as they happen.
    """
    state = _state(ctx)
    settings = state.settings
    events = EventService(state.catalog, state.vault, state.audit, open_bus(settings.events))
    worker = LiveAnalytics(state.vault, events, settings, cameras=camera).start()
    console.print(f"live analytics running ({settings.events.analytics.fps:g} frames/s per camera); Ctrl-C to stop")
    try:
        while True:
            time.sleep(status_seconds)
            for status in worker.statuses():
                console.print(
                    f"{status.camera}: {status.state.value}"
                    + (f" ({status.detail})" if status.detail else "")
                    + (f", {status.frames} frames, {status.events} events" if status.frames else ""),
                    highlight=False,
                )
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        events.bus.close()


# -- the demo -------------------------------------------------------------------------------------------
DEMO_TEXT = (
    "DÉMONSTRATION — images de synthèse (vigie demo) ; aucune base légale réelle : l'expérimentation de la loi "
    "n° 2023-380 (art. 10) a pris fin le 31 mars 2025"
)
DEMO_AUTHORISATION = "DÉMO — aucune autorisation préfectorale"
DEMO_ABANDONED_AFTER = 4.0  # seconds: the synthetic bag is dropped 5 s into the clip


def demo_analytics(state: CliState, camera: str, clip: Path, recorded_at: datetime) -> int:
    """The demo camera: a DEMO legal basis (labelled as such), then its synthetic clip analysed once.

    The clip goes through the live worker's own per-camera analysis (masks, detectors, gate,
    snapshot), read from the file instead of a substream; alerts land in the web's queue.
    """
    from vigie.analytics.source import VideoSource
    from vigie.events.live_analytics import AnalysisPlan, CameraAnalysis, plan_detectors
    from vigie.ingest.cameras.registry import CameraTarget
    from vigie.privacy.mask_store import MaskStore

    source = state.vault.source(camera)
    events = _events(state)
    events.record_legal_basis(
        source,
        "abandoned_object",
        text_reference=DEMO_TEXT,
        authorisation=DEMO_AUTHORISATION,
        valid_until=utcnow() + timedelta(days=30),
        valid_from=recorded_at - timedelta(minutes=1),
        actor=state.actor,
    )
    setup = ZoneStore(state.catalog, state.audit).save(
        source, {"zones": []}, width=640, height=360, actor=state.actor, abandoned_after=DEMO_ABANDONED_AFTER
    )
    detectors, _skipped = plan_detectors(events.enabled_types(source, recorded_at), setup)
    target = CameraTarget(camera_id=0, source=source, name=camera, main_url=str(clip), sub_url=None)
    masks = MaskStore(state.catalog, state.audit).masks(camera).masks
    live = state.settings.events.analytics
    analysis = CameraAnalysis(
        AnalysisPlan(target, detectors, setup, masks),
        events,
        lambda _target: VideoSource.open(clip, fps=live.fps),
        live,
    )
    analysis.run_once(recorded_at=recorded_at)
    return analysis.status.events
