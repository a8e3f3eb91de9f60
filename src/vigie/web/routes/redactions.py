"""Review of redacted derivatives: an investigator steps through the clip, frame by frame, and decides.

A redaction hides faces automatically, and automatic detection misses faces (LAW.md E.29): nothing
is released before a person has looked at every frame. The page shows stills of the *redacted*
derivative (never the original) with the hidden boxes drawn over them, and the derivative itself
in a player that steps one frame at a time. "0 faces found" is shown as a warning, not as
reassurance: it more often means a missed face than an empty street.

Four eyes: the person who made a redaction may not approve it (they may reject it). Images are
footage (``footage.view``: a reason, written to the register); decisions are ``redactions.review``
and written to the register by ``RedactionService`` with their reason.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import av
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from vigie.access import policy, scope
from vigie.access.audit import AuditRecord
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Person
from vigie.catalog.models import Recording, Source
from vigie.catalog.privacy_models import Redaction
from vigie.privacy.redactions import PENDING, RedactionError
from vigie.web import i18n
from vigie.web.layout import ICONS, h, shell
from vigie.web.security import Access, Target, require, services_of
from vigie.web.services import Services

router = APIRouter(tags=["redactions"])
MAX_STILLS = 48  # stills per request: enough to step through a short clip, bounded for long ones

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.redactions": "Floutages à vérifier",
        "redactions.title": "Floutages à vérifier",
        "redactions.intro": "Copies floutées d'enregistrements (visages masqués automatiquement). Aucune copie "
        "n'est communiquée avant qu'une personne ne l'ait vérifiée image par image.",
        "redactions.recording": "Enregistrement",
        "redactions.source": "Source",
        "redactions.created": "Créée le",
        "redactions.created_by": "Par",
        "redactions.faces": "Visages trouvés",
        "redactions.frames": "Images",
        "redactions.status": "Statut",
        "redactions.status.pending-review": "à vérifier",
        "redactions.status.approved": "approuvée",
        "redactions.status.rejected": "rejetée",
        "redactions.open": "Vérifier",
        "redactions.empty": "Aucun floutage à vérifier.",
        "redactions.review_title": "Vérification du floutage",
        "redactions.zero_faces": "0 visage trouvé : vérifiez avec une attention particulière. La détection "
        "automatique a pu manquer des visages (petits, de profil, dans l'ombre) ; regardez chaque image.",
        "redactions.faces_found": "visage(s) masqué(s) détecté(s) automatiquement : vérifiez qu'aucun visage "
        "n'est resté visible.",
        "redactions.reason": "Motif de consultation des images (inscrit au registre)",
        "redactions.load": "Afficher les images",
        "redactions.frame": "Image",
        "redactions.time": "Temps",
        "redactions.boxes": "Zones masquées",
        "redactions.previous": "Image précédente",
        "redactions.next": "Image suivante",
        "redactions.player": "Lecture image par image de la copie floutée",
        "redactions.decision_reason": "Motif de la décision",
        "redactions.approve": "Approuver la copie",
        "redactions.reject": "Rejeter la copie",
        "redactions.own": "Vous avez créé ce floutage : un autre enquêteur doit l'approuver (double regard). "
        "Vous pouvez le rejeter.",
        "redactions.decided": "Décision enregistrée au registre.",
        "redactions.detector": "Détecteur",
        "redactions.masks": "Masques de confidentialité",
        "redactions.sha256": "Empreinte SHA-256",
        "error.own_redaction": "Vous ne pouvez pas approuver votre propre floutage.",
        "error.already_decided": "Ce floutage a déjà fait l'objet d'une décision.",
        "error.redaction_error": "Opération impossible sur ce floutage.",
    },
    "en": {
        "nav.redactions": "Redactions to review",
        "redactions.title": "Redactions to review",
        "redactions.intro": "Redacted copies of recordings (faces hidden automatically). No copy is released "
        "before a person has checked it frame by frame.",
        "redactions.recording": "Recording",
        "redactions.source": "Source",
        "redactions.created": "Created",
        "redactions.created_by": "By",
        "redactions.faces": "Faces found",
        "redactions.frames": "Frames",
        "redactions.status": "Status",
        "redactions.status.pending-review": "to review",
        "redactions.status.approved": "approved",
        "redactions.status.rejected": "rejected",
        "redactions.open": "Review",
        "redactions.empty": "No redaction to review.",
        "redactions.review_title": "Redaction review",
        "redactions.zero_faces": "0 faces found: review carefully. Automatic detection may have missed faces "
        "(small, in profile, in shadow); look at every frame.",
        "redactions.faces_found": "face(s) hidden by automatic detection: check that no face is left visible.",
        "redactions.reason": "Reason for viewing the images (written to the register)",
        "redactions.load": "Show the images",
        "redactions.frame": "Frame",
        "redactions.time": "Time",
        "redactions.boxes": "Hidden areas",
        "redactions.previous": "Previous frame",
        "redactions.next": "Next frame",
        "redactions.player": "Frame-by-frame playback of the redacted copy",
        "redactions.decision_reason": "Reason for the decision",
        "redactions.approve": "Approve the copy",
        "redactions.reject": "Reject the copy",
        "redactions.own": "You made this redaction: another investigator must approve it (four eyes). You may "
        "reject it.",
        "redactions.decided": "Decision written to the register.",
        "redactions.detector": "Detector",
        "redactions.masks": "Privacy masks",
        "redactions.sha256": "SHA-256",
        "error.own_redaction": "You cannot approve your own redaction.",
        "error.already_decided": "This redaction was already decided.",
        "error.redaction_error": "This redaction cannot be processed.",
    },
}
for _language, _messages in MESSAGES.items():
    for _key, _text in _messages.items():
        i18n.MESSAGES[_language].setdefault(_key, _text)
# The navigation's icon for this page (the shell's icon set is open to features, like its messages).
ICONS.setdefault(
    "blur",
    '<circle cx="12" cy="9" r="4"/><path d="M5 21c0-4 3-6 7-6s7 2 7 6"/>'
    '<path d="M3 12h18M3 6h18" stroke-dasharray="2 2"/>',
)


# -- models -------------------------------------------------------------------------------------------


class RedactionOut(BaseModel):
    id: str
    recording_id: str
    source: str
    status: str
    frames: int
    faces_found: int
    frames_with_faces: int
    detector: str
    detector_version: str
    masks: list[str]
    sha256: str
    size: int
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None

    @classmethod
    def of(cls, row: Redaction, source: Source) -> RedactionOut:
        return cls(
            id=row.id,
            recording_id=row.recording_id,
            source=source.name,
            status=row.status,
            frames=row.frames,
            faces_found=row.faces_found,
            frames_with_faces=row.frames_with_faces,
            detector=row.detector,
            detector_version=row.detector_version,
            masks=list(row.masks or []),
            sha256=row.sha256,
            size=row.size,
            created_by=row.created_by,
            created_at=row.created_at,
            reviewed_by=row.reviewed_by,
            reviewed_at=row.reviewed_at,
            review_reason=row.review_reason,
        )


class FrameOut(BaseModel):
    index: int
    t: float
    boxes: list[list[int]] = Field(description="[x, y, w, h] hidden in this frame, in the video's pixels.")


class RedactionDetailOut(RedactionOut):
    fps: float = Field(description="Frames per second of the derivative (for frame stepping).")
    frame_list: list[FrameOut]
    may_approve: bool = Field(description="False for the person who made it (four eyes).")


class StillOut(BaseModel):
    index: int
    t: float
    boxes: list[list[int]]
    jpeg: str = Field(description="data: URL of a JPEG still of the redacted derivative.")


class StillsOut(BaseModel):
    width: int = Field(description="Width of the stills; boxes are in the video's pixels (see video_width).")
    video_width: int
    stills: list[StillOut]


class DecisionIn(BaseModel):
    reason: str = Field(min_length=8, max_length=2000)


# -- targets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedactionRef:
    redaction: Redaction
    source: Source


def redaction_target(request: Request, services: Services) -> Target:
    """The redaction named in the path, in scope when its recording is (officers: their own only)."""
    redaction_id = str(request.path_params.get("redaction_id", ""))
    with services.catalog.session() as session:
        row = session.get(Redaction, redaction_id)
        if row is None:
            raise AccessRefusal("not_found", f"no redaction {redaction_id!r}", 404)
        source = session.get(Source, row.source_id)
        recording = session.get(Recording, row.recording_id)
        assert source is not None and recording is not None
    officer = scope.recording_officer(recording)

    def in_scope(user: Person) -> bool:
        return policy.can_access_recording(user, source, officer)

    return Target("redaction", (row.id, row.recording_id), in_scope, RedactionRef(row, source))


def _ref(access: Access) -> RedactionRef:
    assert access.target is not None and isinstance(access.target.value, RedactionRef)
    return access.target.value


def _video_width(services: Services, row: Redaction) -> int:
    """The derivative's picture width: boxes are in its pixels, stills are scaled."""
    with av.open(io.BytesIO(services.redactions.derivative(row)), "r") as container:
        return int(container.streams.video[0].codec_context.width)


