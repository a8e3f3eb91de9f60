"""End to end: simulate docked devices, offload them with tuspy to a live server, and the completeness
report names exactly the recordings the simulator withheld (the scripts' contract: truth.json vs --json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from vigie.catalog.bodycam_models import BodycamRecording
from vigie.cli.bodycam_commands import loopback_server
from vigie.cli.main import app as cli
from vigie.config import Settings
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.offload import offload_directory

from .helpers import ADMIN


def run_cli(settings: Settings, *args: str) -> str:
    """The real command line on the test's installation (its catalog, vault store and keys)."""
    config = settings.home.parent / "vigie-test.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude={"retention"})))
    result = CliRunner().invoke(
        cli, ["--home", str(settings.home), *args], env={"VIGIE_CONFIG": str(config)}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow
def test_offload_then_completeness_equals_the_simulator_truth(
    app: FastAPI, settings: Settings, context: BodycamContext, tmp_path: Path
) -> None:
    out = tmp_path / "docks"
    run_cli(
        settings,
        "simulate",
        "bodycams",
        "--devices",
        "3",
        "--days",
        "2",
        "--missing-rate",
        "0.3",
        "--seed",
        "11",
        "--out",
        str(out),
    )
    truth = json.loads((out / "truth.json").read_text())
    assert truth and all(set(item) == {"device", "sequence"} for item in truth)
    token = context.registry.issue_dock_token("dock-e2e", by=ADMIN).token
    with loopback_server(app) as url:
        report = offload_directory(out, url, token, chunk_size=8192)
        assert all(device.error is None and not device.refused for device in report.devices), report.as_json()
        delivered = report.uploaded
        # A second offload of the same docks: nothing is accepted twice.
        again = offload_directory(out, url, token)
    assert again.uploaded == 0 and sum(d.already_received for d in again.devices) == delivered
    with context.catalog.session() as session:
        assert session.execute(select(func.count()).select_from(BodycamRecording)).scalar_one() == delivered

    missing = json.loads(run_cli(settings, "bodycam", "completeness", "--json"))
    assert [{"device": item["device"], "sequence": item["sequence"]} for item in missing] == truth
    one = truth[0]["device"]
    for_one = json.loads(run_cli(settings, "bodycam", "completeness", "--device", one, "--json"))
    assert [item["sequence"] for item in for_one] == [item["sequence"] for item in truth if item["device"] == one]
    # The vault still verifies, and every stored recording is byte-exact against the device's manifest.
    assert "intact" in run_cli(settings, "verify")
