"""Walking figures: their looks, their shape for every frame at once, and how to draw them.

A figure is a handful of polygons (legs, arms, torso, a carried bag) and a head, laid out in units of
the person's height with the feet at the origin, then tipped over by the fall angle and projected.
The geometry is computed for all frames of an actor in one vectorised pass; the truth box is taken
from the very integer vertices handed to OpenCV, so it is pixel-exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .scene import Box

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]
Colour = tuple[int, int, int]  # BGR, as OpenCV draws

SHIRTS: tuple[Colour, ...] = (
    (40, 40, 190), (90, 45, 25), (225, 225, 225), (35, 35, 35), (60, 130, 50), (40, 185, 215),
    (130, 130, 130), (205, 165, 115), (150, 60, 120), (80, 140, 140), (45, 30, 110), (110, 150, 60),
)  # fmt: skip
TROUSERS: tuple[Colour, ...] = (
    (115, 75, 45), (30, 30, 35), (85, 85, 90), (125, 155, 175), (65, 35, 25), (50, 60, 70),
)  # fmt: skip
SKINS: tuple[Colour, ...] = ((150, 180, 230), (115, 150, 200), (85, 115, 165), (60, 80, 120), (125, 165, 215))
HAIRS: tuple[Colour, ...] = ((20, 20, 25), (30, 50, 80), (90, 160, 200), (160, 160, 160), (25, 35, 60))
BAG_COLOURS: tuple[Colour, ...] = ((40, 40, 45), (30, 60, 120), (120, 60, 30), (60, 90, 40))

# Polygons of the figure, in drawing order: (first vertex, vertex count). The carried bag comes last
# and is left out of the person box.
_BACK_LEG, _BACK_ARM, _TORSO, _FRONT_LEG, _FRONT_ARM, _BAG = (0, 4), (4, 4), (8, 6), (14, 4), (18, 4), (22, 4)
_BODY_VERTICES = 22
_VERTICES = 26
_LEG_LENGTH = 0.5
_ARM_LENGTH = 0.36
_HEAD_RADIUS = 0.08
_FALL_ANGLE = np.pi / 2


@dataclass(frozen=True)
class Appearance:
    height_m: float
    shirt: Colour
    trousers: Colour
    skin: Colour
    hair: Colour
    bag: Colour

    @classmethod
    def random(cls, rng: np.random.Generator) -> Appearance:
        def pick(palette: tuple[Colour, ...], jitter: int) -> Colour:
            base = np.array(palette[int(rng.integers(len(palette)))], dtype=np.int64)
            b, g, r = (int(c) for c in np.clip(base + rng.integers(-jitter, jitter + 1, size=3), 0, 255))
            return (b, g, r)

        return cls(
            height_m=float(rng.uniform(1.58, 1.92)),
            shirt=pick(SHIRTS, 18),
            trousers=pick(TROUSERS, 10),
            skin=pick(SKINS, 8),
            hair=pick(HAIRS, 8),
            bag=pick(BAG_COLOURS, 10),
        )


@dataclass(frozen=True)
class Pose:
    """How an actor stands in every frame (arrays of one value per frame)."""

    foot_u: FloatArray  # image column of the feet
    foot_v: FloatArray  # image row of the feet
    height_px: FloatArray
    phase: FloatArray  # gait phase, radians
    swing: FloatArray  # stride amplitude: 0 standing, 1 walking, about 1.5 running
    facing: FloatArray  # +1 moving right, -1 moving left
    breadth: FloatArray  # 1 seen from the front, 0.65 seen from the side
    lean: FloatArray  # 0 upright, 1 lying on the ground (falls towards `facing`)


@dataclass(frozen=True)
class FigureGeometry:
    """Integer drawing geometry of one actor for every frame."""

    vertices: IntArray  # (frames, _VERTICES, 2) image points
    head_centre: IntArray  # (frames, 2)
    head_radius: IntArray  # (frames,)
    boxes: IntArray  # (frames, 4) x, y, w, h of the whole body, not clipped to the frame

    def box(self, frame: int) -> Box:
        x, y, w, h = (int(v) for v in self.boxes[frame])
        return (x, y, w, h)


def figure_geometry(pose: Pose) -> FigureGeometry:
    """Lay out the figure's polygons for every frame of a pose."""
    frames = pose.foot_u.shape[0]
    angle = 0.36 * pose.swing * np.sin(pose.phase)  # leg angle from vertical; arms swing opposite
    hip_y = _LEG_LENGTH * np.cos(angle)  # both feet touch the ground: the hip dips mid-stride (gait bob)
    shoulder_y = hip_y + 0.3
    b = pose.breadth
    s = pose.facing
    local = np.zeros((frames, _VERTICES, 2))

    def leg(start: int, sign: float) -> None:
        # A trapezoid from the hip to the shoe, the shoe pointing where the figure walks.
        hip_x = -sign * 0.03 * b
        shoe_x = s * (_LEG_LENGTH * np.sin(sign * angle) + 0.02)
        local[:, start + 0] = np.stack([hip_x - 0.04, hip_y], axis=1)
        local[:, start + 1] = np.stack([hip_x + 0.04, hip_y], axis=1)
        local[:, start + 2] = np.stack([shoe_x + 0.05, np.zeros(frames)], axis=1)
        local[:, start + 3] = np.stack([shoe_x - 0.05, np.zeros(frames)], axis=1)

    def arm(start: int, sign: float) -> None:
        arm_angle = -sign * 0.5 * angle
        root_x = -sign * 0.02 * b
        hand_x = root_x + s * _ARM_LENGTH * np.sin(arm_angle)
        hand_y = shoulder_y - 0.02 - _ARM_LENGTH * np.cos(arm_angle)
        local[:, start + 0] = np.stack([root_x - 0.03, shoulder_y - 0.01], axis=1)
        local[:, start + 1] = np.stack([root_x + 0.03, shoulder_y - 0.01], axis=1)
        local[:, start + 2] = np.stack([hand_x + 0.022, hand_y], axis=1)
        local[:, start + 3] = np.stack([hand_x - 0.022, hand_y], axis=1)

    leg(_BACK_LEG[0], -1.0)
    arm(_BACK_ARM[0], -1.0)
    torso = [(-0.085, -0.02), (0.085, -0.02), (0.115, 0.26), (0.075, 0.31), (-0.075, 0.31), (-0.115, 0.26)]
    for k, (tx, ty) in enumerate(torso):
        local[:, _TORSO[0] + k] = np.stack([tx * b, hip_y + ty], axis=1)
    leg(_FRONT_LEG[0], 1.0)
    arm(_FRONT_ARM[0], 1.0)
    # The carried bag hangs from the back hand.
    hand = (local[:, _BACK_ARM[0] + 2] + local[:, _BACK_ARM[0] + 3]) / 2
    for k, (dx, dy) in enumerate([(-0.08, 0.0), (0.08, 0.0), (0.08, -0.15), (-0.08, -0.15)]):
        local[:, _BAG[0] + k] = hand + np.array([dx, dy])
    head = np.stack([np.zeros(frames), shoulder_y + 0.02 + _HEAD_RADIUS], axis=1)

    # Tip the figure over about its feet, towards where it was walking, then keep it on the ground.
    theta = s * pose.lean * _FALL_ANGLE
    cos_t, sin_t = np.cos(theta)[:, None], np.sin(theta)[:, None]

    def rotate(points: FloatArray) -> FloatArray:
        x, y = points[..., 0], points[..., 1]
        return np.stack([x * cos_t + y * sin_t, -x * sin_t + y * cos_t], axis=-1)

    local = rotate(local)
    head = rotate(head[:, None, :])[:, 0, :]
    lowest = np.minimum(local[:, :_BODY_VERTICES, 1].min(axis=1), head[:, 1] - _HEAD_RADIUS)
    lift = np.maximum(0.0, -lowest)
    local[..., 1] += lift[:, None]
    head[:, 1] += lift

    scale = pose.height_px[:, None]
    vertices = np.stack(
        [pose.foot_u[:, None] + local[..., 0] * scale, pose.foot_v[:, None] - local[..., 1] * scale], axis=-1
    )
    vertices_int = np.rint(vertices).astype(np.int32)
    head_centre = np.rint(
        np.stack([pose.foot_u + head[:, 0] * pose.height_px, pose.foot_v - head[:, 1] * pose.height_px], axis=1)
    ).astype(np.int32)
    head_radius = np.maximum(1, np.rint(_HEAD_RADIUS * pose.height_px)).astype(np.int32)

    body = vertices_int[:, :_BODY_VERTICES]
    x0 = np.minimum(body[..., 0].min(axis=1), head_centre[:, 0] - head_radius)
    x1 = np.maximum(body[..., 0].max(axis=1), head_centre[:, 0] + head_radius)
    y0 = np.minimum(body[..., 1].min(axis=1), head_centre[:, 1] - head_radius)
    y1 = np.maximum(body[..., 1].max(axis=1), head_centre[:, 1] + head_radius)
    boxes = np.stack([x0, y0, x1 - x0 + 1, y1 - y0 + 1], axis=1).astype(np.int32)
    return FigureGeometry(vertices_int, head_centre, head_radius, boxes)


