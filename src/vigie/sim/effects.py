"""Everything drawn besides people and the static street: the dropped bag, fire and smoke, rain,
night, camera tampering and sensor noise.

Geometry that the truth depends on (the bag box, the flame envelope) is computed here once and used
both for drawing and for the truth, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from .camera import Camera
from .figures import Colour
from .randomness import Stream, stream_rng
from .scene import Box, TamperMode

Image = npt.NDArray[np.uint8]

BAG_WIDTH_M, BAG_HEIGHT_M, BAG_DEPTH_M = 0.5, 0.36, 0.24
BIN_RADIUS_M, BIN_HEIGHT_M = 0.3, 0.9
FLAME_WIDTH_M, FLAME_HEIGHT_M = 0.8, 1.3
FIRE_GROWTH_SECONDS = 3.0
_FLAME_TONGUES = 7
_SMOKE_PUFFS_PER_SECOND = 3.0
_SMOKE_LIFETIME_S = 5.0
SMOKE_GREY = 90.0

# Rain: a slightly darker, flatter picture (overcast) crossed by bright streaks.
RAIN_GAIN, RAIN_OFFSET = 0.8, 22.0
# Night: dim, nearly grey (an infrared-assisted camera), with lit windows and lamps added on top.
NIGHT_GAIN, NIGHT_SATURATION, NIGHT_OFFSET = 0.33, 0.2, 6.0
COVERED_LENS_BGR = (14, 12, 13)


@dataclass(frozen=True)
class DroppedBag:
    x: float
    z: float
    from_frame: int  # first frame in which the bag lies on the ground
    colour: Colour


@dataclass(frozen=True)
class FireSite:
    x: float
    z: float
    base_up: float  # height of the flames' base (the top of the burning bin)
    from_frame: int  # first frame with flames
    growth_seconds: float = FIRE_GROWTH_SECONDS


@dataclass(frozen=True)
class TamperPlan:
    mode: TamperMode
    from_frame: int


def bag_polygons(camera: Camera, bag: DroppedBag) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The bag's front face and top face, as integer image polygons."""
    half = BAG_WIDTH_M / 2
    near_z, far_z = bag.z - BAG_DEPTH_M / 2, bag.z + BAG_DEPTH_M / 2

    def points(corners: list[tuple[float, float, float]]) -> npt.NDArray[np.int32]:
        return np.rint([camera.project(x, z, up) for x, z, up in corners]).astype(np.int32)

    front = points(
        [(bag.x - half, near_z, 0.0), (bag.x + half, near_z, 0.0),
         (bag.x + half, near_z, BAG_HEIGHT_M), (bag.x - half, near_z, BAG_HEIGHT_M)]
    )  # fmt: skip
    top = points(
        [(bag.x - half, near_z, BAG_HEIGHT_M), (bag.x + half, near_z, BAG_HEIGHT_M),
         (bag.x + half, far_z, BAG_HEIGHT_M), (bag.x - half, far_z, BAG_HEIGHT_M)]
    )  # fmt: skip
    return front, top


def bag_box(camera: Camera, bag: DroppedBag) -> Box:
    front, top = bag_polygons(camera, bag)
    every = np.concatenate([front, top])
    x0, y0 = every.min(axis=0)
    x1, y1 = every.max(axis=0)
    return (int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1))


