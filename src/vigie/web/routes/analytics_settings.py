"""Per-camera analytics settings: the legal bases that allow each event type, and the zones.

Analytics stay off for a camera until a legal basis is recorded for it (LAW.md F.33): a text
reference, the authorisation, an end date, per event type, and only for the types the law lists
(F.34). Recording and revoking are audited by ``EventService`` ("analytics.legal-basis",
"analytics.legal-basis-revoke"), zones by ``ZoneStore`` ("analytics.zones"). Managing needs
``analytics.manage`` (administrator, head of service). The picture zones are drawn on is the
camera's masked snapshot (``GET /api/cameras/{camera}/snapshot``: ``live.view``, with a reason); an
administrator, who never sees images, draws on the picture's grid instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from vigie.access import policy, scope
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Person
from vigie.analytics.events import LEGAL_BASIS, EventType
from vigie.analytics.zones import ZoneError
from vigie.catalog.camera_models import Camera, CameraHealth
from vigie.catalog.event_models import LegalBasis
from vigie.catalog.models import Source
from vigie.catalog.types import utcnow
from vigie.events.service import LEGAL_EVENT_TYPES, EventError
from vigie.ingest.cameras.registry import load_targets
from vigie.web import i18n
from vigie.web.layout import ICONS, h, shell
from vigie.web.security import Access, Target, require, services_of
from vigie.web.services import Services

router = APIRouter(tags=["analytics"])
LAWFUL_TYPES = tuple(sorted(LEGAL_EVENT_TYPES))
DEFAULT_FRAME = (640, 360)  # the grid offered when neither a picture nor a measured size is known

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.analytics": "Analyses et bases légales",
        "analytics.title": "Analyses algorithmiques",
        "analytics.intro": "Les analyses restent désactivées pour une caméra tant qu'aucune base légale n'est en "
        "vigueur pour elle : le flux n'est même pas décodé. Seuls les événements de l'article 3 du décret "
        "n° 2023-828 peuvent être activés (l'expérimentation de la loi n° 2023-380 a pris fin le 31 mars 2025).",
        "analytics.camera_title": "Analyses de la caméra",
        "analytics.cameras": "Caméras",
        "analytics.camera": "Caméra",
        "analytics.unit": "Unité",
        "analytics.in_force": "Bases en vigueur",
        "analytics.state": "État",
        "analytics.open": "Paramétrer",
        "analytics.none_in_force": "aucune : analyses désactivées",
        "analytics.status": "État de l'analyse",
        "analytics.worker_absent": "Le service d'analyse ne tourne pas dans ce processus.",
        "analytics.state.off": "désactivée",
        "analytics.state.connecting": "connexion",
        "analytics.state.running": "en cours",
        "analytics.state.error": "erreur",
        "analytics.state.stopped": "arrêtée",
        "analytics.bases": "Bases légales",
        "analytics.bases_empty": "Aucune base légale enregistrée : les analyses sont désactivées.",
        "analytics.basis.type": "Événement",
        "analytics.basis.text": "Texte (référence)",
        "analytics.basis.authorisation": "Autorisation",
        "analytics.basis.from": "Du",
        "analytics.basis.until": "Jusqu'au",
        "analytics.basis.by": "Enregistrée par",
        "analytics.basis.state": "Statut",
        "analytics.basis.in_force": "en vigueur",
        "analytics.basis.expired": "expirée",
        "analytics.basis.revoked": "révoquée",
        "analytics.basis.future": "à venir",
        "analytics.basis.revoke": "Révoquer",
        "analytics.basis.revoke_reason": "Motif de la révocation",
        "analytics.basis.add": "Enregistrer une base légale",
        "analytics.basis.text_placeholder": "ex. : loi n° …, art. … ; décret n° …",
        "analytics.basis.authorisation_placeholder": "ex. : arrêté préfectoral n° …",
        "analytics.basis.save": "Enregistrer la base légale",
        "analytics.basis.saved": "Base légale enregistrée (inscrite au registre).",
        "analytics.basis.revoked_ok": "Base légale révoquée (inscrite au registre).",
        "analytics.basis.only_lawful": "Seuls les types d'événements prévus par la loi sont proposés ; aucun autre "
        "ne peut être activé.",
        "analytics.zones": "Zones",
        "analytics.zones_intro": "Cliquez sur l'image pour placer les points d'un polygone, puis fermez la zone. "
        "Pour une zone à sens unique, cliquez ensuite deux points : la flèche du sens autorisé.",
        "analytics.zones.kind": "Nature",
        "analytics.zones.kind.forbidden": "zone interdite",
        "analytics.zones.kind.density": "densité",
        "analytics.zones.kind.direction": "sens de circulation",
        "analytics.zones.name": "Nom",
        "analytics.zones.max_people": "Personnes au plus",
        "analytics.zones.close": "Fermer la zone",
        "analytics.zones.undo": "Annuler le dernier point",
        "analytics.zones.clear": "Effacer le tracé",
        "analytics.zones.arrow": "Cliquez deux points : le départ puis la pointe de la flèche.",
        "analytics.zones.delete": "Supprimer",
        "analytics.zones.save": "Enregistrer les zones",
        "analytics.zones.saved": "Zones enregistrées (inscrites au registre).",
        "analytics.zones.abandoned_after": "Délai avant alerte « objet abandonné » (s)",
        "analytics.zones.picture": "Charger l'image de la caméra",
        "analytics.zones.picture_reason": "Motif de consultation de l'image",
        "analytics.zones.grid_only": "Votre rôle ne donne pas accès aux images : les zones se dessinent sur la "
        "grille de l'image.",
        "analytics.zones.no_picture": "Image indisponible : dessin sur la grille.",
        "analytics.zones.size": "Taille de l'image",
        "analytics.zones.list_empty": "Aucune zone.",
        "analytics.no_automation": "Une alerte ne déclenche jamais d'action automatique : elle attend la décision "
        "d'un opérateur.",
        "error.basis_refused": "Base légale refusée.",
        "error.zone_invalid": "Zone refusée.",
        "error.not_a_camera": "Ce n'est pas une caméra fixe.",
    },
    "en": {
        "nav.analytics": "Analytics and legal bases",
        "analytics.title": "Algorithmic analytics",
        "analytics.intro": "Analytics stay off for a camera until a legal basis is in force for it: its stream is "
        "not even decoded. Only the events of article 3 of décret n° 2023-828 can be enabled (the experiment of "
        "loi n° 2023-380 ended on 31 March 2025).",
        "analytics.camera_title": "Camera analytics",
        "analytics.cameras": "Cameras",
        "analytics.camera": "Camera",
        "analytics.unit": "Unit",
        "analytics.in_force": "Bases in force",
        "analytics.state": "State",
        "analytics.open": "Settings",
        "analytics.none_in_force": "none: analytics off",
        "analytics.status": "Analysis status",
        "analytics.worker_absent": "The analytics worker does not run in this process.",
        "analytics.state.off": "off",
        "analytics.state.connecting": "connecting",
        "analytics.state.running": "running",
        "analytics.state.error": "error",
        "analytics.state.stopped": "stopped",
        "analytics.bases": "Legal bases",
        "analytics.bases_empty": "No legal basis recorded: analytics are off.",
        "analytics.basis.type": "Event",
        "analytics.basis.text": "Legal text (reference)",
        "analytics.basis.authorisation": "Authorisation",
        "analytics.basis.from": "From",
        "analytics.basis.until": "Until",
        "analytics.basis.by": "Recorded by",
        "analytics.basis.state": "Status",
        "analytics.basis.in_force": "in force",
        "analytics.basis.expired": "expired",
        "analytics.basis.revoked": "revoked",
        "analytics.basis.future": "not yet in force",
        "analytics.basis.revoke": "Revoke",
        "analytics.basis.revoke_reason": "Reason for revoking",
        "analytics.basis.add": "Record a legal basis",
        "analytics.basis.text_placeholder": "e.g. loi n° …, art. …; décret n° …",
        "analytics.basis.authorisation_placeholder": "e.g. prefect's arrêté n° …",
        "analytics.basis.save": "Record the legal basis",
        "analytics.basis.saved": "Legal basis recorded (written to the register).",
        "analytics.basis.revoked_ok": "Legal basis revoked (written to the register).",
        "analytics.basis.only_lawful": "Only the event types the law lists are offered; no other can be enabled.",
        "analytics.zones": "Zones",
        "analytics.zones_intro": "Click the picture to place a polygon's points, then close the zone. For a one-way "
        "zone, then click two points: the arrow of the allowed direction.",
        "analytics.zones.kind": "Kind",
        "analytics.zones.kind.forbidden": "forbidden zone",
        "analytics.zones.kind.density": "density",
        "analytics.zones.kind.direction": "direction of travel",
        "analytics.zones.name": "Name",
        "analytics.zones.max_people": "At most (people)",
        "analytics.zones.close": "Close the zone",
        "analytics.zones.undo": "Undo last point",
        "analytics.zones.clear": "Clear the drawing",
        "analytics.zones.arrow": "Click two points: the tail, then the head of the arrow.",
        "analytics.zones.delete": "Delete",
        "analytics.zones.save": "Save the zones",
        "analytics.zones.saved": "Zones saved (written to the register).",
        "analytics.zones.abandoned_after": "Delay before an abandoned-object alert (s)",
        "analytics.zones.picture": "Load the camera's picture",
        "analytics.zones.picture_reason": "Reason for viewing the picture",
        "analytics.zones.grid_only": "Your role gives no access to images: zones are drawn on the picture's grid.",
        "analytics.zones.no_picture": "Picture unavailable: drawing on the grid.",
        "analytics.zones.size": "Picture size",
        "analytics.zones.list_empty": "No zone.",
        "analytics.no_automation": "An alert never triggers anything automatically: it awaits an operator's decision.",
        "error.basis_refused": "Legal basis refused.",
        "error.zone_invalid": "Zone refused.",
        "error.not_a_camera": "This is not a fixed camera.",
    },
}
for _language, _messages in MESSAGES.items():
    for _key, _text in _messages.items():
        i18n.MESSAGES[_language].setdefault(_key, _text)
# The navigation's icon for this page (the shell's icon set is open to features, like its messages).
ICONS.setdefault(
    "scales", '<path d="M12 3v18M5 21h14M4 7h16"/><path d="M4 7l-2 6a3 3 0 0 0 6 0zM20 7l-2 6a3 3 0 0 0 6 0z"/>'
)


# -- models -------------------------------------------------------------------------------------------


class BasisIn(BaseModel):
    event_type: str = Field(description=f"One of the lawful types: {', '.join(LAWFUL_TYPES)}.")
    text_reference: str = Field(min_length=1, max_length=2000, description="The law and decree that allow it.")
    authorisation: str = Field(min_length=1, max_length=200, description="The prefect's authorisation.")
    valid_until: date | datetime = Field(description="End: a date means until the end of that day (UTC).")
    valid_from: date | datetime | None = Field(None, description="Start (default: now).")


class RevokeIn(BaseModel):
    reason: str = Field(min_length=8, max_length=1000)


class BasisOut(BaseModel):
    id: int
    camera: str
    event_type: str
    text_reference: str
    authorisation: str
    valid_from: datetime
    valid_until: datetime
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    state: Literal["in_force", "expired", "revoked", "future"]

    @classmethod
    def of(cls, basis: LegalBasis, camera: str, now: datetime) -> BasisOut:
        if basis.revoked_at is not None:
            state: Literal["in_force", "expired", "revoked", "future"] = "revoked"
        elif now < basis.valid_from:
            state = "future"
        elif now >= basis.valid_until:
            state = "expired"
        else:
            state = "in_force"
        return cls(
            id=basis.id,
            camera=camera,
            event_type=basis.event_type,
            text_reference=basis.text_reference,
            authorisation=basis.authorisation,
            valid_from=basis.valid_from,
            valid_until=basis.valid_until,
            created_by=basis.created_by,
            created_at=basis.created_at,
            revoked_at=basis.revoked_at,
            revoked_by=basis.revoked_by,
            state=state,
        )


class ZonesIn(BaseModel):
    width: int = Field(ge=32, le=8192, description="Width of the picture the zones were drawn on.")
    height: int = Field(ge=32, le=8192)
    zones: list[dict[str, Any]] = Field(
        max_length=64, description='[{"name", "kind": forbidden|density|direction, "polygon": [[x, y], ...], ...}]'
    )
    person_height: list[list[float]] | None = None
    abandoned_after: float | None = Field(None, ge=0, le=3600)


class CameraAnalyticsOut(BaseModel):
    camera: str
    unit: str | None
    lawful_types: list[str]
    type_basis: dict[str, str] = Field(description="Where each lawful type comes from in the law.")
    bases: list[BasisOut]
    in_force: list[str]
    setup: dict[str, Any]
    frame: list[int] = Field(description="[width, height] of the picture to draw zones on.")
    has_stream: bool
    status: dict[str, Any] | None
    worker: bool


class CameraSummaryOut(BaseModel):
    camera: str
    unit: str | None
    in_force: list[str]
    status: dict[str, Any] | None


# -- targets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraRef:
    source: Source


def camera_target(request: Request, services: Services) -> Target:
    """The fixed camera named in the path (404 unknown, 404 when it is a body-worn camera)."""
    name = str(request.path_params.get("camera", ""))
    with services.catalog.session() as session:
        source = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
    if source is None:
        raise AccessRefusal("not_found", f"no camera {name!r}", 404)
    if source.kind != "camera":
        raise AccessRefusal("not_a_camera", f"{name} is a {source.kind} source, not a fixed camera", 404)

    def in_scope(user: Person) -> bool:
        return policy.can_access_source(user, source)

    return Target("camera", (source.name,), in_scope, CameraRef(source))


def basis_target(request: Request, services: Services) -> Target:
    raw = str(request.path_params.get("basis_id", ""))
    with services.catalog.session() as session:
        basis = session.get(LegalBasis, int(raw)) if raw.isdigit() else None
        source = session.get(Source, basis.source_id) if basis is not None else None
    if basis is None or source is None:
        raise AccessRefusal("not_found", f"no legal basis {raw!r}", 404)

    def in_scope(user: Person) -> bool:
        return policy.can_access_source(user, source)

    return Target("legal-basis", (str(basis.id), source.name), in_scope, CameraRef(source))


def _source(access: Access) -> Source:
    assert access.target is not None and isinstance(access.target.value, CameraRef)
    return access.target.value.source


def _instant(value: date | datetime, *, end_of_day: bool) -> datetime:
    """A date is a whole day (until its end); a naive date-time is read as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    day = value + timedelta(days=1) if end_of_day else value
    return datetime.combine(day, time(0), UTC)


