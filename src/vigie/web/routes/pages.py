"""The pages people open in a browser. Each declares its action like any API route.

Login here sets an HTTP-only, SameSite=Strict cookie; the token never reaches page scripts.
Page contents that change (tables, filters) are fetched by ``static/js`` from the JSON API.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from vigie.access import policy
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Purpose
from vigie.access.sessions import SessionKind
from vigie.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Translator, translator
from vigie.web.layout import h, icon, login_page, shell
from vigie.web.navigation import visible_sections
from vigie.web.security import PUBLIC_PAGE, SESSION_COOKIE, Access, client_address, require, services_of

router = APIRouter(include_in_schema=False)


def _t(request: Request) -> Translator:
    return translator(request, services_of(request).settings.web.default_language)


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not bounce anyone to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _secure(request: Request) -> bool:
    return services_of(request).settings.web.secure_cookies or request.url.scheme == "https"


@router.get("/login", dependencies=[Depends(PUBLIC_PAGE)])
def login_form(request: Request, next: str | None = None, bye: int = 0) -> HTMLResponse:
    t = _t(request)
    return login_page(request, t, next_path=_safe_next(next), notice=t("login.logged_out") if bye else None)


@router.post("/login", dependencies=[Depends(PUBLIC_PAGE)])
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    services = services_of(request)
    t = _t(request)
    client = client_address(request)
    try:
        user = services.users.authenticate(username, password, totp, client=client)
    except AccessRefusal as refusal:
        services.metrics.count("vigie_login_failures_total", "Refused logins, by reason code.", code=refusal.code)
        return login_page(
            request, t, error=t(f"error.{refusal.code}"), username=username, next_path=_safe_next(next),
            status=refusal.status,
        )
    issued = services.sessions.issue(user, SessionKind.BROWSER, client=client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(services.settings.access.browser_session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, access: Annotated[Access, Depends(require(Action.ACCOUNT_SELF, page=True))]) -> Response:
    services_of(request).sessions.revoke(access.auth.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("/lang/{code}", dependencies=[Depends(PUBLIC_PAGE)])
def switch_language(code: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="strict", path="/")
    return response


@router.get("/")
def dashboard(
    request: Request, access: Annotated[Access, Depends(require(Action.ACCOUNT_SELF, page=True))]
) -> Response:
    t = _t(request)
    user = access.user
    cards = []
    for section, items in visible_sections(user.role):
        for item in items:
            if item.path == "/":
                continue
            cards.append(
                f'<a class="card link-card" href="{h(item.path)}">{icon(item.icon)}'
                f"<span><strong>{h(t(item.label_key))}</strong><small>{h(t(section.label_key))}</small></span></a>"
            )
    reminder = t("dashboard.reminder") if policy.sees_footage(user.role) else t("dashboard.no_footage")
    content = (
        '<section class="card profile">'
        f"<p>{h(t('dashboard.welcome'))}, <strong>{h(user.full_name or user.username)}</strong>.</p>"
        '<dl class="facts">'
        f"<dt>{h(t('dashboard.role'))}</dt><dd>{h(t('role.' + user.role.value))}</dd>"
        f"<dt>{h(t('dashboard.unit'))}</dt><dd>{h(user.unit or t('dashboard.unit_all'))}</dd>"
        f"<dt>{h(t('dashboard.matricule'))}</dt><dd>{h(user.matricule or t('common.none'))}</dd>"
        "</dl>"
        f'<p class="notice">{h(reminder)}</p></section>'
        f"<h2>{h(t('dashboard.areas'))}</h2>"
        f'<div class="cards">{"".join(cards)}</div>'
    )
    return shell(request, access, t, title=t("dashboard.title"), content=content)


def _filters_row(fields: str, button: str) -> str:
    return f'<div class="filters">{fields}<button type="submit" class="button primary">{button}</button></div>'


@router.get("/audit")
def audit_page(
    request: Request, access: Annotated[Access, Depends(require(Action.AUDIT_READ, page=True))]
) -> Response:
    t = _t(request)
    outcomes = "".join(
        f'<option value="{value}">{h(t("audit.outcome." + value))}</option>'
        for value in ("allowed", "refused", "failed")
    )
    fields = (
        f'<label>{h(t("audit.from"))}<input type="datetime-local" name="from"></label>'
        f'<label>{h(t("audit.to"))}<input type="datetime-local" name="to"></label>'
        f'<label>{h(t("audit.actor"))}<input name="actor" autocomplete="off"></label>'
        f'<label>{h(t("audit.action"))}<input name="action" autocomplete="off" list="audit-actions"></label>'
        f'<label>{h(t("audit.object"))}<input name="object" autocomplete="off"></label>'
        f'<label>{h(t("audit.outcome"))}<select name="outcome"><option value="">{h(t("audit.any"))}</option>'
        f"{outcomes}</select></label>"
    )
    actions = "".join(f'<option value="{h(a.value)}">' for a in Action)
    export = (
        '<div class="toolbar">'
        f'<button type="button" class="button" id="audit-verify">{h(t("audit.verify"))}</button>'
        '<span id="audit-integrity" class="badge" role="status"></span>'
        '<span class="spacer"></span>'
    )
    if policy.allows(access.user.role, Action.AUDIT_EXPORT):
        export += (
            f'<a class="button" id="export-csv" href="/api/audit/export?format=csv">{h(t("audit.export_csv"))}</a>'
            f'<a class="button" id="export-json" href="/api/audit/export?format=json">{h(t("audit.export_json"))}</a>'
        )
    export += "</div>"
    columns = ("at", "actor", "role", "unit", "action", "outcome", "object", "reason", "procedure", "client")
    head = "".join(f"<th scope=\"col\">{h(t('audit.' + name))}</th>" for name in columns)
    content = (
        f'<p class="muted">{h(t("audit.intro"))}</p>'
        f'<form id="audit-filters" class="card">{_filters_row(fields, h(t("audit.filter")))}</form>'
        f'<datalist id="audit-actions">{actions}</datalist>'
        f"{export}"
        '<div class="table-wrap"><table class="data" id="audit-table" aria-live="polite">'
        f"<thead><tr><th scope=\"col\">#</th>{head}</tr></thead><tbody></tbody></table></div>"
        '<div class="pager"><button type="button" class="button" id="page-prev">'
        f'{h(t("common.previous"))}</button><span id="page-info"></span>'
        f'<button type="button" class="button" id="page-next">{h(t("common.next"))}</button></div>'
    )
    return shell(request, access, t, title=t("audit.title"), content=content, scripts=("audit.js",))


@router.get("/users")
def users_page(
    request: Request, access: Annotated[Access, Depends(require(Action.USERS_READ, page=True))]
) -> Response:
    t = _t(request)
    can_manage = policy.allows(access.user.role, Action.USERS_MANAGE)
    form = ""
    if can_manage:
        roles = "".join(f'<option value="{r.value}">{h(t("role." + r.value))}</option>' for r in policy.Role)
        form = (
            f'<details class="card"><summary>{h(t("users.create"))}</summary>'
            '<form id="user-create" class="grid-form">'
            f'<label>{h(t("users.username"))}'
            '<input name="username" required pattern="[a-z0-9][a-z0-9._\\-]{1,63}"></label>'
            f'<label>{h(t("users.full_name"))}<input name="full_name"></label>'
            f'<label>{h(t("users.role"))}<select name="role" required>{roles}</select></label>'
            f'<label>{h(t("users.unit"))}<input name="unit"></label>'
            f'<label>{h(t("users.matricule"))}<input name="matricule"></label>'
            f'<label>{h(t("users.password_optional"))}'
            '<input name="password" type="password" autocomplete="new-password"></label>'
            f'<div><button type="submit" class="button primary">{h(t("users.create"))}</button></div>'
            "</form></details>"
        )
    columns = ("username", "full_name", "matricule", "role", "unit", "status", "last_login")
    head = "".join(f"<th scope=\"col\">{h(t('users.' + name))}</th>" for name in columns)
    if can_manage:
        head += f"<th scope=\"col\">{h(t('users.actions'))}</th>"
    content = (
        f'<p class="muted">{h(t("users.intro"))}</p>{form}'
        '<div id="user-secret" class="card secret" hidden role="status"></div>'
        f'<div class="table-wrap"><table class="data" id="users-table" data-manage="{int(can_manage)}">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody></table></div>"
    )
    return shell(request, access, t, title=t("users.title"), content=content, scripts=("users.js",))


@router.get("/recordings")
def recordings_page(
    request: Request, access: Annotated[Access, Depends(require(Action.RECORDINGS_LIST, page=True))]
) -> Response:
    t = _t(request)
    can_play = policy.allows(access.user.role, Action.FOOTAGE_VIEW)
    purposes = f'<option value="">{h(t("recordings.purpose.none"))}</option>' + "".join(
        f'<option value="{p.value}">{h(t("recordings.purpose." + p.value))}</option>' for p in Purpose
    )
    player = ""
    if can_play:
        player = (
            '<dialog id="player" class="card"><form id="play-form" method="dialog" class="stack">'
            f'<label>{h(t("recordings.reason"))}<input name="reason" required minlength="8" '
            'autocomplete="off"></label>'
            f'<label>{h(t("recordings.purpose"))}<select name="purpose">{purposes}</select></label>'
            '<p class="alert error" id="play-error" hidden></p>'
            f'<div class="toolbar"><button type="submit" class="button primary">{h(t("recordings.play"))}</button>'
            f'<button type="button" class="button" id="player-close">{h(t("common.close"))}</button></div>'
            '</form><video id="player-video" controls preload="none" hidden></video></dialog>'
        )
    columns = ("source", "kind", "start", "end", "size", "status")
    head = "".join(f"<th scope=\"col\">{h(t('recordings.' + name))}</th>" for name in columns)
    head += "<th scope=\"col\"></th>" if can_play else ""
    content = (
        f'<p class="muted">{h(t("recordings.intro"))}</p>'
        f'<div class="table-wrap"><table class="data" id="recordings-table" data-play="{int(can_play)}">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody></table></div>{player}"
    )
    return shell(request, access, t, title=t("recordings.title"), content=content, scripts=("recordings.js",))


@router.get("/system")
def system_page(
    request: Request, access: Annotated[Access, Depends(require(Action.HEALTH_READ, page=True))]
) -> Response:
    t = _t(request)
    content = '<section class="cards" id="system-cards"><p class="muted">' + h(t("common.loading")) + "</p></section>"
    return shell(request, access, t, title=t("system.title"), content=content, scripts=("system.js",))

