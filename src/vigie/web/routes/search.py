"""Search by place and time (API and map page), and the camera positions the map shows.

A place search reveals where officers were: it is refused without a reason (officers also state
one of the four purposes of L241-1), and each search, with its circle, period and the recordings
it returned, is written to the register. Results are cut to the caller's scope (officers: their
own body-cam recordings only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from vigie.access import policy
from vigie.access.audit import AuditRecord
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Purpose, Role
from vigie.catalog.models import Source
from vigie.ingest.bodycam.search import PlaceTimeQuery, SearchError, SearchHit, search_place_time
from vigie.web import i18n
from vigie.web.errors import problem
from vigie.web.layout import h, shell
from vigie.web.routes.bodycam import MESSAGES  # noqa: F401  (registers the map's words in the catalogue)
from vigie.web.security import Access, require, services_of

router = APIRouter(tags=["search"])
MAX_RESULTS = 1000


class _Scoped:
    """A search hit seen as a source for the policy (it carries the source's unit)."""

    def __init__(self, unit: str | None) -> None:
        self.unit = unit


def visible(access: Access, hit: SearchHit) -> bool:
    return policy.can_access_recording(access.user, _Scoped(hit.unit), hit.officer if hit.kind == "bodycam" else None)


@router.get("/api/search")
def search(
    request: Request,
    access: Annotated[Access, Depends(require(Action.RECORDINGS_SEARCH))],
    lat: Annotated[float, Query(ge=-90, le=90, description="Centre latitude (WGS 84 degrees).")],
    lon: Annotated[float, Query(ge=-180, le=180, description="Centre longitude (WGS 84 degrees).")],
    radius_m: Annotated[float, Query(gt=0, description="Radius in metres.")],
    start: Annotated[datetime, Query(alias="from", description="Start of the period (ISO 8601 with zone).")],
    end: Annotated[datetime, Query(alias="to", description="End of the period (ISO 8601 with zone).")],
    reason: Annotated[str | None, Query(max_length=500, description="Why (written to the register).")] = None,
    purpose: Annotated[str | None, Query(description="Officers: one of the four purposes of L241-1.")] = None,
    procedure: Annotated[str | None, Query(max_length=120, description="Procedure number, if any.")] = None,
) -> Any:
    """Recordings that were within ``radius_m`` of (lat, lon) during [from, to], with the time spans they were.

    Body-cam recordings by their GPS track (exact haversine on every point), fixed cameras by their
    registered position. Needs a reason (and a purpose for officers); written to the register.
    """
    services = services_of(request)
    settings = services.settings
    actor = access.actor()
    query = PlaceTimeQuery(lat, lon, radius_m, start, end)
    try:
        justification = policy.justify(
            Action.RECORDINGS_SEARCH,
            access.user.role,
            reason=reason,
            purpose=purpose,
            procedure=procedure,
            min_reason_length=settings.access.min_reason_length,
        )
        query.check(max_radius_m=settings.bodycam.search_max_radius_m, max_days=settings.bodycam.search_max_days)
    except (AccessRefusal, SearchError) as refusal:
        code = refusal.code if isinstance(refusal, AccessRefusal) else "bad_search"
        message = refusal.message if isinstance(refusal, AccessRefusal) else str(refusal)
        services.audit.append(
            actor,
            AuditRecord(
                action=Action.RECORDINGS_SEARCH.value,
                object_type="place",
                reason=reason,
                outcome="refused",
                details={"code": code, "why": message, "query": _query_json(lat, lon, radius_m, start, end)},
            ),
        )
        return problem(400, code, message)
    with services.catalog.session() as session:
        hits = search_place_time(
            session,
            query,
            join_seconds=settings.bodycam.span_join_seconds,
            include_cameras=access.user.role != Role.OFFICER,
        )
    hits = [hit for hit in hits if visible(access, hit)]
    truncated = len(hits) > MAX_RESULTS
    hits = hits[:MAX_RESULTS]
    details: dict[str, Any] = {"category": "consultation", "query": query.as_json(), "results": len(hits)}
    if justification.purpose is not None:
        details["purpose"] = justification.purpose.value
    services.audit.append(
        actor,
        AuditRecord(
            action=Action.RECORDINGS_SEARCH.value,
            object_type="recording",
            object_ids=[hit.recording_id for hit in hits],
            reason=justification.reason,
            procedure=justification.procedure,
            details=details,
        ),
    )
    return {"query": query.as_json(), "results": [hit.as_json() for hit in hits], "truncated": truncated}


def _query_json(lat: float, lon: float, radius_m: float, start: datetime, end: datetime) -> dict[str, Any]:
    return {"lat": lat, "lon": lon, "radius_m": radius_m, "from": start.isoformat(), "to": end.isoformat()}


@router.get("/api/map/cameras")
def camera_positions(request: Request, access: Annotated[Access, Depends(require(Action.CAMERAS_READ))]) -> Any:
    """Fixed cameras with a registered position, within the caller's scope, as GeoJSON points."""
    try:
        from vigie.catalog.camera_models import Camera
    except ImportError:
        return {"type": "FeatureCollection", "features": []}
    features = []
    with services_of(request).catalog.session() as session:
        rows = session.execute(
            select(Camera, Source)
            .join(Source, Source.id == Camera.source_id)
            .where(Camera.latitude.is_not(None), Camera.longitude.is_not(None), Camera.removed_at.is_(None))
        ).all()
        for camera, source in rows:
            if not policy.can_access_source(access.user, source):
                continue
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [camera.longitude, camera.latitude]},
                    "properties": {
                        "name": source.name,
                        "unit": source.unit,
                        "heading": camera.heading,
                        "enabled": source.enabled,
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


# -- the map page ---------------------------------------------------------------------------------------


def _tile_origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


@router.get("/map", include_in_schema=False)
def map_page(
    request: Request, access: Annotated[Access, Depends(require(Action.RECORDINGS_SEARCH, page=True))]
) -> Response:
    services = services_of(request)
    settings = services.settings.bodycam
    t = i18n.translator(request, services.settings.web.default_language)
    officer = access.user.role == Role.OFFICER
    purposes = "".join(f'<option value="{p.value}">{h(t("recordings.purpose." + p.value))}</option>' for p in Purpose)
    purpose_field = (
        f'<label>{h(t("map.purpose"))}<select name="purpose" required>{purposes}</select></label>' if officer else ""
    )
    form = (
        '<form id="map-search" class="card"><div class="filters">'
        f'<label>{h(t("map.lat"))}<input name="lat" type="number" step="any" required '
        f'value="{settings.map_centre_lat}"></label>'
        f'<label>{h(t("map.lon"))}<input name="lon" type="number" step="any" required '
        f'value="{settings.map_centre_lon}"></label>'
        f'<label>{h(t("map.radius"))}<input name="radius_m" type="number" min="1" '
        f'max="{settings.search_max_radius_m:g}" step="1" value="250" required></label>'
        f'<label>{h(t("map.from"))}<input name="from" type="datetime-local" required></label>'
        f'<label>{h(t("map.to"))}<input name="to" type="datetime-local" required></label>'
        f'<label>{h(t("map.reason"))}<input name="reason" minlength="{services.settings.access.min_reason_length}" '
        'required autocomplete="off"></label>'
        f"{purpose_field}"
        f'<button type="submit" class="button primary">{h(t("map.search"))}</button>'
        '</div><p class="alert error" id="map-error" hidden></p></form>'
    )
    can_see_cameras = policy.allows(access.user.role, Action.CAMERAS_READ)
    notice = "" if settings.map_tile_url else f'<p class="muted" id="map-no-base">{h(t("map.no_base"))}</p>'
    content = (
        '<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">'
        '<link rel="stylesheet" href="/static/map/map.css">'
        f'<p class="muted">{h(t("map.intro"))}</p>{form}{notice}'
        f'<div id="map" class="map" data-lat="{settings.map_centre_lat}" data-lon="{settings.map_centre_lon}" '
        f'data-tiles="{h(settings.map_tile_url or "")}" data-attribution="{h(settings.map_attribution)}" '
        f'data-cameras="{int(can_see_cameras)}" role="application" aria-label="{h(t("map.title"))}"></div>'
        f'<h2>{h(t("map.results"))}</h2><div id="map-results" aria-live="polite"></div>'
        '<script src="/static/vendor/leaflet/leaflet.js" defer></script>'
        '<script src="/static/map/map.js" defer></script>'
    )
    response = shell(request, access, t, title=t("map.title"), content=content)
    origin = _tile_origin(settings.map_tile_url)
    if origin:
        # The shell's policy allows images from this server only; the map may also load the configured tiles.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: {origin}; media-src 'self'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
    return response
