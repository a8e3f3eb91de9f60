"""Every failure becomes a clear answer: JSON ``{"detail", "code"}`` for the API, a page for people.

The server keeps running whatever a request does: malformed JSON is a 400, a missing field a
422, an unknown object a 404, an unexpected error a 500 that says nothing about internals.
Validation errors never echo the submitted values (they may hold a password).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigie.access.errors import AccessRefusal, UserError
from vigie.vault.store import VaultError
from vigie.web.i18n import translator
from vigie.web.layout import error_page

log = logging.getLogger("vigie.web")

_HTTP_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "too_large", 415: "unsupported_media_type"}


def wants_html(request: Request) -> bool:
    """Pages (not /api, not /metrics) answer people with HTML."""
    path = request.url.path
    return not (path.startswith("/api") or path == "/metrics" or path.startswith("/static"))


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def _answer(request: Request, status: int, code: str, detail: str, **extra: Any) -> Response:
    if wants_html(request):
        if status == 401:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        t = translator(request, request.app.state.services.settings.web.default_language)
        return error_page(request, t, code=code, message=detail, status=status)
    response = problem(status, code, detail, **extra)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigie"'
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(AccessRefusal)
    async def on_refusal(request: Request, error: AccessRefusal) -> Response:
        return _answer(request, error.status, error.code, error.message)

    @app.exception_handler(UserError)
    async def on_user_error(request: Request, error: UserError) -> Response:
        text = str(error)
        conflict = "exists already" in text or "belongs to" in text
        status = 404 if text.startswith("unknown user") else 409 if conflict else 400
        return _answer(request, status, "user_error", text)

    @app.exception_handler(VaultError)
    async def on_vault_error(request: Request, error: VaultError) -> Response:
        return _answer(request, 410 if "purged" in str(error) else 409, "vault_error", str(error))

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> Response:
        errors = error.errors()
        if any(item.get("type") == "json_invalid" for item in errors):
            return problem(400, "malformed_json", "the request body is not valid JSON")
        cleaned = [
            {"where": ".".join(str(part) for part in item.get("loc", ())), "problem": str(item.get("msg", ""))}
            for item in errors
        ]
        first = cleaned[0] if cleaned else {"where": "request", "problem": "invalid"}
        return problem(422, "invalid_request", f"{first['where']}: {first['problem']}", errors=cleaned)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(error.status_code, "http_error")
        detail = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        response = _answer(request, error.status_code, code, detail)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.scope.get("route") and
                      getattr(request.scope["route"], "path", "?"))
        return _answer(
            request, 500, "internal_error", "internal error: the administrator can find it in the server log"
        )
