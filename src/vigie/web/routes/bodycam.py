"""Body-worn cameras over HTTP: the docks' offload API (tus 1.0.0) and the people's device views.

Docks authenticate with their own token (``vigie dock token``) and may do one thing, the
``bodycam.upload`` action: open a docking (clock check), send GPS tracks, recordings (tus) and
event logs. People see devices (``cameras.read``), and supervisors and auditors see missing
footage and anomalies (``bodycam.completeness``). Every route declares its action.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from vigie.access import policy
from vigie.access.audit import AuditRecord
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Person
from vigie.catalog.bodycam_models import BodycamDevice, BodycamRecording, BodycamTrack
from vigie.catalog.models import Source
from vigie.catalog.types import iso
from vigie.ingest.bodycam import completeness, dockings, intake, reports, samples
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.refusals import BodycamRefusal
from vigie.ingest.bodycam.registry import DockPrincipal, Force, RegistryError
from vigie.ingest.bodycam.tus import (
    CHECKSUMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    UploadService,
    UploadStatus,
    encode_metadata,
)
from vigie.web import i18n
from vigie.web.errors import problem
from vigie.web.layout import h, shell
from vigie.web.routes.recordings import RecordingRef, recording_target
from vigie.web.security import Access, Requirement, Target, client_address, require, services_of

router = APIRouter(tags=["bodycam"])
UPLOADS = "/api/bodycam/uploads"
PATCH_BUFFER = 1 << 20  # bytes gathered before one (threaded) spool write

# -- the interface's words (registered into the shell's catalogue: same keys in both languages) ------
MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.map": "Carte",
        "nav.bodycams": "Caméras-piétons",
        "map.title": "Recherche par lieu et période",
        "map.intro": "Cliquez sur la carte pour placer le centre, réglez le rayon et la période. "
        "La recherche est inscrite au registre avec son motif.",
        "map.lat": "Latitude",
        "map.lon": "Longitude",
        "map.radius": "Rayon (m)",
        "map.from": "Du",
        "map.to": "Au",
        "map.reason": "Motif de la recherche",
        "map.purpose": "Finalité (agents : art. L241-1)",
        "map.search": "Rechercher",
        "map.results": "Enregistrements trouvés",
        "map.none": "Aucun enregistrement dans ce cercle pendant cette période.",
        "map.no_base": "Fond de carte désactivé (aucun serveur de tuiles configuré) : quadrillage seul.",
        "map.camera": "Caméra fixe",
        "map.bodycam": "Caméra-piéton",
        "map.closest": "au plus près",
        "map.spans": "Passages dans le cercle",
        "map.show_track": "Voir le trajet",
        "map.officer": "Agent",
        "map.device": "Terminal",
        "map.source": "Source",
        "bodycam.title": "Caméras-piétons",
        "bodycam.intro": "Terminaux enregistrés, état de complétude et dernier contrôle d'horloge au déchargement.",
        "bodycam.serial": "Numéro de série",
        "bodycam.force": "Force",
        "bodycam.unit": "Unité",
        "bodycam.recordings": "Enregistrements",
        "bodycam.status": "Complétude",
        "bodycam.complete": "complet",
        "bodycam.incomplete": "images manquantes",
        "bodycam.missing": "Images manquantes",
        "bodycam.missing_none": "Aucune image manquante : tout ce que le journal de l'appareil annonce est au coffre.",
        "bodycam.sequence": "N° de séquence",
        "bodycam.cause": "Cause",
        "bodycam.cause.not-uploaded": "non déchargé",
        "bodycam.cause.hash-mismatch": "empreinte différente",
        "bodycam.cause.missing-sequence": "numéro de séquence absent",
        "bodycam.start": "Début",
        "bodycam.end": "Fin",
        "bodycam.officer": "Agent",
        "bodycam.detected": "Détecté le",
        "bodycam.anomalies": "Anomalies",
        "bodycam.anomalies_none": "Aucune anomalie.",
        "bodycam.kind": "Nature",
        "bodycam.detail": "Détail",
        "bodycam.last_docking": "Dernier déchargement",
        "bodycam.clock_offset": "Écart d'horloge",
        "bodycam.clock_flagged": "écart au-delà du seuil",
        "bodycam.dockings": "Déchargements",
        "bodycam.restricted": "Le détail des images manquantes est réservé au chef de service et au délégué à la "
        "protection des données.",
        "force.police": "Police nationale",
        "force.gendarmerie": "Gendarmerie",
        "force.municipal": "Police municipale",
        "force.firefighters": "Sapeurs-pompiers",
        "force.prison": "Administration pénitentiaire",
        "error.unknown_device": "Terminal inconnu.",
        "error.bad_search": "Recherche invalide.",
    },
    "en": {
        "nav.map": "Map",
        "nav.bodycams": "Body-worn cameras",
        "map.title": "Search by place and period",
        "map.intro": "Click the map to set the centre, then choose the radius and the period. "
        "The search is written to the register with its reason.",
        "map.lat": "Latitude",
        "map.lon": "Longitude",
        "map.radius": "Radius (m)",
        "map.from": "From",
        "map.to": "To",
        "map.reason": "Reason for the search",
        "map.purpose": "Purpose (officers: art. L241-1)",
        "map.search": "Search",
        "map.results": "Recordings found",
        "map.none": "No recording within this circle during this period.",
        "map.no_base": "No base map (no tile server configured): grid only.",
        "map.camera": "Fixed camera",
        "map.bodycam": "Body-worn camera",
        "map.closest": "closest",
        "map.spans": "Time within the circle",
        "map.show_track": "Show track",
        "map.officer": "Officer",
        "map.device": "Device",
        "map.source": "Source",
        "bodycam.title": "Body-worn cameras",
        "bodycam.intro": "Registered devices, completeness status and the last clock check at docking.",
        "bodycam.serial": "Serial number",
        "bodycam.force": "Force",
        "bodycam.unit": "Unit",
        "bodycam.recordings": "Recordings",
        "bodycam.status": "Completeness",
        "bodycam.complete": "complete",
        "bodycam.incomplete": "missing footage",
        "bodycam.missing": "Missing footage",
        "bodycam.missing_none": "No missing footage: everything the device's log announces is in the vault.",
        "bodycam.sequence": "Sequence no.",
        "bodycam.cause": "Cause",
        "bodycam.cause.not-uploaded": "not uploaded",
        "bodycam.cause.hash-mismatch": "hash mismatch",
        "bodycam.cause.missing-sequence": "missing sequence number",
        "bodycam.start": "Start",
        "bodycam.end": "End",
        "bodycam.officer": "Officer",
        "bodycam.detected": "Detected",
        "bodycam.anomalies": "Anomalies",
        "bodycam.anomalies_none": "No anomaly.",
        "bodycam.kind": "Kind",
        "bodycam.detail": "Detail",
        "bodycam.last_docking": "Last docking",
        "bodycam.clock_offset": "Clock offset",
        "bodycam.clock_flagged": "offset above the threshold",
        "bodycam.dockings": "Dockings",
        "bodycam.restricted": "Missing-footage details are for the head of service and the data-protection officer.",
        "force.police": "National police",
        "force.gendarmerie": "Gendarmerie",
        "force.municipal": "Municipal police",
        "force.firefighters": "Firefighters",
        "force.prison": "Prison service",
        "error.unknown_device": "Unknown device.",
        "error.bad_search": "Invalid search.",
    },
}
for _language, _messages in MESSAGES.items():
    for _key, _text in _messages.items():
        i18n.MESSAGES[_language].setdefault(_key, _text)


# -- the context ---------------------------------------------------------------------------------------


def bodycam_context(request: Request) -> BodycamContext:
    """Built on first use from the application's services (one per process)."""
    context = getattr(request.app.state, "bodycam", None)
    if context is None:
        services = services_of(request)
        context = BodycamContext.build(services.settings, services.catalog, services.vault, services.audit)
        request.app.state.bodycam = context
    assert isinstance(context, BodycamContext)
    return context


