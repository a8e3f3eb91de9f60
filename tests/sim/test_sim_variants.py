"""Night and rain change how the street looks, never what happens in it."""

from __future__ import annotations

import numpy as np

from vigie.sim.effects import rain_contrast

from .helpers import rendered, small


def _static_background(truth_frames: list[list[tuple[int, int, int, int]]], shape: tuple[int, int]) -> np.ndarray:
    """Pixels no person ever covers during the clip."""
    free = np.ones(shape, dtype=bool)
    for boxes in truth_frames:
        for x, y, w, h in boxes:
            free[y : y + h, x : x + w] = False
    return free


def test_night_is_darker_and_noisier_than_day() -> None:
    day_truth, day = rendered(small("walkers", noise=None, seconds=2.0))
    _, night = rendered(small("walkers", noise=None, seconds=2.0, variant="night"))
    assert night.mean() < 0.6 * day.mean()
    free = _static_background(day_truth.frames, day.shape[1:3])
    # Temporal noise on the empty street: how much a still pixel flickers from frame to frame.
    day_flicker = day.astype(float).std(axis=0).mean(axis=2)[free].mean()
    night_flicker = night.astype(float).std(axis=0).mean(axis=2)[free].mean()
    assert night_flicker > 3 * day_flicker
    # Low contrast and nearly grey (infrared-like), away from the lamps and lit windows.
    near_street = slice(int(0.6 * day.shape[1]), None)
    assert night[:, near_street].std() < 0.5 * day[:, near_street].std()
    night_street, day_street = night[:, near_street].astype(float), day[:, near_street].astype(float)
    night_colour = np.abs(night_street - night_street.mean(axis=3, keepdims=True)).mean()
    day_colour = np.abs(day_street - day_street.mean(axis=3, keepdims=True)).mean()
    assert night_colour < 0.5 * day_colour


def test_noise_free_night_is_still_dark_and_still() -> None:
    truth, night = rendered(small("walkers", seconds=2.0, variant="night"))
    free = _static_background(truth.frames, night.shape[1:3])
    assert night.mean() < 80
    assert night.astype(float).std(axis=0).mean(axis=2)[free].max() == 0


def test_rain_is_day_plus_streaks() -> None:
    _, day = rendered(small("walkers", seconds=2.0))
    _, rain = rendered(small("walkers", seconds=2.0, variant="rain"))
    streak_masks = []
    for day_frame, rain_frame in zip(day, rain, strict=True):
        # The rain frame is the day frame, a little flatter, with bright streaks added on top.
        difference = rain_frame.astype(int) - rain_contrast(day_frame).astype(int)
        assert difference.min() >= 0
        streaks = difference.max(axis=2) > 0
        assert 0.005 < streaks.mean() < 0.15
        streak_masks.append(streaks)
    # The streaks move: each frame has its own.
    overlap = (streak_masks[0] & streak_masks[1]).sum() / streak_masks[0].sum()
    assert overlap < 0.3
    assert rain.std() < day.std()  # slightly reduced contrast
