"""Camera tampering, a health signal: covered, defocused, sprayed/obstructed, or moved.

Everything is judged against the camera's own learned normal (exponentially weighted, frozen while
anything looks wrong), never against absolute values, so a dark street at night is not "covered":

* **covered**: the picture's contrast (standard deviation) collapses to a fraction of normal and is
  low in absolute terms (a hand, a bag, tape over the lens);
* **defocused**: *sharpness* (mean gradient divided by contrast, so dimming the picture or an infrared
  switch does not change it) falls well below normal;
* **obstructed/sprayed**: most cells of a 4×4 grid lose their sharpness while the picture keeps some
  contrast (paint, a sticker, condensation);
* **moved**: the picture no longer lines up with the learned reference: a large global shift (phase
  correlation) or a low correlation with it.

Each condition must hold for a second or two. While tampering is suspected the analyzer suspends the
other detectors (their input is meaningless) and recalibrates them once the view is back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.frames import FloatImage, GreyImage
from vigie.analytics.persistence import Persistence, Transition


@dataclass(frozen=True)
class TamperParams:
    """Tuning of tamper detection (small scale, seconds)."""

    grid: int = 4
    learn_time_constant: float = 60.0
    cover_contrast_ratio: float = 0.3  # contrast under this share of normal ...
    cover_max_contrast: float = 12.0  # ... and under this many grey levels: covered
    blur_ratio: float = 0.55  # sharpness under this share of normal: defocused (noise props it up at night)
    cell_ratio: float = 0.35  # a grid cell's sharpness under this share of its normal: lost
    obstructed_cells: float = 0.75  # share of lost cells that means obstructed / sprayed
    moved_shift: float = 0.05  # global shift, as a share of the picture width
    moved_correlation: float = 0.35  # a grid cell correlating less than this with the reference has changed
    moved_cells: float = 0.85  # share of changed cells that means the camera looks elsewhere
    check_moved_every_seconds: float = 1.0
    check_every_seconds: float = 0.3  # the picture's health is judged a few times per second
    on_seconds: float = 1.5
    moved_on_seconds: float = 3.0
    off_seconds: float = 2.0


@dataclass
class _Normal:
    contrast: float
    sharpness: float
    cells: FloatImage
    picture: FloatImage
    weight: float = 1.0


class TamperDetector:
    def __init__(self, flow_size: tuple[int, int], params: TamperParams | None = None) -> None:
        self.params = params or TamperParams()
        self.flow_size = flow_size
        self.normal: _Normal | None = None
        self.persistence = Persistence(self.params.on_seconds, self.params.off_seconds, max_gap=0.6)
        self.event: Event | None = None
        self.suspected = False
        self.mode: str | None = None
        self._moved_check: float | None = None
        self._moved = False
        self._moved_since: float | None = None
        self._last_time: float | None = None
        self._window: FloatImage | None = None
        self.last: dict[str, float] = {}

    @property
    def active(self) -> bool:
        return self.persistence.active

    def update(self, raw_small: GreyImage, time: float, log: EventLog) -> bool:
        """Judge one frame; returns True while tampering is suspected or ongoing."""
        p = self.params
        if self._last_time is not None and time - self._last_time < p.check_every_seconds - 1e-6:
            return self.suspected or self.persistence.active
        blurred = cv2.GaussianBlur(raw_small, (3, 3), 0)
        _, deviation = cv2.meanStdDev(blurred)
        contrast = float(deviation[0, 0])
        gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
        gradient = cv2.magnitude(gx, gy)
        sharpness = float(gradient.mean()) / (contrast + 1.0)
        cells = cv2.resize(gradient, (p.grid, p.grid), interpolation=cv2.INTER_AREA) / (contrast + 1.0)
        picture = cv2.resize(blurred, self.flow_size, interpolation=cv2.INTER_AREA).astype(np.float32)
        elapsed = 0.0 if self._last_time is None else max(0.0, time - self._last_time)
        self._last_time = time
        if self.normal is None:
            self.normal = _Normal(contrast, sharpness, cells.copy(), picture.copy())
            return False
        normal = self.normal
        covered = contrast < p.cover_contrast_ratio * normal.contrast and contrast < p.cover_max_contrast
        defocused = not covered and sharpness < p.blur_ratio * normal.sharpness
        lost = cells < p.cell_ratio * np.maximum(normal.cells, 1e-3)
        obstructed = not covered and not defocused and float(lost.mean()) >= p.obstructed_cells
        if self._moved_check is None or time - self._moved_check >= p.check_moved_every_seconds:
            self._moved_check = time
            self._moved = not covered and not defocused and self._looks_moved(picture, normal.picture)
        moved = self._moved and not covered and not defocused
        if moved:
            self._moved_since = time if self._moved_since is None else self._moved_since
        else:
            self._moved_since = None
        mode = "cover" if covered else "defocus" if defocused else "obstructed" if obstructed else None
        # A moved camera is only called after a longer look: crowds can hide a view for a moment.
        looked_long = self._moved_since is not None and time - self._moved_since >= p.moved_on_seconds - p.on_seconds
        if mode is None and moved and looked_long:
            mode = "moved"
        suspect = mode is not None or moved
        self.suspected = suspect
        self.last = {
            "contrast": contrast / max(normal.contrast, 1e-3),
            "sharpness": sharpness / max(normal.sharpness, 1e-6),
        }
        transition = self.persistence.update(time, mode is not None)
        if mode is not None:
            self.mode = mode
        if transition is Transition.RAISE:
            self.event = log.open(
                EventType.CAMERA_TAMPER,
                time,
                None,
                0.9,
                details={
                    "mode": self.mode or "unknown",
                    "contrast_ratio": round(contrast / max(normal.contrast, 1e-3), 3),
                },
            )
        elif transition is Transition.END and self.event is not None:
            log.close(self.event, time)
            self.event = None
        if not suspect and not self.persistence.active:
            self._learn(normal, contrast, sharpness, cells, picture, elapsed)
        return suspect or self.persistence.active

    def _learn(
        self, normal: _Normal, contrast: float, sharpness: float, cells: FloatImage, picture: FloatImage, elapsed: float
    ) -> None:
        samples = self.params.learn_time_constant / max(elapsed, 0.05)
        normal.weight = min(normal.weight + 1.0, samples)
        rate = 1.0 / normal.weight
        normal.contrast += rate * (contrast - normal.contrast)
        normal.sharpness += rate * (sharpness - normal.sharpness)
        normal.cells += rate * (cells - normal.cells)
        cv2.accumulateWeighted(picture, normal.picture, rate)

    def _looks_moved(self, picture: FloatImage, reference: FloatImage) -> bool:
        """A global shift against the reference, or almost no part of the view still matching it.

        People walking close to the lens can hide half of the view; a camera that was turned or
        knocked changes all of it, so the match is judged per grid cell.
        """
        p = self.params
        if self._window is None:
            self._window = cv2.createHanningWindow((picture.shape[1], picture.shape[0]), cv2.CV_32F)
        (shift_x, shift_y), response = cv2.phaseCorrelate(reference, picture, self._window)
        if math.hypot(shift_x, shift_y) > p.moved_shift * picture.shape[1] and response > 0.2:
            return True
        # Per-cell correlation, vectorised: crop to a multiple of the grid and fold cells into axes.
        grid = p.grid
        height, width = picture.shape
        cell_h, cell_w = height // grid, width // grid
        a = picture[: cell_h * grid, : cell_w * grid].reshape(grid, cell_h, grid, cell_w)
        b = reference[: cell_h * grid, : cell_w * grid].reshape(grid, cell_h, grid, cell_w)
        a = a - a.mean(axis=(1, 3), keepdims=True)
        b = b - b.mean(axis=(1, 3), keepdims=True)
        energy = np.sqrt((a * a).sum(axis=(1, 3)) * (b * b).sum(axis=(1, 3)))
        correlation = (a * b).sum(axis=(1, 3)) / np.maximum(energy, 1e-3)
        unmatched = int(np.count_nonzero((energy < 1e-3) | (correlation < p.moved_correlation)))
        return unmatched >= p.moved_cells * grid * grid
