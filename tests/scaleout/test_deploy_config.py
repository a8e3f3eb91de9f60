"""The example multi-node configuration in deploy/ is a valid Settings file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vigie.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_example_configuration_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_CONFIG", str(DEPLOY / "vigie.yaml"))
    settings = Settings()
    assert settings.events.bus == "nats"
    assert settings.vault.store == "s3" and settings.vault.s3 is not None
    assert settings.catalog_url.startswith("postgresql+psycopg://")


def test_the_example_layout_has_every_role() -> None:
    layout = yaml.safe_load((DEPLOY / "nodes.yaml").read_text())
    commands = [node["command"] for node in layout["nodes"]]
    roles = [command.split("--role ")[1].split()[0] for command in commands]
    assert sorted(roles) == ["analytics", "api", "recorder", "recorder"]
