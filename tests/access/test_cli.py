"""``vigie user`` and ``vigie audit`` from the command line, on an embedded installation."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from vigie.access.audit import AuditLog
from vigie.access.secretbox import SecretBox
from vigie.access.users import UserStore
from vigie.catalog.db import Catalog
from vigie.cli.main import USER_ERRORS, app
from vigie.config import Settings
from vigie.vault.store import Vault

from .helpers import FAST_ACCESS, STRONG_PASSWORD


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIGIE_ACCESS__ARGON2_TIME_COST", "1")
    monkeypatch.setenv("VIGIE_ACCESS__ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("VIGIE_ACCESS__ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("VIGIE_OPERATOR", "admin-local")
    return tmp_path / "home"


def vigie(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--home", str(home), *args], input=stdin)
    if isinstance(result.exception, USER_ERRORS):
        return 2, str(result.exception)  # what main() turns into one line and exit code 2
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_user_lifecycle(home: Path) -> None:
    code, out = vigie(home, "user", "add", "chef.dupont", "--role", "supervisor", "--unit", "ville-a",
                      "--matricule", "CS-001", "--full-name", "Jeanne Dupont", "--password-stdin", "--json",
                      stdin=STRONG_PASSWORD + "\n")
    assert code == 0, out
    enrolment = json.loads(out)
    assert enrolment["password"] is None  # given on stdin, so not echoed
    assert enrolment["user"]["role"] == "supervisor"
    assert pyotp.parse_uri(enrolment["totp_uri"]).secret == enrolment["totp_secret"]

    code, out = vigie(home, "user", "add", "dpo", "--role", "auditor")
    assert code == 0 and "password    " in out and "otpauth://totp/" in out

    code, out = vigie(home, "user", "add", "op", "--role", "operator", "--unit", "ville-a")
    assert code != 0  # no matricule: refused with a clear error, no traceback

    code, out = vigie(home, "user", "list", "--json")
    assert [row["username"] for row in json.loads(out)] == ["chef.dupont", "dpo"]

    assert vigie(home, "user", "disable", "dpo", "--reason", "départ")[0] == 0
    code, out = vigie(home, "user", "list")
    assert "dpo\tauditor\t*\t-\tdisabled" in out
    assert vigie(home, "user", "enable", "dpo")[0] == 0

    code, out = vigie(home, "user", "reset", "chef.dupont", "--json")
    renewed = json.loads(out)
    assert renewed["password"] and renewed["totp_secret"] != enrolment["totp_secret"]

    code, out = vigie(home, "user", "token", "dpo", "--scope", "metrics.read", "--days", "1")
    assert code == 0 and out.strip().startswith("vgt_")

    # Everything above is in the register, and the register verifies.
    code, out = vigie(home, "audit", "export", "--format", "json")
    actions = [row["action"] for row in json.loads(out)]
    assert actions == ["user.create", "user.create", "user.disable", "user.enable", "user.reset", "user.token"]
    code, out = vigie(home, "audit", "verify")
    assert code == 0 and "intact" in out


def test_a_new_user_can_log_in_with_the_printed_secrets(home: Path) -> None:
    _, out = vigie(home, "user", "add", "maint", "--role", "maintainer", "--json")
    enrolment = json.loads(out)
    settings = Settings(home=home, access=FAST_ACCESS)
    catalog = Catalog(settings.catalog_url)
    vault = Vault(settings, catalog)
    users = UserStore(catalog, AuditLog(catalog, vault.signer), SecretBox(vault.kek), settings.access)
    user = users.authenticate("maint", enrolment["password"], pyotp.TOTP(enrolment["totp_secret"]).now(), client=None)
    assert user.role.value == "maintainer"
    catalog.dispose()


def test_audit_export_to_a_file_and_tamper_detection(home: Path, tmp_path: Path) -> None:
    vigie(home, "user", "add", "dpo", "--role", "auditor")
    vigie(home, "audit", "checkpoint")
    out_file = tmp_path / "register.csv"
    code, _ = vigie(
        home, "audit", "export", "--from", "2000-01-01T00:00:00Z", "--format", "csv", "--out", str(out_file)
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert [row["action"] for row in rows] == ["user.create"]
    assert vigie(home, "audit", "export", "--out", str(out_file))[0] != 0  # never overwrites
    code, _ = vigie(home, "audit", "export", "--from", "yesterday")
    assert code != 0

    # Someone with database access rewrites an entry: both verify commands notice.
    with sqlite3.connect(home / "catalog.sqlite") as connection:
        connection.execute("UPDATE audit_entries SET actor = 'nobody' WHERE id = 1")
    code, out = vigie(home, "audit", "verify")
    assert code == 1 and "audit-tampered" in out
    code, out = vigie(home, "verify")
    assert code == 1 and "audit-tampered" in out