def draw_bag(canvas: Image, camera: Camera, bag: DroppedBag) -> None:
    front, top = bag_polygons(camera, bag)
    b, g, r = bag.colour
    cv2.fillPoly(canvas, [front], (b, g, r), lineType=cv2.LINE_8)
    lighter = (min(255, b + 35), min(255, g + 35), min(255, r + 35))
    cv2.fillPoly(canvas, [top], lighter, lineType=cv2.LINE_8)
    # A seam across the front, so the bag reads as a bag rather than a box.
    seam_row = int((front[0, 1] + front[3, 1]) // 2)
    darker = (max(0, b - 25), max(0, g - 25), max(0, r - 25))
    cv2.line(canvas, (int(front[0, 0]), seam_row), (int(front[1, 0]), seam_row), darker, 1, cv2.LINE_8)


def fire_growth(site: FireSite, frame: int, fps: int) -> float:
    """0 before ignition, then from 0.15 up to 1 over the growth time."""
    if frame < site.from_frame:
        return 0.0
    elapsed = (frame - site.from_frame) / fps
    return min(1.0, 0.15 + 0.85 * elapsed / site.growth_seconds)


def flame_envelope(camera: Camera, site: FireSite) -> Box:
    """The box every flame pixel stays in: the fire at full size and full flicker."""
    scale = camera.pixels_per_metre(site.z)
    base_u, base_v = camera.project(site.x, site.z, site.base_up)
    half = math.ceil(FLAME_WIDTH_M * scale / 2)
    height = math.ceil(FLAME_HEIGHT_M * scale)
    u, v = round(base_u), round(base_v)
    return (u - half, v - height, 2 * half + 1, height + 1)


def draw_flames(canvas: Image, camera: Camera, site: FireSite, frame: int, fps: int, seed: int) -> Image | None:
    """Draw the flames of `frame`; returns the mask of flame pixels (None before ignition)."""
    growth = fire_growth(site, frame, fps)
    if growth <= 0.0:
        return None
    rng = stream_rng(seed, Stream.FLAMES, frame)
    x, y, w, h = flame_envelope(camera, site)
    base_v = y + h - 1
    centre = x + w // 2
    half = (w // 2) * (0.55 + 0.45 * growth)
    mask = np.zeros(canvas.shape[:2], dtype=np.uint8)
    layers: list[tuple[float, tuple[int, int, int]]] = [
        (1.0, (0, 70, 215)), (0.72, (10, 140, 250)), (0.45, (70, 215, 255)), (0.22, (175, 245, 255)),
    ]  # fmt: skip
    offsets = np.linspace(-1.0, 1.0, _FLAME_TONGUES)
    heights = (h - 1) * growth * rng.uniform(0.55, 1.0, _FLAME_TONGUES) * (1.0 - 0.35 * np.abs(offsets))
    sways = rng.uniform(-0.25, 0.25, _FLAME_TONGUES)
    for size, colour in layers:
        for offset, height, sway in zip(offsets, heights, sways, strict=True):
            foot = centre + offset * half * 0.8
            tongue_half = max(1.0, half * 0.38 * size)
            tip_height = height * size
            polygon = np.rint(
                [
                    (foot - tongue_half, base_v),
                    (foot - tongue_half * 0.8, base_v - tip_height * 0.45),
                    (foot + sway * tongue_half * 2, base_v - tip_height),
                    (foot + tongue_half * 0.8, base_v - tip_height * 0.45),
                    (foot + tongue_half, base_v),
                ]
            ).astype(np.int32)
            # Keep every vertex inside the envelope, which is the truth box.
            polygon[:, 0] = np.clip(polygon[:, 0], x, x + w - 1)
            polygon[:, 1] = np.clip(polygon[:, 1], y, base_v)
            cv2.fillPoly(canvas, [polygon], colour, lineType=cv2.LINE_8)
            if size == 1.0:
                cv2.fillPoly(mask, [polygon], 255, lineType=cv2.LINE_8)
    return mask


def draw_smoke(canvas: Image, camera: Camera, site: FireSite, frame: int, fps: int, seed: int) -> None:
    """Grey puffs rising from the flames, drifting with the wind and thinning out."""
    if frame < site.from_frame:
        return
    t_since = (frame - site.from_frame) / fps
    scale = camera.pixels_per_metre(site.z)
    x, y, w, _ = flame_envelope(camera, site)
    layer = np.zeros(canvas.shape[:2], dtype=np.float32)
    first = max(0, math.floor((t_since - _SMOKE_LIFETIME_S) * _SMOKE_PUFFS_PER_SECOND))
    last = math.floor(t_since * _SMOKE_PUFFS_PER_SECOND)
    for puff in range(first, last + 1):
        age = t_since - puff / _SMOKE_PUFFS_PER_SECOND
        if not 0 <= age < _SMOKE_LIFETIME_S:
            continue
        puff_rng = stream_rng(seed, Stream.SMOKE, puff)
        drift, rise, spread = puff_rng.uniform(0.15, 0.45), puff_rng.uniform(0.5, 0.8), puff_rng.uniform(-0.2, 0.2)
        growth = fire_growth(site, site.from_frame + round(puff / _SMOKE_PUFFS_PER_SECOND * fps), fps)
        cu = x + w / 2 + (spread + drift * age) * scale
        cv = y + (0.1 - rise * age) * scale
        radius = (0.3 + 0.3 * age) * scale * growth
        opacity = 0.8 * growth * (1.0 - age / _SMOKE_LIFETIME_S)
        cv2.circle(layer, (round(cu), round(cv)), max(1, round(radius)), opacity, thickness=-1)
    if not layer.any():
        return
    layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), sigmaX=max(1.0, scale * 0.12)), dtype=np.float32)
    rows = np.flatnonzero(layer.max(axis=1) > 0.01)
    cols = np.flatnonzero(layer.max(axis=0) > 0.01)
    if rows.size == 0:
        return
    # Blend only where there is smoke: the full frame would cost more than the rest of the frame.
    window = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    alpha = np.clip(layer[window], 0.0, 0.75)[..., None]
    region = canvas[window]
    region[...] = np.rint(region * (1.0 - alpha) + np.float32(SMOKE_GREY) * alpha).astype(np.uint8)


