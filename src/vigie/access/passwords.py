"""Password hashing (argon2id) and the password policy (CNIL délibération 2022-100)."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vigie.config import AccessSettings

_CLASSES = (
    ("lower-case letters", str.islower),
    ("upper-case letters", str.isupper),
    ("digits", str.isdigit),
    ("symbols", lambda char: not char.isalnum()),
)


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says what to change."""


def check_password_policy(password: str, *, username: str, min_length: int = 12) -> None:
    """CNIL 2022: at least 12 characters of all four classes, or at least 14 of three classes.

    The username (or its reverse) inside the password counts for nothing, so it is refused.
    """
    present = [name for name, test in _CLASSES if any(test(char) for char in password)]
    long_enough_for_three = max(min_length, 14)
    if len(password) < min_length:
        raise WeakPassword(f"password too short: at least {min_length} characters")
    if len(present) < 4 and not (len(password) >= long_enough_for_three and len(present) >= 3):
        missing = [name for name, _ in _CLASSES if name not in present]
        raise WeakPassword(
            f"password needs upper- and lower-case letters, digits and symbols (missing: {', '.join(missing)}), "
            f"or at least {long_enough_for_three} characters of three of these kinds"
        )
    lowered = password.lower()
    name = username.lower()
    if len(name) >= 3 and (name in lowered or name[::-1] in lowered):
        raise WeakPassword("password must not contain the username")
    if len(set(password)) < 6:
        raise WeakPassword("password repeats too few different characters")


def generate_password(length: int = 20) -> str:
    """A random password that always satisfies the policy (used when none is given)."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            check_password_policy(candidate, username="", min_length=12)
        except WeakPassword:
            continue
        return candidate


class Passwords:
    """argon2id with the parameters of the settings (RFC 9106 low-memory profile by default)."""

    def __init__(self, settings: AccessSettings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the username is unknown, so timing does not tell which accounts exist.
        self._decoy = self.hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn_time(self, password: str) -> None:
        self.verify(self._decoy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)
