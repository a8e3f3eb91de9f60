"""Bad input gives clear errors: wrong frame sizes, disorder, malformed zones."""

from __future__ import annotations

import numpy as np
import pytest

from vigie.analytics import (
    Analyzer,
    AnalyzerConfig,
    EventType,
    Frame,
    FrameSizeError,
    ZoneError,
    parse_detectors,
    parse_setup,
)
from vigie.analytics.zones import ZoneKind


def grey(width: int, height: int, level: int = 100) -> np.ndarray:
    return np.full((height, width), level, np.uint8)


def test_frame_of_another_size_mid_stream_is_refused() -> None:
    analyzer = Analyzer(640, 360)
    analyzer.process(Frame.from_grey(0.0, grey(640, 360)))
    with pytest.raises(FrameSizeError, match=r"1280x720.*640x360"):
        analyzer.process(Frame.from_grey(0.2, grey(1280, 720)))


def test_frames_out_of_time_order_are_refused() -> None:
    analyzer = Analyzer(320, 180)
    analyzer.process(Frame.from_grey(1.0, grey(320, 180)))
    with pytest.raises(ValueError, match="time order"):
        analyzer.process(Frame.from_grey(0.5, grey(320, 180)))


def test_tiny_frames_are_refused() -> None:
    with pytest.raises(FrameSizeError):
        Analyzer(16, 16)


def zone(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "rails",
        "kind": "forbidden",
        "polygon": [[10, 10], [100, 10], [100, 50], [10, 50]],
    }
    base.update(overrides)
    return base


def test_valid_zones_parse() -> None:
    setup = parse_setup(
        {
            "zones": [
                zone(),
                zone(name="corridor", kind="direction", direction=[2, 0]),
                zone(name="square", kind="density", max_people=12),
            ],
            "person_height": [[100, 40], [300, 120]],
        },
        640,
        360,
    )
    assert [z.kind for z in setup.zones] == [ZoneKind.FORBIDDEN, ZoneKind.DIRECTION, ZoneKind.DENSITY]
    assert setup.zones[1].direction == (1.0, 0.0)
    assert setup.zones[2].max_people == 12


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"zones": [zone(polygon=[[10, 10], [700, 10], [100, 50]])]}, "outside the 640x360 image"),
        ({"zones": [zone(polygon=[[10, 10], [20, 20]])]}, "at least 3"),
        ({"zones": [zone(polygon=[[10, 10], [20, 20], [30, 30]])]}, "no area"),
        ({"zones": [zone(polygon=[[0, 0], [100, 100], [100, 0], [0, 100]])]}, "cross"),
        ({"zones": [zone(polygon=[[0, 0], ["a", 1], [5, 5]])]}, "not an"),
        ({"zones": [zone(kind="moat")]}, "kind must be one of"),
        ({"zones": [zone(kind="direction")]}, "needs direction"),
        ({"zones": [zone(kind="direction", direction=[0, 0])]}, "no length"),
        ({"zones": [zone(), zone()]}, "used twice"),
        ({"zones": [zone(colour="red")]}, "unknown key"),
        ({"zones": [zone(max_people=3)]}, "only applies to density"),
        ({"zones": "rails"}, "must be a list"),
        ([1, 2], "expected a JSON object"),
        ({"zones": [], "person_height": [[10, 10]]}, "person_height"),
    ],
)
def test_malformed_zones_are_clear_errors(document: object, message: str) -> None:
    with pytest.raises(ZoneError, match=message):
        parse_setup(document, 640, 360)


def test_zone_detectors_need_their_zones() -> None:
    with pytest.raises(ValueError, match="needs at least one forbidden zone"):
        parse_detectors("zone_intrusion")
    with pytest.raises(ValueError, match="needs at least one direction zone"):
        Analyzer(640, 360, AnalyzerConfig(detectors=frozenset({EventType.WRONG_WAY})))


def test_unknown_detector_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown detector 'smoke'"):
        parse_detectors("fire,smoke")
