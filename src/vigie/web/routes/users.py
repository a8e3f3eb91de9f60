"""Accounts (administrators manage them; the head of service and the DPO may read the list)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from vigie.access.policy import Action, Role
from vigie.access.users import Enrolment
from vigie.web.routes.models import UserOut
from vigie.web.security import Access, require, services_of

router = APIRouter(prefix="/api/users", tags=["users"])


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    role: Role
    unit: str | None = Field(None, max_length=120)
    matricule: str | None = Field(None, max_length=40)
    full_name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=1024, description="Omit to have one generated (returned once).")


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


class EnrolmentOut(BaseModel):
    """Secrets returned once, at creation or reset. Vigie keeps only a hash and a sealed seed."""

    user: UserOut
    password: str | None = Field(description="The generated password (null when the request gave one).")
    totp_secret: str
    totp_uri: str

    @classmethod
    def of(cls, enrolment: Enrolment) -> EnrolmentOut:
        return cls(
            user=UserOut.of(enrolment.user),
            password=enrolment.password,
            totp_secret=enrolment.totp_secret,
            totp_uri=enrolment.totp_uri,
        )


@router.get("")
def list_users(request: Request, _: Annotated[Access, Depends(require(Action.USERS_READ))]) -> list[UserOut]:
    return [UserOut.of(user) for user in services_of(request).users.list()]


@router.post("", status_code=201)
def create_user(
    body: UserCreate, request: Request, access: Annotated[Access, Depends(require(Action.USERS_MANAGE))]
) -> EnrolmentOut:
    enrolment = services_of(request).users.create(
        body.username,
        role=body.role,
        by=access.actor(),
        unit=body.unit,
        matricule=body.matricule,
        full_name=body.full_name,
        password=body.password,
    )
    return EnrolmentOut.of(enrolment)


@router.get("/{username}")
def get_user(username: str, request: Request, _: Annotated[Access, Depends(require(Action.USERS_READ))]) -> UserOut:
    return UserOut.of(services_of(request).users.require(username))


@router.post("/{username}/disable")
def disable_user(
    username: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.USERS_MANAGE))],
    body: AccountChange | None = None,
) -> UserOut:
    """Disable an account and close its sessions (accounts are never deleted: the register names them)."""
    users = services_of(request).users
    return UserOut.of(users.set_disabled(username, True, by=access.actor(), reason=body.reason if body else None))


@router.post("/{username}/enable")
def enable_user(
    username: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.USERS_MANAGE))],
    body: AccountChange | None = None,
) -> UserOut:
    users = services_of(request).users
    return UserOut.of(users.set_disabled(username, False, by=access.actor(), reason=body.reason if body else None))


@router.post("/{username}/reset")
def reset_user(
    username: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.USERS_MANAGE))],
    body: AccountChange | None = None,
) -> EnrolmentOut:
    """New password and second factor, returned once; unlocks the account and closes its sessions."""
    users = services_of(request).users
    return EnrolmentOut.of(users.reset(username, by=access.actor(), reason=body.reason if body else None))
