"""``vigie demo --no-serve`` ends with demo accounts whose secrets are printed once and work."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from vigie.access.audit import AuditLog
from vigie.access.secretbox import SecretBox
from vigie.access.users import UserStore
from vigie.catalog.db import Catalog
from vigie.cli.main import app
from vigie.config import Settings
from vigie.vault.store import Vault

from .helpers import FAST_ACCESS

ACCOUNT = re.compile(r"demo account (\S+) \((\w+)\): password (\S+), TOTP secret ([A-Z2-7]+)")


@pytest.mark.slow
def test_demo_creates_accounts_that_can_log_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_ACCESS__ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("VIGIE_ACCESS__ARGON2_TIME_COST", "1")
    monkeypatch.setenv("VIGIE_ACCESS__ARGON2_PARALLELISM", "1")
    home = tmp_path / "demo"
    runs = []
    for _ in range(2):  # a second run gives the same accounts fresh secrets
        result = CliRunner().invoke(app, ["--home", str(home), "demo", "--seconds", "2", "--no-serve"])
        assert result.exit_code == 0, result.output
        runs.append({match[0]: match for match in ACCOUNT.findall(result.stdout)})
    assert {name: match[1] for name, match in runs[1].items()} == {
        "demo-admin": "admin",
        "demo-auditor": "auditor",
        "demo-supervisor": "supervisor",
    }
    assert runs[0]["demo-admin"][3] != runs[1]["demo-admin"][3]
    assert "web:" not in result.stdout  # --no-serve

    settings = Settings(home=home, access=FAST_ACCESS)
    catalog = Catalog(settings.catalog_url)
    vault = Vault(settings, catalog)
    users = UserStore(catalog, AuditLog(catalog, vault.signer), SecretBox(vault.kek), settings.access)
    for username, _role, password, secret in runs[1].values():
        assert users.authenticate(username, password, pyotp.TOTP(secret).now(), client=None).username == username
    catalog.dispose()
