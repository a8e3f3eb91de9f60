"""The command line: registry, dock tokens, completeness shape, search, and the demo docks."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from vigie.catalog.bodycam_models import BodycamDock
from vigie.cli.main import app as cli
from vigie.config import Settings
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.registry import token_hash

from .helpers import ADMIN, BASE_POINTS, LYON, T0, index_track


def run(settings: Settings, *args: str, code: int = 0) -> str:
    config = settings.home.parent / "vigie-test.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude={"retention"})))
    result = CliRunner().invoke(cli, ["--home", str(settings.home), *args], env={"VIGIE_CONFIG": str(config)})
    assert result.exit_code == code, result.output
    return result.stdout


def test_registry_commands(settings: Settings, context: BodycamContext) -> None:
    assert "bodycam_firefighters" in run(
        settings, "bodycam", "device", "add", "SP-CAM-1", "--force", "firefighters", "--unit", "sdis69"
    )
    run(settings, "bodycam", "device", "add", "SP-CAM-1", "--force", "police", code=2)  # registered already
    run(settings, "bodycam", "device", "add", "bad serial!", "--force", "police", code=2)
    run(
        settings,
        "bodycam",
        "assign",
        "SP-CAM-1",
        "SP-4242",
        "--from",
        "2026-11-20T06:00:00Z",
        "--to",
        "2026-11-20T14:00:00Z",
    )
    run(settings, "bodycam", "assign", "NO-SUCH", "SP-4242", code=2)
    listed = json.loads(run(settings, "bodycam", "device", "list", "--json"))
    assert [(d["serial"], d["force"], d["complete"]) for d in listed] == [("SP-CAM-1", "firefighters", True)]
    assignments = context.registry.assignments("SP-CAM-1")
    assert [(matricule, a.start) for a, matricule in assignments] == [("SP-4242", T0.replace(hour=6))]


def test_dock_token_is_printed_once_and_stored_hashed(settings: Settings, context: BodycamContext) -> None:
    token = run(settings, "dock", "token", "--name", "commissariat-1").strip()
    assert token.startswith("vgd_")
    with context.catalog.session() as session:
        dock = session.query(BodycamDock).one()
    assert dock.token_hash == token_hash(token) and token not in dock.token_hash
    assert context.registry.authenticate_dock(token) is not None
    renewed = run(settings, "dock", "token", "--name", "commissariat-1").strip()
    assert context.registry.authenticate_dock(token) is None and context.registry.authenticate_dock(renewed)
    run(settings, "dock", "revoke", "commissariat-1")
    assert context.registry.authenticate_dock(renewed) is None


def test_completeness_json_is_a_list_of_device_and_sequence(settings: Settings, context: BodycamContext) -> None:
    assert json.loads(run(settings, "bodycam", "completeness", "--json")) == []
    run(settings, "bodycam", "completeness", "--device", "NO-SUCH", "--json", code=2)


def test_search_command(settings: Settings, context: BodycamContext) -> None:
    device = context.registry.add_device("BWC-CLI", force="police", by=ADMIN)
    recording = index_track(context, device, 1, BASE_POINTS)
    near = f"{LYON[0]},{LYON[1]}"
    window = ["--from", T0.isoformat(), "--to", (T0 + timedelta(minutes=10)).isoformat()]
    found = json.loads(run(settings, "search", "--near", near, "--radius", "100", *window, "--json"))
    assert [hit["recording_id"] for hit in found["results"]] == [recording]
    assert found["results"][0]["spans"][0]["start"].startswith("2026-11-20T10:00:00")
    far = json.loads(run(settings, "search", "--near", "48.85,2.35", "--radius", "100", *window, "--json"))
    assert far["results"] == []
    run(settings, "search", "--near", "nowhere", "--radius", "100", *window, code=2)
    run(settings, "search", "--near", near, "--radius", "-1", *window, code=2)


def test_simulate_writes_a_dock_directory(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    run(
        settings,
        "simulate",
        "bodycams",
        "--devices",
        "2",
        "--days",
        "1",
        "--missing-rate",
        "0.5",
        "--seed",
        "3",
        "--out",
        str(out),
        "--no-register",
    )
    truth = json.loads((out / "truth.json").read_text())
    assert all(set(item) == {"device", "sequence"} for item in truth)
    devices = json.loads((out / "devices.json").read_text())
    assert len(devices) == 2
    for device in devices:
        folder = out / device["serial"]
        assert (folder / "events.jsonl").exists() and (folder / "device.json").exists()
        for manifest in (folder / "recordings").glob("*.json"):
            data = json.loads(manifest.read_text())
            video = (folder / "recordings" / data["file"]).read_bytes()
            assert hashlib.sha256(video).hexdigest() == data["sha256"]
            assert (folder / "recordings" / data["track"]).exists()


def test_demo_docks_find_exactly_what_was_withheld(settings: Settings, tmp_path: Path) -> None:
    from vigie.cli.bodycam_commands import run_demo_docks
    from vigie.cli.context import CliState

    state = CliState(home=settings.home)
    state.__dict__["settings"] = settings  # the test's installation (catalog, vault store)
    try:
        demo = run_demo_docks(settings, state, devices=2, days=1, missing_rate=0.4, seed=5, out=tmp_path / "docks")
    finally:
        state.close()
    assert demo.report.uploaded > 0 and demo.complete_match
