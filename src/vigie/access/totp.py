"""Time-based one-time passwords (RFC 6238) as the second factor, with replay protection."""

from __future__ import annotations

import time
from urllib.parse import quote

import pyotp

STEP_SECONDS = 30


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (shown once, at creation or reset)."""
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}&digits=6&period=30"


def current_code(secret: str, at: float | None = None) -> str:
    return str(pyotp.TOTP(secret).at(at if at is not None else time.time()))


def matching_step(secret: str, code: str, *, last_step: int, at: float | None = None, drift: int = 1) -> int | None:
    """The time step ``code`` belongs to, within ±``drift`` steps of now, if it is newer than ``last_step``.

    Returning the step lets the caller remember it: a code already used (or an older one) is refused,
    as RFC 6238 §5.2 asks, so an observed code cannot be replayed within its validity window.
    """
    cleaned = "".join(code.split())
    if len(cleaned) != 6 or not cleaned.isdigit():
        return None
    now = at if at is not None else time.time()
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in range(current - drift, current + drift + 1):
        if step > last_step and pyotp.utils.strings_equal(str(totp.generate_otp(step)), cleaned):
            return step
    return None
