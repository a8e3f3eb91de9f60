"""Crowds: excessive density (how many people per zone) and crowd movement (sudden collective motion).

**Density** counts people without seeing anyone. Foreground is measured against the empty scene
(the long-term background, so people standing still are counted too), on the small picture, and
only where the *structure* changed: a local normalised correlation between the picture and the empty
scene tells a person (texture replaced) from light (a fire's glow, a cloud, headlights: texture
kept, brightness scaled). Each foreground pixel is given the foot point of its column's foreground
run (where that person stands) and weighs one over the area a person covers at that row
(perspective-aware); a zone's count sums the pixels whose foot is in the zone. Overlap in dense
crowds makes this an underestimate, which errs on the side of fewer alarms. An alert needs the
count above the zone's ``max_people`` for ``density_on_seconds``; it ends after
``density_off_seconds`` below a lower bar (hysteresis).

**Crowd movement** compares dense optical flow (Farnebäck, on a picture about 80 px wide) with the
camera's own learned normal. Flow is converted to *person heights per second on the ground* with
the perspective model (vertical image motion is motion in depth and is scaled up accordingly), so
running is recognisable at any distance. Per frame: the motion energy (the sum of everyone's speed,
in people × heights/s) and the mean outward (divergent) speed about the moving pixels' centroid;
both are compared with a running mean and variance learned from the camera's ordinary footage
(z-scores, robust to outliers). An alert needs a large z-score, a mean speed above walking, and a
crowd's worth of moving pixels in several separate groups (not one person close to the lens),
sustained for about a second; the first seconds of a stream only teach the normal.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.frames import FrameGeometry, GreyImage, Mask
from vigie.analytics.people import PersonScale
from vigie.analytics.persistence import Persistence, Transition
from vigie.analytics.zones import Zone, zone_mask

FloatArray = npt.NDArray[Any]


@dataclass(frozen=True)
class CrowdParams:
    """Tuning of density and crowd movement."""

    density_on_seconds: float = 2.0
    density_off_seconds: float = 3.0
    density_release: float = 0.85  # the alert ends below this share of max_people
    density_smoothing: int = 3  # median of this many estimates
    structure_window: int = 5  # small-scale pixels: local correlation window (light vs people)
    same_structure: float = 0.6  # correlation with the empty scene above which a change is only light
    flat_variance: float = 9.0  # grey levels²: below this a patch has no texture to compare
    default_fill: float = 0.12  # silhouette area / height² of one person before it is measured
    flow_min_moving_fraction: float = 0.02  # motion-gate share below which flow is not computed (a few walkers)
    moving_speed: float = 0.25  # person heights/s: slower pixels are not "moving"
    min_moving_people: float = 6.0  # people's worth of moving pixels: a crowd, not a jogger or a couple
    min_moving_groups: int = 3  # separate moving blobs needed while the perspective is still the default
    groups_window_seconds: float = 1.0  # ... seen at least once within this window
    min_speed: float = 1.1  # mean ground speed of the moving pixels, person heights/s (walking reads ~0.7)
    max_depth_gain: float = 4.0  # cap on the foreshortening correction of vertical image motion
    warmup_seconds: float = 8.0  # flow observed this long before any alert: the camera's normal first
    z_alarm: float = 4.0
    z_release: float = 2.0
    on_seconds: float = 0.8
    off_seconds: float = 2.0
    learn_time_constant: float = 120.0  # seconds of "normal" the running statistics remember
    prior_weight: float = 20.0  # samples' worth of trust in the generic prior
    prior_energy: tuple[float, float] = (2.0, 2.0)  # people × person heights/s: a few walkers
    prior_divergence: tuple[float, float] = (0.0, 0.25)  # person heights/s
    min_energy_sigma: float = 1.0
    min_divergence_sigma: float = 0.15


class _RunningNormal:
    """Exponentially weighted mean and variance with a prior, for one flow statistic."""

    def __init__(self, mean: float, sigma: float, prior_weight: float, min_sigma: float) -> None:
        self.mean = mean
        self.variance = sigma * sigma
        self.weight = prior_weight
        self.min_sigma = min_sigma

    def z(self, value: float) -> float:
        return (value - self.mean) / max(self.min_sigma, math.sqrt(self.variance))

    def learn(self, value: float, time_constant_samples: float, slow: bool = False) -> None:
        """Fold in one sample. Its deviation is clipped to 3 sigmas, so one burst cannot blow the
        variance up and hide the next; a lasting change is still absorbed, just gradually."""
        self.weight = min(self.weight + 1.0, time_constant_samples)
        rate = 1.0 / self.weight / (4.0 if slow else 1.0)
        sigma = max(self.min_sigma, math.sqrt(self.variance))
        delta = min(max(value - self.mean, -3.0 * sigma), 3.0 * sigma)
        self.mean += rate * delta
        self.variance = (1 - rate) * (self.variance + rate * delta * delta)


@dataclass
class _DensityWatch:
    name: str
    max_people: int
    mask: Mask  # the zone, work scale
    persistence: Persistence
    event: Event | None = None
    recent: deque[float] | None = None


class DensityDetector:
    def __init__(
        self, zones: Sequence[Zone], default_max_people: int, geometry: FrameGeometry, params: CrowdParams
    ) -> None:
        self.params = params
        self.geometry = geometry
        self.size = geometry.small_size
        self.watches: list[_DensityWatch] = []
        for zone in zones:
            mask = cv2.resize(zone_mask(zone, geometry).astype(np.uint8), self.size, interpolation=cv2.INTER_NEAREST)
            self.watches.append(self._watch(zone.name, zone.max_people or default_max_people, mask > 0))
        # Without density zones the whole view is watched against a default bar, but only once the
        # perspective is known: counting people with a guessed size is worse than not counting.
        self.needs_known_scale = not self.watches
        if not self.watches:
            whole = np.ones((self.size[1], self.size[0]), bool)
            self.watches.append(self._watch("whole view", default_max_people, whole))
        self.last_counts: dict[str, float] = {}
        self._inverse_area: FloatArray | None = None
        self._version = -1
        # How much of a person's height² this detector's foreground covers, learned from isolated
        # people (the motion blobs the perspective model learns from include trails, so they overstate it).
        self._fill_samples: deque[float] = deque(maxlen=300)
        self.fill: float | None = None
        self._body_regions: dict[str, tuple[Mask, FloatArray]] = {}
        width, height = self.size
        self._rows = np.broadcast_to(np.arange(height, dtype=np.intp)[:, None], (height, width))
        self._cols = np.broadcast_to(np.arange(width, dtype=np.intp)[None, :], (height, width))
        self._open = np.ones((2, 2), np.uint8)
        self._close = np.ones((5, 3), np.uint8)

    def _watch(self, name: str, max_people: int, mask: Mask) -> _DensityWatch:
        p = self.params
        return _DensityWatch(
            name, max_people, mask, Persistence(p.density_on_seconds, p.density_off_seconds, max_gap=1.1),
            recent=deque(maxlen=p.density_smoothing),
        )  # fmt: skip

    def reset(self, time: float, log: EventLog) -> None:
        for watch in self.watches:
            if watch.event is not None:
                log.close(watch.event, time)
                watch.event = None
            watch.persistence.reset()
            if watch.recent is not None:
                watch.recent.clear()

    def people_mask(self, small: GreyImage, empty_scene: GreyImage, threshold: float) -> Mask:
        """Small-scale pixels where a person (not light) differs from the empty scene."""
        p = self.params
        empty = cv2.resize(empty_scene, self.size, interpolation=cv2.INTER_AREA)
        differs = cv2.absdiff(small, empty) > threshold
        if not differs.any():
            return differs
        a = small.astype(np.float32)
        b = empty.astype(np.float32)
        window = (p.structure_window, p.structure_window)
        mean_a, mean_b = cv2.blur(a, window), cv2.blur(b, window)
        var_a = cv2.blur(a * a, window) - mean_a * mean_a
        var_b = cv2.blur(b * b, window) - mean_b * mean_b
        covariance = cv2.blur(a * b, window) - mean_a * mean_b
        correlation = covariance / np.sqrt(np.maximum(var_a * var_b, 1e-3))
        textured = (var_a > p.flat_variance) & (var_b > p.flat_variance)
        # Light changes keep the texture (high correlation); people replace it.
        changed = differs & ~(textured & (correlation > p.same_structure))
        opened = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, self._open)
        # Closed like the blobs the person-size model learns from, so areas compare like with like.
        joined: Mask = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, self._close) > 0
        return joined

    def learn_fill(self, people: Mask, boxes: Sequence[tuple[float, float, float, float]]) -> None:
        """Measure isolated people (work-scale boxes) in the foreground mask: their silhouette share."""
        s = self.geometry.small_scale
        for x, y, w, h in boxes:
            left, top = int(x / s), int(y / s)
            right, bottom = int(np.ceil((x + w) / s)), int(np.ceil((y + h) / s))
            tall = (bottom - top) * s
            if tall < 4:
                continue
            covered = float(np.count_nonzero(people[top:bottom, left:right])) * s * s
            self._fill_samples.append(covered / (tall * tall))
        if len(self._fill_samples) >= 10:
            fill = float(np.clip(np.median(self._fill_samples), 0.08, 0.5))
            if self.fill is None or abs(fill - self.fill) > 0.1 * self.fill:
                self.fill = fill
                self._inverse_area = None

    def count(self, people: Mask, scale: PersonScale) -> dict[str, float]:
        """People per zone: each pixel weighs 1 / (a person's area where its column's run stands),
        then the total is corrected for people hiding each other (see `_occlusion_factor`)."""
        if self._version != scale.version or self._inverse_area is None:
            small_to_work = self.geometry.small_scale
            work_rows = (np.arange(self.size[1], dtype=np.float64) + 1.0) * small_to_work
            fill = self.fill if self.fill is not None else self.params.default_fill
            heights = scale.heights(work_rows) / small_to_work
            self._inverse_area = (1.0 / np.maximum(fill * heights * heights, 0.5)).astype(np.float32)
            self._body_regions = {watch.name: self._body_region(watch.mask, heights) for watch in self.watches}
            self._version = scale.version
        height = people.shape[0]
        # Foot of each pixel: the bottom of its column's foreground run (the first gap below, minus one).
        gap_rows = np.where(people, height, self._rows)
        below = np.minimum.accumulate(gap_rows[::-1], axis=0)[::-1]
        foot_rows = (below - 1)[people]
        columns = self._cols[people]
        weights = self._inverse_area[foot_rows]
        width = people.shape[1]
        counts = {}
        for watch in self.watches:
            inside = watch.mask[foot_rows, columns]
            # Per column: the area-based count, corrected by how much of the column's body region is covered
            # (people cluster, so coverage is judged locally rather than over the whole zone).
            linear = np.bincount(columns[inside], weights=weights[inside], minlength=width)
            region, region_rows = self._body_regions[watch.name]
            covered = np.count_nonzero(people & region, axis=0) / np.maximum(region_rows, 1.0)
            counts[watch.name] = float((linear * _occlusion_factors(covered)).sum())
        return counts

    @staticmethod
    def _body_region(zone: Mask, heights: FloatArray) -> tuple[Mask, FloatArray]:
        """Pixels a person standing in the zone may cover (the zone stretched up by person heights),
        and how many there are in each column."""
        region = zone.copy()
        for row in np.nonzero(zone.any(axis=1))[0]:
            top = max(0, int(row - heights[row]))
            region[top:row] |= zone[row]
        return region, np.count_nonzero(region, axis=0).astype(np.float64)

    def update(self, time: float, counts: dict[str, float], scale_known: bool, log: EventLog) -> None:
        p = self.params
        for watch in self.watches:
            assert watch.recent is not None
            watch.recent.append(counts[watch.name])
            people = sorted(watch.recent)[len(watch.recent) // 2]
            self.last_counts[watch.name] = people
            bar = watch.max_people * (p.density_release if watch.persistence.active else 1.0)
            judged = scale_known or not self.needs_known_scale
            transition = watch.persistence.update(time, judged and people > bar)
            if transition is Transition.RAISE:
                rows, cols = np.nonzero(watch.mask)
                s = self.geometry.small_scale
                box = (
                    float(cols.min()) * s,
                    float(rows.min()) * s,
                    float(np.ptp(cols) + 1) * s,
                    float(np.ptp(rows) + 1) * s,
                )
                watch.event = log.open(
                    EventType.CROWD_DENSITY,
                    time,
                    box,
                    min(1.0, 0.5 + 0.5 * (people - watch.max_people) / max(watch.max_people, 1)),
                    zone=watch.name,
                    details={"people": round(people, 1), "max_people": watch.max_people},
                )
            elif transition is Transition.END and watch.event is not None:
                log.close(watch.event, time)
                watch.event = None


def _occlusion_factors(covered: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """How many more people stand in a region than its foreground area suggests, when they overlap.

    If people were scattered at random over a region, the covered share would be ``1 - exp(-n a / B)``
    (a Poisson coverage model), so the true count is ``-ln(1 - covered) / covered`` times the
    area-based one: 1 when sparse, 1.4 at half coverage, 2.6 at 90 % (the cap).
    """
    share = np.clip(covered, 1e-6, 0.9)
    factors: npt.NDArray[np.float64] = -np.log1p(-share) / share
    return factors


class CrowdMovementDetector:
    def __init__(self, geometry: FrameGeometry, params: CrowdParams) -> None:
        self.params = params
        self.geometry = geometry
        self.size = geometry.flow_size
        self._previous: GreyImage | None = None
        self._previous_time: float | None = None
        self.energy = _RunningNormal(*params.prior_energy, params.prior_weight, params.min_energy_sigma)
        self.divergence = _RunningNormal(*params.prior_divergence, params.prior_weight, params.min_divergence_sigma)
        self.persistence = Persistence(params.on_seconds, params.off_seconds, max_gap=0.45)
        self.event: Event | None = None
        self._heights: FloatArray | None = None
        self._depth_gain: FloatArray | None = None
        self._observed_since: float | None = None
        self._groups: deque[tuple[float, int]] = deque()
        self._version = -1
        width, height = self.size
        grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
        self._grid_x, self._grid_y = grid_x, grid_y
        self.last: dict[str, float] = {}

    def reset(self, time: float, log: EventLog) -> None:
        self._previous = None
        self.persistence.reset()
        if self.event is not None:
            log.close(self.event, time)
            self.event = None

    def update(
        self,
        small: GreyImage,
        motion_mask: GreyImage,
        moving_fraction: float,
        groups: int,
        time: float,
        scale: PersonScale,
        log: EventLog,
    ) -> None:
        """``groups``: people or groups tracked separately this frame (a crowd is several of them, or
        a big area once the perspective is known: one person close to the lens is not a crowd)."""
        p = self.params
        picture = cv2.resize(small, self.size, interpolation=cv2.INTER_AREA)
        previous, previous_time = self._previous, self._previous_time
        self._previous, self._previous_time = picture, time
        if previous is None or previous_time is None or time <= previous_time:
            return
        if moving_fraction < p.flow_min_moving_fraction and not self.persistence.active:
            self._settle(time, log, calm=True)
            return
        flow = cv2.calcOpticalFlowFarneback(previous, picture, None, 0.5, 3, 7, 3, 5, 1.1, 0)  # type: ignore[call-overload]
        if self._version != scale.version or self._heights is None or self._depth_gain is None:
            rows = (np.arange(self.size[1], dtype=np.float64) + 0.5) * self.geometry.flow_scale
            work_heights = scale.heights(rows)
            self._heights = (work_heights / self.geometry.flow_scale).astype(np.float32)[:, None]
            # Moving up or down the picture is moving in depth, which perspective shrinks: a step of
            # dy rows covers width * slope * dy / height² person heights on the ground (focal ≈ width).
            gain = self.geometry.work_width * max(scale.slope, 0.0) / np.maximum(work_heights, 1.0)
            self._depth_gain = np.clip(gain, 1.0, p.max_depth_gain).astype(np.float32)[:, None]
            self._version = scale.version
        dt = time - previous_time
        # Flow pixels per frame -> person heights per second on the ground, row by row (perspective).
        fx = flow[:, :, 0] / (self._heights * dt)
        fy = flow[:, :, 1] * self._depth_gain / (self._heights * dt)
        speed = cv2.magnitude(fx, fy)
        gate = cv2.resize(motion_mask, self.size, interpolation=cv2.INTER_NEAREST) > 0
        gate = cv2.dilate(gate.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        moving = gate & (speed > p.moving_speed)
        count = int(np.count_nonzero(moving))
        if count < 6:
            self._settle(time, log, calm=True)
            return
        area_per_person = scale.fill * self._heights * self._heights  # flow pixels² per person, by row
        per_person = np.broadcast_to(1.0 / area_per_person, speed.shape)
        weights = per_person[moving]
        speeds = speed[moving]
        moving_people = float(weights.sum())
        # Motion energy: the sum of everyone's speed (people × person heights per second).
        energy = float((weights * speeds).sum())
        cx = float(self._grid_x[moving].mean())
        cy = float(self._grid_y[moving].mean())
        rx, ry = self._grid_x[moving] - cx, self._grid_y[moving] - cy
        norm = np.maximum(np.hypot(rx, ry), 1.0)
        divergence = float((weights * (fx[moving] * rx + fy[moving] * ry) / norm).sum() / max(moving_people, 1e-6))
        mean_speed = energy / max(moving_people, 1e-6)
        z_energy = self.energy.z(energy)
        z_divergence = self.divergence.z(divergence)
        self.last = {
            "energy": energy,
            "speed": mean_speed,
            "divergence": divergence,
            "z_energy": z_energy,
            "z_divergence": z_divergence,
            "moving_people": moving_people,
        }
        unusual = max(z_energy, abs(z_divergence))
        bar = p.z_release if self.persistence.active else p.z_alarm
        if self._observed_since is None:
            self._observed_since = time
        warm = time - self._observed_since >= p.warmup_seconds
        fast = mean_speed >= p.min_speed or abs(divergence) >= p.min_speed
        self._groups.append((time, groups))
        while self._groups and self._groups[0][0] < time - p.groups_window_seconds:
            self._groups.popleft()
        holds = warm and unusual > bar and moving_people >= p.min_moving_people and fast
        transition = self.persistence.update(time, holds)
        # With a guessed perspective, one person close to the lens can look like many: a crowd must
        # also show as several separate blobs (runners of a dispersal part within a second).
        crowd_seen = max(count for _, count in self._groups) >= p.min_moving_groups
        if transition is Transition.RAISE and not scale.trusted and not crowd_seen:
            self.persistence.active = False
            transition = None
        # Keep learning, slowly while something unusual holds: a lasting new normal (a busier
        # hour) is absorbed, a sudden burst is not.
        samples = p.learn_time_constant / max(dt, 1e-3)
        slow = holds or self.persistence.active
        self.energy.learn(energy, samples, slow)
        self.divergence.learn(divergence, samples, slow)
        if transition is Transition.RAISE:
            moving_rows, moving_cols = np.nonzero(moving)
            s = self.geometry.flow_scale
            box = (
                float(moving_cols.min()) * s,
                float(moving_rows.min()) * s,
                float(np.ptp(moving_cols) + 1) * s,
                float(np.ptp(moving_rows) + 1) * s,
            )
            kind = "dispersal" if z_divergence > 2 else "convergence" if z_divergence < -2 else "running"
            self.event = log.open(
                EventType.CROWD_MOVEMENT,
                time,
                box,
                min(1.0, 0.5 + unusual / 20.0),
                details={
                    "kind": kind,
                    "z_energy": round(z_energy, 2),
                    "z_divergence": round(z_divergence, 2),
                    "moving_people": round(moving_people, 1),
                    "speed": round(mean_speed, 2),
                },
            )
        elif transition is Transition.END and self.event is not None:
            log.close(self.event, time)
            self.event = None

    def _settle(self, time: float, log: EventLog, calm: bool) -> None:
        transition = self.persistence.update(time, not calm)
        if transition is Transition.END and self.event is not None:
            log.close(self.event, time)
            self.event = None