def _fps(row: Redaction, times: list[float]) -> float:
    if len(times) >= 2 and times[-1] > times[0]:
        return round((len(times) - 1) / (times[-1] - times[0]), 3)
    value = (row.parameters or {}).get("fps")
    return float(value) if isinstance(value, int | float) and value > 0 else 25.0


# -- pages --------------------------------------------------------------------------------------------


def _t(request: Request) -> i18n.Translator:
    return i18n.translator(request, services_of(request).settings.web.default_language)


@router.get("/redactions", include_in_schema=False)
def redactions_page(
    request: Request, access: Annotated[Access, Depends(require(Action.REDACTIONS_REVIEW, page=True))]
) -> Response:
    t = _t(request)
    columns = ("created", "source", "recording", "frames", "faces", "created_by", "status")
    head = "".join(f'<th scope="col">{h(t("redactions." + name))}</th>' for name in columns)
    content = (
        f'<p class="muted">{h(t("redactions.intro"))}</p>'
        '<div class="table-wrap"><table class="data" id="redactions-table">'
        f'<thead><tr>{head}<th scope="col"></th></tr></thead><tbody></tbody></table></div>'
    )
    return shell(request, access, t, title=t("redactions.title"), content=content, scripts=("redaction.js",))


@router.get("/redactions/{redaction_id}", include_in_schema=False)
def redaction_review_page(
    redaction_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.REDACTIONS_REVIEW, target=redaction_target, page=True))],
) -> Response:
    t = _t(request)
    ref = _ref(access)
    row = ref.redaction
    if row.faces_found == 0:
        # The most important sentence of the page: an empty result is a reason to look harder.
        warning = (
            f'<p class="alert warning zero-faces" role="alert" data-testid="zero-faces">'
            f"<strong>{h(t('redactions.zero_faces'))}</strong></p>"
        )
    else:
        warning = f'<p class="alert notice" role="status">{row.faces_found} {h(t("redactions.faces_found"))}</p>'
    may_approve = row.created_by != access.user.username
    facts = (
        '<dl class="facts">'
        f"<dt>{h(t('redactions.source'))}</dt><dd>{h(ref.source.name)}</dd>"
        f"<dt>{h(t('redactions.recording'))}</dt><dd><code>{h(row.recording_id)}</code></dd>"
        f"<dt>{h(t('redactions.frames'))}</dt><dd>{row.frames}</dd>"
        f'<dt>{h(t("redactions.faces"))}</dt><dd data-testid="faces-found">{row.faces_found}</dd>'
        f"<dt>{h(t('redactions.created_by'))}</dt><dd>{h(row.created_by)}</dd>"
        f"<dt>{h(t('redactions.detector'))}</dt><dd>{h(row.detector_version)}</dd>"
        f"<dt>{h(t('redactions.masks'))}</dt><dd>{h(', '.join(row.masks or []) or t('common.none'))}</dd>"
        f"<dt>{h(t('redactions.sha256'))}</dt><dd><code>{h(row.sha256)}</code></dd>"
        f'<dt>{h(t("redactions.status"))}</dt><dd id="redaction-status">'
        f"{h(t('redactions.status.' + row.status))}</dd>"
        "</dl>"
    )
    decision = ""
    if row.status == PENDING:
        own = "" if may_approve else f'<p class="alert notice" role="note">{h(t("redactions.own"))}</p>'
        approve = (
            f'<button type="button" class="button primary" id="redaction-approve">{h(t("redactions.approve"))}</button>'
            if may_approve
            else ""
        )
        decision = (
            f'<section class="card" id="redaction-decision">{own}'
            f'<label>{h(t("redactions.decision_reason"))}<textarea id="decision-reason" rows="2" minlength="8" '
            'maxlength="2000" required></textarea></label>'
            f'<div class="toolbar">{approve}'
            f'<button type="button" class="button danger" id="redaction-reject">{h(t("redactions.reject"))}</button>'
            '</div><p class="alert" id="decision-message" role="status" hidden></p></section>'
        )
    content = (
        f'<div id="redaction-review" data-id="{h(row.id)}">{warning}'
        f'<section class="card">{facts}</section>'
        '<form id="redaction-reason" class="card reason-form">'
        f'<label>{h(t("redactions.reason"))}<input name="reason" required minlength="8" autocomplete="off"></label>'
        f'<button type="submit" class="button primary">{h(t("redactions.load"))}</button></form>'
        '<section class="review-stage" id="review-stage" hidden>'
        '<div class="stage-main"><div class="still-wrap"><img id="still" alt=""><canvas id="still-boxes"></canvas>'
        "</div>"
        '<div class="toolbar">'
        f'<button type="button" class="button" id="still-prev" aria-label="{h(t("redactions.previous"))}">‹ '
        f"{h(t('redactions.previous'))}</button>"
        '<span id="still-info" role="status"></span>'
        f'<button type="button" class="button" id="still-next" aria-label="{h(t("redactions.next"))}">'
        f"{h(t('redactions.next'))} ›</button></div></div>"
        '<ol class="still-strip" id="still-strip"></ol>'
        f'<details class="card"><summary>{h(t("redactions.player"))}</summary>'
        '<div class="still-wrap"><video id="redaction-video" preload="none" muted playsinline></video>'
        '<canvas id="video-boxes"></canvas></div>'
        '<div class="toolbar">'
        f'<button type="button" class="button" id="video-prev">‹ {h(t("redactions.previous"))}</button>'
        '<span id="video-info" role="status"></span>'
        f'<button type="button" class="button" id="video-next">{h(t("redactions.next"))} ›</button></div>'
        "</details></section>"
        f"{decision}</div>"
    )
    return shell(request, access, t, title=t("redactions.review_title"), content=content, scripts=("redaction.js",))


