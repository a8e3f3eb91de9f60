"""Deterministic synthetic street scenes with exact ground truth, for tests and evaluation.

Encode a clip (its truth goes to ``clip.truth.json``)::

    truth = generate(SceneSpec("abandoned", seconds=20), "clip.mp4")

or feed a live encoder, frame by frame::

    for t_seconds, frame_bgr in iter_frames(SceneSpec("walkers", variant="rain")):
        ...
"""

from .scene import EVENT_TYPES, SCENE_KINDS, Box, GroundTruth, SceneSpec, TruthEvent, Zone, foot_point
from .writer import generate, ground_truth, iter_frames, truth_path_for

__all__ = [
    "EVENT_TYPES",
    "SCENE_KINDS",
    "Box",
    "GroundTruth",
    "SceneSpec",
    "TruthEvent",
    "Zone",
    "foot_point",
    "generate",
    "ground_truth",
    "iter_frames",
    "truth_path_for",
]