# -- docks: their own principal --------------------------------------------------------------------------


class DockRequirement(Requirement):
    """The dependency of dock routes: a dock token (not a person's session) and ``bodycam.upload``.

    A person's valid session is refused like any action the policy gives nobody: 403, and written
    to the register; anything else that is not a dock token is a 401.
    """

    def __init__(self) -> None:
        super().__init__(Action.BODYCAM_UPLOAD)

    def __call__(self, request: Request) -> DockPrincipal:
        request.state.requirement = self
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AccessRefusal(
                "not_authenticated", "docks authenticate with 'Authorization: Bearer <dock token>'", 401
            )
        client = client_address(request)
        dock = bodycam_context(request).registry.authenticate_dock(token, client)
        if dock is None:
            self._refuse_person(request, token, client)
            raise AccessRefusal("session_invalid", "unknown or revoked dock token", 401)
        if not policy.machine_allows(policy.DOCK_ROLE, self.action):
            raise AccessRefusal("forbidden", f"docks may not {self.action.value}", 403)
        return dock

    def _refuse_person(self, request: Request, token: str, client: str | None) -> None:
        services = services_of(request)
        try:
            auth = services.sessions.resolve(token)
        except AccessRefusal:
            return
        refusal = AccessRefusal("forbidden", f"the {auth.user.role.value} role may not {self.action.value}", 403)
        services.audit.append(
            auth.user.actor(client),
            AuditRecord(
                action=self.action.value,
                outcome="refused",
                object_ids=[str(value) for value in request.path_params.values()],
                details={"code": refusal.code, "why": refusal.message, "method": request.method},
            ),
        )
        raise refusal


