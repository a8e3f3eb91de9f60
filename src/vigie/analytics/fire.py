"""Fire starts: flame-coloured pixels that flicker in place and persist (smoke helps the score).

Three cues, each cheap, none sufficient alone:

* **colour and light**, read straight from the decoder's chroma planes (YCbCr, no conversion):
  flames are strongly red-over-blue (Cr − Cb large) and, being a light source, have a core near
  white (the brightest tenth of the region is very bright). Street lamps at night and warm wooden
  floors are orange but much less saturated; an orange jacket can be just as saturated but is a lit
  surface, rarely that bright, and the next two cues catch the rest;
* **flicker in place**: inside a flame region many pixels change from frame to frame (tongues come
  and go) while the region itself stays put. A walking person's jacket moves away (its centroid
  drifts by more than its size within a couple of seconds); a standing one barely changes;
* **persistence**: the region must be present in most frames over a window of ~2 s.

Smoke (grey, desaturated change above the flames) raises the score but is never required: at night
it is invisible. The alert is raised once the cues have held for ``on_seconds``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.frames import GreyImage
from vigie.analytics.persistence import Persistence, Transition


@dataclass(frozen=True)
class FireParams:
    """Tuning of the fire detector (small scale, seconds)."""

    min_red_over_blue: int = 80  # Cr − Cb
    min_red: int = 150  # Cr
    min_luma: int = 100
    min_area: int = 6  # small-scale pixels
    window_seconds: float = 2.0
    min_presence: float = 0.7  # share of frames in the window with the region present
    min_flicker: float = 0.3  # mean share of the region's pixels changing per frame
    min_core_luma: float = 175.0  # flames give light: the brightest tenth of the region is at least this
    flicker_threshold: float = 14.0  # grey levels
    max_drift: float = 0.6  # centroid wander, in region sizes
    on_seconds: float = 1.2
    off_seconds: float = 3.0


@dataclass
class _Candidate:
    box: tuple[int, int, int, int]
    first_seen: float
    samples: deque[tuple[float, float, float, float, float, float]] = field(default_factory=lambda: deque(maxlen=64))
    # (time, area, centre x, centre y, flicker, core luma)
    persistence: Persistence | None = None
    event: Event | None = None
    last_seen: float = 0.0


class FireDetector:
    def __init__(self, small_to_work: float, params: FireParams) -> None:
        self.params = params
        self.small_to_work = small_to_work
        self.candidates: list[_Candidate] = []
        self._previous_luma: GreyImage | None = None
        self._previous_colour: GreyImage | None = None
        self._kernel = np.ones((3, 3), np.uint8)
        self._frame_times: deque[float] = deque(maxlen=128)

    def reset(self, time: float, log: EventLog) -> None:
        for candidate in self.candidates:
            if candidate.event is not None:
                log.close(candidate.event, time)
        self.candidates = []
        self._previous_luma = None
        self._previous_colour = None

    def update(
        self,
        time: float,
        luma: GreyImage,
        chroma: tuple[GreyImage, GreyImage] | None,
        motion_active: bool,
        noise: float,
        log: EventLog,
    ) -> None:
        p = self.params
        if chroma is None:
            return
        if not motion_active and not self.candidates:
            # Flames always flicker, so a still picture has no fire start; keep the last frame for later.
            self._previous_luma = luma.copy()
            self._previous_colour = None
            return
        self._frame_times.append(time)
        blue, red = chroma
        colour = ((cv2.subtract(red, blue) >= p.min_red_over_blue) & (red >= p.min_red) & (luma >= p.min_luma)).astype(
            np.uint8
        )
        previous_luma, previous_colour = self._previous_luma, self._previous_colour
        self._previous_luma, self._previous_colour = luma.copy(), colour
        if not self.candidates and cv2.countNonZero(colour) < p.min_area:
            return
        joined = cv2.morphologyEx(colour, cv2.MORPH_CLOSE, self._kernel)
        count, _, stats, centroids = cv2.connectedComponentsWithStats(joined, connectivity=8)
        changed = None
        if previous_luma is not None and previous_colour is not None:
            threshold = max(p.flicker_threshold, 4.0 * noise)
            changed = (cv2.absdiff(luma, previous_luma) > threshold) | (colour != previous_colour)
        matched: set[int] = set()
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            if area < p.min_area:
                continue
            flicker = 0.0
            if changed is not None:
                region = joined[y : y + h, x : x + w] > 0
                flicker = float(np.count_nonzero(changed[y : y + h, x : x + w] & region)) / max(area, 1)
            candidate = self._match((x, y, w, h), matched)
            if candidate is None:
                candidate = _Candidate((x, y, w, h), time)
                candidate.persistence = Persistence(p.on_seconds, p.off_seconds, max_gap=0.6)
                self.candidates.append(candidate)
            candidate.box = (x, y, w, h)
            candidate.last_seen = time
            cx, cy = (float(v) for v in centroids[label])
            core = float(np.percentile(luma[y : y + h, x : x + w], 90))
            candidate.samples.append((time, float(area), cx, cy, flicker, core))
            matched.add(id(candidate))
        self._judge(time, matched, log)

    def _match(self, box: tuple[int, int, int, int], taken: set[int]) -> _Candidate | None:
        """The candidate this region continues: the best-overlapping one not already matched.

        Overlap, not mere proximity: an orange jacket walking past a flame must not lend it its
        drifting history (nor take the flame's).
        """
        best, best_overlap = None, 0.2
        for candidate in self.candidates:
            if id(candidate) in taken:
                continue
            overlap = _iou(box, candidate.box)
            if overlap > best_overlap:
                best, best_overlap = candidate, overlap
        return best

    def _judge(self, time: float, matched: set[int], log: EventLog) -> None:
        p = self.params
        kept: list[_Candidate] = []
        for candidate in self.candidates:
            while candidate.samples and candidate.samples[0][0] < time - p.window_seconds:
                candidate.samples.popleft()
            holds = id(candidate) in matched and self._looks_like_fire(candidate, time)
            assert candidate.persistence is not None
            transition = candidate.persistence.update(time, holds)
            if transition is Transition.RAISE:
                x, y, w, h = candidate.box
                s = self.small_to_work
                flicker = float(np.mean([sample[4] for sample in candidate.samples]))
                candidate.event = log.open(
                    EventType.FIRE,
                    time,
                    (x * s, y * s, w * s, h * s),
                    min(1.0, 0.6 + flicker),
                    details={"flicker": round(flicker, 2)},
                )
            elif transition is Transition.END and candidate.event is not None:
                log.close(candidate.event, time)
                candidate.event = None
            if candidate.event is None and time - candidate.last_seen > p.off_seconds:
                continue
            kept.append(candidate)
        self.candidates = kept

    def _looks_like_fire(self, candidate: _Candidate, time: float) -> bool:
        p = self.params
        samples = candidate.samples
        if time - candidate.first_seen < 0.5 * p.window_seconds or len(samples) < 3:
            return False
        frames = sum(1 for moment in self._frame_times if moment >= time - p.window_seconds)
        if len(samples) < p.min_presence * frames:
            return False
        flicker = float(np.mean([sample[4] for sample in samples]))
        if flicker < p.min_flicker:
            return False
        if float(np.median([sample[5] for sample in samples])) < p.min_core_luma:
            return False
        xs = [sample[2] for sample in samples]
        ys = [sample[3] for sample in samples]
        size = math.sqrt(max(float(np.median([sample[1] for sample in samples])), 1.0))
        drift = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
        return drift <= p.max_drift * size + 1.0


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    inter = (x1 - x0) * (y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)
