"""Each detector fires on its synthetic scene within its tolerance, and stays silent on plain walkers.

The scenes come from `vigie.sim` with exact ground truth; matching follows `vigie.analytics.evaluate`
(raised between 1 s before the truth and the type's tolerance after it, one alert per occurrence).
"""

from __future__ import annotations

import pytest

from vigie.analytics.evaluate import EARLY_SECONDS, TOLERANCE
from vigie.analytics.events import EventType

from .helpers import outcome, scene, scored

CASES = [
    ("abandoned", "day", {}),
    ("abandoned", "rain", {}),
    ("crowd_disperse", "day", {}),
    ("crowd_disperse", "night", {}),
    ("crowd_thickens", "day", {}),
    ("crowd_thickens", "rain", {}),
    ("zone_intrusion", "day", {}),
    ("zone_intrusion", "night", {}),
    ("wrong_way", "day", {}),
    ("wrong_way", "rain", {}),
    ("fall", "day", {}),
    ("fall", "night", {}),
    ("fire", "day", {}),
    ("fire", "night", {}),
    ("tamper", "day", {}),
    ("tamper", "night", {}),
    ("tamper", "rain", {"tamper_mode": "defocus"}),
]


@pytest.mark.parametrize(
    ("kind", "variant", "extra"), CASES, ids=[f"{k}-{v}-{'-'.join(e.values()) or 'x'}" for k, v, e in CASES]
)
def test_detector_fires_on_its_scene_within_tolerance(kind: str, variant: str, extra: dict[str, str]) -> None:
    spec = scene(kind, variant, **extra)
    result = scored(spec)
    truth = outcome(spec).truth
    assert truth, f"the {kind} scene has no event to find"
    assert not result.missed, f"missed {result.missed}; detected {outcome(spec).detected}"
    assert not result.false_alarms, f"false alarms {result.false_alarms}"
    for expected, detection in result.matched:
        delay = detection.start - expected.start
        assert -EARLY_SECONDS <= delay <= TOLERANCE[expected.type]


@pytest.mark.parametrize("variant", ["day", "night", "rain"])
def test_walkers_only_raise_nothing(variant: str) -> None:
    clip = outcome(scene("walkers", variant))
    assert clip.detected == (), f"false alarms on plain walkers ({variant}): {clip.detected}"


def test_every_default_detector_ran_on_the_walkers() -> None:
    ran = outcome(scene("walkers")).detectors
    assert {
        EventType.ABANDONED_OBJECT,
        EventType.CROWD_MOVEMENT,
        EventType.CROWD_DENSITY,
        EventType.PERSON_DOWN,
        EventType.FIRE,
        EventType.CAMERA_TAMPER,
    } <= ran
    assert EventType.MOTION not in ran  # only when asked for
