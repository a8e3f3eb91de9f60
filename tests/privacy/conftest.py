"""Privacy fixtures: a clip with a bright object inside a dwelling mask, and synthetic faces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigie.ingest.segmenter import segment_file
from vigie.privacy.detector import CenterFace, CenterFaceParameters
from vigie.privacy.masks import PrivacyMask
from vigie.privacy.testing import walking_faces, write_clip
from vigie.sim import SceneSpec, iter_frames

WIDTH, HEIGHT = 320, 180
# A dwelling's window, upper left; the bright "interior" is drawn inside it on every frame.
HOUSE = PrivacyMask("house-window", ((0.08, 0.1), (0.45, 0.08), (0.47, 0.55), (0.1, 0.6)))
INTERIOR = (60, 40, 110, 50)  # x, y, w, h in pixels, well inside HOUSE


def scene_with_interior() -> Iterator[np.ndarray]:
    spec = SceneSpec("walkers", width=WIDTH, height=HEIGHT, fps=10, seconds=3.0, seed=5, noise=0)
    for _t, frame in iter_frames(spec):
        x, y, w, h = INTERIOR
        cv2.rectangle(frame, (x, y), (x + w, y + h), (255, 255, 255), -1)
        yield frame


@pytest.fixture(scope="session")
def interior_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("privacy") / "interior.mp4"
    write_clip(scene_with_interior(), str(path), fps=10)
    return path


@pytest.fixture(scope="session")
def interior_segments(interior_clip: Path) -> list[bytes]:
    _info, cuts, _anomalies = segment_file(str(interior_clip), 1.0)
    return [cut.data for cut in cuts]


@pytest.fixture(scope="session")
def faces_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("privacy") / "faces.mp4"
    write_clip((image for image, _truth in walking_faces(frames=30, seed=1)), str(path), fps=10)
    return path


@pytest.fixture(scope="session")
def detector() -> CenterFace:
    return CenterFace(CenterFaceParameters(input_width=640))
