"""The motion gate: sees movement, and treats a global change (IR switch, lightning) as recalibration."""

from __future__ import annotations

import numpy as np
import pytest

from vigie.analytics import Analyzer, AnalyzerConfig, Event, EventType, Frame
from vigie.analytics.enhance import Conditions
from vigie.analytics.motion import MotionDetector
from vigie.sim import SceneSpec, iter_frames

QUIET = Conditions(brightness=120.0, noise=1.0, night=False, rain=False, streak_fraction=0.0)


def street(brightness: int, square_at: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(3)
    picture = np.clip(rng.normal(brightness, 12, (90, 160)), 0, 255).astype(np.uint8)
    if square_at is not None:
        picture[40:60, square_at : square_at + 8] = 20
    return picture


def test_gate_sees_a_moving_object() -> None:
    gate = MotionDetector((160, 90))
    gate.update(street(120), 0.0, QUIET)
    for step in range(1, 6):
        result = gate.update(street(120, square_at=20 + 10 * step), step * 0.2, QUIET)
    assert result.active and not result.recalibrated
    assert 0.005 < result.changed_fraction < 0.1


def test_gate_recalibrates_on_a_global_brightness_jump() -> None:
    gate = MotionDetector((160, 90))
    for step in range(5):
        gate.update(street(120), step * 0.2, QUIET)
    jump = gate.update(street(200), 1.0, QUIET)  # the infrared cut filter switches, the sky flashes
    assert jump.recalibrated and not jump.active
    after = gate.update(street(200), 1.2, QUIET)
    assert not after.active and not after.recalibrated  # the new picture is the background now


@pytest.mark.parametrize(("change", "expected"), [("switch", [6.0]), ("lightning", [6.0, 6.2])])
def test_brightness_jump_raises_no_event_at_all(change: str, expected: list[float]) -> None:
    """Walkers on a street; at 6 s the picture brightens by 60 % at once: for good (an infrared
    switch) or for one frame (lightning). Backgrounds recalibrate; nothing is raised."""
    detectors = frozenset(EventType) - {EventType.ZONE_INTRUSION, EventType.WRONG_WAY, EventType.MOTION}
    analyzer = Analyzer(320, 180, AnalyzerConfig(detectors=detectors))
    raised: list[Event] = []
    recalibrated_at = []
    for time, picture in iter_frames(SceneSpec("walkers", width=320, height=180, fps=5, seconds=12.0, seed=2)):
        if time >= 6.0 and (change == "switch" or time < 6.1):
            picture = np.clip(picture.astype(np.float32) * 1.6 + 10, 0, 255).astype(np.uint8)
        result = analyzer.process(Frame.from_bgr(time, picture))
        raised.extend(result.raised)
        if result.recalibrated:
            recalibrated_at.append(round(time, 3))
        assert not result.tampered
    assert recalibrated_at == expected
    assert [event.type.value for event in raised] == []
