"""Face redaction: persistence, tracking between detections, "0 faces", recall, no biometrics."""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from vigie.privacy.detector import CenterFace, CenterFaceParameters, FaceBox, default_model_path
from vigie.privacy.evaluate import load_labels, score_clip, score_report, shared_faces_dir
from vigie.privacy.onnx_shapes import make_dims_symbolic, tensor_dims
from vigie.privacy.redact import (
    NO_FACE_WARNING,
    FrameBoxes,
    FrameRedactor,
    RedactionParameters,
    redact_video,
)
from vigie.privacy.testing import street_background, walking_faces, write_clip

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "tests" / "data" / "faces_labels.json"
# Measured with bench/redaction.py: 65/65 labelled faces covered (detection width 960 and 320,
# every frame or every 2nd/3rd frame), 0.00-0.18 false positives per labelled frame. Thresholds sit
# a little under, so a regression fails but a different CPU's rounding does not.
MIN_LABELLED_RECALL = 0.95
MAX_FALSE_POSITIVES_PER_FRAME = 0.5
MIN_SYNTHETIC_RECALL = 0.95


def run_synthetic(
    detector: CenterFace, parameters: RedactionParameters, *, occlude: tuple[int, ...] = (), seed: int = 1
) -> tuple[dict[int, list[tuple[int, int, int, int]]], list[FrameBoxes], dict[int, list[tuple[int, int, int, int]]]]:
    redactor = FrameRedactor(detector, parameters)
    visible: dict[int, list[tuple[int, int, int, int]]] = {}
    hidden: dict[int, list[tuple[int, int, int, int]]] = {}
    out: list[FrameBoxes] = []
    for image, truth in walking_faces(frames=30, occlude=occlude, seed=seed):
        visible[truth.frame] = list(truth.boxes)
        hidden[truth.frame] = list(truth.hidden)
        out += [FrameBoxes(f.t, f.rects) for f in redactor.push(image, truth.frame / 10)]
    out += [FrameBoxes(f.t, f.rects) for f in redactor.flush()]
    return visible, out, hidden


def test_synthetic_faces_are_all_covered(detector: CenterFace) -> None:
    visible, boxes, _ = run_synthetic(detector, RedactionParameters())
    score = score_clip("synthetic", boxes, visible, (640, 360))
    assert score.recall >= MIN_SYNTHETIC_RECALL, score.missed


def test_persistence_covers_a_face_hidden_for_two_frames(detector: CenterFace) -> None:
    # Frames 10 and 11: a pillar hides face 0 entirely, the detector cannot see it; it reappears at 12.
    _, with_hold, hidden = run_synthetic(detector, RedactionParameters(hold_frames=12), occlude=(10, 11))
    assert hidden[10] and hidden[11]
    covered = score_clip("hold", with_hold, {10: hidden[10], 11: hidden[11]}, (640, 360))
    assert covered.recall == 1.0, "the track keeps covering where the face was"
    _, without_hold, _ = run_synthetic(detector, RedactionParameters(hold_frames=0), occlude=(10, 11))
    bare = score_clip("no hold", without_hold, {10: hidden[10], 11: hidden[11]}, (640, 360))
    assert bare.recall < 1.0, "without persistence nothing covers it: the test really tests persistence"


def test_detection_every_third_frame_with_tracking_still_covers(detector: CenterFace) -> None:
    parameters = RedactionParameters(detect_every=3, hold_frames=6)
    visible, boxes, _ = run_synthetic(detector, parameters)
    assert score_clip("every 3rd", boxes, visible, (640, 360)).recall >= MIN_SYNTHETIC_RECALL


def test_a_face_is_covered_before_its_first_detection(detector: CenterFace) -> None:
    # Detector runs only on frame 0, 4, 8...: frames before a face's first detection are still covered.
    frames = [image for image, _ in walking_faces(frames=12, seed=2)]
    redactor = FrameRedactor(detector, RedactionParameters(detect_every=4, hold_frames=3))
    empty = street_background(640, 360, 2)
    out = [f for image in [empty, *frames] for f in redactor.push(image, 0.0)] + redactor.flush()
    assert not out[0].rects  # the empty street, further back than hold_frames
    assert all(f.rects for f in out[1:]), "frames 1-3 are covered by the faces detected at frame 4"