DOCK = DockRequirement()
Dock = Annotated[DockPrincipal, Depends(DOCK)]


def _tus_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **(extra or {})}


def _refused(error: BodycamRefusal | RegistryError, *, tus: bool = False) -> JSONResponse:
    if isinstance(error, RegistryError):
        text = str(error)
        status = 422 if text.startswith("unknown device") else 409 if "already" in text else 400
        response = problem(status, "unknown_device" if status == 422 else "registry_error", text)
    else:
        response = problem(error.status, error.code, error.message)
    if tus:
        response.headers["Tus-Resumable"] = TUS_VERSION
    return response


def _tus_precondition(request: Request) -> Response | None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        return Response(status_code=412, headers={"Tus-Version": TUS_VERSION, "Cache-Control": "no-store"})
    return None


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _offset_headers(status: UploadStatus) -> dict[str, str]:
    return _tus_headers({"Upload-Offset": str(status.offset), "Upload-Expires": _http_date(status.expires_at)})


# -- tus -------------------------------------------------------------------------------------------------


@router.options(UPLOADS, response_class=Response)
def tus_discovery(request: Request, dock: Dock) -> Response:
    """tus discovery: version, extensions, size limit, checksum algorithms."""
    settings = bodycam_context(request).settings.bodycam
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
        },
    )


@router.post(UPLOADS, status_code=201, response_class=Response)
async def tus_create(request: Request, dock: Dock) -> Response:
    """tus creation: ``Upload-Length`` and ``Upload-Metadata`` (device, sequence, officer, start, end, trigger,
    sha256, track, filename, docking). The GPS track must be sent first; a (device, sequence) already
    received is refused (409 ``already_received``)."""
    if (precondition := _tus_precondition(request)) is not None:
        return precondition
    service = UploadService(bodycam_context(request))
    try:
        status = await run_in_threadpool(
            service.create, dock, request.headers.get("upload-length"), request.headers.get("upload-metadata")
        )
    except BodycamRefusal as error:
        return _refused(error, tus=True)
    return Response(
        status_code=201,
        headers=_tus_headers({"Location": f"{UPLOADS}/{status.id}", "Upload-Expires": _http_date(status.expires_at)}),
    )


# Not in the OpenAPI document: a HEAD answer has no body to describe (tus: Upload-Offset header).
@router.head(f"{UPLOADS}/{{upload_id}}", response_class=Response, include_in_schema=False)
async def tus_offset(upload_id: str, request: Request, dock: Dock) -> Response:
    """tus offset: how many bytes the server holds (after any PATCH still draining)."""
    if (precondition := _tus_precondition(request)) is not None:
        return precondition
    service = UploadService(bodycam_context(request))
    try:
        status = await run_in_threadpool(service.status, dock, upload_id)
    except BodycamRefusal as error:
        return Response(status_code=error.status, headers=_tus_headers())  # HEAD answers carry no body
    metadata = {key: str(value) for key, value in status.metadata.items() if value is not None}
    return Response(
        status_code=200,
        headers={
            **_offset_headers(status),
            "Upload-Length": str(status.length),
            "Upload-Metadata": encode_metadata(metadata),
        },
    )


