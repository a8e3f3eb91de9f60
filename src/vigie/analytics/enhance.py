"""Picture conditions (darkness, sensor noise, rain) and the cheap enhancement they call for.

Night and rain are where video analytics drown in false alarms. Two answers, both cheap:

* **clean the picture before analysis**: in the dark, CLAHE (contrast-limited adaptive histogram
  equalisation) on the ~320 px work picture lifts dim people out of dark ground; in rain a thin
  horizontal grey opening erases bright streaks narrower than a couple of pixels, which no person or
  object is at the work scale;
* **measure, then adapt thresholds**: `ConditionMonitor` estimates the noise of the very picture the
  detectors see (after enhancement, which amplifies noise too) from the difference of consecutive
  frames where nothing moves (robust median, once per second); detectors use
  ``max(base, k * noise)`` as their change threshold, so a grainy night picture raises the bar
  instead of lighting up the whole mask. Persistence rules in each detector do the rest.

The mode only switches with hysteresis and at most once per ``min_switch_seconds``; a switch is
reported (`switched`) so the analyzer recalibrates its backgrounds, as for an infrared switch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.frames import GreyImage, Mask


@dataclass(frozen=True)
class EnhanceParams:
    """Tuning of condition measurement and enhancement (defaults suit 8-bit CCTV)."""

    night_below: float = 80.0  # median grey level under which the picture counts as night
    day_above: float = 100.0  # and over which it is day again (hysteresis)
    night_clip_limit: float = 2.0  # CLAHE contrast limit at night
    night_tiles: tuple[int, int] = (6, 4)  # CLAHE tiles (columns, rows)
    rain_streak_fraction: float = 0.015  # share of pixels on fresh thin bright streaks that means rain
    clear_streak_fraction: float = 0.007  # below which rain is over (hysteresis)
    rain_confirmations: int = 2  # consecutive measurements over the bar before rain is declared
    streak_contrast: float = 10.0  # grey levels a streak stands above its sides
    measure_every_seconds: float = 1.0
    min_switch_seconds: float = 5.0


@dataclass(frozen=True)
class Conditions:
    """What the picture is like right now."""

    brightness: float  # median grey level of the raw picture
    noise: float  # noise of the enhanced picture, grey levels (standard deviation), small scale
    night: bool
    rain: bool
    streak_fraction: float

    def threshold(self, base: float, factor: float, scale_factor: float = 1.0) -> float:
        """A change threshold: ``base`` grey levels, raised to ``factor`` noise sigmas when noise is high.

        ``scale_factor`` converts the small-scale noise to another scale (about 2 at the work scale,
        since averaging four pixels halves independent noise).
        """
        return max(base, factor * self.noise * scale_factor)


_CLEAR = Conditions(brightness=128.0, noise=1.0, night=False, rain=False, streak_fraction=0.0)


class ConditionMonitor:
    """Per-camera estimate of darkness, noise and rain, refreshed about once per second."""

    def __init__(self, params: EnhanceParams | None = None) -> None:
        self.params = params or EnhanceParams()
        self.conditions = _CLEAR
        self.switched = False  # True on the frame the enhancement mode changed
        self._last_measure: float | None = None
        self._last_switch = -1e9
        self._measurements = 0
        self._rain_votes = 0
        self._previous_work: GreyImage | None = None
        self._previous_small: GreyImage | None = None
        self._noise_due = False
        self._streak_kernel = np.ones((1, 5), np.uint8)
        self._rain_kernel = np.ones((1, 3), np.uint8)
        self._clahe = cv2.createCLAHE(clipLimit=self.params.night_clip_limit, tileGridSize=self.params.night_tiles)

    def update(self, time: float, raw_work: GreyImage, raw_small: GreyImage) -> Conditions:
        """Refresh darkness and rain if due (noise follows in `observe_enhanced`)."""
        self.switched = False
        p = self.params
        due = self._last_measure is None or time - self._last_measure >= p.measure_every_seconds
        previous_work = self._previous_work
        # Rain is judged on what changed between consecutive frames: keep the last one.
        self._previous_work = raw_work.copy()
        if not due:
            return self.conditions
        self._last_measure = time
        self._noise_due = True
        brightness = float(np.median(raw_small))
        streaks = self.conditions.streak_fraction
        if previous_work is not None and previous_work.shape == raw_work.shape:
            streaks = _streak_fraction(previous_work, raw_work, self._streak_kernel, p.streak_contrast)
        night, rain = self.conditions.night, self.conditions.rain
        self._rain_votes = self._rain_votes + 1 if streaks > p.rain_streak_fraction else 0
        first = self._measurements == 0
        self._measurements += 1
        if first or time - self._last_switch >= p.min_switch_seconds:
            new_night = brightness < (p.day_above if night else p.night_below)
            new_rain = rain
            if not rain:
                # A dark-clad person close to the lens makes streak-like edges for a moment; rain lasts.
                new_rain = self._rain_votes >= p.rain_confirmations and streaks > p.rain_streak_fraction
            elif streaks < p.clear_streak_fraction:
                new_rain = False
            if (new_night, new_rain) != (night, rain):
                # The very first measurement only sets the mode: there is no background to recalibrate yet.
                self.switched = not first
                self._last_switch = time
                night, rain = new_night, new_rain
        self.conditions = replace(
            self.conditions, brightness=brightness, night=night, rain=rain, streak_fraction=streaks
        )
        return self.conditions

    def enhance(self, work: GreyImage) -> GreyImage:
        """The picture detectors should look at, given the current conditions."""
        out = work
        if self.conditions.rain:
            # Grey opening along rows: bright streaks one or two pixels wide disappear, bodies stay.
            out = cv2.morphologyEx(out, cv2.MORPH_OPEN, self._rain_kernel)
        if self.conditions.night:
            out = self._clahe.apply(out)
        result: GreyImage = out
        return result

    def observe_enhanced(self, small: GreyImage, still: Mask | None) -> Conditions:
        """Measure the noise of the enhanced small picture (once per measurement period).

        ``still`` marks pixels where nothing moved at the previous frame.
        """
        previous = self._previous_small
        self._previous_small = small.copy()
        if self._noise_due and previous is not None and previous.shape == small.shape and not self.switched:
            self._noise_due = False
            difference = cv2.absdiff(previous, small)
            bar = max(10.0, 4.0 * self.conditions.noise)
            # Most of the picture changed at once (a switch of lighting, a flash): that is not noise,
            # and the motion gate recalibrates on it; measure again next time.
            if cv2.countNonZero((difference > bar).astype(np.uint8)) < 0.3 * difference.size:
                self.conditions = replace(self.conditions, noise=_temporal_noise(difference, still))
        return self.conditions


def _temporal_noise(difference: GreyImage, still: Mask | None) -> float:
    """Noise sigma from the difference of two frames, using only pixels where nothing moves.

    The difference of two noisy frames has sigma * sqrt(2); its median absolute value times 1.4826
    estimates that robustly, ignoring the few pixels something crossed. The median is interpolated
    within the integer histogram so that low noise is not rounded to 0, 1 or 2 grey levels.
    """
    values = difference[still] if still is not None and still.shape == difference.shape else difference.ravel()
    if values.size < 64:
        values = difference.ravel()
    counts = np.bincount(values.ravel(), minlength=2).astype(np.float64)
    cumulative = np.cumsum(counts)
    half = cumulative[-1] / 2.0
    level = int(np.searchsorted(cumulative, half))
    below = cumulative[level - 1] if level > 0 else 0.0
    inside = (half - below) / max(counts[level], 1.0)
    # Integer |d| = 0 stands for [0, 0.5); |d| = k for [k - 0.5, k + 0.5).
    median = inside * 0.5 if level == 0 else level - 0.5 + inside
    return max(0.3, 1.4826 * float(median) / float(np.sqrt(2.0)))


def _streak_fraction(previous: GreyImage, current: GreyImage, kernel: npt.NDArray[np.uint8], contrast: float) -> float:
    """Share of pixels on thin bright lines that were not there a frame ago: falling rain.

    Static texture (paving joints, railings) has thin lines too, but they do not come and go.
    """
    top_hat = cv2.morphologyEx(current, cv2.MORPH_TOPHAT, kernel)
    brighter = cv2.subtract(current, previous)
    fresh = (top_hat > contrast) & (brighter > contrast)
    return float(np.count_nonzero(fresh)) / top_hat.size
