"""The plain data of `vigie.sim`: specs, events, zones, and the truth's JSON form."""

from __future__ import annotations

import json

import pytest

from vigie.sim import EVENT_TYPES, SCENE_KINDS, GroundTruth, SceneSpec, TruthEvent, Zone, foot_point, ground_truth

from .helpers import inside_frame, small


def test_kinds_and_event_types_are_the_documented_ones() -> None:
    assert SCENE_KINDS == (
        "walkers", "abandoned", "crowd_disperse", "crowd_thickens", "zone_intrusion", "wrong_way", "fall", "fire",
        "tamper",
    )  # fmt: skip
    assert set(EVENT_TYPES) == {
        "abandoned_object", "crowd_movement", "crowd_density", "zone_intrusion", "wrong_way", "person_down", "fire",
        "camera_tamper",
    }  # fmt: skip


def test_spec_defaults() -> None:
    spec = SceneSpec("walkers")
    assert (spec.width, spec.height, spec.fps, spec.seconds, spec.seed, spec.variant) == (640, 360, 10, 20.0, 0, "day")
    assert spec.frame_count == 200
    assert spec.abandoned_after == 10.0
    assert SceneSpec("abandoned").event_time == pytest.approx(5.0)  # the bag goes down at about 5 s
    assert SceneSpec("fall", event_at=3.0).event_time == 3.0


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "parade"},
        {"kind": "walkers", "variant": "fog"},
        {"kind": "walkers", "width": 321},
        {"kind": "walkers", "height": 10},
        {"kind": "walkers", "fps": 0},
        {"kind": "walkers", "seconds": 0},
        {"kind": "walkers", "seed": -1},
        {"kind": "fall", "event_at": 25.0},
        {"kind": "tamper", "tamper_mode": "spray"},
        {"kind": "walkers", "noise": -1.0},
    ],
)
def test_spec_rejects_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SceneSpec.from_dict(bad)


def test_event_type_is_checked() -> None:
    with pytest.raises(ValueError):
        TruthEvent("explosion", 1.0, None, None)
    with pytest.raises(ValueError):
        TruthEvent("fire", 2.0, 1.0, None)


def test_zone_membership_includes_the_border() -> None:
    zone = Zone("square", "density", ((10, 10), (20, 10), (20, 20), (10, 20)))
    assert zone.contains((15, 15))
    assert zone.contains((10, 15))
    assert not zone.contains((25, 15))
    assert zone.bounding_box() == (10, 10, 11, 11)
    assert foot_point((10, 20, 8, 30)) == (14, 49)


@pytest.mark.parametrize("kind", SCENE_KINDS)
def test_truth_survives_json(kind: str) -> None:
    truth = ground_truth(small(kind))
    text = truth.to_json()
    assert json.loads(text)["format"] == "vigie.sim.truth/1"
    assert GroundTruth.from_json(text) == truth


def test_truth_json_is_rejected_when_foreign() -> None:
    with pytest.raises(ValueError):
        GroundTruth.from_json('{"events": []}')


@pytest.mark.parametrize("kind", SCENE_KINDS)
def test_truth_is_sane(kind: str) -> None:
    spec = small(kind, seconds=8.0, abandoned_after=1.0)
    truth = ground_truth(spec)
    assert truth.frame_count == spec.frame_count == len(truth.track_ids)
    for boxes, tracks in zip(truth.frames, truth.track_ids, strict=True):
        assert len(boxes) == len(tracks) == len(set(tracks))
        assert all(inside_frame(box, spec) for box in boxes)
    for event in truth.events:
        assert 0 <= event.start < spec.seconds
        assert event.end is None or event.start < event.end <= spec.seconds
        # Times fall on frames (abandonment adds a delay that is itself a whole number of frames here).
        assert event.start * spec.fps == pytest.approx(round(event.start * spec.fps))
        assert event.box is None or inside_frame(event.box, spec)
    expected = {
        "walkers": [],
        "abandoned": ["abandoned_object"],
        "crowd_disperse": ["crowd_movement"],
        "crowd_thickens": ["crowd_density"],
        "zone_intrusion": ["zone_intrusion"],
        "wrong_way": ["wrong_way"],
        "fall": ["person_down"],
        "fire": ["fire"],
        "tamper": ["camera_tamper"],
    }
    assert [event.type for event in truth.events] == expected[kind]
