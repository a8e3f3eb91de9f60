"""Forensic analysis of a vault recording: a consultation, so it needs a reason and is registered."""

from __future__ import annotations

import json
from pathlib import Path

from test_vault_cli import run


def test_analyse_a_vault_recording_needs_a_reason_and_is_audited(tmp_path: Path, scenes: Path) -> None:
    home = tmp_path / "home"
    run(home, "import", str(scenes / "walkers.mp4"), "--source", "cam-1")
    recording = json.loads(run(home, "recordings", "--json").stdout)[0]["id"]
    refused = run(home, "analyse", recording, "--json", check=False)
    assert refused.returncode == 2 and "--reason" in refused.stderr and refused.stdout == ""
    done = run(home, "analyse", recording, "--json", "--reason", "contrôle d'une alerte")
    assert all(json.loads(line)["type"] for line in done.stdout.splitlines())  # the JSON-lines contract holds
    register = json.loads(run(home, "audit", "export", "--format", "json").stdout)
    rows = register if isinstance(register, list) else register.get("entries", [])
    analysed = [row for row in rows if row["action"] == "analyse"]
    assert len(analysed) == 1 and analysed[0]["reason"] == "contrôle d'une alerte"
    unknown = run(home, "analyse", "no-such-thing", check=False)
    assert unknown.returncode == 2 and "no such file" in unknown.stderr
