"""The one door of every route: ``Depends(require(Action.X))``.

The dependency authenticates (bearer token or session cookie), asks the policy, resolves and
scope-checks the object the route works on, and, for footage actions, checks the stated reason
(and procedure number for exports) and writes the register entry — before the route runs. A
refused footage request is written to the register too, whoever asked and however it failed.

Routes without an action must say so with ``Depends(PUBLIC)``; :func:`check_declarations`
refuses to build an application in which any route declares neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import BaseRoute, Mount, Route

from vigie.access import policy
from vigie.access.audit import Actor, AuditRecord
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Justification, Person
from vigie.access.sessions import Authenticated, SessionKind
from vigie.access.users import UserView
from vigie.web.services import Services

SESSION_COOKIE = "vigie_session"
# Cookie-authenticated requests that change something must carry this header. A cross-site form
# cannot set it and a cross-site script cannot without a CORS preflight we never grant; together
# with SameSite=Strict this closes cross-site request forgery.
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "vigie"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS = "(unauthenticated)"

# The register's R241-5 vocabulary for each footage action.
_CATEGORY = {
    Action.FOOTAGE_VIEW: "consultation",
    Action.LIVE_VIEW: "consultation",
    Action.EVENTS_REVIEW: "consultation",
    Action.FOOTAGE_EXPORT: "communication",
}


def services_of(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


# -- targets: the object a route works on ------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The object of a request, resolved before the route runs so that scope and audit know it."""

    object_type: str
    object_ids: tuple[str, ...]
    in_scope: Callable[[Person], bool]
    value: Any = None  # what the route needs (e.g. the recording and its source)
    # Known but not servable (e.g. purged): told only to someone whose scope covers the object.
    unavailable: AccessRefusal | None = None
    # Facts the register entry should carry beyond the object ids (e.g. the time range of a playback).
    details: dict[str, Any] = field(default_factory=dict)


TargetResolver = Callable[[Request, Services], Target]


# -- the outcome of the dependency -------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Granted: who, through which session, for what, on which object, and why."""

    auth: Authenticated
    action: Action
    client: str | None
    target: Target | None = None
    justification: Justification | None = None
    details: dict[str, Any] = field(default_factory=dict)
    entry_id: int | None = None  # the register entry written for this access, if any

    @property
    def user(self) -> UserView:
        return self.auth.user

    def actor(self) -> Actor:
        return self.user.actor(self.client)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate(request: Request, services: Services) -> Authenticated:
    """The session behind the request (bearer token first, then the session cookie), or 401."""
    token = _bearer(request)
    if token is None and request.headers.get("authorization"):
        raise AccessRefusal("not_authenticated", "use 'Authorization: Bearer <token>'", 401)
    from_cookie = token is None
    if from_cookie:
        token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AccessRefusal("not_authenticated", "authentication required: log in first", 401)
    auth = services.sessions.resolve(token)
    if from_cookie and auth.kind is not SessionKind.BROWSER:
        raise AccessRefusal("session_invalid", "API tokens go in the Authorization header", 401)
    if from_cookie and request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise AccessRefusal("csrf", f"browser requests that change something need the {CSRF_HEADER} header", 403)
    return auth


# -- requirements ------------------------------------------------------------------------------------


