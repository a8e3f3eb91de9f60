"""Login, logout, who am I. ``POST /api/auth/login`` is the scripts' entry point: its shape is a contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from vigie.access import policy
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action
from vigie.access.sessions import SessionKind
from vigie.web.routes.models import UserOut
from vigie.web.security import PUBLIC, Access, client_address, require, services_of

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)
    totp: str | None = Field(None, max_length=16, description="Six-digit code of the authenticator app.")


class LoginResponse(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'. Shown once; only its hash is kept.")
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut
    actions: list[str] = Field(description="What this account may do (the policy's allowed actions).")


class MeResponse(BaseModel):
    user: UserOut
    actions: list[str]
    session_kind: str
    expires_at: datetime


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


@router.post("/login", dependencies=[Depends(PUBLIC)])
def login(body: LoginRequest, request: Request) -> LoginResponse:
    """Password and one-time code → an API token. Five failures lock the account for 15 minutes."""
    services = services_of(request)
    client = client_address(request)
    try:
        user = services.users.authenticate(body.username, body.password, body.totp, client=client)
    except AccessRefusal as refusal:
        services.metrics.count("vigie_login_failures_total", "Refused logins, by reason code.", code=refusal.code)
        raise
    issued = services.sessions.issue(user, SessionKind.API, client=client)
    return LoginResponse(
        token=issued.token,
        expires_at=issued.expires_at,
        user=UserOut.of(user),
        actions=[action.value for action in policy.allowed_actions(user.role)],
    )


@router.post("/logout", status_code=204)
def logout(access: Annotated[Access, Depends(require(Action.ACCOUNT_SELF))], request: Request) -> Response:
    """End the session or token used for this request."""
    services_of(request).sessions.revoke(access.auth.session_id)
    return Response(status_code=204)


@router.get("/me")
def me(access: Annotated[Access, Depends(require(Action.ACCOUNT_SELF))]) -> MeResponse:
    allowed = [a.value for a in policy.allowed_actions(access.user.role) if access.auth.within_scope(a)]
    return MeResponse(
        user=UserOut.of(access.user),
        actions=allowed,
        session_kind=access.auth.kind.value,
        expires_at=access.auth.expires_at,
    )


@router.post("/password", status_code=204)
def change_password(
    body: PasswordChange, access: Annotated[Access, Depends(require(Action.ACCOUNT_SELF))], request: Request
) -> Response:
    """Change one's own password (the policy of CNIL délibération 2022-100 applies)."""
    services_of(request).users.change_password(access.user.id, current=body.current, new=body.new, client=access.client)
    return Response(status_code=204)
