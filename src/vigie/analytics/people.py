"""People as blobs: foreground regions, and how big a person should look at each image row.

No appearance is kept and nobody is identified: a person here is a patch of changed pixels of about
the right size and shape. That is all the legal event types need (where feet are, how fast a patch
moves, whether it stands or lies, how many patches' worth of foreground fill a zone), and it keeps the
analytics on the right side of décret 2023-828 art. 2 (no biometrics).

**Perspective** (`PersonScale`): on a fixed camera looking down at flat ground, the height of a
standing person grows linearly with the image row of their feet. The line is either configured per
camera (two reference points) or learned from isolated, upright, moving blobs (binned medians, then
a least-squares line); before enough samples exist a generic default is used. Every size rule in
the detectors is expressed in "expected person heights" so it holds at any distance and resolution.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.frames import GreyImage

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Blob:
    """A connected foreground region, in work pixels."""

    x: float
    y: float
    w: float
    h: float
    area: float  # foreground pixels inside it (work pixels²)

    @property
    def foot(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class PeopleParams:
    """Tuning of blob extraction and of the perspective model."""

    min_person_share: float = 0.08  # blobs smaller than this share of a person's expected area are noise
    default_slope: float = 0.3  # default model: height = slope * row + offset * picture height
    default_offset: float = 0.05
    learn_min_samples: int = 24  # isolated upright people seen before the learned model is trusted
    learn_every: int = 12  # refit after this many new samples
    min_height_fraction: float = 0.035  # nobody is expected smaller than this share of the picture height
    default_fill: float = 0.2  # foreground pixels of a person / height², before it is learned
    oversize_ratio: float = 1.3  # blobs consistently this much taller than expected: the model is too small
    oversize_samples: int = 15


class PersonScale:
    """Expected height (work pixels) of a standing person whose feet are at a given work row."""

    def __init__(
        self,
        work_height: int,
        params: PeopleParams | None = None,
        reference: tuple[tuple[float, float], tuple[float, float]] | None = None,
    ) -> None:
        """``reference``: two (row, height) pairs in work pixels fixing the line (then it is not learned)."""
        self.params = params or PeopleParams()
        self.work_height = work_height
        self.minimum = max(3.0, self.params.min_height_fraction * work_height)
        self.configured = reference is not None
        self.slope = self.params.default_slope
        self.offset = self.params.default_offset * work_height
        if reference is not None:
            (row_a, height_a), (row_b, height_b) = reference
            if abs(row_b - row_a) < 1:
                raise ValueError("the two person-height reference points must be on different rows")
            self.slope = (height_b - height_a) / (row_b - row_a)
            self.offset = height_a - self.slope * row_a
        self.fill = self.params.default_fill
        self.learned = False
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=600)
        self._ratios: deque[float] = deque(maxlen=100)
        self._since_fit = 0
        self.version = 0  # bumped whenever the model changes, so users can refresh cached maps

    @property
    def trusted(self) -> bool:
        """Configured, or learned from whole, isolated people (not the generic default, even corrected)."""
        return self.configured or self.learned

    def height_at(self, row: float) -> float:
        return max(self.minimum, self.slope * row + self.offset)

    def heights(self, rows: FloatArray) -> FloatArray:
        result: FloatArray = np.maximum(self.minimum, self.slope * rows + self.offset)
        return result

    def area_at(self, row: float) -> float:
        """Expected foreground area of one person with feet at ``row``."""
        height = self.height_at(row)
        return self.fill * height * height

    def observe(self, foot_row: float, height: float, area: float) -> None:
        """Record an isolated, upright, moving person-like blob (learning the line)."""
        if self.configured or height < 3:
            return
        self._samples.append((foot_row, height, area))
        self._since_fit += 1
        if len(self._samples) >= self.params.learn_min_samples and self._since_fit >= self.params.learn_every:
            self._since_fit = 0
            self._fit()

    def observe_any(self, foot_row: float, height: float) -> None:
        """Record any moving person-like blob, even one cut by the picture border (a lower bound).

        Before the model is learned from clean samples, blobs that are consistently much taller than
        expected (people close to an indoor camera, cut by the bottom edge) scale the default up, so
        one big person is not counted as a crowd.
        """
        if self.configured or self.learned:
            return
        self._ratios.append(height / self.height_at(foot_row))
        if len(self._ratios) >= self.params.oversize_samples:
            ratio = float(np.median(self._ratios))
            self._ratios.clear()
            if ratio > self.params.oversize_ratio:
                self.slope *= ratio
                self.offset *= ratio
                self.minimum *= ratio
                self.version += 1

    def _fit(self) -> None:
        samples = np.asarray(self._samples, dtype=np.float64)
        rows, heights, areas = samples[:, 0], samples[:, 1], samples[:, 2]
        edges = np.linspace(0, self.work_height, 7)
        centres, quantiles, weights = [], [], []
        for low, high in itertools.pairwise(edges):
            inside = (rows >= low) & (rows < high)
            if np.count_nonzero(inside) >= 6:
                centres.append(float(np.median(rows[inside])))
                # An upper quantile, not the median: a blob cut in two (legs and torso apart on a dark
                # night) is shorter than the person, never taller.
                quantiles.append(float(np.percentile(heights[inside], 70)))
                weights.append(float(np.count_nonzero(inside)))
        if not centres:
            return
        ratio = float(np.average(np.array(quantiles) / self._default_heights(np.array(centres)), weights=weights))
        slope, offset = self.params.default_slope * ratio, self.params.default_offset * self.work_height * ratio
        if len(centres) >= 3 and max(centres) - min(centres) >= 0.25 * self.work_height:
            fitted_slope, fitted_offset = np.polyfit(centres, quantiles, 1, w=np.sqrt(weights))
            # A camera looks down on the ground: people shrink towards the top, and the row where they
            # would vanish (the horizon) lies above the middle of the picture. Otherwise keep the scale only.
            if fitted_slope > 0 and -fitted_offset / fitted_slope < 0.5 * self.work_height:
                slope, offset = fitted_slope, fitted_offset
        self.slope, self.offset = float(slope), float(offset)
        self.fill = float(np.clip(np.median(areas / np.maximum(heights, 1.0) ** 2), 0.08, 0.5))
        self.learned = True
        self.version += 1

    def _default_heights(self, rows: FloatArray) -> FloatArray:
        result: FloatArray = np.maximum(
            self.minimum, self.params.default_slope * rows + self.params.default_offset * self.work_height
        )
        return result

    def ground_distance(self, a: tuple[float, float], b: tuple[float, float], work_width: int) -> float:
        """Distance on the ground between two foot points, in person heights (about 1.7 m each).

        Sideways offsets are measured with the local person height; depth comes from how the expected
        height changes between the rows (depth is inversely proportional to it, with a focal length
        taken as the picture width: a typical ~55° lens).
        """
        height_a, height_b = self.height_at(a[1]), self.height_at(b[1])
        sideways = abs(a[0] - b[0]) / ((height_a + height_b) / 2)
        depth = work_width * abs(1.0 / height_a - 1.0 / height_b)
        return float(np.hypot(sideways, depth))


def extract_blobs(
    mask: GreyImage, small_to_work: float, scale: PersonScale, params: PeopleParams, close_kernel: GreyImage
) -> list[Blob]:
    """Connected foreground regions of a small-scale mask, in work pixels, noise-sized ones dropped."""
    if cv2.countNonZero(mask) == 0:
        return []
    joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close_kernel)
    # Outer contours are several times cheaper than labelling every pixel, and give the same boxes.
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    blobs: list[Blob] = []
    area_scale = small_to_work * small_to_work
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w * h < 3:
            continue
        area = cv2.countNonZero(joined[y : y + h, x : x + w])
        blobs.append(
            Blob(x * small_to_work, y * small_to_work, w * small_to_work, h * small_to_work, area * area_scale)
        )
    blobs = _join_stacked(blobs, scale)
    return [blob for blob in blobs if blob.area >= params.min_person_share * scale.area_at(blob.y + blob.h)]


def _join_stacked(blobs: list[Blob], scale: PersonScale) -> list[Blob]:
    """Join pieces of one person split across a low-contrast band (torso and legs apart at night).

    Two blobs are joined when one is above the other (they overlap horizontally), the gap between
    them is small and together they are no taller than a person standing there.
    """
    merged = True
    while merged and len(blobs) > 1:
        merged = False
        blobs.sort(key=lambda blob: blob.y)
        for i, upper in enumerate(blobs):
            for j in range(i + 1, len(blobs)):
                lower = blobs[j]
                overlap = min(upper.x + upper.w, lower.x + lower.w) - max(upper.x, lower.x)
                if overlap < 0.5 * min(upper.w, lower.w):
                    continue
                person = scale.height_at(lower.y + lower.h)
                gap = lower.y - (upper.y + upper.h)
                top = min(upper.y, lower.y)
                bottom = max(upper.y + upper.h, lower.y + lower.h)
                if gap > 0.5 * person or bottom - top > 1.15 * person:
                    continue
                left = min(upper.x, lower.x)
                right = max(upper.x + upper.w, lower.x + lower.w)
                joined = Blob(left, top, right - left, bottom - top, upper.area + lower.area)
                blobs = [blob for k, blob in enumerate(blobs) if k not in (i, j)] + [joined]
                merged = True
                break
            if merged:
                break
    return blobs
