"""Keep faces covered between detections and after the detector loses them.

Frame-by-frame detection flickers: a face turned away, half hidden by a passer-by or blurred by
motion is missed for a frame or two, and one unredacted frame is enough to identify someone. So
every detected face becomes a *track*:

* between detections (detection every k-th frame) and while the face is lost, its box moves on
  with the track's smoothed velocity and grows a little each frame, for up to ``hold_frames``;
* detections are matched to tracks greedily by IoU, then by centre distance (small, fast faces
  can move further than their own width between two detections);
* box size is smoothed (exponential average) so the redaction does not jitter around a face.

Tracks are anonymous counters, valid inside one video only: nothing here describes what a face
looks like, so nothing can link a face to another video (no biometrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from vigie.privacy.detector import FaceBox

BoxState = Literal["detected", "predicted", "held"]


@dataclass(frozen=True)
class TrackedBox:
    """A box to redact in one frame, and why it is there."""

    track: int
    x: float
    y: float
    w: float
    h: float
    state: BoxState

    def expanded(self, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
        """The box grown by ``margin`` of its size on every side, clipped to the frame, in whole pixels."""
        dx, dy = self.w * margin, self.h * margin
        x0, y0 = max(0, int(self.x - dx)), max(0, int(self.y - dy))
        x1, y1 = min(width, int(self.x + self.w + dx + 0.999)), min(height, int(self.y + self.h + dy + 0.999))
        return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


@dataclass
class _Track:
    id: int
    x: float
    y: float
    w: float
    h: float
    last_seen: int
    first_seen: int
    vx: float = 0.0
    vy: float = 0.0
    hits: int = 1

    def predicted(self, frame: int, growth: float) -> tuple[float, float, float, float]:
        gap = frame - self.last_seen
        scale = 1.0 + growth * gap
        w, h = self.w * scale, self.h * scale
        cx = self.x + self.w / 2 + self.vx * gap
        cy = self.y + self.h / 2 + self.vy * gap
        return cx - w / 2, cy - h / 2, w, h


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class TrackerStep:
    """What one frame gets: every live track's box, and the tracks that started in this frame."""

    boxes: list[TrackedBox] = field(default_factory=list)
    born: list[TrackedBox] = field(default_factory=list)


class FaceTracker:
    """IoU/centroid tracker with box smoothing and persistence. Feed it every frame, in order."""

    def __init__(
        self,
        *,
        hold_frames: int = 12,
        min_iou: float = 0.1,
        max_centre_jump: float = 1.5,
        size_smoothing: float = 0.6,
        velocity_smoothing: float = 0.5,
        growth_per_frame: float = 0.02,
    ) -> None:
        if hold_frames < 0:
            raise ValueError("hold_frames must be non-negative")
        self.hold_frames = hold_frames
        self.min_iou = min_iou
        self.max_centre_jump = max_centre_jump
        self.size_smoothing = size_smoothing  # weight of the new detection's size
        self.velocity_smoothing = velocity_smoothing
        self.growth_per_frame = growth_per_frame
        self._tracks: list[_Track] = []
        self._next_id = 1
        self.tracks_started = 0

    def update(self, frame: int, detections: Sequence[FaceBox] | None) -> TrackerStep:
        """``detections`` is None on frames where the detector did not run (tracks are predicted)."""
        step = TrackerStep()
        self._tracks = [t for t in self._tracks if frame - t.last_seen <= self.hold_frames]
        matched: set[int] = set()
        if detections is not None:
            pairs = self._match(frame, detections)
            for track, index in pairs:
                self._correct(track, detections[index], frame)
                matched.add(track.id)
                step.boxes.append(TrackedBox(track.id, track.x, track.y, track.w, track.h, "detected"))
            taken = {index for _, index in pairs}
            for index, detection in enumerate(detections):
                if index in taken:
                    continue
                track = _Track(self._next_id, detection.x, detection.y, detection.w, detection.h, frame, frame)
                self._next_id += 1
                self.tracks_started += 1
                self._tracks.append(track)
                matched.add(track.id)
                box = TrackedBox(track.id, track.x, track.y, track.w, track.h, "detected")
                step.boxes.append(box)
                step.born.append(box)
        for track in self._tracks:
            if track.id in matched:
                continue
            x, y, w, h = track.predicted(frame, self.growth_per_frame)
            state: BoxState = "held" if detections is not None else "predicted"
            step.boxes.append(TrackedBox(track.id, x, y, w, h, state))
        return step

    def _match(self, frame: int, detections: Sequence[FaceBox]) -> list[tuple[_Track, int]]:
        """Greedy assignment: best IoU first, then nearest centres; each track and detection used once."""
        candidates: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            predicted = track.predicted(frame, 0.0)
            pcx, pcy = predicted[0] + predicted[2] / 2, predicted[1] + predicted[3] / 2
            for di, det in enumerate(detections):
                overlap = iou(predicted, (det.x, det.y, det.w, det.h))
                if overlap >= self.min_iou:
                    candidates.append((1.0 - overlap, ti, di))
                    continue
                size = max(predicted[2], predicted[3], det.w, det.h, 1.0)
                jump = ((det.x + det.w / 2 - pcx) ** 2 + (det.y + det.h / 2 - pcy) ** 2) ** 0.5 / size
                if jump <= self.max_centre_jump:
                    candidates.append((1.0 + jump, ti, di))  # ranked after every IoU match
        candidates.sort()
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        pairs: list[tuple[_Track, int]] = []
        for _cost, ti, di in candidates:
            if ti in used_tracks or di in used_detections:
                continue
            used_tracks.add(ti)
            used_detections.add(di)
            pairs.append((self._tracks[ti], di))
        return pairs

    def _correct(self, track: _Track, det: FaceBox, frame: int) -> None:
        gap = max(1, frame - track.last_seen)
        old_cx, old_cy = track.x + track.w / 2, track.y + track.h / 2
        new_cx, new_cy = det.x + det.w / 2, det.y + det.h / 2
        a = self.velocity_smoothing
        track.vx = a * (new_cx - old_cx) / gap + (1 - a) * track.vx
        track.vy = a * (new_cy - old_cy) / gap + (1 - a) * track.vy
        s = self.size_smoothing
        # Smoothed, but never smaller than what the detector saw: jitter may cost a margin, never a face.
        w = max(det.w, s * det.w + (1 - s) * track.w)
        h = max(det.h, s * det.h + (1 - s) * track.h)
        # Position follows the detection (a lagging box uncovers the face); only the size is smoothed.
        track.x, track.y, track.w, track.h = new_cx - w / 2, new_cy - h / 2, w, h
        track.last_seen = frame
        track.hits += 1
