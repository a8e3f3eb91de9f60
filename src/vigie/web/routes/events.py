"""The alert queue: analytic events for operators, live over Server-Sent Events, each awaiting a human.

* ``GET /alerts``: the page. It asks once per watching session why its user looks at alert images
  (the reason is sent with every snapshot and review, and written to the register).
* ``GET /api/events`` and ``GET /api/events/stream``: alert metadata within one's scope (camera,
  type, score, time, decision); no image bytes, so no reason is asked (``events.read``).
* ``GET /api/events/{id}/snapshot``: the masked snapshot, a footage action (``events.review``).
* ``POST /api/events/{id}/review``: confirm or dismiss, with a comment; once only; audited twice
  (the consultation with its reason, the decision with its comment).

Nothing automatic follows an alert (décret 2023-828 art. 2; LAW.md F.36): no export, no message,
no escalation. The page says so.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from vigie.access import policy, scope
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Person
from vigie.catalog.event_models import Event
from vigie.catalog.models import Source
from vigie.events.service import HEALTH_SIGNAL_TYPES, LEGAL_EVENT_TYPES, EventError, event_payload
from vigie.web import i18n
from vigie.web.layout import ICONS, h, shell
from vigie.web.security import Access, Target, authenticate, require, services_of
from vigie.web.services import Services

router = APIRouter(tags=["events"])

# How long the stream sleeps when the bus has nothing, and how often it proves it is alive and
# re-checks the session (a revoked or expired session ends the stream).
STREAM_POLL_SECONDS = 0.25
STREAM_KEEPALIVE_SECONDS = 15.0
STREAM_RECHECK_SECONDS = 30.0

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.alerts": "Alertes",
        "alerts.title": "File des alertes",
        "alerts.intro": "Signalements des traitements algorithmiques autorisés, en direct. Chaque alerte attend "
        "votre décision : confirmer ou écarter, avec un commentaire.",
        "alerts.no_automation": "Aucune action automatique ne suit une alerte : ni intervention, ni export, ni "
        "message. Seule la décision d'un opérateur compte (décret n° 2023-828, art. 2).",
        "alerts.reason": "Motif de consultation des images d'alerte (inscrit au registre)",
        "alerts.reason_placeholder": "ex. : veille du poste de commandement, service de nuit",
        "alerts.start": "Commencer la veille",
        "alerts.reason_set": "Motif de la veille",
        "alerts.change_reason": "Changer de motif",
        "alerts.pending": "En attente de décision",
        "alerts.history": "Historique des décisions",
        "alerts.empty": "Aucune alerte en attente.",
        "alerts.history_empty": "Aucune décision pour l'instant.",
        "alerts.camera": "Caméra",
        "alerts.type": "Type",
        "alerts.score": "Score",
        "alerts.time": "Heure",
        "alerts.decision": "Décision",
        "alerts.by": "Par",
        "alerts.comment": "Commentaire",
        "alerts.comment_placeholder": "Ce que vous avez constaté (obligatoire)",
        "alerts.comment_required": "Un commentaire est obligatoire pour confirmer ou écarter une alerte.",
        "alerts.confirm": "Confirmer",
        "alerts.dismiss": "Écarter",
        "alerts.confirmed": "confirmée",
        "alerts.dismissed": "écartée",
        "alerts.live": "En direct",
        "alerts.offline": "Connexion perdue, reconnexion…",
        "alerts.snapshot": "Image de l'alerte (zones privées masquées)",
        "alerts.no_snapshot": "Pas d'image",
        "alerts.recording": "Enregistrement",
        "alerts.new": "Nouvelle alerte",
        "event.type.abandoned_object": "Objet abandonné",
        "event.type.wrong_way": "Non-respect du sens de circulation",
        "event.type.zone_intrusion": "Présence en zone interdite",
        "event.type.person_down": "Personne au sol",
        "event.type.crowd_movement": "Mouvement de foule",
        "event.type.crowd_density": "Densité excessive de personnes",
        "event.type.fire": "Départ de feu",
        "event.type.camera_tamper": "Caméra masquée ou déplacée",
        "event.type.motion": "Mouvement dans l'image",
        "error.already_reviewed": "Cette alerte a déjà été traitée.",
        "error.comment_required": "Un commentaire est obligatoire.",
        "error.no_snapshot": "Cette alerte n'a pas d'image.",
    },
    "en": {
        "nav.alerts": "Alerts",
        "alerts.title": "Alert queue",
        "alerts.intro": "Signals from the authorised algorithmic processing, live. Each alert awaits your decision: "
        "confirm or dismiss, with a comment.",
        "alerts.no_automation": "Nothing automatic follows an alert: no intervention, no export, no message. Only "
        "an operator's decision counts (décret n° 2023-828, art. 2).",
        "alerts.reason": "Reason for viewing alert images (written to the register)",
        "alerts.reason_placeholder": "e.g. control room watch, night shift",
        "alerts.start": "Start watching",
        "alerts.reason_set": "Reason for this watch",
        "alerts.change_reason": "Change reason",
        "alerts.pending": "Awaiting a decision",
        "alerts.history": "Decisions",
        "alerts.empty": "No pending alert.",
        "alerts.history_empty": "No decision yet.",
        "alerts.camera": "Camera",
        "alerts.type": "Type",
        "alerts.score": "Score",
        "alerts.time": "Time",
        "alerts.decision": "Decision",
        "alerts.by": "By",
        "alerts.comment": "Comment",
        "alerts.comment_placeholder": "What you saw (required)",
        "alerts.comment_required": "A comment is required to confirm or dismiss an alert.",
        "alerts.confirm": "Confirm",
        "alerts.dismiss": "Dismiss",
        "alerts.confirmed": "confirmed",
        "alerts.dismissed": "dismissed",
        "alerts.live": "Live",
        "alerts.offline": "Connection lost, reconnecting…",
        "alerts.snapshot": "Alert image (private areas masked)",
        "alerts.no_snapshot": "No image",
        "alerts.recording": "Recording",
        "alerts.new": "New alert",
        "event.type.abandoned_object": "Abandoned object",
        "event.type.wrong_way": "Wrong-way movement",
        "event.type.zone_intrusion": "Presence in a forbidden zone",
        "event.type.person_down": "Person on the ground",
        "event.type.crowd_movement": "Crowd movement",
        "event.type.crowd_density": "Excessive crowd density",
        "event.type.fire": "Fire start",
        "event.type.camera_tamper": "Camera covered or moved",
        "event.type.motion": "Motion in the picture",
        "error.already_reviewed": "This alert was already reviewed.",
        "error.comment_required": "A comment is required.",
        "error.no_snapshot": "This alert has no image.",
    },
}
for _language, _messages in MESSAGES.items():
    for _key, _text in _messages.items():
        i18n.MESSAGES[_language].setdefault(_key, _text)
# The navigation's icon for this page (the shell's icon set is open to features, like its messages).
ICONS.setdefault("bell", '<path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4z"/><path d="M10 20a2 2 0 0 0 4 0"/>')

EVENT_TYPES = tuple(sorted(LEGAL_EVENT_TYPES | HEALTH_SIGNAL_TYPES))


# -- models -------------------------------------------------------------------------------------------


class EventOut(BaseModel):
    """An alert as screens show it: no image bytes (the snapshot has its own, audited, route)."""

    id: str
    camera: str
    type: str = Field(description=f"One of: {', '.join(EVENT_TYPES)}.")
    start: datetime
    end: datetime | None
    score: float
    status: Literal["pending", "confirmed", "dismissed"]
    box: list[int] | None = Field(description="[x, y, w, h] in the analysed picture's pixels (details.frame).")
    has_snapshot: bool
    recording_id: str | None = Field(description="The recording running at that instant: the link to the footage.")
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: Event, camera: str) -> EventOut:
        return cls.model_validate(
            {
                **event_payload(event, camera),
                "start": event.start,
                "end": event.end,
                "reviewed_at": event.reviewed_at,
            }
        )


class ReviewIn(BaseModel):
    decision: Literal["confirmed", "dismissed"]
    comment: str = Field(max_length=2000, description="What the operator saw. Required, never empty.")

    @field_validator("comment")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a review needs a comment")
        return value.strip()


# -- targets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRef:
    event: Event
    source: Source


def event_target(request: Request, services: Services) -> Target:
    """The event named in the path (404 if unknown), in scope when its camera is."""
    event_id = str(request.path_params.get("event_id", ""))
    with services.catalog.session() as session:
        event = session.get(Event, event_id)
        if event is None:
            raise AccessRefusal("not_found", f"no event {event_id!r}", 404)
        source = session.get(Source, event.source_id)
        assert source is not None

    def in_scope(user: Person) -> bool:
        return policy.can_access_source(user, source)

    return Target("event", (event.id, source.name), in_scope, EventRef(event, source))


def _ref(access: Access) -> EventRef:
    assert access.target is not None and isinstance(access.target.value, EventRef)
    return access.target.value


# -- page ---------------------------------------------------------------------------------------------


@router.get("/alerts", include_in_schema=False)
def alerts_page(
    request: Request, access: Annotated[Access, Depends(require(Action.EVENTS_READ, page=True))]
) -> Response:
    t = i18n.translator(request, services_of(request).settings.web.default_language)
    can_review = policy.allows(access.user.role, Action.EVENTS_REVIEW)
    reason_form = (
        '<form id="alerts-reason" class="card reason-form">'
        f'<label>{h(t("alerts.reason"))}<input name="reason" id="alerts-reason-input" required minlength="8" '
        f'maxlength="500" autocomplete="off" placeholder="{h(t("alerts.reason_placeholder"))}"></label>'
        f'<button type="submit" class="button primary" id="alerts-start">{h(t("alerts.start"))}</button>'
        "</form>"
        '<p class="card reason-set" id="alerts-reason-set" hidden>'
        f'<span>{h(t("alerts.reason_set"))} : <strong id="alerts-reason-text"></strong></span>'
        f'<button type="button" class="button ghost" id="alerts-change-reason">{h(t("alerts.change_reason"))}'
        "</button></p>"
    )
    history_head = "".join(
        f'<th scope="col">{h(t("alerts." + name))}</th>'
        for name in ("time", "camera", "type", "score", "decision", "by", "comment")
    )
    content = (
        f'<p class="muted">{h(t("alerts.intro"))}</p>'
        f'<p class="alert notice no-automation" role="note" data-testid="no-automation">'
        f"{h(t('alerts.no_automation'))}</p>"
        f"{reason_form}"
        '<div class="toolbar"><span id="alerts-live" class="badge" role="status" aria-live="polite"></span></div>'
        f'<section aria-labelledby="alerts-pending-title"><h2 id="alerts-pending-title">{h(t("alerts.pending"))} '
        '<span class="count" id="alerts-count">0</span></h2>'
        f'<div id="alert-queue" class="alert-queue" aria-live="polite" data-review="{int(can_review)}">'
        f'<p class="muted" id="alerts-empty">{h(t("alerts.empty"))}</p></div></section>'
        f"<section><h2>{h(t('alerts.history'))}</h2>"
        '<div class="table-wrap"><table class="data" id="alert-history">'
        f"<thead><tr>{history_head}</tr></thead><tbody></tbody></table></div></section>"
    )
    return shell(request, access, t, title=t("alerts.title"), content=content, scripts=("alerts.js",))


# -- API ----------------------------------------------------------------------------------------------


def _in_scope_sources(services: Services, user: Person) -> dict[int, Source]:
    with services.catalog.session() as session:
        return {source.id: source for source in scope.sources_in_scope(session, user)}


@router.get("/api/events")
def list_events(
    request: Request,
    access: Annotated[Access, Depends(require(Action.EVENTS_READ))],
    status: Annotated[Literal["pending", "reviewed", "all"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[EventOut]:
    """Alerts of cameras within one's scope, newest first: pending, reviewed (confirmed or dismissed), or all."""
    services = services_of(request)
    sources = _in_scope_sources(services, access.user)
    with services.catalog.session() as session:
        query = select(Event).where(Event.source_id.in_(set(sources))).order_by(Event.created_at.desc()).limit(limit)
        if status == "pending":
            query = query.where(Event.status == "pending")
        elif status == "reviewed":
            query = query.where(Event.status != "pending")
        rows = list(session.execute(query).scalars())
    return [EventOut.of(event, sources[event.source_id].name) for event in rows]