def _reload(services: Services) -> None:
    if services.live_analytics is not None:
        services.live_analytics.request_reload()


def _status(services: Services, camera: str) -> dict[str, Any] | None:
    worker = services.live_analytics
    status = worker.status(camera) if worker is not None else None
    return status.as_dict() if status is not None else None


def _frame_size(services: Services, source: Source, setup_size: tuple[int | None, int | None]) -> list[int]:
    """The picture to draw on: the one zones were drawn on, else what the worker or recorder measured."""
    if setup_size[0] and setup_size[1]:
        return [setup_size[0], setup_size[1]]
    status = _status(services, source.name)
    if status and status.get("width") and status.get("height"):
        return [int(status["width"]), int(status["height"])]
    with services.catalog.session() as session:
        health = session.execute(
            select(CameraHealth).join(Camera, Camera.id == CameraHealth.camera_id).where(Camera.source_id == source.id)
        ).scalar_one_or_none()
    if health is not None and health.width and health.height:
        return [health.width, health.height]
    return list(DEFAULT_FRAME)


# -- pages --------------------------------------------------------------------------------------------


def _t(request: Request) -> i18n.Translator:
    return i18n.translator(request, services_of(request).settings.web.default_language)


@router.get("/analytics", include_in_schema=False)
def analytics_page(
    request: Request, access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE, page=True))]
) -> Response:
    t = _t(request)
    head = "".join(
        f'<th scope="col">{h(t("analytics." + name))}</th>' for name in ("camera", "unit", "in_force", "state")
    )
    content = (
        f'<p class="notice alert">{h(t("analytics.intro"))}</p>'
        '<div class="table-wrap"><table class="data" id="analytics-cameras">'
        f'<thead><tr>{head}<th scope="col"></th></tr></thead><tbody></tbody></table></div>'
    )
    return shell(request, access, t, title=t("analytics.title"), content=content, scripts=("analytics.js",))