class Requirement:
    """A route's declared action. Instances are FastAPI dependencies (see :func:`require`)."""

    def __init__(self, action: Action, *, target: TargetResolver | None = None, page: bool = False) -> None:
        self.action = action
        self.target = target
        self.page = page  # HTML page: an unauthenticated visitor is sent to the login page
        self.rule = policy.rule(action)

    def __repr__(self) -> str:
        return f"require({self.action.value})"

    def grant(self, request: Request, stated: dict[str, str | None]) -> Access:
        services = services_of(request)
        client = client_address(request)
        auth: Authenticated | None = None
        target: Target | None = None
        try:
            auth = authenticate(request, services)
            user = auth.user
            if not auth.within_scope(self.action) or not policy.allows(user.role, self.action):
                raise AccessRefusal("forbidden", f"the {user.role.value} role may not {self.action.value}", 403)
            if self.target is not None:
                target = self.target(request, services)
                if not target.in_scope(user):
                    raise AccessRefusal("out_of_scope", f"this {target.object_type} is outside your scope", 403)
                if target.unavailable is not None:
                    raise target.unavailable
            justification = None
            if self.rule.footage:
                justification = policy.justify(
                    self.action,
                    user.role,
                    reason=stated.get("reason"),
                    purpose=stated.get("purpose"),
                    procedure=stated.get("procedure"),
                    requester=stated.get("requester"),
                    recipient=stated.get("recipient"),
                    min_reason_length=services.settings.access.min_reason_length,
                )
        except AccessRefusal as refusal:
            self._audit_refusal(services, request, auth, target, refusal, stated, client)
            raise
        access = Access(auth=auth, action=self.action, client=client, target=target, justification=justification)
        # A page only frames the data (its script fetches it through an audited API route), so only
        # footage pages write on load.
        if self.rule.audited and (self.rule.footage or not self.page):
            entry = services.audit.append(access.actor(), self._record(request, access, target))
            access = replace(access, entry_id=entry.id)
            if self.rule.footage:
                services.metrics.count(
                    "vigie_footage_access_total", "Footage accesses granted and written to the register.",
                    action=self.action.value,
                )
        return access

    def _record(self, request: Request, access: Access, target: Target | None) -> AuditRecord:
        justification = access.justification
        details: dict[str, Any] = {"method": request.method, "route": _route_template(request)}
        if self.action in _CATEGORY:
            details["category"] = _CATEGORY[self.action]
        if justification is not None and justification.purpose is not None:
            details["purpose"] = justification.purpose.value
        if self.action in (Action.AUDIT_READ, Action.AUDIT_EXPORT) and request.query_params:
            details["filters"] = {key: value for key, value in request.query_params.items() if key != "reason"}
        if target is not None:
            details.update(target.details)
        return AuditRecord(
            action=self.action.value,
            object_type=target.object_type if target else None,
            object_ids=list(target.object_ids) if target else [],
            reason=justification.reason if justification else None,
            procedure=justification.procedure if justification else None,
            requester=justification.requester if justification else None,
            recipient=justification.recipient if justification else None,
            details=details,
        )

    def _audit_refusal(
        self,
        services: Services,
        request: Request,
        auth: Authenticated | None,
        target: Target | None,
        refusal: AccessRefusal,
        stated: dict[str, str | None],
        client: str | None,
    ) -> None:
        # Every refused footage request is written, even anonymous ones; other refusals are
        # written when someone authenticated was refused by the policy (a signal worth keeping).
        if not (self.rule.footage or (auth is not None and refusal.status == 403)):
            return
        actor = auth.user.actor(client) if auth else Actor(name=ANONYMOUS, role="unknown", client=client)
        object_ids = list(target.object_ids) if target else [str(v) for v in request.path_params.values()]
        services.audit.append(
            actor,
            AuditRecord(
                action=self.action.value,
                object_type=target.object_type if target else None,
                object_ids=object_ids,
                reason=(stated.get("reason") or None),
                procedure=(stated.get("procedure") or None),
                outcome="refused",
                details={"code": refusal.code, "why": refusal.message, "method": request.method,
                         "route": _route_template(request)},
            ),
        )
        if self.rule.footage:
            services.metrics.count(
                "vigie_footage_refused_total", "Footage requests refused (and written to the register).",
                action=self.action.value, code=refusal.code,
            )


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def _header_text(value: str | None) -> str | None:
    """Header values are Latin-1 on the wire: clients send UTF-8 reasons percent-encoded."""
    return unquote(value) if value else value


class PlainRequirement(Requirement):
    def __call__(self, request: Request) -> Access:
        return self.grant(request, {})


