"""Server-rendered HTML: the application shell (header, navigation, content) and the login page.

Plain Python and ``html.escape``, no template engine: every interpolated value goes through
:func:`h`. Pages fill their content server-side or let a small script of ``static/js`` fetch it
from the same API everybody else uses (so one policy applies to both).
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from vigie.catalog.types import iso
from vigie.web.i18n import LANGUAGE_NAMES, LANGUAGES, Translator
from vigie.web.navigation import visible_sections
from vigie.web.security import Access

ARIA_CURRENT = ' aria-current="page"'
ICONS = {
    "home": '<path d="M3 11l9-7 9 7v9a1 1 0 0 1-1 1h-5v-6h-6v6H4a1 1 0 0 1-1-1z"/>',
    "film": '<rect x="3" y="5" width="18" height="14" rx="1"/><path d="M7 5v14M17 5v14M3 9h4M3 15h4M17 9h4M17 15h4"/>',
    "register": '<path d="M6 3h9l4 4v14H6z"/><path d="M9 11h7M9 15h7M9 7h4"/>',
    "people": '<circle cx="9" cy="8" r="3"/><path d="M3 20c0-3 3-5 6-5s6 2 6 5"/>'
    '<path d="M16 6a3 3 0 0 1 0 6M18 15c2 1 3 3 3 5"/>',
    "pulse": '<path d="M3 12h4l2-5 4 10 2-5h6"/>',
    "map": '<path d="M9 4l-6 2v14l6-2 6 2 6-2V4l-6 2z"/><path d="M9 4v14M15 6v14"/>',
    "bodycam": '<rect x="6" y="3" width="12" height="18" rx="2"/><circle cx="12" cy="10" r="3"/><path d="M10 17h4"/>',
    "eye": '<path d="M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>',
    "wall": '<rect x="3" y="4" width="8" height="7" rx="1"/><rect x="13" y="4" width="8" height="7" rx="1"/>'
    '<rect x="3" y="13" width="8" height="7" rx="1"/><rect x="13" y="13" width="8" height="7" rx="1"/>',
    "camera": '<path d="M3 8l12-4 2 5-12 4z"/><path d="M9 11l1 5h4"/><path d="M17 7l3-1v5l-3-1"/>',
    "chart": '<path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/>',
}


def h(value: object) -> str:
    """Escape for HTML text and attribute values."""
    return escape("" if value is None else str(value), quote=True)


def icon(name: str) -> str:
    return (
        '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" '
        f'stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">{ICONS.get(name, "")}</svg>'
    )


def _messages_json(t: Translator) -> str:
    # "</" would close the <script> element early: escape it inside the JSON text.
    return json.dumps(t.messages(), ensure_ascii=False).replace("</", "<\\/")


def _language_switch(request: Request, t: Translator) -> str:
    here = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
    links = []
    for code in LANGUAGES:
        current = ' aria-current="true"' if code == t.language else ""
        links.append(
            f'<a class="lang" href="/lang/{code}?next={here}" lang="{code}" hreflang="{code}" '
            f'title="{h(LANGUAGE_NAMES[code])}"{current}>{code.upper()}</a>'
        )
    return f'<nav class="languages" aria-label="{h(t("header.language"))}">{"".join(links)}</nav>'


def _head(t: Translator, title: str) -> str:
    return (
        "<!doctype html>"
        f'<html lang="{t.language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        '<link rel="icon" href="data:,">'
        f"<title>{h(title)} · Vigie</title>"
        '<link rel="stylesheet" href="/static/vigie.css">'
        "</head>"
    )


def shell(
    request: Request,
    access: Access,
    t: Translator,
    *,
    title: str,
    content: str,
    scripts: tuple[str, ...] = (),
    status: int = 200,
) -> HTMLResponse:
    """The application layout around a page's content."""
    user = access.user
    nav_parts = []
    current = request.url.path
    for section, items in visible_sections(user.role):
        links = "".join(
            f'<li><a href="{h(item.path)}"{ARIA_CURRENT if item.path == current else ""}>'
            f"{icon(item.icon)}<span>{h(t(item.label_key))}</span></a></li>"
            for item in items
        )
        nav_parts.append(f'<div class="nav-section"><h2>{h(t(section.label_key))}</h2><ul>{links}</ul></div>')
    unit = user.unit or t("dashboard.unit_all")
    script_tags = "".join(f'<script src="/static/js/{h(name)}" defer></script>' for name in ("common.js", *scripts))
    body = (
        f'<body data-lang="{t.language}" data-role="{h(user.role.value)}">'
        '<a class="skip" href="#content">Aller au contenu / Skip to content</a>'
        '<header class="topbar">'
        f'<a class="brand" href="/"><span class="brand-mark">{icon("eye")}</span>'
        f'<span class="brand-name">VIGIE</span><span class="brand-tagline">{h(t("app.tagline"))}</span></a>'
        '<div class="session">'
        f'<span class="who" title="{h(t("header.signed_in_as"))}">'
        f'<strong data-testid="username">{h(user.username)}</strong>'
        f' · {h(t("role." + user.role.value))} · {h(unit)}</span>'
        f'<span class="until">{h(t("header.session_until"))} '
        f'<time datetime="{h(iso(access.auth.expires_at))}" data-local-time>'
        f"{h(iso(access.auth.expires_at))}</time></span>"
        f"{_language_switch(request, t)}"
        f'<button type="button" class="button ghost" id="logout">{h(t("header.logout"))}</button>'
        "</div></header>"
        f'<div class="frame"><nav class="sidebar" aria-label="Navigation">{"".join(nav_parts)}</nav>'
        f'<main id="content" class="content"><h1>{h(title)}</h1>{content}</main></div>'
        f'<script type="application/json" id="vigie-messages">{_messages_json(t)}</script>'
        f"{script_tags}</body></html>"
    )
    return HTMLResponse(_head(t, title) + body, status_code=status)