# -- API ----------------------------------------------------------------------------------------------


@router.get("/api/redactions")
def list_redactions(
    request: Request,
    access: Annotated[Access, Depends(require(Action.REDACTIONS_REVIEW))],
    status: Annotated[str | None, Query(pattern="^(pending-review|approved|rejected)$")] = None,
) -> list[RedactionOut]:
    """Redactions of recordings within one's scope, newest first."""
    services = services_of(request)
    with services.catalog.session() as session:
        query = (
            select(Redaction, Source, Recording)
            .join(Source, Redaction.source_id == Source.id)
            .join(Recording, Redaction.recording_id == Recording.id)
            .order_by(Redaction.created_at.desc())
            .limit(500)
        )
        if status is not None:
            query = query.where(Redaction.status == status)
        rows = session.execute(query).all()
    user = access.user
    return [
        RedactionOut.of(row, source)
        for row, source, recording in rows
        if policy.can_access_recording(user, source, scope.recording_officer(recording))
    ]


@router.get("/api/redactions/{redaction_id}")
def redaction_detail(
    redaction_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.REDACTIONS_REVIEW, target=redaction_target))],
) -> RedactionDetailOut:
    """A redaction and the boxes hidden in each of its frames (metadata only: no image)."""
    services = services_of(request)
    ref = _ref(access)
    frames = services.redactions.frames(ref.redaction.id)
    base = RedactionOut.of(ref.redaction, ref.source)
    return RedactionDetailOut(
        **base.model_dump(),
        fps=_fps(ref.redaction, [frame.t for frame in frames]),
        frame_list=[
            FrameOut(index=index, t=frame.t, boxes=[list(box) for box in frame.boxes])
            for index, frame in enumerate(frames)
        ],
        may_approve=ref.redaction.created_by != access.user.username,
    )