class FootageRequirement(Requirement):
    """Footage actions also read what the request states (query parameter or X-Vigie-* header)."""

    def __call__(
        self,
        request: Request,
        reason: Annotated[str | None, Query(description="Why the footage is accessed (audited).")] = None,
        purpose: Annotated[
            str | None, Query(description="Officers: one of the four legal purposes of L241-1.")
        ] = None,
        procedure: Annotated[str | None, Query(description="Procedure number (required for exports).")] = None,
        requester: Annotated[str | None, Query(description="Requesting officer and service.")] = None,
        recipient: Annotated[str | None, Query(description="Receiving service.")] = None,
        x_vigie_reason: Annotated[str | None, Header(description="Percent-encoded UTF-8 reason.")] = None,
        x_vigie_purpose: Annotated[str | None, Header()] = None,
        x_vigie_procedure: Annotated[str | None, Header()] = None,
        x_vigie_requester: Annotated[str | None, Header()] = None,
        x_vigie_recipient: Annotated[str | None, Header()] = None,
    ) -> Access:
        stated = {
            "reason": reason or _header_text(x_vigie_reason),
            "purpose": purpose or _header_text(x_vigie_purpose),
            "procedure": procedure or _header_text(x_vigie_procedure),
            "requester": requester or _header_text(x_vigie_requester),
            "recipient": recipient or _header_text(x_vigie_recipient),
        }
        return self.grant(request, stated)


def require(action: Action, *, target: TargetResolver | None = None, page: bool = False) -> Requirement:
    """The dependency a route declares its action with: ``Depends(require(Action.FOOTAGE_VIEW, target=...))``."""
    if policy.rule(action).footage:
        return FootageRequirement(action, target=target, page=page)
    return PlainRequirement(action, target=target, page=page)


class Public:
    """The explicit declaration that a route needs no authentication (login, minimal health, language)."""

    def __init__(self, page: bool = False) -> None:
        self.page = page

    def __repr__(self) -> str:
        return "public"

    def __call__(self) -> None:
        return None


PUBLIC = Public()
PUBLIC_PAGE = Public(page=True)

# Routes that are not FastAPI routes and need no authentication: the static files and the OpenAPI
# document (it describes the API, it holds no data).
PUBLIC_MOUNTS = frozenset({"/static"})
PUBLIC_PATHS = frozenset({"/api/openapi.json"})


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _walk(dependency)


def declaration(route: BaseRoute) -> Requirement | Public | None:
    """The action (or public mark) a route declares, if any."""
    if isinstance(route, APIRoute | APIWebSocketRoute):  # a WebSocket declares its action the same way
        found = [call for call in _walk(route.dependant) if isinstance(call, Requirement | Public)]
        if len(found) == 1:
            return found[0]
        return None  # none, or ambiguous (two declarations are a mistake too)
    if isinstance(route, Mount) and route.path in PUBLIC_MOUNTS:
        return PUBLIC
    if isinstance(route, Route) and route.path in PUBLIC_PATHS:
        return PUBLIC
    return None


@dataclass(frozen=True)
class DeclaredRoute:
    path: str
    methods: frozenset[str]
    declared: Requirement | Public | None
    route: BaseRoute


def declared_routes(routes: Sequence[BaseRoute]) -> list[DeclaredRoute]:
    """Every route of an application (through included routers) with what it declares."""
    found = []
    for context in iter_route_contexts(routes):
        original = context.original_route
        path = context.path or getattr(original, "path", "?")
        methods = frozenset(context.methods or ())
        found.append(DeclaredRoute(str(path), methods, declaration(original), original))
    return found


def check_declarations(routes: Sequence[BaseRoute]) -> None:
    undeclared = [f"{sorted(item.methods)} {item.path}" for item in declared_routes(routes) if item.declared is None]
    if undeclared:
        raise RuntimeError(f"routes without a declared action (use require(Action...) or PUBLIC): {undeclared}")
