"""Small, cached renders shared by the sim tests (a scene is staged and drawn once per spec)."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from vigie.sim import GroundTruth, SceneSpec, iter_frames
from vigie.sim.render import SceneRenderer

Frames = npt.NDArray[np.uint8]  # (frames, height, width, 3)


def small(kind: str, **overrides: Any) -> SceneSpec:
    """A short, small, noise-free clip: exact pixel comparisons, fast tests."""
    base = SceneSpec(kind, width=320, height=180, fps=10, seconds=4.0, seed=7, noise=0.0)
    return replace(base, **overrides)


@lru_cache(maxsize=32)
def rendered(spec: SceneSpec) -> tuple[GroundTruth, Frames]:
    truth = SceneRenderer(spec).truth
    frames = np.stack([frame for _, frame in iter_frames(spec)])
    frames.setflags(write=False)
    return truth, frames


def crop(image: npt.NDArray[Any], box: tuple[int, int, int, int]) -> npt.NDArray[Any]:
    x, y, w, h = box
    return image[y : y + h, x : x + w]


def inside_frame(box: tuple[int, int, int, int], spec: SceneSpec) -> bool:
    """A non-empty box lying entirely within the frame."""
    x, y, w, h = box
    return min(x, y) >= 0 and w > 0 and h > 0 and x + w <= spec.width and y + h <= spec.height