def test_zero_faces_is_reported_loudly(detector: CenterFace, tmp_path: Path) -> None:
    clip = tmp_path / "empty.mp4"
    write_clip((street_background(320, 180, s) for s in range(8)), str(clip), fps=10)
    data, report = redact_video(clip, detector)
    assert data is not None and report.frames == 8
    assert report.faces_found == 0 and report.warning == NO_FACE_WARNING == "0 faces found: review carefully"
    assert report.summary()["warning"] == NO_FACE_WARNING


def test_derivative_is_new_bytes_and_the_input_is_untouched(detector: CenterFace, faces_clip: Path) -> None:
    before = faces_clip.read_bytes()
    data, report = redact_video(faces_clip, detector)
    assert data is not None and data != before and faces_clip.read_bytes() == before
    assert report.faces_found >= 1 and report.frames == 30 and report.frames_with_faces == 30
    assert report.detector["detector"] == "centerface" and len(report.detector["model_sha256"]) == 64


def test_the_detector_outputs_boxes_only_no_biometrics() -> None:
    assert [f.name for f in fields(FaceBox)] == ["x", "y", "w", "h", "score"]
    forbidden = ("embed", "descriptor", "template", "recogni", "identif", "feature", "landmark", "arcface", "sface")
    for name in ("detector", "tracking", "redact", "redactions", "evaluate"):
        module = importlib.import_module(f"vigie.privacy.{name}")
        for attribute, value in vars(module).items():
            if attribute.startswith("__") or (inspect.ismodule(value)):
                continue
            assert not any(word in attribute.lower() for word in forbidden), f"{name}.{attribute}"
            if inspect.isclass(value) and value.__module__ == module.__name__:
                for member in vars(value):
                    assert not any(word in member.lower() for word in forbidden), f"{name}.{attribute}.{member}"


def test_the_shipped_model_gets_free_sizes_and_both_runtimes_agree() -> None:
    model = default_model_path().read_bytes()
    assert tensor_dims(model, "input.1") == [10, 3, 32, 32]
    free = make_dims_symbolic(model, {"input.1": ["b", 3, "h", "w"]})
    assert tensor_dims(free, "input.1") == [0, 3, 0, 0]
    image = next(walking_faces(frames=1, seed=3))[0]
    fast = CenterFace(CenterFaceParameters(input_width=640, backend="onnxruntime")).detect(image)
    plain = CenterFace(CenterFaceParameters(input_width=640, backend="opencv")).detect(image)
    assert len(fast) == len(plain) >= 2
    for a, b in zip(sorted(fast, key=lambda f: f.x), sorted(plain, key=lambda f: f.x), strict=True):
        assert np.allclose([a.x, a.y, a.w, a.h], [b.x, b.y, b.w, b.h], atol=1.0)


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="hold_frames must cover"):
        RedactionParameters(detect_every=4, hold_frames=1)
    with pytest.raises(ValueError, match="margin"):
        RedactionParameters(margin=0.05)


def test_recall_on_hand_labelled_faces(detector: CenterFace) -> None:
    faces = shared_faces_dir(REPO)
    if not faces.is_dir():
        pytest.skip(f"labelled clips not available ({faces}); set VIGIE_SHARED_DATA")
    clips = load_labels(LABELS)
    assert sum(len(c.labels) for c in clips) == 28 and sum(len(b) for c in clips for b in c.labels.values()) == 65
    labelled = covered = false_positives = frames = 0
    for clip in clips:
        _data, report = redact_video(faces / clip.name, detector)
        assert report.frames == clip.frames
        score = score_report(clip.name, report, clip.labels)
        labelled, covered = labelled + score.labelled_faces, covered + score.covered_faces
        false_positives, frames = false_positives + score.false_positives, frames + score.labelled_frames
    assert covered / labelled >= MIN_LABELLED_RECALL
    assert false_positives / frames <= MAX_FALSE_POSITIVES_PER_FRAME


def test_labels_file_is_well_formed() -> None:
    data = json.loads(LABELS.read_text())
    for clip in data["clips"].values():
        for index, boxes in clip["faces"].items():
            assert 0 <= int(index) < clip["frames"]
            for x, y, w, h in boxes:
                assert x >= 0 and y >= 0 and x + w <= 480 and y + h <= 270 and w > 5 and h > 5
