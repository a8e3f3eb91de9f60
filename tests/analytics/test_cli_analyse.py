"""The `vigie analyse` contract: JSON lines with exact keys on stdout and nothing else; clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import clip, scene

KEYS = ["type", "start", "end", "box", "score"]


def vigie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie", "analyse", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def fire_clip() -> Path:
    return clip(scene("fire"))[0]


def test_json_lines_contract(fire_clip: Path) -> None:
    done = vigie(str(fire_clip), "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines, "the fire scene must give at least one event"
    for line in lines:
        event = json.loads(line)  # every stdout line is a JSON object, nothing else
        assert list(event)[:5] == KEYS
        assert event["type"] in {
            "fire",
            "abandoned_object",
            "crowd_movement",
            "crowd_density",
            "person_down",
            "camera_tamper",
        }
        assert isinstance(event["start"], float | int) and event["start"] >= 0
        assert event["end"] is None or event["end"] >= event["start"]
        assert event["box"] is None or (len(event["box"]) == 4 and all(isinstance(v, int) for v in event["box"]))
        assert 0.0 <= event["score"] <= 1.0
    fires = [json.loads(line) for line in lines if json.loads(line)["type"] == "fire"]
    assert len(fires) == 1  # one per occurrence, not one per frame
    x, y, w, h = fires[0]["box"]
    assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 360  # input pixels


def test_detectors_zones_and_abandoned_after_options(tmp_path: Path) -> None:
    video, truth = clip(scene("zone_intrusion"))
    zones = tmp_path / "zones.json"
    polygon = [list(point) for point in truth.zones[0].polygon]
    zones.write_text(json.dumps({"zones": [{"name": "tracks", "kind": "forbidden", "polygon": polygon}]}))
    done = vigie(str(video), "--detectors", "zone_intrusion,motion", "--zones", str(zones), "--fps", "5",
                 "--abandoned-after", "30", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    kinds = [json.loads(line)["type"] for line in done.stdout.splitlines()]
    assert kinds.count("zone_intrusion") == 1
    assert "motion" in kinds
    assert set(kinds) <= {"zone_intrusion", "motion"}


def test_readable_table_without_json(fire_clip: Path) -> None:
    done = vigie(str(fire_clip), "--detectors", "fire")
    assert done.returncode == 0, done.stderr
    assert "fire" in done.stdout and "event" in done.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--detectors", "fire,smoke"], "unknown detector 'smoke'"),
        (["--detectors", "weapon"], "not provided"),
        (["--detectors", "wrong_way"], "needs at least one direction zone"),
    ],
)
def test_bad_detectors_fail_cleanly(fire_clip: Path, arguments: list[str], message: str) -> None:
    done = vigie(str(fire_clip), *arguments, "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr


def test_zone_outside_the_image_fails_cleanly(fire_clip: Path, tmp_path: Path) -> None:
    zones = tmp_path / "zones.json"
    zones.write_text(
        json.dumps({"zones": [{"name": "far", "kind": "forbidden", "polygon": [[0, 0], [900, 0], [0, 50]]}]})
    )
    done = vigie(str(fire_clip), "--zones", str(zones), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert "error: zone 'far': point [900, 0] is outside the 640x360 image" in done.stderr


def test_unreadable_or_corrupt_files_fail_cleanly(tmp_path: Path, fire_clip: Path) -> None:
    missing = vigie(str(tmp_path / "nope.mp4"), "--json")
    assert missing.returncode == 2 and missing.stdout == "" and "no such file" in missing.stderr
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01not a video at all" * 500)
    corrupt = vigie(str(garbage), "--json")
    assert corrupt.returncode == 2 and corrupt.stdout == "" and corrupt.stderr.startswith("error: ")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(fire_clip.read_bytes()[:4000])
    cut = vigie(str(truncated), "--json")
    assert cut.returncode == 2 and cut.stdout == "" and cut.stderr.startswith("error: ")
    bad_zones = tmp_path / "zones.json"
    bad_zones.write_text("{not json")
    zones = vigie(str(fire_clip), "--zones", str(bad_zones), "--json")
    assert zones.returncode == 2 and "not valid JSON" in zones.stderr
