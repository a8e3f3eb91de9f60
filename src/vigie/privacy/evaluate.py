"""Recall of face redaction on labelled frames.

Definitions (docs/design/privacy-masks.md, "Measuring redaction"):

* a labelled face is **covered** when at least ``min_coverage`` (50 %) of the pixels of its labelled
  box lie inside the hidden region of that frame (the union of the redaction ellipses, after
  temporal persistence): coverage of the label, not IoU, because a generous redaction box is what
  we want and IoU would punish it;
* **recall** = covered labelled faces / labelled faces;
* a **false positive** is a redaction box of a labelled frame that overlaps no labelled face;
  the false-positive rate is false positives per labelled frame.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vigie.privacy.redact import FrameBoxes, Rect, RedactionReport, region_mask

LABELS_FORMAT = "vigie.faces.labels/1"


@dataclass
class ClipScore:
    name: str
    labelled_frames: int = 0
    labelled_faces: int = 0
    covered_faces: int = 0
    false_positives: int = 0
    missed: list[tuple[int, Rect]] = field(default_factory=list)  # (frame index, labelled box)

    @property
    def recall(self) -> float:
        return self.covered_faces / self.labelled_faces if self.labelled_faces else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.labelled_frames if self.labelled_frames else 0.0


def coverage(label: Rect, hidden: np.ndarray[Any, np.dtype[np.bool_]]) -> float:
    """Fraction of the label box's pixels that are hidden."""
    x, y, w, h = label
    height, width = hidden.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    if w <= 0 or h <= 0:
        return 1.0
    inside = int(hidden[y0:y1, x0:x1].sum()) if x1 > x0 and y1 > y0 else 0
    return inside / float(w * h)


def _overlaps(a: Rect, b: Rect) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1])


def score_clip(
    name: str,
    frame_boxes: Sequence[FrameBoxes],
    labels: Mapping[int, Sequence[Rect]],
    size: tuple[int, int],
    *,
    min_coverage: float = 0.5,
) -> ClipScore:
    """Compare the redaction of each labelled frame (by frame index) with its labels."""
    width, height = size
    score = ClipScore(name)
    for index, faces in sorted(labels.items()):
        if index >= len(frame_boxes):
            raise ValueError(f"{name}: frame {index} is labelled but the redaction has {len(frame_boxes)} frames")
        rects = frame_boxes[index].boxes
        hidden = region_mask(rects, width, height)
        score.labelled_frames += 1
        for face in faces:
            score.labelled_faces += 1
            if coverage(face, hidden) >= min_coverage:
                score.covered_faces += 1
            else:
                score.missed.append((index, face))
        score.false_positives += sum(1 for rect in rects if not any(_overlaps(rect, face) for face in faces))
    return score


def score_report(name: str, report: RedactionReport, labels: Mapping[int, Sequence[Rect]]) -> ClipScore:
    return score_clip(name, report.frame_boxes, labels, (report.width, report.height))


@dataclass(frozen=True)
class LabelledClip:
    name: str  # file name under <shared data>/faces
    frames: int
    labels: dict[int, list[Rect]]


def load_labels(path: Path) -> list[LabelledClip]:
    data = json.loads(path.read_text())
    if data.get("format") != LABELS_FORMAT:
        raise ValueError(f"{path} is not a {LABELS_FORMAT} file")
    clips = []
    for name, clip in data["clips"].items():
        labels = {
            int(index): [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes]
            for index, boxes in clip["faces"].items()
        }
        clips.append(LabelledClip(name, int(clip["frames"]), labels))
    return clips


def shared_faces_dir(repo_root: Path) -> Path:
    """``$VIGIE_SHARED_DATA/faces``, else ``<repo>/../shared/data/faces`` (never inside the repository)."""
    base = os.environ.get("VIGIE_SHARED_DATA")
    return (Path(base) if base else repo_root.parent / "shared" / "data") / "faces"
