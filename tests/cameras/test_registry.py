"""The camera registry: validation, sealed credentials, audit, remove keeps footage; and its CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigie.access.audit import AuditLog
from vigie.config import RetentionPeriod
from vigie.ingest.cameras.registry import CameraError, CameraRegistry, CameraSpec, UnknownCamera, load_targets

from .helpers import ACTOR, Installation, installation, quick_settings

VIGIE = [sys.executable, "-m", "vigie"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Installation]:
    site = installation(quick_settings(tmp_path / "home"))
    yield site
    site.close()


@pytest.fixture
def registry(site: Installation) -> CameraRegistry:
    return CameraRegistry(site.vault, site.audit)


def test_add_seals_credentials_and_makes_a_camera_source(site: Installation, registry: CameraRegistry) -> None:
    record = registry.add(
        CameraSpec(
            "mairie-1",
            "rtsp://admin:p%40ss:word@10.1.2.3:554/Streaming/101",
            sub_url="rtsp://10.1.2.3/Streaming/102",
            latitude=48.85,
            longitude=2.35,
            heading=270,
            retention=RetentionPeriod(days=21),
            unit="ville/police-municipale",
            authorisation="AP-75-2025-0042",
        ),
        ACTOR,
    )
    assert record.main_url == "rtsp://10.1.2.3:554/Streaming/101" and record.has_credentials
    assert "p%40ss" not in json.dumps(record.as_dict(), default=str)
    source = site.vault.source("mairie-1")
    assert source.kind == "camera" and source.retention == "P21D" and source.unit == "ville/police-municipale"
    # The recorder gets the credentials back, both streams use them.
    (target,) = load_targets(site.vault)
    assert target.main_url == "rtsp://admin:p%40ss%3Aword@10.1.2.3:554/Streaming/101"
    assert target.sub_url == "rtsp://admin:p%40ss%3Aword@10.1.2.3/Streaming/102"
    # Nothing in the catalog holds the password in clear.
    with site.catalog.engine.connect() as connection:
        dump = "\n".join(connection.connection.iterdump())  # type: ignore[attr-defined]
    assert "p@ss" not in dump and "p%40ss" not in dump


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (CameraSpec("c", "rtsp://h/x", retention=RetentionPeriod(days=40)), "legal maximum"),
        (CameraSpec("c", "rtsp://h/x", retention=RetentionPeriod(months=2)), "legal maximum"),
        (CameraSpec("c", "http://h/x"), "rtsp://"),
        (CameraSpec("c", "rtsp:///x"), "no host"),
        (CameraSpec("bad name", "rtsp://h/x"), "camera name"),
        (CameraSpec("c", "rtsp://h/x", latitude=95.0, longitude=2.0), "--lat"),
        (CameraSpec("c", "rtsp://h/x", latitude=45.0), "both --lat and --lon"),
        (CameraSpec("c", "rtsp://h/x", heading=360.0), "--heading"),
        (CameraSpec("c", "rtsp://a:b@h/x", sub_url="rtsp://c:d@h/y"), "same camera account"),
    ],
)
def test_add_refuses_bad_input(registry: CameraRegistry, spec: CameraSpec, message: str) -> None:
    with pytest.raises(CameraError, match=message):
        registry.add(spec, ACTOR)
    assert registry.cameras(include_removed=True) == []


def test_one_month_is_accepted(registry: CameraRegistry) -> None:
    assert registry.add(CameraSpec("a", "rtsp://h/a", retention=RetentionPeriod(months=1)), ACTOR).retention == "P1M"
    assert registry.add(CameraSpec("b", "rtsp://h/b", retention=RetentionPeriod(days=31)), ACTOR).retention == "P31D"


def test_disable_remove_are_audited_and_keep_the_source(site: Installation, registry: CameraRegistry) -> None:
    registry.add(CameraSpec("gare-2", "rtsp://h/gare"), ACTOR)
    with pytest.raises(CameraError, match="exists already"):
        registry.add(CameraSpec("gare-2", "rtsp://h/other"), ACTOR)
    registry.set_enabled("gare-2", False, ACTOR, reason="works on the square")
    assert load_targets(site.vault) == []
    registry.set_enabled("gare-2", True, ACTOR)
    assert [t.name for t in load_targets(site.vault)] == ["gare-2"]
    registry.remove("gare-2", ACTOR, reason="camera dismantled")
    assert registry.cameras() == [] and registry.cameras(include_removed=True)[0].removed
    assert site.vault.source("gare-2").enabled is False  # footage stays, under its retention
    with pytest.raises(UnknownCamera):
        registry.get("gare-2")
    with pytest.raises(CameraError, match="removed"):
        registry.set_enabled("gare-2", True, ACTOR)
    with pytest.raises(UnknownCamera):
        registry.remove("nope", ACTOR)
    actions = [entry.action for entry in AuditLog(site.catalog, site.vault.signer).entries()]
    assert actions == ["camera.add", "camera.disable", "camera.enable", "camera.remove"]
    problems, count = site.audit.verify()
    assert problems == [] and count == 4


# -- the CLI contract ----------------------------------------------------------------------------
def vigie(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    return subprocess.run([*VIGIE, "--home", str(home), *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.slow
def test_cli_registry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = vigie(
        home, "camera", "add", "quai-3", "--url", "rtsp://viewer:secret@127.0.0.1:8554/cam0",
        "--sub-url", "rtsp://127.0.0.1:8554/cam0/sub", "--lat", "43.3", "--lon", "5.37", "--heading", "180",
        "--retention-days", "15", "--unit", "marseille", "--authorisation", "AP-13-2024-7", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["retention"] == "P15D"

    refused = vigie(home, "camera", "add", "quai-4", "--url", "rtsp://h/x", "--retention-days", "40")
    assert refused.returncode == 2
    assert "error:" in refused.stderr and "legal maximum" in refused.stderr and "Traceback" not in refused.stderr

    for command in (("camera", "disable", "nope"), ("camera", "remove", "nope"), ("timeline", "nope"),
                    ("record", "--camera", "nope", "--seconds", "1")):  # fmt: skip
        result = vigie(home, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "unknown camera 'nope'" in result.stderr and "Traceback" not in result.stderr

    listed = json.loads(vigie(home, "camera", "list", "--json").stdout)
    assert [row["name"] for row in listed] == ["quai-3"]
    assert listed[0]["credentials"] is True and "secret" not in json.dumps(listed)
    assert listed[0]["health"]["state"] == "never-recorded"
    assert vigie(home, "camera", "disable", "quai-3", "--reason", "maintenance").returncode == 0
    assert json.loads(vigie(home, "camera", "list", "--json").stdout)[0]["enabled"] is False
    assert vigie(home, "camera", "remove", "quai-3").returncode == 0
    assert json.loads(vigie(home, "camera", "list", "--json").stdout) == []
    assert json.loads(vigie(home, "camera", "list", "--all", "--json").stdout)[0]["removed"] is True
    timeline = json.loads(vigie(home, "timeline", "quai-3", "--json").stdout)
    assert timeline == {"segments": [], "gaps": []}