def _shade(colour: Colour, factor: float) -> Colour:
    b, g, r = (min(255, round(c * factor)) for c in colour)
    return (b, g, r)


def draw_figure(
    canvas: npt.NDArray[np.uint8], geometry: FigureGeometry, frame: int, looks: Appearance, carrying: bool
) -> None:
    """Draw one actor as it is in `frame`."""
    points = geometry.vertices[frame]

    def polygon(part: tuple[int, int], colour: Colour) -> None:
        start, count = part
        cv2.fillPoly(canvas, [points[start : start + count]], colour, lineType=cv2.LINE_8)

    polygon(_BACK_LEG, _shade(looks.trousers, 0.75))
    polygon(_BACK_ARM, _shade(looks.shirt, 0.78))
    if carrying:
        polygon(_BAG, looks.bag)
    polygon(_TORSO, looks.shirt)
    polygon(_FRONT_LEG, looks.trousers)
    polygon(_FRONT_ARM, _shade(looks.shirt, 0.92))
    centre = (int(geometry.head_centre[frame, 0]), int(geometry.head_centre[frame, 1]))
    radius = int(geometry.head_radius[frame])
    cv2.circle(canvas, centre, radius, looks.skin, thickness=-1, lineType=cv2.LINE_8)
    # Hair: the upper half of the head (in the head's own frame, which turns as the body falls).
    top = points[_TORSO[0] + 3 : _TORSO[0] + 5].mean(axis=0)
    tilt = float(np.degrees(np.arctan2(centre[1] - top[1], centre[0] - top[0]))) + 90.0
    cv2.ellipse(canvas, centre, (radius, radius), tilt, 180, 360, looks.hair, thickness=-1, lineType=cv2.LINE_8)
