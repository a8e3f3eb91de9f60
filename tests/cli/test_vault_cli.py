"""The command-line contract: what scripts call and parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VIGIE = [sys.executable, "-m", "vigie"]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    result = subprocess.run([*VIGIE, "--home", str(home), *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"vigie {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, scenes: Path) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    out = run(
        home, "import", str(scenes / "walkers.mp4"), "--source", "cam-1", "--start", "2026-11-20T10:00:00Z"
    ).stdout
    assert "segments" in out and "recording" in out
    run(home, "import", str(scenes / "night.mp4"), "--source", "BC-7", "--kind", "bodycam")
    return home


def test_recordings_json_contract(home: Path, scenes: Path) -> None:
    rows = json.loads(run(home, "recordings", "--json").stdout)
    assert len(rows) == 2
    for row in rows:
        assert {"id", "source", "kind", "start", "end", "segments", "sha256"} <= row.keys()
    camera = next(r for r in rows if r["source"] == "cam-1")
    bodycam = next(r for r in rows if r["source"] == "BC-7")
    assert camera["kind"] == "camera" and camera["start"] == "2026-11-20T10:00:00.000000Z"
    assert camera["sha256"] is None and camera["segments"] >= 2
    import hashlib

    assert bodycam["sha256"] == hashlib.sha256((scenes / "night.mp4").read_bytes()).hexdigest()
    only = json.loads(run(home, "recordings", "--source", "BC-7", "--json").stdout)
    assert [r["source"] for r in only] == ["BC-7"]


def test_verify_intact_then_reports_tampering(home: Path, tmp_path: Path) -> None:
    ok = run(home, "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("intact")
    report = json.loads(run(home, "verify", "--json").stdout)
    assert report["intact"] is True and report["audit_entries"] >= 2

    blob = next(p for p in (home / "vault").rglob("*") if p.is_file())
    original = blob.read_bytes()
    blob.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        bad = run(home, "verify", check=False)
        assert bad.returncode == 1
        assert bad.stdout.splitlines()[0].startswith("modified\tsegment ")
    finally:
        blob.write_bytes(original)
    assert run(home, "verify").returncode == 0


def test_unknown_source_is_one_clear_line(home: Path) -> None:
    result = run(home, "recordings", "--source", "nope", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown source 'nope'"


def test_missing_and_bogus_files(home: Path, tmp_path: Path) -> None:
    missing = run(home, "import", str(tmp_path / "absent.mp4"), "--source", "cam-1", check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"GIF89a" + b"\x00" * 500)
    bogus = run(home, "import", str(junk), "--source", "cam-1", check=False)
    assert bogus.returncode == 2 and "error:" in bogus.stderr and "Traceback" not in bogus.stderr


def test_holds_and_purge(home: Path) -> None:
    run(
        home,
        "hold",
        "add",
        "--case",
        "PV-1",
        "--source",
        "cam-1",
        "--from",
        "2026-11-20T10:00:00Z",
        "--to",
        "2026-11-20T10:00:03Z",
        "--reason",
        "incident",
    )
    holds = json.loads(run(home, "hold", "list", "--json").stdout)
    assert holds[0]["case"] == "PV-1" and holds[0]["released_at"] is None
    dry = json.loads(run(home, "purge", "--dry-run", "--as-of", "2027-06-01T00:00:00Z", "--json").stdout)
    assert dry["dry_run"] and dry["held"] == 1 and dry["purged"]
    assert run(home, "recordings", "--json").stdout  # nothing deleted
    assert run(home, "verify").returncode == 0
    run(home, "hold", "release", str(holds[0]["id"]), "--reason", "case closed")


def test_extract_requires_a_reason_and_is_byte_exact(home: Path, tmp_path: Path, scenes: Path) -> None:
    rows = json.loads(run(home, "recordings", "--source", "BC-7", "--json").stdout)
    out = tmp_path / "bc.mp4"
    run(home, "extract", rows[0]["id"][:8], "--out", str(out), "--reason", "PV-1 report")
    assert out.read_bytes() == (scenes / "night.mp4").read_bytes()
    refused = run(home, "extract", rows[0]["id"], "--out", str(tmp_path / "x.mp4"), "--reason", " ", check=False)
    assert refused.returncode == 2 and "reason" in refused.stderr