@router.get("/analytics/cameras/{camera}", include_in_schema=False)
def camera_analytics_page(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE, target=camera_target, page=True))],
) -> Response:
    t = _t(request)
    source = _source(access)
    sees_picture = policy.allows(access.user.role, Action.LIVE_VIEW)
    options = "".join(f'<option value="{h(name)}">{h(t("event.type." + name))}</option>' for name in LAWFUL_TYPES)
    basis_form = (
        f'<details class="card" open><summary>{h(t("analytics.basis.add"))}</summary>'
        '<form id="basis-form" class="grid-form">'
        f'<label>{h(t("analytics.basis.type"))}<select name="event_type" required>{options}</select></label>'
        f'<label>{h(t("analytics.basis.text"))}<input name="text_reference" required maxlength="2000" '
        f'placeholder="{h(t("analytics.basis.text_placeholder"))}"></label>'
        f'<label>{h(t("analytics.basis.authorisation"))}<input name="authorisation" required maxlength="200" '
        f'placeholder="{h(t("analytics.basis.authorisation_placeholder"))}"></label>'
        f'<label>{h(t("analytics.basis.until"))}<input name="valid_until" type="date" required></label>'
        f'<div><button type="submit" class="button primary">{h(t("analytics.basis.save"))}</button></div>'
        "</form>"
        f'<p class="muted">{h(t("analytics.basis.only_lawful"))}</p></details>'
    )
    basis_head = "".join(
        f'<th scope="col">{h(t("analytics.basis." + name))}</th>'
        for name in ("type", "text", "authorisation", "from", "until", "by", "state")
    )
    kinds = "".join(
        f'<option value="{kind}">{h(t("analytics.zones.kind." + kind))}</option>'
        for kind in ("forbidden", "density", "direction")
    )
    picture = (
        '<form id="zones-picture" class="toolbar">'
        f'<label>{h(t("analytics.zones.picture_reason"))}<input name="reason" minlength="8" required '
        'autocomplete="off"></label>'
        f'<button type="submit" class="button">{h(t("analytics.zones.picture"))}</button></form>'
        if sees_picture
        else f'<p class="muted">{h(t("analytics.zones.grid_only"))}</p>'
    )
    content = (
        f'<p class="muted">{h(t("analytics.intro"))}</p>'
        f'<p class="alert notice" role="note">{h(t("analytics.no_automation"))}</p>'
        f'<div id="analytics-camera" data-camera="{h(source.name)}" data-picture="{int(sees_picture)}">'
        f'<section class="card"><h2>{h(t("analytics.status"))}</h2><p id="analytics-status" role="status"></p>'
        "</section>"
        f"<section><h2>{h(t('analytics.bases'))}</h2>"
        '<p class="alert" id="analytics-message" role="status" hidden></p>'
        f"{basis_form}"
        '<div class="table-wrap"><table class="data" id="bases-table">'
        f'<thead><tr>{basis_head}<th scope="col"></th></tr></thead><tbody></tbody></table></div></section>'
        f'<section><h2>{h(t("analytics.zones"))}</h2><p class="muted">{h(t("analytics.zones_intro"))}</p>'
        f"{picture}"
        '<div class="zones-layout"><div class="zones-canvas-wrap">'
        '<canvas id="zones-canvas" width="640" height="360" tabindex="0"></canvas>'
        '<p class="muted" id="zones-size"></p></div>'
        '<div class="zones-side card"><form id="zone-draft" class="stack">'
        f'<label>{h(t("analytics.zones.name"))}<input name="name" required maxlength="60" value="zone-1"></label>'
        f'<label>{h(t("analytics.zones.kind"))}<select name="kind">{kinds}</select></label>'
        f'<label data-for="density">{h(t("analytics.zones.max_people"))}'
        '<input name="max_people" type="number" min="1" value="10"></label>'
        '<div class="toolbar">'
        f'<button type="button" class="button" id="zone-close">{h(t("analytics.zones.close"))}</button>'
        f'<button type="button" class="button ghost" id="zone-undo">{h(t("analytics.zones.undo"))}</button>'
        f'<button type="button" class="button ghost" id="zone-clear">{h(t("analytics.zones.clear"))}</button>'
        '</div><p class="muted" id="zone-hint" role="status"></p></form>'
        '<ul id="zones-list" class="zones-list"></ul>'
        f"<label>{h(t('analytics.zones.abandoned_after'))}"
        '<input id="abandoned-after" type="number" min="0" max="3600" step="1"></label>'
        f'<button type="button" class="button primary" id="zones-save">{h(t("analytics.zones.save"))}</button>'
        '<p class="alert" id="zones-message" role="status" hidden></p>'
        "</div></div></section></div>"
    )
    return shell(
        request,
        access,
        t,
        title=f"{t('analytics.camera_title')} {source.name}",
        content=content,
        scripts=("analytics.js", "zones.js"),
    )


