"""The public transparency page: what the installation recorded, consulted, exported and deleted, by month.

Public on purpose (LAW.md G.41: the city accounts to its residents), so it holds counts only —
never a person, a place, a camera name or an image (:func:`vigie.catalog.statistics.transparency`).
The figures are computed at most once a minute: an anonymous page must not let anyone make the
server scan the whole register on every request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from vigie.catalog.statistics import transparency
from vigie.web import i18n
from vigie.web.layout import h, public_page
from vigie.web.security import PUBLIC, PUBLIC_PAGE, services_of
from vigie.web.services import Services

router = APIRouter(tags=["transparency"])
pages = APIRouter(include_in_schema=False)

CACHE_SECONDS = 60.0
# The charts of the page, in order: (metric key in a month's figures, how to read it).
CHARTS = (
    "recordings",
    "hours_recorded",
    "consultations",
    "exports",
    "deletions_by_retention",
    "missing_footage_items",
    "alerts_confirmed",
    "alerts_dismissed",
)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = 0.0
        self.owner: int | None = None
        self.value: dict[str, Any] = {}


_cache = _Cache()


def figures(services: Services) -> dict[str, Any]:
    """The statistics, recomputed at most once per ``CACHE_SECONDS`` for one installation."""
    with _cache.lock:
        fresh = time.monotonic() - _cache.at < CACHE_SECONDS and _cache.owner == id(services.catalog)
        if not fresh:
            _cache.value = transparency(services.catalog)
            _cache.at, _cache.owner = time.monotonic(), id(services.catalog)
        return _cache.value


def forget() -> None:
    """Drop the cached figures (tests, or right after a purge)."""
    with _cache.lock:
        _cache.at = 0.0


@router.get("/api/transparency", dependencies=[Depends(PUBLIC)])
def transparency_figures(request: Request) -> JSONResponse:
    """Monthly counts for the public: recordings, hours, consultations, exports, deletions, missing footage, alerts.

    ``{"months": [{"month": "2026-11", ...}], "definitions": {...}}``; no personal data.
    """
    return JSONResponse(figures(services_of(request)), headers={"Cache-Control": "public, max-age=60"})


@pages.get("/transparency", dependencies=[Depends(PUBLIC_PAGE)])
def transparency_page(request: Request) -> HTMLResponse:
    t = i18n.translator(request, services_of(request).settings.web.default_language)
    charts = "".join(
        f'<figure class="card chart" data-metric="{name}"><figcaption><strong>{h(t("transparency." + name))}'
        f'</strong><small class="muted">{h(t("transparency." + name + ".help"))}</small></figcaption>'
        '<div class="chart-body"></div></figure>'
        for name in CHARTS
    )
    content = (
        f'<p class="lead">{h(t("transparency.intro"))}</p>'
        f'<p class="muted">{h(t("transparency.privacy"))}</p>'
        f'<div id="transparency" class="charts" aria-live="polite">{charts}</div>'
        f'<p class="muted" id="transparency-note">{h(t("transparency.note"))}</p>'
        f'<p><a class="button" href="/api/transparency" download="vigie-transparence.json">'
        f'{h(t("transparency.download"))}</a></p>'
    )
    return public_page(request, t, title=t("transparency.title"), content=content, scripts=("transparency.js",))