@router.patch(f"{UPLOADS}/{{upload_id}}", status_code=204, response_class=Response)
async def tus_append(upload_id: str, request: Request, dock: Dock) -> Response:
    """tus append at ``Upload-Offset`` (``application/offset+octet-stream``), optional ``Upload-Checksum``.

    The request that brings the last byte also verifies the device's sha256 and imports the recording:
    460 when the bytes differ from what the device hashed, 409 when the recording was received already.
    """
    if (precondition := _tus_precondition(request)) is not None:
        return precondition
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/offset+octet-stream":
        return _refused(
            BodycamRefusal(415, "unsupported_media_type", "PATCH bodies are application/offset+octet-stream"), tus=True
        )
    context = bodycam_context(request)
    service = UploadService(context)
    length_header = request.headers.get("content-length")
    try:
        content_length = int(length_header) if length_header is not None else None
        patch = await run_in_threadpool(
            lambda: service.begin_patch(
                dock,
                upload_id,
                offset_header=request.headers.get("upload-offset"),
                checksum_header=request.headers.get("upload-checksum"),
                content_length=content_length,
            )
        )
    except ValueError:
        return _refused(BodycamRefusal(400, "bad_length", "Content-Length must be an integer"), tus=True)
    except BodycamRefusal as error:
        return _refused(error, tus=True)
    interrupted = False
    buffer = bytearray()
    try:
        try:
            async for chunk in request.stream():
                buffer += chunk
                if len(buffer) >= PATCH_BUFFER:
                    data, buffer = bytes(buffer), bytearray()
                    await run_in_threadpool(patch.write, data)
        except ClientDisconnect:
            interrupted = True  # keep what arrived: that is the point of a resumable upload
        if buffer:
            await run_in_threadpool(patch.write, bytes(buffer))
    except BaseException:
        await run_in_threadpool(patch.finish, interrupted=True)
        raise
    try:
        status = await run_in_threadpool(lambda: intake.finish_patch(service, patch, interrupted=interrupted))
    except BodycamRefusal as error:
        return _refused(error, tus=True)
    return Response(status_code=204, headers=_offset_headers(status))


@router.delete(f"{UPLOADS}/{{upload_id}}", status_code=204, response_class=Response)
async def tus_terminate(upload_id: str, request: Request, dock: Dock) -> Response:
    """tus termination: the partial upload and its spooled bytes are deleted."""
    if (precondition := _tus_precondition(request)) is not None:
        return precondition
    try:
        await run_in_threadpool(UploadService(bodycam_context(request)).terminate, dock, upload_id)
    except BodycamRefusal as error:
        return _refused(error, tus=True)
    return Response(status_code=204, headers=_tus_headers())


# -- dockings: clock check, tracks, event logs ---------------------------------------------------------


class DockingIn(BaseModel):
    device: str = Field(max_length=80, description="Serial of the docked device.")
    device_clock: datetime = Field(description="The device's clock, read by the dock just before this request.")
    battery_percent: float | None = Field(None, ge=0, le=100)


class DockingOut(BaseModel):
    id: str
    device: str
    server_time: datetime
    device_time: datetime
    clock_offset_seconds: float = Field(description="Device clock minus server clock at docking.")
    clock_flagged: bool = Field(description="True when the offset exceeds bodycam.clock_offset_threshold_seconds.")