def _sse(kind: str, payload: dict[str, Any], ident: str | None = None) -> str:
    lines = [f"event: {kind}"]
    if ident:
        lines.append(f"id: {ident}")
    lines.append("data: " + json.dumps(payload, default=str, ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


@router.get(
    "/api/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "alert and review events (SSE)"}},
)
async def event_stream(
    request: Request, access: Annotated[Access, Depends(require(Action.EVENTS_READ))]
) -> StreamingResponse:
    """New alerts (``event: alert``) and decisions (``event: review``) of cameras in scope, as they happen.

    Fed by the event bus (in-process, or NATS at scale). A client that reconnects reloads
    ``/api/events`` for what it missed. The stream ends when the session does.
    """
    services = services_of(request)
    user = access.user
    subscription = services.events.bus.subscribe("vigie.events.>")
    units: dict[str, bool] = {}

    def allowed(camera: str) -> bool:
        if camera not in units:
            with services.catalog.session() as session:
                source = session.execute(select(Source).where(Source.name == camera)).scalar_one_or_none()
            units[camera] = source is not None and policy.can_access_source(user, source)
        return units[camera]

    async def body() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        last_sent = last_check = loop.time()
        try:
            yield "retry: 3000\n\n" + _sse("ready", {"user": user.username})
            while True:
                item = subscription.get(timeout=0)  # never blocks the event loop
                now = loop.time()
                if item is None:
                    if subscription.closed or await request.is_disconnected():
                        return  # the client left, or the bus closed (server shutting down)
                    if now - last_check >= STREAM_RECHECK_SECONDS:
                        last_check = now
                        try:
                            await run_in_threadpool(authenticate, request, services)
                        except AccessRefusal as refusal:
                            yield _sse("end", {"code": refusal.code})
                            return
                    if now - last_sent >= STREAM_KEEPALIVE_SECONDS:
                        last_sent = now
                        yield ": keep-alive\n\n"
                    await asyncio.sleep(STREAM_POLL_SECONDS)
                    continue
                subject, payload = item
                camera = str(payload.get("camera", ""))
                if not subject or not camera or not await run_in_threadpool(allowed, camera):
                    continue
                kind = "review" if subject.endswith(".review") else "alert"
                last_sent = now
                yield _sse(kind, payload, str(payload.get("id", "")))
        finally:
            subscription.close()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/api/events/{event_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The masked snapshot (written to the register)."}},
)
def event_snapshot(
    event_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.EVENTS_REVIEW, target=event_target))],
) -> Response:
    """The alert's picture (privacy masks burnt in). Needs a reason; the register has it before a byte leaves."""
    ref = _ref(access)
    data = services_of(request).events.snapshot(ref.event)
    if data is None:
        raise AccessRefusal("no_snapshot", f"event {ref.event.id} has no snapshot", 404)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/api/events/{event_id}/review")
def review_event(
    event_id: str,
    body: ReviewIn,
    request: Request,
    access: Annotated[Access, Depends(require(Action.EVENTS_REVIEW, target=event_target))],
) -> EventOut:
    """Confirm or dismiss an alert with a comment. Once only; the decision and its comment are audited."""
    services = services_of(request)
    ref = _ref(access)
    try:
        event = services.events.review(ref.event.id, decision=body.decision, comment=body.comment, actor=access.actor())
    except EventError as error:
        text = str(error)
        if "already" in text:
            raise AccessRefusal("already_reviewed", text, 409) from error
        raise AccessRefusal("comment_required" if "comment" in text else "invalid_request", text, 422) from error
    return EventOut.of(event, ref.source.name)
