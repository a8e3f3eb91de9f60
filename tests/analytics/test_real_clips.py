"""The real clips beside the repository raise no abandoned-object, fire or crowd-movement alarm.

Skipped when ../shared/data (or $VIGIE_SHARED_DATA) is absent: tests never depend on it.
"""

from __future__ import annotations

import pytest

from vigie.analytics import AnalyzerConfig, EventType, analyse_video
from vigie.cli.analytics_commands import REAL_CLIPS

from .helpers import real_clip

FORBIDDEN = {EventType.ABANDONED_OBJECT, EventType.FIRE, EventType.CROWD_MOVEMENT}


@pytest.mark.parametrize("name", REAL_CLIPS)
def test_real_clip_raises_no_abandoned_fire_or_crowd_movement(name: str) -> None:
    path = real_clip(name)
    if path is None:
        pytest.skip("shared data not present")
    report = analyse_video(path, config=AnalyzerConfig())
    assert report.frames_analysed > 300
    wrong = [event for event in report.events if event.type in FORBIDDEN]
    assert wrong == [], f"{name}: {[(e.type.value, e.start) for e in wrong]}"
