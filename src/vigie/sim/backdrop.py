"""The static street: paving in perspective, shop fronts, tram tracks and the street furniture.

It is drawn once per scene. Street furniture (railing, lamp posts, bench, bin) is also kept as
sprites, so that a person walking behind it can be drawn first and the furniture pasted back over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .camera import (
    BENCH_Z,
    BIN_Z,
    CAMERA_HEIGHT_M,
    CURB_Z,
    FACADE_Z,
    FENCE_Z,
    LAMP_Z,
    RAIL_Z,
    TRACK_NEAR_Z,
    Camera,
    StreetLayout,
)
from .effects import BIN_HEIGHT_M, BIN_RADIUS_M, Image
from .figures import Colour
from .scene import Box

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FACADE_COLOURS: tuple[Colour, ...] = (
    (190, 215, 228), (120, 175, 210), (165, 168, 170), (75, 95, 150), (195, 185, 170), (140, 160, 185),
)  # fmt: skip
SIGN_COLOURS: tuple[Colour, ...] = ((40, 40, 160), (120, 70, 20), (40, 110, 40), (30, 30, 30), (30, 140, 200))
TILE_M = 0.6
SLAB_M = (1.2, 0.8)
LAMP_HEIGHT_M = 4.2


@dataclass(frozen=True)
class Sprite:
    """A piece of street furniture: its pixels, where they are opaque, and how far away it stands."""

    depth: float
    left: int
    top: int
    pixels: Image
    opaque: BoolArray

    @property
    def box(self) -> Box:
        return (self.left, self.top, self.opaque.shape[1], self.opaque.shape[0])

    def overlaps(self, box: Box) -> bool:
        x, y, w, h = box
        return (
            x < self.left + self.opaque.shape[1]
            and self.left < x + w
            and y < self.top + self.opaque.shape[0]
            and self.top < y + h
        )

    def paste(self, canvas: Image) -> None:
        height, width = self.opaque.shape
        region = canvas[self.top : self.top + height, self.left : self.left + width]
        np.copyto(region, self.pixels, where=self.opaque[..., None])


@dataclass(frozen=True)
class Backdrop:
    image: Image  # the empty street, furniture included
    sprites: list[Sprite]
    night_lights: Image | None  # added on top of the dimmed frame at night

    @classmethod
    def build(
        cls,
        camera: Camera,
        layout: StreetLayout,
        rng: np.random.Generator,
        *,
        corridor: tuple[float, float, float, float] | None,
        night: bool,
    ) -> Backdrop:
        image = np.zeros((camera.height, camera.width, 3), dtype=np.uint8)
        horizon_row = _paint_ground(image, camera, rng)
        windows = _paint_facades(image, camera, rng, horizon_row)
        _add_texture(image, rng)
        if corridor is not None:
            _paint_corridor(image, camera, corridor)
        sprites = sorted(_furniture(camera, layout), key=lambda sprite: -sprite.depth)
        for sprite in sprites:
            sprite.paste(image)
        lights = _night_lights(camera, layout, windows, rng) if night else None
        return cls(image=image, sprites=sprites, night_lights=lights)


def _paint_ground(image: Image, camera: Camera, rng: np.random.Generator) -> int:
    """Paint the ground from the facades down; returns the first ground row."""
    first_row = math.ceil(camera.ground_row(FACADE_Z))
    rows = np.arange(first_row, camera.height, dtype=np.float64) + 0.5
    z = camera.depth_of_row(rows)[:, None]
    columns = np.arange(camera.width, dtype=np.float64)[None, :] + 0.5
    x = (columns - camera.centre_column) * z / camera.focal
    across_px = camera.focal / z  # pixels per metre along X at each row
    deep_px = camera.focal * CAMERA_HEIGHT_M / z**2  # pixels per metre along Z: |d(row)/dz|

    def joints(coordinate: FloatArray, period: float, px_per_m: FloatArray) -> FloatArray:
        """Anti-aliased grout lines: 1 on a joint, fading to 0 one pixel away."""
        distance = np.abs((coordinate / period + 0.5) % 1.0 - 0.5) * period * px_per_m
        result: FloatArray = np.clip(1.2 - distance, 0.0, 1.0)
        return result

    shades = rng.normal(0.0, 7.0, (64, 64))
    tile_x = np.floor(x / TILE_M).astype(np.int64) % 64
    tile_z = np.floor(z / TILE_M).astype(np.int64) % 64
    plaza = np.array([150.0, 156.0, 162.0]) + shades[tile_x, tile_z][..., None]
    plaza -= 38.0 * np.maximum(joints(x, TILE_M, across_px), joints(z, TILE_M, deep_px))[..., None]

    sidewalk = np.array([176.0, 180.0, 183.0]) + 0.6 * shades[(tile_x * 3) % 64, (tile_z * 5) % 64][..., None]
    sidewalk -= 30.0 * np.maximum(joints(x, SLAB_M[0], across_px), joints(z, SLAB_M[1], deep_px))[..., None]

    track_bed = np.broadcast_to(np.array([78.0, 80.0, 83.0]), plaza.shape).copy()
    for rail in RAIL_Z:
        for edge, colour in ((0.0, (168.0, 168.0, 172.0)), (0.07, (38.0, 38.0, 40.0))):
            on_rail = np.abs(z - (rail + edge + 0.03)) * deep_px < 0.9
            track_bed = np.where(on_rail[..., None], np.array(colour), track_bed)

    ground = np.where((z < TRACK_NEAR_Z)[..., None], plaza, track_bed)
    warning_line = (z >= TRACK_NEAR_Z) & (z < TRACK_NEAR_Z + 0.15)
    ground = np.where(warning_line[..., None], np.array([40.0, 185.0, 215.0]), ground)
    kerb = (z >= CURB_Z - 0.2) & (z < CURB_Z)
    ground = np.where(kerb[..., None], np.array([205.0, 206.0, 204.0]), ground)
    ground = np.where((z >= CURB_Z)[..., None], sidewalk, ground)
    image[first_row:] = np.clip(np.rint(ground), 0, 255).astype(np.uint8)
    return first_row


def _paint_facades(image: Image, camera: Camera, rng: np.random.Generator, ground_row: int) -> list[Box]:
    """Shop fronts along the back of the street; returns the window rectangles (lit at night)."""
    scale = camera.pixels_per_metre(FACADE_Z)

    def row(metres_up: float) -> int:
        return round(ground_row - metres_up * scale)

    windows: list[Box] = []
    left = -int(rng.integers(0, max(2, int(3 * scale))))
    while left < camera.width:
        width = int(rng.uniform(7.0, 13.0) * scale)
        right = min(camera.width, left + width)
        base = np.array(FACADE_COLOURS[int(rng.integers(len(FACADE_COLOURS)))], dtype=np.int64)
        colour = tuple(int(c) for c in np.clip(base + rng.integers(-12, 13, 3), 0, 255))
        cv2.rectangle(image, (left, 0), (right, ground_row - 1), colour, -1)
        # Cornice between the shop and the first floor, and the party wall.
        cv2.rectangle(image, (left, row(3.9)), (right, row(3.6)), tuple(max(0, c - 35) for c in colour), -1)
        cv2.line(
            image, (left, 0), (left, ground_row - 1), tuple(max(0, c - 60) for c in colour), max(1, round(0.1 * scale))
        )
        sign = SIGN_COLOURS[int(rng.integers(len(SIGN_COLOURS)))]
        cv2.rectangle(image, (left + round(0.4 * scale), row(3.5)), (right - round(0.4 * scale), row(2.9)), sign, -1)
        # Shop windows and a door, glazed dark with a lighter reflection band.
        x = left + round(0.6 * scale)
        while x + round(1.5 * scale) < right - round(0.5 * scale):
            is_door = rng.random() < 0.3
            pane = round((1.1 if is_door else rng.uniform(1.6, 2.6)) * scale)
            pane = min(pane, right - round(0.5 * scale) - x)
            bottom = row(0.0) - 1 if is_door else row(0.6)
            top = row(2.6 if is_door else 2.7)
            glass = (62, 58, 52) if is_door else (88, 80, 70)
            cv2.rectangle(image, (x, top), (x + pane, bottom), glass, -1)
            cv2.rectangle(image, (x, top), (x + pane, bottom), (45, 45, 45), max(1, round(0.06 * scale)))
            reflection = (x + pane // 4, top + 2), (x + pane // 2, bottom - 2)
            cv2.rectangle(image, *reflection, (112, 104, 96), -1)
            windows.append((x, top, pane, bottom - top))
            x += pane + round(rng.uniform(0.5, 1.2) * scale)
        # First-floor windows, cut by the top of the frame.
        x = left + round(0.9 * scale)
        while x + round(1.2 * scale) < right - round(0.6 * scale):
            top, bottom = row(6.0), row(4.4)
            cv2.rectangle(image, (x, top), (x + round(1.2 * scale), bottom), (70, 64, 58), -1)
            cv2.rectangle(
                image, (x, top), (x + round(1.2 * scale), bottom), (215, 215, 210), max(1, round(0.08 * scale))
            )
            windows.append((x, max(0, top), round(1.2 * scale), bottom - max(0, top)))
            x += round(2.4 * scale)
        left = right
    return windows


def _add_texture(image: Image, rng: np.random.Generator) -> None:
    """Fixed grime: broad blotches plus fine grain, so that nothing is perfectly flat."""
    height, width = image.shape[:2]
    coarse = rng.normal(0.0, 1.0, (max(2, height // 12), max(2, width // 12))).astype(np.float32)
    blotches = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC) * 6.0
    grain = rng.normal(0.0, 3.0, (height, width)).astype(np.float32)
    textured = image.astype(np.float32) + (blotches + grain)[..., None]
    image[...] = np.clip(np.rint(textured), 0, 255).astype(np.uint8)


def _paint_corridor(image: Image, camera: Camera, corridor: tuple[float, float, float, float]) -> None:
    """Painted lane edges and arrows marking the one-way corridor (left to right)."""
    x0, z0, x1, z1 = corridor
    paint = (215, 220, 222)
    for z in (z0, z1):
        a, b = camera.project(x0, z), camera.project(x1, z)
        thickness = max(1, round(0.1 * camera.pixels_per_metre(z)))
        cv2.line(image, (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), paint, thickness, cv2.LINE_AA)
    z_mid = (z0 + z1) / 2
    for x in np.linspace(x0 + 1.0, x1 - 1.6, 3):
        shaft = [(x, z_mid - 0.12), (x + 0.9, z_mid - 0.12), (x + 0.9, z_mid + 0.12), (x, z_mid + 0.12)]
        head = [(x + 0.9, z_mid - 0.4), (x + 1.5, z_mid), (x + 0.9, z_mid + 0.4)]
        for shape in (shaft, head):
            polygon = np.rint([camera.project(px, pz) for px, pz in shape]).astype(np.int32)
            cv2.fillPoly(image, [polygon], paint, lineType=cv2.LINE_AA)


def _sprite(
    camera: Camera, depth: float, draw: list[tuple[str, list[tuple[float, float, float]], Colour, float]]
) -> Sprite:
    """Draw world-space shapes (polygons or thick lines through (x, z, up) points) into a sprite."""
    canvas = np.zeros((camera.height, camera.width, 3), dtype=np.uint8)
    opaque = np.zeros((camera.height, camera.width), dtype=np.uint8)
    for shape, points, colour, thickness_m in draw:
        pixels = np.rint([camera.project(x, z, up) for x, z, up in points]).astype(np.int32)
        if shape == "polygon":
            cv2.fillPoly(canvas, [pixels], colour, lineType=cv2.LINE_8)
            cv2.fillPoly(opaque, [pixels], 255, lineType=cv2.LINE_8)
        else:
            z_mean = sum(z for _, z, _ in points) / len(points)
            thickness = max(1, round(thickness_m * camera.pixels_per_metre(z_mean)))
            cv2.polylines(canvas, [pixels], False, colour, thickness, cv2.LINE_8)
            cv2.polylines(opaque, [pixels], False, 255, thickness, cv2.LINE_8)
    rows = np.flatnonzero(opaque.any(axis=1))
    cols = np.flatnonzero(opaque.any(axis=0))
    if rows.size == 0:
        return Sprite(depth, 0, 0, canvas[:0, :0], np.zeros((0, 0), dtype=bool))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return Sprite(depth, left, top, canvas[top:bottom, left:right].copy(), opaque[top:bottom, left:right] > 0)


def _furniture(camera: Camera, layout: StreetLayout) -> list[Sprite]:
    sprites: list[Sprite] = []
    # The railing between the plaza and the tracks: posts and two bars.
    reach = camera.half_width_m(FENCE_Z) + 1.0
    railing: list[tuple[str, list[tuple[float, float, float]], Colour, float]] = []
    for up in (0.5, 1.0):
        railing.append(("line", [(-reach, FENCE_Z, up), (reach, FENCE_Z, up)], (62, 74, 64), 0.06))
    for x in np.arange(-reach, reach, 1.6):
        railing.append(("line", [(float(x), FENCE_Z, 0.0), (float(x), FENCE_Z, 1.05)], (55, 66, 58), 0.07))
    sprites.append(_sprite(camera, FENCE_Z, railing))
    for lamp_x in layout.lamp_xs:
        lamp: list[tuple[str, list[tuple[float, float, float]], Colour, float]] = [
            ("line", [(lamp_x, LAMP_Z, 0.0), (lamp_x, LAMP_Z, LAMP_HEIGHT_M)], (50, 52, 54), 0.14),
            ("line", [(lamp_x, LAMP_Z, LAMP_HEIGHT_M), (lamp_x + 0.6, LAMP_Z, LAMP_HEIGHT_M)], (50, 52, 54), 0.1),
            ("polygon", [(lamp_x + 0.35, LAMP_Z, LAMP_HEIGHT_M), (lamp_x + 0.85, LAMP_Z, LAMP_HEIGHT_M),
                         (lamp_x + 0.75, LAMP_Z, LAMP_HEIGHT_M - 0.2), (lamp_x + 0.45, LAMP_Z, LAMP_HEIGHT_M - 0.2)],
             (200, 215, 220), 0.0),
        ]  # fmt: skip
        sprites.append(_sprite(camera, LAMP_Z, lamp))
    bx, bz = layout.bench_x, BENCH_Z
    wood, iron = (40, 75, 120), (45, 45, 50)
    bench: list[tuple[str, list[tuple[float, float, float]], Colour, float]] = [
        ("line", [(bx - 0.8, bz - 0.2, 0.0), (bx - 0.8, bz - 0.2, 0.45)], iron, 0.06),
        ("line", [(bx + 0.8, bz - 0.2, 0.0), (bx + 0.8, bz - 0.2, 0.45)], iron, 0.06),
        ("polygon", [(bx - 0.9, bz + 0.25, 0.8), (bx + 0.9, bz + 0.25, 0.8), (bx + 0.9, bz + 0.25, 0.5),
                     (bx - 0.9, bz + 0.25, 0.5)], (35, 65, 105), 0.0),
        ("polygon", [(bx - 0.9, bz - 0.25, 0.45), (bx + 0.9, bz - 0.25, 0.45), (bx + 0.9, bz + 0.25, 0.45),
                     (bx - 0.9, bz + 0.25, 0.45)], wood, 0.0),
        ("polygon", [(bx - 0.9, bz - 0.25, 0.45), (bx + 0.9, bz - 0.25, 0.45), (bx + 0.9, bz - 0.25, 0.4),
                     (bx - 0.9, bz - 0.25, 0.4)], (30, 55, 90), 0.0),
    ]  # fmt: skip
    sprites.append(_sprite(camera, bz, bench))
    # The bin: a green cylinder (a body and an elliptical rim).
    x, z, r = layout.bin_x, BIN_Z, BIN_RADIUS_M
    rim = [
        (x + r * math.cos(a), z + r * math.sin(a), BIN_HEIGHT_M)
        for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)
    ]
    body = [(x - r, z, 0.0), (x + r, z, 0.0), (x + r, z, BIN_HEIGHT_M), (x - r, z, BIN_HEIGHT_M)]
    sprites.append(_sprite(camera, z, [("polygon", body, (45, 85, 40), 0.0), ("polygon", rim, (30, 50, 28), 0.0)]))
    return sprites


def _night_lights(camera: Camera, layout: StreetLayout, windows: list[Box], rng: np.random.Generator) -> Image:
    """Light added to the dimmed night frame: lamp heads with a halo and a pool below, lit windows."""
    height, width = camera.height, camera.width
    light = np.zeros((height, width, 3), dtype=np.float32)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    warm = np.array([90.0, 170.0, 225.0], dtype=np.float32) / 225.0
    for lamp_x in layout.lamp_xs:
        u, v = camera.project(lamp_x + 0.6, LAMP_Z, LAMP_HEIGHT_M - 0.1)
        halo = camera.pixels_per_metre(LAMP_Z) * 0.7
        light += (200.0 * np.exp(-((cols - u) ** 2 + (rows - v) ** 2) / (2 * halo**2)))[..., None] * warm
        pool_u, pool_v = camera.project(lamp_x + 0.6, LAMP_Z - 1.5, 0.0)
        spread_u, spread_v = camera.pixels_per_metre(LAMP_Z) * 2.6, camera.pixels_per_metre(LAMP_Z) * 1.0
        pool = np.exp(-(((cols - pool_u) / spread_u) ** 2 + ((rows - pool_v) / spread_v) ** 2))
        light += (45.0 * pool)[..., None] * warm
    for x, y, w, h in windows:
        if rng.random() < 0.45:
            light[max(0, y) : y + h, max(0, x) : x + w] += np.array([30.0, 95.0, 140.0], dtype=np.float32)
    return np.clip(np.rint(light), 0, 255).astype(np.uint8)