@router.get("/api/redactions/{redaction_id}/stills")
async def redaction_stills(
    redaction_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.FOOTAGE_VIEW, target=redaction_target))],
    count: Annotated[int, Query(ge=1, le=MAX_STILLS)] = 24,
    width: Annotated[int, Query(ge=80, le=1280)] = 480,
) -> StillsOut:
    """Evenly spaced stills of the redacted derivative (never the original), with their hidden boxes.

    Footage: needs a reason; one register entry covers the whole batch.
    """
    services = services_of(request)
    ref = _ref(access)
    stills = await run_in_threadpool(
        services.redactions.thumbnails, ref.redaction.id, count=min(count, max(1, ref.redaction.frames)), width=width
    )
    times = [frame.t for frame in await run_in_threadpool(services.redactions.frames, ref.redaction.id)]
    index_of = {round(t, 6): index for index, t in enumerate(times)}
    video_width = await run_in_threadpool(_video_width, services, ref.redaction)
    return StillsOut(
        width=width,
        video_width=video_width,
        stills=[
            StillOut(
                index=index_of.get(round(still.t, 6), 0),
                t=still.t,
                boxes=[list(box) for box in still.boxes],
                jpeg="data:image/jpeg;base64," + base64.b64encode(still.jpeg).decode("ascii"),
            )
            for still in stills
        ],
    )


