"""The motion gate: a running-average background on a ~100-px-high grey picture (as Frigate does).

It costs well under a millisecond and decides whether anything needs a closer look. Its foreground
mask is also what the person/blob detector cuts into blobs, so the gate is not wasted work.

* The background is an exponential running average with a time constant in seconds (not frames),
  so it behaves the same at any analysis rate. Pixels judged foreground learn more slowly: a person
  who stops for a few seconds stays visible instead of melting into the street. Right after a
  (re)start it learns fast everywhere for a moment, so people in the very first frame do not leave
  long-lived ghosts.
* The change threshold is ``max(threshold, noise_factor * noise)``: a grainy night picture raises
  the bar rather than filling the mask.
* **Recalibration**: when most of the picture changes at once (an infrared switch, lightning, a
  camera's exposure jump, the lens being covered), that is not motion: the background is reset to the
  current picture and the frame reports ``recalibrated`` instead of motion. Camera tampering is judged
  separately against a long-term reference (`tamper`), so resetting here hides nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vigie.analytics.enhance import Conditions
from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.frames import FloatImage, GreyImage
from vigie.analytics.persistence import Persistence, Transition


@dataclass(frozen=True)
class MotionParams:
    """Tuning of the motion gate."""

    time_constant_seconds: float = 5.0  # memory of the running-average background
    foreground_slowdown: float = 2.0  # foreground pixels learn this many times more slowly
    settle_seconds: float = 2.0  # after a reset, learn fast and everywhere (no ghosts of the first frame)
    settle_time_constant: float = 0.7
    threshold: float = 10.0  # smallest grey difference that counts as change (small scale)
    noise_factor: float = 4.5  # ... or this many noise sigmas, whichever is larger
    min_changed_fraction: float = 0.0005  # share of the picture that must change to call it motion
    recalibrate_fraction: float = 0.5  # share of the picture changing at once that means "global change"


@dataclass(frozen=True)
class MotionResult:
    """What the gate saw in one frame. ``mask`` is 255 where the picture differs from the background."""

    changed_fraction: float
    active: bool
    recalibrated: bool
    mask: GreyImage


class MotionDetector:
    def __init__(self, size: tuple[int, int], params: MotionParams | None = None) -> None:
        self.params = params or MotionParams()
        self.size = size
        self._background: FloatImage | None = None
        self._last_time: float | None = None
        self._settle_until = 0.0
        self._open_kernel = np.ones((2, 2), np.uint8)
        self._grow_kernel = np.ones((3, 3), np.uint8)
        self._empty = np.zeros((size[1], size[0]), np.uint8)
        self._empty.setflags(write=False)

    def reset(self, small: GreyImage, time: float) -> None:
        """Forget the background: the current picture becomes it."""
        self._background = cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32)
        self._last_time = time
        self._settle_until = time + self.params.settle_seconds

    @property
    def background(self) -> GreyImage | None:
        """The current background as a grey picture (None before the first frame)."""
        if self._background is None:
            return None
        picture: GreyImage = cv2.convertScaleAbs(self._background)
        return picture

    def update(self, small: GreyImage, time: float, conditions: Conditions) -> MotionResult:
        p = self.params
        blurred = cv2.GaussianBlur(small, (3, 3), 0)
        if self._background is None or self._last_time is None:
            self.reset(small, time)
            return MotionResult(0.0, False, False, self._empty)
        background = cv2.convertScaleAbs(self._background)
        difference = cv2.absdiff(blurred, background)
        threshold = conditions.threshold(p.threshold, p.noise_factor)
        _, raw = cv2.threshold(difference, threshold, 255, cv2.THRESH_BINARY)
        raw_fraction = cv2.countNonZero(raw) / raw.size
        if raw_fraction > p.recalibrate_fraction:
            self.reset(small, time)
            return MotionResult(raw_fraction, False, True, self._empty)
        mask = cv2.morphologyEx(raw, cv2.MORPH_OPEN, self._open_kernel)
        changed = cv2.countNonZero(mask) / mask.size
        elapsed = max(0.0, time - self._last_time)
        self._last_time = time
        settling = time < self._settle_until
        time_constant = p.settle_time_constant if settling else p.time_constant_seconds
        alpha = 1.0 - math.exp(-elapsed / time_constant) if elapsed > 0 else 0.0
        if alpha > 0:
            if changed > 0 and not settling:
                grown = cv2.dilate(mask, self._grow_kernel)
                cv2.accumulateWeighted(blurred, self._background, alpha, mask=cv2.bitwise_not(grown))
                cv2.accumulateWeighted(blurred, self._background, alpha / p.foreground_slowdown, mask=grown)
            else:
                cv2.accumulateWeighted(blurred, self._background, alpha)
        return MotionResult(changed, changed >= p.min_changed_fraction, False, mask)


class MotionEventDetector:
    """``motion`` events (a health/activity signal, off unless asked for): one per burst of motion."""

    def __init__(self, small_to_work: float, on_seconds: float = 0.4, off_seconds: float = 3.0) -> None:
        self.small_to_work = small_to_work
        self.persistence = Persistence(on_seconds, off_seconds, max_gap=0.6)
        self.event: Event | None = None

    def update(self, time: float, result: MotionResult, log: EventLog) -> None:
        transition = self.persistence.update(time, result.active)
        if transition is Transition.RAISE:
            x, y, w, h = cv2.boundingRect(result.mask)
            s = self.small_to_work
            box = (x * s, y * s, w * s, h * s) if w > 0 and h > 0 else None
            self.event = log.open(
                EventType.MOTION, time, box, min(1.0, 0.5 + 10 * result.changed_fraction),
                details={"changed": round(result.changed_fraction, 4)},
            )  # fmt: skip
        elif transition is Transition.END and self.event is not None:
            log.close(self.event, time)
            self.event = None

    def reset(self, time: float, log: EventLog) -> None:
        if self.event is not None:
            log.close(self.event, time)
            self.event = None
        self.persistence.reset()
