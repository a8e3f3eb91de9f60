"""Face redaction benchmark: recall, false positives and speed on one core.

    .venv/bin/python bench/redaction.py [--widths 960,480,320,240] [--every 1,2,3]

Labelled clips: the hand-labelled GIFs (tests/data/faces_labels.json; footage read from
$VIGIE_SHARED_DATA/faces or ../shared/data/faces, skipped when absent). Synthetic clip: faces drawn by
vigie.privacy.testing crossing a street, one of them hidden behind a pillar for two frames.

Recall: labelled faces with >= 50 % of their box hidden in that frame, after persistence.
False positives: redaction boxes of a labelled frame overlapping no labelled face, per frame.
fps: frames per second of the whole redaction (decode, detect, track, blur, H.264 encode), one thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2

from vigie.privacy.detector import CenterFace, CenterFaceParameters
from vigie.privacy.evaluate import ClipScore, load_labels, score_clip, score_report, shared_faces_dir
from vigie.privacy.redact import RedactionParameters, redact_video
from vigie.privacy.testing import walking_faces, write_clip

REPO = Path(__file__).resolve().parents[1]


def synthetic_clip(folder: Path) -> tuple[Path, dict[int, list[tuple[int, int, int, int]]]]:
    path = folder / "synthetic_faces.mp4"
    truth: dict[int, list[tuple[int, int, int, int]]] = {}
    frames = []
    for image, faces in walking_faces(width=1280, height=720, frames=100, faces=4, face_size=28, occlude=(30, 31),
                                      seed=7):
        frames.append(image)
        truth[faces.frame] = [*faces.boxes, *faces.hidden]  # hidden faces must stay covered too
    write_clip(frames, str(path), fps=10)
    return path, truth


def line(label: str, score: ClipScore, frames: int, seconds: float) -> str:
    return (
        f"{label:<44} recall {score.covered_faces:>3}/{score.labelled_faces:<3} = {score.recall:6.1%}   "
        f"FP/frame {score.false_positive_rate:5.2f}   {frames / seconds:6.1f} fps"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="960,480,320,240", help="detection widths to try")
    parser.add_argument("--every", default="1,2,3", help="detect on every k-th frame, values of k")
    parser.add_argument("--threshold", type=float, default=0.3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    widths = [int(w) for w in args.widths.split(",")]
    everies = [int(k) for k in args.every.split(",")]
    faces_dir = shared_faces_dir(REPO)
    clips = load_labels(REPO / "tests" / "data" / "faces_labels.json") if faces_dir.is_dir() else []
    if not clips:
        print(f"labelled clips not found in {faces_dir}: only the synthetic clip is measured", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        synthetic, truth = synthetic_clip(Path(scratch))
        print(f"labelled: {sum(len(c.labels) for c in clips)} frames, "
              f"{sum(len(b) for c in clips for b in c.labels.values())} faces in {len(clips)} clips (480x270); "
              f"synthetic: {len(truth)} frames, {sum(len(b) for b in truth.values())} faces (1280x720)")
        for width in widths:
            detector = CenterFace(CenterFaceParameters(input_width=width, threshold=args.threshold, threads=1))
            for every in everies:
                parameters = RedactionParameters(detect_every=every, hold_frames=max(12, every - 1), threads=1)
                total = ClipScore("labelled")
                frames, seconds = 0, 0.0
                for clip in clips:
                    _data, report = redact_video(faces_dir / clip.name, detector, parameters)
                    score = score_report(clip.name, report, clip.labels)
                    total.labelled_frames += score.labelled_frames
                    total.labelled_faces += score.labelled_faces
                    total.covered_faces += score.covered_faces
                    total.false_positives += score.false_positives
                    total.missed += [(i, box) for i, box in score.missed]
                    frames, seconds = frames + report.frames, seconds + report.seconds
                if clips:
                    print(line(f"GIFs      width {width:>4} detect every {every}", total, frames, seconds))
                _data, report = redact_video(synthetic, detector, parameters)
                score = score_clip("synthetic", report.frame_boxes, truth, (report.width, report.height))
                print(line(f"synthetic width {width:>4} detect every {every}", score, report.frames, report.seconds))


if __name__ == "__main__":
    main()
