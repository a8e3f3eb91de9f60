"""``vigie user``: individual accounts, from the command line of the server's administrator.

Secrets are printed once: the password (when generated), the TOTP secret and its otpauth://
URI for the authenticator app. Vigie keeps only an argon2id hash and a sealed TOTP seed.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer

from vigie.access.audit import AuditRecord
from vigie.access.errors import UserError
from vigie.access.policy import Action, Role
from vigie.access.secretbox import SecretBox
from vigie.access.sessions import SessionKind, SessionStore
from vigie.access.users import Enrolment, UserStore, UserView
from vigie.catalog.types import iso
from vigie.cli.context import CliState
from vigie.cli.output import fail, print_json

user_app = typer.Typer(help="Individual accounts: add, list, disable, enable, reset, API tokens.", no_args_is_help=True)


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


def user_store(state: CliState) -> UserStore:
    return UserStore(state.catalog, state.audit, SecretBox(state.vault.kek), state.settings.access)


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        fail("--password-stdin: no password on standard input")
    return password


def _row(user: UserView) -> dict[str, object]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "matricule": user.matricule,
        "role": user.role.value,
        "unit": user.unit,
        "disabled": user.disabled,
        "locked_until": user.locked_until,
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
        "created_by": user.created_by,
    }


def print_enrolment(enrolment: Enrolment, *, json_output: bool) -> None:
    if json_output:
        print_json(
            {
                "user": _row(enrolment.user),
                "password": enrolment.password,
                "totp_secret": enrolment.totp_secret,
                "totp_uri": enrolment.totp_uri,
            }
        )
        return
    user = enrolment.user
    typer.echo(f"user        {user.username} ({user.role.value}{', unit ' + user.unit if user.unit else ''})")
    if enrolment.password:
        typer.echo(f"password    {enrolment.password}")
    typer.echo(f"totp secret {enrolment.totp_secret}")
    typer.echo(f"totp uri    {enrolment.totp_uri}")
    typer.echo("These secrets are shown once: hand them to the person, then clear this screen.", err=True)


@user_app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, '.', '_', '-'.")],
    role: Annotated[Role, typer.Option("--role", help="What the person may do (see docs/design/access-policy.md).")],
    unit: Annotated[str | None, typer.Option(help="Scope: the unit (commune, service) whose cameras they see.")] = None,
    matricule: Annotated[str | None, typer.Option(help="Officer ID, named in the register (sworn staff).")] = None,
    full_name: Annotated[str | None, typer.Option("--full-name", help="First and last name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (else one is generated).")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the enrolment as JSON.")] = False,
) -> None:
    """Create an account; prints its TOTP secret (and generated password) once."""
    state = _state(ctx)
    password = _read_password() if password_stdin else None
    enrolment = user_store(state).create(
        username, role=role, by=state.actor, unit=unit, matricule=matricule, full_name=full_name, password=password
    )
    print_enrolment(enrolment, json_output=json_output)


@user_app.command("list")
def list_users(ctx: typer.Context, json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List accounts (disabled ones too: accounts are never deleted)."""
    users = user_store(_state(ctx)).list()
    if json_output:
        print_json([_row(user) for user in users])
        return
    for user in users:
        status = "disabled" if user.disabled else "locked" if user.locked() else "active"
        last = iso(user.last_login_at) if user.last_login_at else "-"
        typer.echo(
            f"{user.username}\t{user.role.value}\t{user.unit or '*'}\t{user.matricule or '-'}\t{status}\t{last}"
        )


@user_app.command("disable")
def disable(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    reason: Annotated[str | None, typer.Option(help="Why (written to the register).")] = None,
) -> None:
    """Disable an account and close its sessions."""
    state = _state(ctx)
    user = user_store(state).set_disabled(username, True, by=state.actor, reason=reason)
    typer.echo(f"{user.username} disabled")


@user_app.command("enable")
def enable(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    reason: Annotated[str | None, typer.Option(help="Why (written to the register).")] = None,
) -> None:
    """Enable a disabled account (and clear a lockout)."""
    state = _state(ctx)
    user = user_store(state).set_disabled(username, False, by=state.actor, reason=reason)
    typer.echo(f"{user.username} enabled")


@user_app.command("reset")
def reset(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from stdin.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (written to the register).")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """New password and new TOTP secret (printed once); unlocks the account and closes its sessions."""
    state = _state(ctx)
    password = _read_password() if password_stdin else None
    enrolment = user_store(state).reset(username, by=state.actor, password=password, reason=reason)
    print_enrolment(enrolment, json_output=json_output)


@user_app.command("token")
def token(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    scope: Annotated[
        list[Action] | None,
        typer.Option("--scope", help="Limit the token to these actions (repeat; e.g. metrics.read for a scraper)."),
    ] = None,
    days: Annotated[float, typer.Option(min=0.01, max=366, help="Lifetime in days.")] = 90.0,
) -> None:
    """Issue an API token for an account (e.g. a Prometheus scraper's, limited to metrics.read)."""
    state = _state(ctx)
    user = user_store(state).get(username)
    if user is None:
        raise UserError(f"unknown user {username!r}")
    issued = SessionStore(state.catalog, state.settings.access).issue(
        user, SessionKind.API, client=state.actor.client, lifetime=timedelta(days=days), scope=scope or None
    )
    state.audit.append(
        state.actor,
        AuditRecord(
            action="user.token",
            object_type="user",
            object_ids=[user.username],
            details={"scope": [a.value for a in scope] if scope else None, "expires_at": iso(issued.expires_at)},
        ),
    )
    typer.echo(issued.token)
    typer.echo(f"expires {iso(issued.expires_at)}; send as 'Authorization: Bearer <token>'", err=True)


DEMO_ACCOUNTS: tuple[tuple[str, Role, str | None, str], ...] = (
    ("demo-admin", Role.ADMIN, None, "Administratrice démo"),
    ("demo-auditor", Role.AUDITOR, "DPO-DEMO-1", "Délégué démo"),
    ("demo-supervisor", Role.SUPERVISOR, "CS-DEMO-1", "Chef de service démo"),
)


def create_demo_accounts(state: CliState) -> list[Enrolment]:
    """The demo's people: created on the first run, given fresh secrets on later runs."""
    store = user_store(state)
    enrolments = []
    for username, role, matricule, full_name in DEMO_ACCOUNTS:
        if store.get(username) is None:
            enrolments.append(
                store.create(username, role=role, by=state.actor, matricule=matricule, full_name=full_name)
            )
        else:
            enrolments.append(store.reset(username, by=state.actor, reason="demo restarted"))
    return enrolments
