"""The web application: ``create_app(settings)`` wires routers, errors, static files and the audit heartbeat.

A thin composition root on purpose (no logic here): services are built from the settings,
routers come from ``vigie.web.routes``, and every route must declare its action.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigie.access.audit import AuditRecord
from vigie.config import Settings
from vigie.web import errors
from vigie.web.metrics import MetricsMiddleware
from vigie.web.routes import (
    analytics_settings,
    audit,
    auth,
    bodycam,
    cameras,
    events,
    health,
    live,
    pages,
    recordings,
    redactions,
    search,
    sources,
    transparency,
    users,
)
from vigie.web.security import check_declarations
from vigie.web.services import SERVER_ACTOR, Services

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("vigie.web")

# No script, style or media from anywhere but this server; no framing; nothing leaks in Referer.
# media-src blob: is the Media Source players' own object URL (live wall, playback), made in the page.
SECURITY_HEADERS = (
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
     b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeadersMiddleware:
    """Adds the headers above to every response; nothing under /api or a page is cached by the browser."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


async def _checkpoint_periodically(services: Services, minutes: int) -> None:
    while True:
        await asyncio.sleep(minutes * 60)
        try:
            await run_in_threadpool(services.audit.checkpoint)
        except Exception:  # a failed checkpoint must not stop the next one
            log.exception("audit checkpoint failed")


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """Build the application. Tests pass ``services`` to share a catalog; ``vigie serve`` does not."""
    services = services or Services.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sign the chain head at start and stop, and every few minutes between (R241-5: integrity).
        await run_in_threadpool(services.audit.append, SERVER_ACTOR, AuditRecord(action="server.start"))
        await run_in_threadpool(services.audit.checkpoint)
        # vigie serve records in-process: the recorder's one connection per camera feeds the live relay.
        await run_in_threadpool(services.start_recording)
        # Live analytics when enabled; cameras without a legal basis in force are never decoded.
        await run_in_threadpool(services.start_analytics)
        heartbeat = asyncio.create_task(
            _checkpoint_periodically(services, settings.access.audit_checkpoint_minutes)
        )
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await live.shutdown(app)
            await run_in_threadpool(services.stop_analytics)
            await run_in_threadpool(services.stop_recording)
            await run_in_threadpool(services.audit.append, SERVER_ACTOR, AuditRecord(action="server.stop"))
            await run_in_threadpool(services.audit.checkpoint)

    app = FastAPI(
        title="Vigie",
        summary="Open, accountable video protection: fixed cameras, body-worn cameras, evidence vault.",
        version=health.vigie_version(),
        openapi_url="/api/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN: not here
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    errors.install(app)
    for module in (auth, users, audit, recordings, sources, health, pages, bodycam, search, cameras, live,
                   transparency):
        app.include_router(module.router)
    for page_module in (cameras, live, transparency):
        app.include_router(page_module.pages)
    for feature in (events, analytics_settings, redactions):  # alert queue, legal bases and zones, redaction review
        app.include_router(feature.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=lambda: services.metrics)
    check_declarations(app.routes)
    return app
