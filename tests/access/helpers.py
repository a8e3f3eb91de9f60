"""Helpers shared by the access and web tests: fast argon2, people of every role, recordings to watch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp

from vigie.access.audit import Actor
from vigie.access.policy import Role
from vigie.access.users import Enrolment, UserStore
from vigie.catalog.models import Recording, Source
from vigie.config import AccessSettings, Settings
from vigie.vault.store import Vault

# Argon2id at its cheapest: the parameters are settings, and tests must stay fast.
FAST_ACCESS = AccessSettings(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
STRONG_PASSWORD = "Vigie-test-Passw0rd!"
ADMIN_ACTOR = Actor(name="tester", role="local-admin", client="pytest")

# Bytes that start like an MP4 file (ftyp box), so a leak is recognisable by its magic bytes.
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64


def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"access": FAST_ACCESS})


@dataclass(frozen=True)
class Person:
    """A test user with the secrets needed to log in."""

    username: str
    role: Role
    unit: str | None
    matricule: str | None
    password: str
    totp_secret: str

    def code(self, offset_steps: int = 0) -> str:
        moment = datetime.now(UTC) + timedelta(seconds=30 * offset_steps)
        return str(pyotp.TOTP(self.totp_secret).at(moment))


# One person per role. Scoped roles belong to "ville-a"; the supervisor to the whole of "ville-a" too.
ROLE_PEOPLE: dict[Role, tuple[str, str | None, str | None]] = {
    Role.ADMIN: ("admin1", None, None),
    Role.SUPERVISOR: ("chef1", "ville-a", "CS-001"),
    Role.OPERATOR: ("oper1", "ville-a", "OP-001"),
    Role.INVESTIGATOR: ("enq1", "ville-a", "EN-001"),
    Role.OFFICER: ("agent1", "ville-a", "AG-001"),
    Role.AUDITOR: ("dpo1", None, None),
    Role.MAINTAINER: ("maint1", None, None),
}


def enrol(users: UserStore, username: str, role: Role, unit: str | None, matricule: str | None) -> Person:
    enrolment: Enrolment = users.create(
        username, role=role, by=ADMIN_ACTOR, unit=unit, matricule=matricule, password=STRONG_PASSWORD
    )
    return Person(username, role, unit, matricule, STRONG_PASSWORD, enrolment.totp_secret)


def everyone(users: UserStore) -> dict[Role, Person]:
    return {role: enrol(users, name, role, unit, matricule) for role, (name, unit, matricule) in ROLE_PEOPLE.items()}


def store_recording(
    vault: Vault,
    source_name: str,
    *,
    kind: str = "bodycam",
    unit: str | None = "ville-a",
    officer: str | None = "AG-001",
    payload: bytes = FAKE_MP4,
) -> tuple[Source, Recording]:
    """A finished recording of ``payload`` in two chunks, through the vault's own API (no video decoding)."""
    source = vault.ensure_source(source_name, kind=kind, unit=unit)
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    recording = vault.begin_recording(
        source, start=start, original_name="clip.mp4", media_info={"officer": officer} if officer else {}
    )
    half = len(payload) // 2
    for index, part in enumerate((payload[:half], payload[half:])):
        vault.append(
            source,
            recording,
            vault.prepare(part),
            start=start + timedelta(seconds=5 * index),
            end=start + timedelta(seconds=5 * (index + 1)),
            kind="chunk",
            byte_offset=index * half,
        )
    import hashlib

    vault.finish(source, recording, end=start + timedelta(seconds=10), sha256=hashlib.sha256(payload).hexdigest())
    return source, recording
