"""Mask model: validation with clear messages, rasterisation, opaque fill, snapshots."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigie.privacy.masks import (
    CameraMasks,
    MaskError,
    PrivacyMask,
    mask_for_analytics,
    mask_frame,
    masked_jpeg,
    parse_polygon,
    parse_size,
    raster,
)

from .conftest import HOUSE, INTERIOR


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.1,0.1 0.5,0.5", "at least 3 points, got 2"),
        ("0.1,0.1 1.5,0.1 0.5,0.5", "point 2 (1.5, 0.1) is outside the frame"),
        ("0.1,0.1 0.2,0.2 0.3,0.3", "points on a line"),
        ("0.1,0.1 0.1001,0.1 0.1,0.1001", "must cover at least"),
        ("0.1;0.1 0.2,0.2 0.3,0.1", "not of the form x,y"),
        ("a,b 0.2,0.2 0.3,0.1", "not two numbers"),
    ],
)
def test_invalid_polygons_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(MaskError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_polygon(text)


def test_pixel_polygons_are_normalised_and_checked_against_the_frame() -> None:
    polygon = parse_polygon("0,0 960,0 960,540", pixels=parse_size("1920x1080"))
    assert polygon == ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5))
    with pytest.raises(MaskError, match="outside the 1920x1080 frame"):
        parse_polygon("0,0 2000,0 960,540", pixels=(1920, 1080))
    with pytest.raises(MaskError, match="WIDTHxHEIGHT"):
        parse_size("1920*1080")


def test_mask_names_are_checked() -> None:
    with pytest.raises(MaskError, match="mask name"):
        PrivacyMask("", ((0, 0), (1, 0), (1, 1)))
    with pytest.raises(MaskError, match="mask name"):
        PrivacyMask("../etc", ((0, 0), (1, 0), (1, 1)))


def test_raster_is_cached_per_resolution_and_read_only() -> None:
    first = raster([HOUSE], 320, 180)
    assert raster([HOUSE], 320, 180) is first
    assert raster([HOUSE], 640, 360).shape == (360, 640)
    assert not first.flags.writeable
    # The same normalised polygon covers the same share of the frame at any resolution.
    assert abs(first.mean() - raster([HOUSE], 1920, 1080).mean()) < 0.01


def test_mask_frame_fills_opaquely_and_leaves_the_rest_alone() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (180, 320, 3)).astype(np.uint8)
    out = mask_frame(frame, [HOUSE])
    hidden = raster([HOUSE], 320, 180)
    assert (out[hidden] == 0).all()  # opaque, uniform: nothing of the original survives
    assert np.array_equal(out[~hidden], frame[~hidden])
    assert not np.array_equal(frame[hidden], out[hidden])  # the input was not modified in place
    assert mask_frame(frame, []) is frame  # no masks: no copy
    assert np.array_equal(mask_for_analytics(frame, [HOUSE]), out)
    grey = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    assert (mask_frame(grey, [HOUSE])[hidden] == 0).all()


def test_snapshot_jpeg_shows_nothing_of_the_masked_area() -> None:
    frame = np.full((180, 320, 3), 90, dtype=np.uint8)
    x, y, w, h = INTERIOR
    frame[y : y + h, x : x + w] = 255
    for jpeg in (masked_jpeg(frame, [HOUSE]), CameraMasks("cam", (HOUSE,)).jpeg(frame)):
        decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert decoded is not None
        inner = cv2.erode(raster([HOUSE], 320, 180).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert decoded[inner].max() < 30
        assert decoded[raster([HOUSE], 320, 180)].max() < 200  # no bright pixel anywhere under the mask
    assert not CameraMasks("cam")
