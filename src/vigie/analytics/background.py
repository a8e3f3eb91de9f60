"""The dual-rate background behind abandoned objects and density (after Porikli's dual foreground).

Two running averages of the work picture, refreshed a couple of times per second (static things do
not need 5 fps):

* **short-term** (time constant ~1.5 s) absorbs anything that stops moving;
* **long-term** remembers the empty scene: it learns slowly (~30 s) where the picture looks like
  background, and not at all where something differs from it, so a bag left on the ground or a
  crowd standing still stays "foreground" for as long as it is there.

A pixel where short-term and long-term disagree but the current picture matches the short-term one
holds something that *arrived and stopped*: an abandoned object, a person standing still, or a
*ghost* (something that was in the long-term background and left). `is_ghost` tells ghosts from real
objects by where the edges are: a real object has its outline in the current picture, a ghost has
it in the long-term background only. Ghosts and long-settled things are `absorb`ed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vigie.analytics.enhance import Conditions
from vigie.analytics.frames import FloatImage, GreyImage, Mask


@dataclass(frozen=True)
class StaticSceneParams:
    """Tuning of the dual-rate background (work scale)."""

    update_every_seconds: float = 0.5
    short_time_constant: float = 1.5
    long_time_constant: float = 30.0  # for pixels that look like background
    threshold: float = 12.0  # grey levels, work scale
    noise_factor: float = 4.5  # ... or this many noise sigmas
    global_change_fraction: float = 0.4  # share of the picture differing at once: relearn everything
    ghost_edge_ratio: float = 1.25  # edge energy ratio that decides "object" against "ghost"
    bootstrap_samples: int = 5  # the empty scene starts as the median of this many first updates


@dataclass(frozen=True)
class StaticSnapshot:
    """The state of the scene at one update (boolean masks at the work scale)."""

    time: float
    foreground: Mask  # differs from the empty scene: people and objects
    static: Mask  # arrived and stopped: differs from the empty scene, matches the recent picture
    moving: Mask  # differs from the recent picture
    relearned: bool  # the whole scene changed and the long-term background was reset


class StaticScene:
    def __init__(self, size: tuple[int, int], params: StaticSceneParams | None = None) -> None:
        self.params = params or StaticSceneParams()
        self.size = size
        self._short: FloatImage | None = None
        self._long: FloatImage | None = None
        self._last_update: float | None = None
        self._bootstrap: list[GreyImage] | None = None
        self._open = np.ones((3, 3), np.uint8)
        self._grow = np.ones((5, 5), np.uint8)

    def reset(self, work: GreyImage, time: float) -> None:
        """Start learning the scene again from this picture.

        The empty scene is bootstrapped as the per-pixel median of the first few updates, so people
        walking through the very first frame do not stay in it as ghosts.
        """
        self._short = work.astype(np.float32)
        self._long = self._short.copy()
        self._last_update = time
        self._bootstrap = [work.copy()]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.size[1], self.size[0])

    def mark_updated(self, time: float) -> None:
        """Nothing moved since the last update: skip the work, keep the cadence."""
        self._last_update = time

    def due(self, time: float) -> bool:
        return self._last_update is None or time - self._last_update >= self.params.update_every_seconds - 1e-6

    def update(self, work: GreyImage, time: float, conditions: Conditions) -> StaticSnapshot | None:
        p = self.params
        if self._short is None or self._long is None or self._last_update is None:
            self.reset(work, time)
            return None
        elapsed = time - self._last_update
        self._last_update = time
        if self._bootstrap is not None:
            self._bootstrap.append(work.copy())
            cv2.accumulateWeighted(work, self._short, 1.0 - math.exp(-elapsed / p.short_time_constant))
            if len(self._bootstrap) < p.bootstrap_samples:
                return None
            self._long = np.median(np.stack(self._bootstrap), axis=0).astype(np.float32)
            self._bootstrap = None
        short = cv2.convertScaleAbs(self._short)
        long = cv2.convertScaleAbs(self._long)
        threshold = conditions.threshold(p.threshold, p.noise_factor, scale_factor=2.0)
        moving = self._binary(cv2.absdiff(work, short), threshold)
        foreground = self._binary(cv2.absdiff(work, long), threshold)
        differs = self._binary(cv2.absdiff(short, long), threshold)
        if cv2.countNonZero(differs) > p.global_change_fraction * differs.size:
            self.reset(work, time)
            empty = np.zeros(differs.shape, bool)
            return StaticSnapshot(time, empty, empty, empty, True)
        static = cv2.bitwise_and(differs, cv2.bitwise_not(cv2.dilate(moving, self._open)))
        alpha_short = 1.0 - math.exp(-elapsed / p.short_time_constant)
        alpha_long = 1.0 - math.exp(-elapsed / p.long_time_constant)
        cv2.accumulateWeighted(work, self._short, alpha_short)
        settled = cv2.bitwise_not(cv2.dilate(cv2.bitwise_or(differs, foreground), self._grow))
        cv2.accumulateWeighted(work, self._long, alpha_long, mask=settled)
        return StaticSnapshot(time, foreground > 0, static > 0, moving > 0, False)

    def _binary(self, difference: GreyImage, threshold: float) -> GreyImage:
        _, mask = cv2.threshold(difference, threshold, 255, cv2.THRESH_BINARY)
        opened: GreyImage = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        return opened

    def long_term(self) -> GreyImage | None:
        """The empty scene as a grey picture (work scale), None while it is being learned."""
        if self._long is None or self._bootstrap is not None:
            return None
        picture: GreyImage = cv2.convertScaleAbs(self._long)
        return picture

    def absorb(self, region: Mask) -> None:
        """Make the current appearance of a region part of the empty scene (ghosts, settled things)."""
        if self._short is None or self._long is None:
            return
        np.copyto(self._long, self._short, where=region)

    def is_ghost(self, region: Mask, box: tuple[int, int, int, int]) -> bool | None:
        """True for a ghost, False for a real object, None when the edges do not say.

        Compares the gradient energy on the region's outline in the recent picture and in the
        long-term background: the outline of something that is really there shows in the former.
        """
        if self._short is None or self._long is None:
            return None
        return outline_verdict(self._short, self._long, region, box, self.params.ghost_edge_ratio)


def outline_verdict(
    current: GreyImage, background: GreyImage, region: Mask, box: tuple[int, int, int, int], ratio: float = 1.25
) -> bool | None:
    """Is the region a ghost (True), something really there (False), or unclear (None)?

    Compares the gradient energy on the region's outline in the current picture and in the
    background: the outline of something that is really there shows in the current picture; a ghost
    (something that left a background that still remembers it) has its outline in the background.
    """
    x, y, w, h = box
    pad = 3
    height, width = region.shape
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
    local = region[y0:y1, x0:x1].astype(np.uint8)
    outline = cv2.morphologyEx(local, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    # The picture border is not an outline: what lies beyond it is unknown.
    outline[:, :1] &= x0 > 0
    outline[:1, :] &= y0 > 0
    outline[:, -1:] &= x1 < width
    outline[-1:, :] &= y1 < height
    if np.count_nonzero(outline) < 4:
        return None
    now = float(_edge_energy(current[y0:y1, x0:x1].astype(np.float32))[outline].mean())
    before = float(_edge_energy(background[y0:y1, x0:x1].astype(np.float32))[outline].mean())
    if before > ratio * now + 1.0:
        return True
    if now > ratio * before + 1.0:
        return False
    return None


def _edge_energy(image: FloatImage) -> FloatImage:
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    magnitude: FloatImage = cv2.magnitude(gx, gy)
    return magnitude