# -- API ----------------------------------------------------------------------------------------------


@router.get("/api/analytics/cameras")
def list_camera_analytics(
    request: Request, access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE))]
) -> list[CameraSummaryOut]:
    """Fixed cameras within one's scope, with the event types a legal basis allows now."""
    services = services_of(request)
    now = utcnow()
    with services.catalog.session() as session:
        cameras = [source for source in scope.sources_in_scope(session, access.user) if source.kind == "camera"]
    bases = services.events.legal_bases()
    result = []
    for source in cameras:
        in_force = sorted(
            {
                b.event_type
                for b in bases
                if b.source_id == source.id and b.revoked_at is None and b.valid_from <= now < b.valid_until
            }
        )
        result.append(
            CameraSummaryOut(
                camera=source.name, unit=source.unit, in_force=in_force, status=_status(services, source.name)
            )
        )
    return result


@router.get("/api/analytics/cameras/{camera}")
def camera_analytics(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE, target=camera_target))],
) -> CameraAnalyticsOut:
    """One camera: its legal bases (in force, expired, revoked), zones, picture size and analysis status."""
    services = services_of(request)
    source = _source(access)
    now = utcnow()
    bases = [BasisOut.of(basis, source.name, now) for basis in services.events.legal_bases(source)]
    setup = services.zones.get(source)
    has_stream = bool(load_targets(services.vault, [source.name], strict=False))
    return CameraAnalyticsOut(
        camera=source.name,
        unit=source.unit,
        lawful_types=list(LAWFUL_TYPES),
        type_basis={name: LEGAL_BASIS[EventType(name)] for name in LAWFUL_TYPES},
        bases=sorted(bases, key=lambda basis: basis.id, reverse=True),
        in_force=sorted({basis.event_type for basis in bases if basis.state == "in_force"}),
        setup=setup.as_dict(),
        frame=_frame_size(services, source, (setup.frame_width, setup.frame_height)),
        has_stream=has_stream,
        status=_status(services, source.name),
        worker=services.live_analytics is not None,
    )