async def _body(request: Request, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise BodycamRefusal(413, "too_large", f"the body exceeds {limit} bytes")
    return bytes(data)


@router.post("/api/bodycam/dockings", status_code=201, response_model=DockingOut)
async def open_docking(body: DockingIn, request: Request, dock: Dock) -> Any:
    """A device is docked: record the dock's reading of its clock against the server's time (LAW.md A.4)."""
    if body.device_clock.tzinfo is None:
        return problem(400, "bad_clock", "device_clock needs a time zone")
    try:
        receipt = await run_in_threadpool(
            dockings.open_docking, bodycam_context(request), dock, body.device, body.device_clock, body.battery_percent
        )
    except BodycamRefusal as error:
        return _refused(error)
    return DockingOut(**receipt.__dict__)


@router.put("/api/bodycam/dockings/{docking_id}/tracks/{sequence}", status_code=201)
async def put_track(
    docking_id: str,
    sequence: int,
    request: Request,
    dock: Dock,
    name: Annotated[str | None, Query(max_length=200, description="The track file's name on the device.")] = None,
    format: Annotated[str | None, Query(pattern="^(gpx|nmea)$", description="Guessed from the name if absent.")] = None,
) -> Any:
    """The GPS track (GPX or NMEA) of one recording, sent before the recording itself.

    Malformed or out-of-range points are dropped and counted, never guessed; re-sending the same file is harmless.
    """
    context = bodycam_context(request)
    try:
        data = await _body(request, context.settings.bodycam.max_track_bytes)
        receipt = await run_in_threadpool(
            lambda: dockings.receive_track(
                context, dock, docking_id, sequence, data, file_name=name, track_format=format
            )
        )
    except BodycamRefusal as error:
        return _refused(error)
    return JSONResponse(receipt.__dict__, status_code=200 if receipt.unchanged else 201)


@router.post("/api/bodycam/dockings/{docking_id}/events")
async def post_events(docking_id: str, request: Request, dock: Dock) -> Any:
    """The device's event log (JSON lines). Reconciled at once: the answer counts what is missing."""
    context = bodycam_context(request)
    try:
        data = await _body(request, context.settings.bodycam.max_event_log_bytes)
        receipt = await run_in_threadpool(dockings.receive_event_log, context, dock, docking_id, data)
    except BodycamRefusal as error:
        return _refused(error)
    return receipt.__dict__


# -- people: devices, completeness, anomalies, tracks ---------------------------------------------------


def _scoped(user: Person, unit: str | None) -> bool:
    return policy.unit_in_scope(user.unit, unit)


def device_target(request: Request, services: Any) -> Target:
    serial = str(request.path_params.get("serial", ""))
    with services.catalog.session() as session:
        row = session.execute(
            select(BodycamDevice, Source)
            .join(Source, Source.id == BodycamDevice.source_id)
            .where(BodycamDevice.serial == serial)
        ).one_or_none()
    if row is None:
        raise AccessRefusal("not_found", f"no device {serial!r}", 404)
    device, source = row

    def in_scope(user: Person) -> bool:
        return policy.can_access_source(user, source)

    return Target("device", (device.serial, source.name), in_scope, device)


class DeviceIn(BaseModel):
    serial: str = Field(max_length=80)
    force: Force
    unit: str | None = Field(None, max_length=120)
    model: str | None = Field(None, max_length=120)


@router.get("/api/bodycam/devices")
def list_devices(request: Request, access: Annotated[Access, Depends(require(Action.CAMERAS_READ))]) -> Any:
    """Devices within the caller's scope with their completeness status and last clock check."""
    with services_of(request).catalog.session() as session:
        statuses = reports.device_statuses(session)
    return [status.as_json() for status in statuses if _scoped(access.user, status.unit)]


@router.post("/api/bodycam/devices", status_code=201)
def add_device(
    body: DeviceIn, request: Request, access: Annotated[Access, Depends(require(Action.CAMERAS_MANAGE))]
) -> Any:
    """Register a device: it becomes a vault source whose retention follows its force (R241-4)."""
    try:
        view = bodycam_context(request).registry.add_device(
            body.serial, force=body.force, by=access.actor(), unit=body.unit, model=body.model
        )
    except RegistryError as error:
        return _refused(error)
    return {
        "serial": view.serial,
        "force": view.force.value,
        "unit": view.unit,
        "source": view.source_name,
        "retention_profile": view.retention_profile,
    }


@router.get("/api/bodycam/devices/{serial}")
def get_device(
    serial: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_READ, target=device_target))],
) -> Any:
    """One device: completeness status and its recent dockings (clock offsets)."""
    with services_of(request).catalog.session() as session:
        statuses = reports.device_statuses(session, serial=serial)
        recent = reports.dockings(session, serial)
    return {**statuses[0].as_json(), "dockings": [docking.as_json() for docking in recent]}


@router.get("/api/bodycam/completeness")
def get_completeness(
    request: Request,
    access: Annotated[Access, Depends(require(Action.BODYCAM_COMPLETENESS))],
    device: Annotated[str | None, Query(max_length=80)] = None,
    include_resolved: bool = False,
) -> Any:
    """Missing footage (record-starts without an accepted upload, hash mismatches, holes in the sequence numbers)."""
    with services_of(request).catalog.session() as session:
        items = completeness.missing_items(
            session, serial=device, include_resolved=include_resolved, unit=access.user.unit
        )
    counts: dict[str, int] = {}
    for item in items:
        if item.resolved_at is None:
            counts[item.cause] = counts.get(item.cause, 0) + 1
    return {"missing": [item.as_json() for item in items], "open": sum(counts.values()), "by_cause": counts}


