"""Password policy (CNIL 2022), argon2id hashing, and TOTP with replay protection."""

from __future__ import annotations

import time

import pyotp
import pytest

from vigie.access import totp
from vigie.access.passwords import Passwords, WeakPassword, check_password_policy, generate_password

from .helpers import FAST_ACCESS


@pytest.mark.parametrize(
    "password",
    [
        "Short1!",  # too short
        "alllowercaseletters",  # one class
        "Abcdefghijk1",  # 12 chars, three classes: needs 14
        "aaaaaaaaaaaA1!",  # too few distinct characters
        "Xx-jdupont-2026!",  # contains the username
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password_policy(password, username="jdupont")


@pytest.mark.parametrize("password", ["Tr0mbone!Vert", "correct horse battery staple 42", "Abcdefghijklm1"])
def test_strong_passwords_pass(password: str) -> None:
    check_password_policy(password, username="jdupont")


def test_generated_passwords_always_pass() -> None:
    for _ in range(50):
        check_password_policy(generate_password(), username="someone")


def test_passwords_are_hashed_with_argon2id() -> None:
    passwords = Passwords(FAST_ACCESS)
    digest = passwords.hash("Tr0mbone!Vert")
    assert digest.startswith("$argon2id$")
    assert "Tr0mbone" not in digest
    assert passwords.verify(digest, "Tr0mbone!Vert")
    assert not passwords.verify(digest, "tr0mbone!Vert")
    assert not passwords.verify("not a hash", "Tr0mbone!Vert")


def test_totp_codes_are_accepted_once_and_only_near_now() -> None:
    secret = totp.new_secret()
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    step = totp.matching_step(secret, code, last_step=0, at=now)
    assert step == int(now // 30)
    # Replaying the same code (or any older one) is refused.
    assert totp.matching_step(secret, code, last_step=step, at=now) is None
    # One step of clock drift either way is tolerated, three are not.
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now - 30), last_step=0, at=now) is not None
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now - 90), last_step=0, at=now) is None
    for junk in ("", "12345", "abcdef", "1234567"):
        assert totp.matching_step(secret, junk, last_step=0, at=now) is None
    assert totp.matching_step(secret, code[:3] + " " + code[3:], last_step=0, at=now) == step


def test_provisioning_uri_is_what_authenticator_apps_scan() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", username="chef.dupont", issuer="Vigie Lyon")
    assert uri.startswith("otpauth://totp/Vigie%20Lyon:chef.dupont?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert "issuer=Vigie%20Lyon" in uri
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