def fire_glow(camera: Camera, site: FireSite, shape: tuple[int, int]) -> npt.NDArray[np.float32]:
    """How much the fire lights each pixel at full size (0..1), for the warm cast around it."""
    x, y, w, h = flame_envelope(camera, site)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    cu, cv = x + w / 2, y + h * 0.6
    reach = max(w, h) * 1.6
    distance = np.hypot((cols - cu) / reach, (rows - cv) / reach)
    result: npt.NDArray[np.float32] = np.exp(-(distance**2)).astype(np.float32)
    return result


def apply_rain(frame: Image, seed: int, frame_index: int) -> Image:
    """Overcast contrast, then bright diagonal streaks, new ones every frame."""
    out = rain_contrast(frame)
    height, width = frame.shape[:2]
    rng = stream_rng(seed, Stream.RAIN, frame_index)
    count = width * height // 450
    streak = height * rng.uniform(0.035, 0.07, count)
    slant = np.radians(rng.normal(-14.0, 2.0, count))
    starts_u = rng.uniform(-0.1 * width, 1.1 * width, count)
    starts_v = rng.uniform(-0.1 * height, height, count)
    ends_u = starts_u + streak * np.sin(slant)
    ends_v = starts_v + streak * np.cos(slant)
    brightness = rng.integers(40, 90, count)
    streaks = np.zeros((height, width), dtype=np.uint8)
    for u0, v0, u1, v1, level in zip(starts_u, starts_v, ends_u, ends_v, brightness, strict=True):
        cv2.line(streaks, (round(u0), round(v0)), (round(u1), round(v1)), int(level), 1, cv2.LINE_8)
    return as_image(cv2.add(out, cv2.cvtColor(streaks, cv2.COLOR_GRAY2BGR)))


def rain_contrast(frame: Image) -> Image:
    """The contrast the rain variant applies before adding streaks (exposed for tests)."""
    return as_image(cv2.convertScaleAbs(frame, alpha=RAIN_GAIN, beta=RAIN_OFFSET))


_LUMA = np.array([0.114, 0.587, 0.299])  # BGR weights
_NIGHT_MATRIX = NIGHT_GAIN * (NIGHT_SATURATION * np.eye(3) + (1 - NIGHT_SATURATION) * np.tile(_LUMA, (3, 1)))
_NIGHT_TRANSFORM = np.hstack([_NIGHT_MATRIX, np.full((3, 1), NIGHT_OFFSET)]).astype(np.float32)


def apply_night(frame: Image, lights: Image) -> Image:
    """Dim and desaturate, then add the lights (lamps, lit windows) precomputed by the backdrop."""
    dark = cv2.transform(frame, _NIGHT_TRANSFORM)
    return as_image(cv2.add(dark, lights))


def apply_tamper(frame: Image, plan: TamperPlan, frame_index: int) -> Image:
    if frame_index < plan.from_frame:
        return frame
    if plan.mode == "defocus":
        sigma = frame.shape[0] / 22
        return as_image(cv2.GaussianBlur(frame, (0, 0), sigmaX=sigma))
    # Something pressed against the lens: almost black, a faint gradient where light leaks in.
    height, width = frame.shape[:2]
    leak = np.linspace(0.0, 6.0, height, dtype=np.float32)[:, None, None]
    covered = np.broadcast_to(np.array(COVERED_LENS_BGR, dtype=np.float32) + leak, (height, width, 3))
    return np.rint(covered).astype(np.uint8)


def add_sensor_noise(frame: Image, sigma: float, seed: int, frame_index: int) -> Image:
    """Grey (luminance) sensor noise, fresh every frame."""
    if sigma <= 0:
        return frame
    rng = stream_rng(seed, Stream.NOISE, frame_index)
    noise = rng.standard_normal(frame.shape[:2], dtype=np.float32) * np.float32(sigma)
    noisy = frame.astype(np.int16) + np.rint(noise).astype(np.int16)[..., None]
    return as_image(np.clip(noisy, 0, 255).astype(np.uint8))


def as_image(array: npt.NDArray[Any]) -> Image:
    """OpenCV's stubs widen every result's dtype; our frames are uint8 BGR throughout."""
    return np.asarray(array, dtype=np.uint8)
