"""``vigie mask`` and ``vigie redact`` as scripts call them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

VIGIE = [sys.executable, "-m", "vigie"]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    result = subprocess.run([*VIGIE, "--home", str(home), *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"vigie {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def test_mask_and_redact_commands(tmp_path: Path, faces_clip: Path) -> None:
    home = tmp_path / "home"
    recording = json.loads(run(home, "import", str(faces_clip), "--source", "cam-1", "--json").stdout)["id"]
    run(home, "mask", "add", "cam-1", "--name", "house", "--polygon", "0.6,0.05 0.95,0.05 0.95,0.5 0.6,0.5")
    run(home, "mask", "add", "cam-1", "--name", "door", "--polygon", "0,0 64,0 64,90", "--pixels", "640x360")
    bad = run(home, "mask", "add", "cam-1", "--name", "x", "--polygon", "0.1,0.1 0.2,0.2", check=False)
    assert bad.returncode == 2 and "at least 3 points" in bad.stderr
    listed = json.loads(run(home, "mask", "list", "cam-1", "--json").stdout)
    assert [m["name"] for m in listed] == ["door", "house"] and listed[0]["polygon"][1] == [0.1, 0.0]
    run(home, "mask", "remove", "cam-1", "door")
    assert [m["name"] for m in json.loads(run(home, "mask", "list", "cam-1", "--json").stdout)] == ["house"]

    result = json.loads(run(home, "redact", recording, "--json", "--reason", "test export").stdout)
    assert result["recording"] == recording and result["status"] == "pending-review"
    assert result["faces_found"] >= 1 and result["frames"] == 30 and len(result["sha256"]) == 64
    assert sorted(result["masks"]) == ["door", "house"]  # door was in force when the footage was recorded
    short = run(home, "redact", "approve", result["redaction"], "--reason", "ok", check=False)
    assert short.returncode == 2
    run(home, "redact", "approve", result["redaction"], "--reason", "checked every frame")
    rows = json.loads(run(home, "redact", "list", "--json").stdout)
    assert rows[0]["status"] == "approved"
    actions = [row["action"] for row in json.loads(run(home, "audit", "export", "--format", "json").stdout)]
    assert {"mask.add", "mask.remove", "redaction.create", "redaction.approve"} <= set(actions)


def test_redacting_a_file_without_faces_warns(tmp_path: Path) -> None:
    from vigie.privacy.testing import street_background, write_clip

    clip = tmp_path / "street.mp4"
    write_clip((street_background(320, 180, s) for s in range(5)), str(clip))
    result = run(tmp_path / "home", "redact", str(clip), "--json")
    assert json.loads(result.stdout)["faces_found"] == 0
    assert "0 faces found: review carefully" in result.stderr
    assert (tmp_path / "street.redacted.mp4").is_file()