@router.get("/api/bodycam/anomalies")
def get_anomalies(
    request: Request,
    access: Annotated[Access, Depends(require(Action.BODYCAM_COMPLETENESS))],
    device: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> Any:
    """What devices and docks handed in that contradicts itself (event logs, GPS, clocks, hashes)."""
    with services_of(request).catalog.session() as session:
        rows = reports.anomaly_list(session, device, limit)
        statuses = {status.serial: status.unit for status in reports.device_statuses(session)}
    return [row for row in rows if _scoped(access.user, statuses.get(row["device"]))]


@router.get("/api/bodycam/recordings/{recording_id}/track")
def get_track(
    recording_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.RECORDINGS_SEARCH, target=recording_target))],
) -> Any:
    """The GPS track of a body-cam recording as GeoJSON (officers: their own). Written to the register."""
    assert access.target is not None and isinstance(access.target.value, RecordingRef)
    recording = access.target.value.recording
    services = services_of(request)
    with services.catalog.session() as session:
        track = session.execute(
            select(BodycamTrack)
            .join(BodycamRecording, BodycamRecording.track_id == BodycamTrack.id)
            .where(BodycamRecording.recording_id == recording.id)
        ).scalar_one_or_none()
    if track is None:
        return problem(404, "not_found", "this recording has no GPS track")
    services.audit.append(
        access.actor(),
        AuditRecord(
            action="bodycam.track",
            object_type="recording",
            object_ids=list(access.target.object_ids),
            details={"category": "consultation", "points": track.point_count},
        ),
    )
    rows = samples.unpack(track.samples)
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": rows[:, [2, 1]].tolist()},
        "properties": {
            "recording_id": recording.id,
            "times": rows[:, 0].tolist(),
            "start": iso(track.start) if track.start else None,
            "end": iso(track.end) if track.end else None,
            "dropped": track.dropped_count,
            "format": track.format,
        },
    }


# -- pages -------------------------------------------------------------------------------------------


def _t(request: Request) -> i18n.Translator:
    return i18n.translator(request, services_of(request).settings.web.default_language)


def _cause(t: i18n.Translator, cause: str) -> str:
    return t(f"bodycam.cause.{cause}")