@router.get(
    "/api/redactions/{redaction_id}/video",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "The redacted derivative (written to the register)."}
    },
)
async def redaction_video(
    redaction_id: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.FOOTAGE_VIEW, target=redaction_target))],
) -> Response:
    """The redacted derivative itself, checked against its sha256, for frame-by-frame playback."""
    services = services_of(request)
    ref = _ref(access)
    try:
        data = await run_in_threadpool(services.redactions.derivative, ref.redaction)
    except RedactionError as error:
        raise AccessRefusal("redaction_error", str(error), 409) from error
    return Response(data, media_type="video/mp4", headers={"Cache-Control": "no-store"})


def _decide(request: Request, access: Access, body: DecisionIn, *, approve: bool) -> RedactionOut:
    services = services_of(request)
    ref = _ref(access)
    row = ref.redaction
    if approve and row.created_by == access.user.username:
        # Four eyes: whoever made the derivative cannot also release it. The attempt is on the register.
        refusal = AccessRefusal("own_redaction", "the person who made a redaction cannot approve it", 403)
        services.audit.append(
            access.actor(),
            AuditRecord(
                action="redaction.approve",
                object_type="redaction",
                object_ids=[row.id, row.recording_id],
                reason=body.reason.strip(),
                outcome="refused",
                details={"code": refusal.code, "why": refusal.message},
            ),
        )
        raise refusal
    try:
        if approve:
            decided = services.redactions.approve(row.id, access.actor(), reason=body.reason.strip())
        else:
            decided = services.redactions.reject(row.id, access.actor(), reason=body.reason.strip())
    except RedactionError as error:
        text = str(error)
        if "already" in text:
            raise AccessRefusal("already_decided", text, 409) from error
        raise AccessRefusal("redaction_error", text, 422) from error
    return RedactionOut.of(decided, ref.source)


@router.post("/api/redactions/{redaction_id}/approve")
def approve_redaction(
    redaction_id: str,
    body: DecisionIn,
    request: Request,
    access: Annotated[Access, Depends(require(Action.REDACTIONS_REVIEW, target=redaction_target))],
) -> RedactionOut:
    """Release the derivative for export. Refused to the person who made it (403 own_redaction)."""
    return _decide(request, access, body, approve=True)


@router.post("/api/redactions/{redaction_id}/reject")
def reject_redaction(
    redaction_id: str,
    body: DecisionIn,
    request: Request,
    access: Annotated[Access, Depends(require(Action.REDACTIONS_REVIEW, target=redaction_target))],
) -> RedactionOut:
    """Refuse the derivative (something left visible, or too much hidden)."""
    return _decide(request, access, body, approve=False)
