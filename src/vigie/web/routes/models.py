"""Response models shared by several routers (a user as the API shows it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from vigie.access.users import UserView


class UserOut(BaseModel):
    username: str
    full_name: str | None
    matricule: str | None
    role: str
    unit: str | None = Field(description="Scope: the unit whose sources this person sees (null: installation-wide).")
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, user: UserView) -> UserOut:
        return cls(
            username=user.username,
            full_name=user.full_name,
            matricule=user.matricule,
            role=user.role.value,
            unit=user.unit,
            disabled=user.disabled,
            locked_until=user.locked_until,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            created_by=user.created_by,
        )


class Problem(BaseModel):
    """Every error answer of the API."""

    detail: str
    code: str