def public_page(
    request: Request, t: Translator, *, title: str, content: str, scripts: tuple[str, ...] = ()
) -> HTMLResponse:
    """A page for anyone, logged in or not (the transparency page): no navigation, no personal data."""
    script_tags = "".join(f'<script src="/static/js/{h(name)}" defer></script>' for name in ("common.js", *scripts))
    body = (
        f'<body class="public-body" data-lang="{t.language}">'
        '<a class="skip" href="#content">Aller au contenu / Skip to content</a>'
        '<header class="topbar">'
        f'<a class="brand" href="/"><span class="brand-mark">{icon("eye")}</span>'
        f'<span class="brand-name">VIGIE</span><span class="brand-tagline">{h(t("app.tagline"))}</span></a>'
        f'<div class="session">{_language_switch(request, t)}</div></header>'
        f'<main id="content" class="content public-content"><h1>{h(title)}</h1>{content}</main>'
        f'<script type="application/json" id="vigie-messages">{_messages_json(t)}</script>'
        f"{script_tags}</body></html>"
    )
    return HTMLResponse(_head(t, title) + body)


def login_page(
    request: Request, t: Translator, *, error: str | None = None, notice: str | None = None,
    username: str = "", next_path: str = "/", status: int = 200,
) -> HTMLResponse:
    alert = f'<p class="alert error" role="alert" data-testid="login-error">{h(error)}</p>' if error else ""
    if notice:
        alert += f'<p class="alert notice" role="status">{h(notice)}</p>'
    body = (
        f'<body class="login-body" data-lang="{t.language}">'
        '<main class="login-card">'
        f'<div class="login-brand">{icon("eye")}<span class="brand-name">VIGIE</span></div>'
        f'<p class="brand-tagline">{h(t("app.tagline"))}</p>'
        f"<h1>{h(t('login.title'))}</h1>"
        f'<p class="muted">{h(t("login.intro"))}</p>{alert}'
        '<form method="post" action="/login" class="stack" autocomplete="on">'
        f'<input type="hidden" name="next" value="{h(next_path)}">'
        f'<label>{h(t("login.username"))}<input name="username" id="username" required autocomplete="username" '
        f'autocapitalize="none" spellcheck="false" value="{h(username)}" autofocus></label>'
        f'<label>{h(t("login.password"))}<input name="password" id="password" type="password" required '
        'autocomplete="current-password"></label>'
        f'<label>{h(t("login.totp"))}<input name="totp" id="totp" inputmode="numeric" pattern="[0-9 ]{{6,7}}" '
        f'autocomplete="one-time-code" required aria-describedby="totp-hint"></label>'
        f'<small id="totp-hint" class="muted">{h(t("login.totp_hint"))}</small>'
        f'<button type="submit" class="button primary" id="login-submit">{h(t("login.submit"))}</button>'
        "</form>"
        f"{_language_switch(request, t)}"
        f'<p class="public-link"><a href="/transparency">{h(t("transparency.title"))}</a></p>'
        "</main></body></html>"
    )
    return HTMLResponse(_head(t, t("login.title")) + body, status_code=status)


def error_page(request: Request, t: Translator, *, code: str, message: str, status: int) -> HTMLResponse:
    text = t(f"error.{code}")
    shown = text if text != f"error.{code}" else message
    body = (
        f'<body class="login-body" data-lang="{t.language}"><main class="login-card">'
        f'<div class="login-brand">{icon("eye")}<span class="brand-name">VIGIE</span></div>'
        f"<h1>{h(t('error.title'))} ({status})</h1>"
        f'<p class="alert error" role="alert">{h(shown)}</p>'
        f'<p><a class="button" href="/">{h(t("error.back"))}</a></p>'
        "</main></body></html>"
    )
    return HTMLResponse(_head(t, t("error.title")) + body, status_code=status)
