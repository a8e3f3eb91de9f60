"""Figures: exact boxes, perspective, gait."""

from __future__ import annotations

import numpy as np

from vigie.sim.figures import Appearance, Pose, draw_figure, figure_geometry


def _pose(frames: int, lean: np.ndarray, facing: float = 1.0) -> Pose:
    return Pose(
        foot_u=np.linspace(60.0, 140.0, frames),
        foot_v=np.full(frames, 150.0),
        height_px=np.linspace(40.0, 90.0, frames),
        phase=np.linspace(0.0, 9.0, frames),
        swing=1.2 * (1.0 - lean),  # as in scenes: no stride once down
        facing=np.full(frames, facing),
        breadth=np.linspace(0.65, 1.0, frames),
        lean=lean,
    )


def test_box_is_exactly_the_drawn_pixels() -> None:
    frames = 24
    looks = Appearance(1.75, (40, 40, 190), (115, 75, 45), (150, 180, 230), (20, 20, 25), (40, 40, 45))
    for facing in (1.0, -1.0):
        geometry = figure_geometry(_pose(frames, np.linspace(0.0, 1.0, frames), facing))
        for frame in range(frames):
            canvas = np.zeros((200, 260, 3), dtype=np.uint8)
            draw_figure(canvas, geometry, frame, looks, carrying=False)
            rows = np.flatnonzero(canvas.any(axis=(1, 2)))
            cols = np.flatnonzero(canvas.any(axis=(0, 2)))
            drawn = (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
            assert geometry.box(frame) == drawn


def test_upright_figures_are_tall_and_fallen_ones_wide() -> None:
    frames = 10
    geometry = figure_geometry(_pose(frames, np.array([0.0] * 5 + [1.0] * 5)))
    for frame in range(5):
        _, _, w, h = geometry.box(frame)
        assert h > 1.5 * w
    for frame in range(5, 10):
        _, _, w, h = geometry.box(frame)
        assert w > 3 * h


def test_feet_stay_on_the_ground_and_the_body_bobs() -> None:
    frames = 40
    pose = _pose(frames, np.zeros(frames))
    pose = Pose(**{**pose.__dict__, "height_px": np.full(frames, 80.0), "foot_v": np.full(frames, 150.0)})
    geometry = figure_geometry(pose)
    bottoms = geometry.boxes[:, 1] + geometry.boxes[:, 3] - 1
    tops = geometry.boxes[:, 1]
    assert set(bottoms.tolist()) <= {150, 151}
    assert tops.max() - tops.min() >= 2  # the head rises and falls with the stride