@router.get("/bodycam/devices", include_in_schema=False)
def devices_page(
    request: Request, access: Annotated[Access, Depends(require(Action.CAMERAS_READ, page=True))]
) -> Response:
    t = _t(request)
    with services_of(request).catalog.session() as session:
        statuses = [status for status in reports.device_statuses(session) if _scoped(access.user, status.unit)]
    rows = []
    for status in statuses:
        badge = (
            f'<span class="badge ok">{h(t("bodycam.complete"))}</span>'
            if status.complete
            else f'<span class="badge warn">{status.missing_open} · {h(t("bodycam.incomplete"))}</span>'
        )
        docking = status.last_docking
        clock = "—"
        if docking is not None:
            clock = f"{docking.clock_offset_seconds:+.1f} s" + (
                f' <span class="badge warn">{h(t("bodycam.clock_flagged"))}</span>' if docking.clock_flagged else ""
            )
        rows.append(
            f'<tr><td><a href="/bodycam/devices/{h(status.serial)}">{h(status.serial)}</a></td>'
            f"<td>{h(t('force.' + status.force))}</td><td>{h(status.unit or '—')}</td>"
            f"<td>{status.recordings}</td><td>{badge}</td>"
            f"<td>{h(iso(docking.server_time)) if docking else '—'}</td><td>{clock}</td></tr>"
        )
    columns = ("serial", "force", "unit", "recordings", "status", "last_docking", "clock_offset")
    head = "".join(f'<th scope="col">{h(t("bodycam." + name))}</th>' for name in columns)
    content = (
        f'<p class="muted">{h(t("bodycam.intro"))}</p>'
        f'<div class="table-wrap"><table class="data" id="devices-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return shell(request, access, t, title=t("bodycam.title"), content=content)


@router.get("/bodycam/devices/{serial}", include_in_schema=False)
def device_page(
    serial: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_READ, target=device_target, page=True))],
) -> Response:
    t = _t(request)
    can_see_gaps = policy.allows(access.user.role, Action.BODYCAM_COMPLETENESS)
    with services_of(request).catalog.session() as session:
        status = reports.device_statuses(session, serial=serial)[0]
        recent = reports.dockings(session, serial, limit=10)
        items = completeness.missing_items(session, serial=serial) if can_see_gaps else []
        anomalies = reports.anomaly_list(session, serial, limit=100) if can_see_gaps else []
    badge = (
        f'<span class="badge ok" id="device-status">{h(t("bodycam.complete"))}</span>'
        if status.complete
        else f'<span class="badge warn" id="device-status">{status.missing_open} · {h(t("bodycam.incomplete"))}</span>'
    )
    facts = (
        '<section class="card"><dl class="facts">'
        f"<dt>{h(t('bodycam.serial'))}</dt><dd>{h(status.serial)}</dd>"
        f"<dt>{h(t('bodycam.force'))}</dt><dd>{h(t('force.' + status.force))}</dd>"
        f"<dt>{h(t('bodycam.unit'))}</dt><dd>{h(status.unit or '—')}</dd>"
        f"<dt>{h(t('bodycam.recordings'))}</dt><dd>{status.recordings}</dd>"
        f"<dt>{h(t('bodycam.status'))}</dt><dd>{badge}</dd>"
        "</dl></section>"
    )
    docking_rows = "".join(
        f"<tr><td>{h(iso(d.server_time))}</td><td>{d.clock_offset_seconds:+.3f} s"
        + (f' <span class="badge warn">{h(t("bodycam.clock_flagged"))}</span>' if d.clock_flagged else "")
        + f"</td><td>{d.event_count}</td></tr>"
        for d in recent
    )
    dockings_html = (
        f'<h2>{h(t("bodycam.dockings"))}</h2><div class="table-wrap"><table class="data"><thead><tr>'
        f'<th scope="col">{h(t("bodycam.last_docking"))}</th><th scope="col">{h(t("bodycam.clock_offset"))}</th>'
        f'<th scope="col">#</th></tr></thead><tbody>{docking_rows}</tbody></table></div>'
    )
    if not can_see_gaps:
        gaps_html = f'<p class="notice">{h(t("bodycam.restricted"))}</p>'
    else:
        if items:
            missing_rows = "".join(
                f"<tr><td>{item.sequence}</td><td>{h(_cause(t, item.cause))}</td>"
                f"<td>{h(iso(item.start) if item.start else '—')}</td><td>{h(iso(item.end) if item.end else '—')}</td>"
                f"<td>{h(item.officer or '—')}</td><td>{h(iso(item.detected_at))}</td></tr>"
                for item in items
            )
            columns = ("sequence", "cause", "start", "end", "officer", "detected")
            head = "".join(f'<th scope="col">{h(t("bodycam." + name))}</th>' for name in columns)
            missing_html = (
                f'<div class="table-wrap"><table class="data" id="missing-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{missing_rows}</tbody></table></div>"
            )
        else:
            missing_html = f'<p class="muted" id="missing-none">{h(t("bodycam.missing_none"))}</p>'
        anomaly_rows = "".join(
            f"<tr><td>{h(row['at'])}</td><td>{h(row['kind'])}</td><td>{h(row['sequence'] or '—')}</td>"
            f"<td>{h(row['detail'])}</td></tr>"
            for row in anomalies
        )
        anomalies_html = (
            f'<div class="table-wrap"><table class="data" id="anomalies-table"><thead><tr>'
            f'<th scope="col">{h(t("bodycam.detected"))}</th><th scope="col">{h(t("bodycam.kind"))}</th>'
            f'<th scope="col">{h(t("bodycam.sequence"))}</th><th scope="col">{h(t("bodycam.detail"))}</th>'
            f"</tr></thead><tbody>{anomaly_rows}</tbody></table></div>"
            if anomalies
            else f'<p class="muted">{h(t("bodycam.anomalies_none"))}</p>'
        )
        gaps_html = (
            f"<h2>{h(t('bodycam.missing'))}</h2>{missing_html}<h2>{h(t('bodycam.anomalies'))}</h2>{anomalies_html}"
        )
    return shell(
        request, access, t, title=f"{t('bodycam.title')} · {status.serial}", content=facts + gaps_html + dockings_html
    )