@router.post("/api/analytics/cameras/{camera}/bases", status_code=201)
def record_basis(
    camera: str,
    body: BasisIn,
    request: Request,
    access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE, target=camera_target))],
) -> BasisOut:
    """Record the legal basis that allows one lawful event type on this camera until a date (audited)."""
    services = services_of(request)
    source = _source(access)
    try:
        basis = services.events.record_legal_basis(
            source,
            body.event_type,
            text_reference=body.text_reference,
            authorisation=body.authorisation,
            valid_until=_instant(body.valid_until, end_of_day=True),
            valid_from=_instant(body.valid_from, end_of_day=False) if body.valid_from is not None else None,
            actor=access.actor(),
        )
    except EventError as error:
        raise AccessRefusal("basis_refused", str(error), 422) from error
    _reload(services)
    return BasisOut.of(basis, source.name, utcnow())


@router.post("/api/analytics/bases/{basis_id}/revoke")
def revoke_basis(
    basis_id: str,
    body: RevokeIn,
    request: Request,
    access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE, target=basis_target))],
) -> BasisOut:
    """Revoke a legal basis now (audited with its reason); the camera's analysis stops at the next reload."""
    services = services_of(request)
    source = _source(access)
    assert access.target is not None
    try:
        basis = services.events.revoke_legal_basis(
            int(access.target.object_ids[0]), actor=access.actor(), reason=body.reason
        )
    except EventError as error:
        raise AccessRefusal("basis_refused", str(error), 422) from error
    _reload(services)
    return BasisOut.of(basis, source.name, utcnow())


@router.put("/api/analytics/cameras/{camera}/zones")
def save_zones(
    camera: str,
    body: ZonesIn,
    request: Request,
    access: Annotated[Access, Depends(require(Action.ANALYTICS_MANAGE, target=camera_target))],
) -> dict[str, Any]:
    """Replace the camera's zones, validated against the picture they were drawn on (422 names the problem)."""
    services = services_of(request)
    source = _source(access)
    document: dict[str, Any] = {"zones": body.zones}
    if body.person_height is not None:
        document["person_height"] = body.person_height
    try:
        setup = services.zones.save(
            source,
            document,
            width=body.width,
            height=body.height,
            actor=access.actor(),
            abandoned_after=body.abandoned_after,
        )
    except ZoneError as error:
        raise AccessRefusal("zone_invalid", str(error), 422) from error
    _reload(services)
    return setup.as_dict()
