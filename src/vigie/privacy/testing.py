"""Synthetic faces with exact boxes, for tests and the redaction benchmark (vigie.sim draws no faces).

A face is drawn as a photograph-like head: a shaded skin oval, hair, brows, eyes with whites and
irises, a nose shadow, a mouth and a neck, on a textured street-like background. Everything follows
from a seed: the same call gives the same pixels. The truth box of a face is its forehead-to-chin,
cheek-to-cheek rectangle, as in tests/data/faces_labels.json.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np

from vigie.privacy.masks import Image

Rect = tuple[int, int, int, int]

SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (150, 180, 225), (120, 155, 205), (95, 130, 180), (70, 100, 145), (60, 80, 120), (135, 170, 220),
)  # fmt: skip
HAIR_COLOURS: tuple[tuple[int, int, int], ...] = ((20, 20, 25), (30, 50, 80), (60, 100, 150), (150, 150, 150))


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    b, g, r = (int(np.clip(c * factor, 0, 255)) for c in colour)
    return (b, g, r)


def draw_face(canvas: Image, box: Rect, *, skin: int = 0, hair: int = 0) -> None:
    """Draw a frontal face whose forehead-to-chin, cheek-to-cheek rectangle is ``box``."""
    x, y, w, h = box
    tone = SKIN_TONES[skin % len(SKIN_TONES)]
    hair_colour = HAIR_COLOURS[hair % len(HAIR_COLOURS)]
    cx, cy = x + w / 2, y + h / 2

    def p(fx: float, fy: float) -> tuple[int, int]:
        return (round(cx + fx * w), round(cy + fy * h))

    def axes(fx: float, fy: float) -> tuple[int, int]:
        return (max(1, round(fx * w)), max(1, round(fy * h)))

    # Neck and shoulders first (under the head), then hair behind, the face, hair on top.
    cv2.rectangle(canvas, p(-0.2, 0.35), p(0.2, 0.75), _shade(tone, 0.8), -1)
    cv2.ellipse(canvas, p(0, 1.05), axes(0.9, 0.35), 0, 180, 360, (70, 60, 55), -1)
    cv2.ellipse(canvas, p(0, -0.12), axes(0.6, 0.55), 0, 0, 360, hair_colour, -1)
    cv2.ellipse(canvas, p(0, 0.02), axes(0.5, 0.5), 0, 0, 360, tone, -1)
    # Soft shading: the cheeks darker than the centre, as under a ceiling light.
    cv2.ellipse(canvas, p(-0.33, 0.1), axes(0.14, 0.3), 0, 0, 360, _shade(tone, 0.9), -1)
    cv2.ellipse(canvas, p(0.33, 0.1), axes(0.14, 0.3), 0, 0, 360, _shade(tone, 0.9), -1)
    cv2.ellipse(canvas, p(0, -0.42), axes(0.5, 0.16), 0, 180, 360, hair_colour, -1)  # fringe
    for side in (-1, 1):
        cv2.line(canvas, p(side * 0.3, -0.2), p(side * 0.1, -0.22), _shade(hair_colour, 1.2), max(1, round(h * 0.035)))
        cv2.ellipse(canvas, p(side * 0.2, -0.08), axes(0.1, 0.05), 0, 0, 360, (235, 235, 235), -1)
        cv2.circle(canvas, p(side * 0.2, -0.08), max(1, round(w * 0.045)), (40, 35, 30), -1)
        cv2.ellipse(canvas, p(side * 0.5, 0.02), axes(0.05, 0.1), 0, 0, 360, _shade(tone, 0.85), -1)  # ears
    cv2.line(canvas, p(0, -0.05), p(-0.03, 0.15), _shade(tone, 0.7), max(1, round(w * 0.03)))
    cv2.ellipse(canvas, p(0, 0.16), axes(0.08, 0.03), 0, 0, 360, _shade(tone, 0.75), -1)  # nostrils
    cv2.ellipse(canvas, p(0, 0.3), axes(0.15, 0.04), 0, 0, 360, (80, 80, 150), -1)
    # A lens is never sharp to the pixel: soften the drawing like optics and compression would.
    x0, y0 = max(0, round(cx - w)), max(0, round(cy - h))
    x1, y1 = min(canvas.shape[1], round(cx + w)), min(canvas.shape[0], round(cy + 1.4 * h))
    sigma = max(0.8, w / 25)
    canvas[y0:y1, x0:x1] = cv2.GaussianBlur(canvas[y0:y1, x0:x1], (0, 0), sigma)


def street_background(width: int, height: int, seed: int) -> Image:
    """A plain but textured backdrop: wall, pavement, noise (never a face)."""
    rng = np.random.default_rng(seed)
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[: height * 2 // 3] = (165, 170, 175)
    canvas[height * 2 // 3 :] = (110, 115, 120)
    for _ in range(6):
        x0 = int(rng.integers(0, width))
        cv2.rectangle(canvas, (x0, 0), (x0 + int(rng.integers(20, 60)), height * 2 // 3), (140, 150, 160), -1)
    noise = rng.normal(0, 3, canvas.shape)
    return np.clip(canvas + noise, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class FaceTruth:
    frame: int
    boxes: tuple[Rect, ...]  # faces visible in this frame
    hidden: tuple[Rect, ...] = ()  # faces present but hidden behind something in this frame


def walking_faces(
    *,
    width: int = 640,
    height: int = 360,
    frames: int = 40,
    faces: int = 3,
    face_size: int = 40,
    occlude: tuple[int, ...] = (),
    seed: int = 0,
) -> Iterator[tuple[Image, FaceTruth]]:
    """Faces crossing the frame; in each frame listed in ``occlude`` a pillar hides the first face."""
    rng = np.random.default_rng(seed)
    background = street_background(width, height, seed)
    starts = [
        (float(rng.uniform(0.05, 0.6) * width), float(rng.uniform(0.15, 0.5) * height)) for _ in range(faces)
    ]
    speeds = [float(rng.uniform(1.5, 3.5)) * (1 if k % 2 == 0 else -1) for k in range(faces)]
    for index in range(frames):
        canvas = background.copy()
        visible: list[Rect] = []
        hidden: list[Rect] = []
        for k, ((x0, y0), speed) in enumerate(zip(starts, speeds, strict=True)):
            size = face_size + 2 * k
            x = int((x0 + speed * index) % (width - size))
            box = (x, int(y0), size, int(size * 1.25))
            draw_face(canvas, box, skin=k + seed, hair=0)
            if k == 0 and index in occlude:
                left, width_of_face = box[0], box[2]
                pillar = ((left - width_of_face, 0), (left + 2 * width_of_face, height))
                cv2.rectangle(canvas, *pillar, (90, 95, 100), -1)
                hidden.append(box)
            else:
                visible.append(box)
        yield canvas, FaceTruth(index, tuple(visible), tuple(hidden))


def write_clip(frames: Iterable[Image], path: str, *, fps: int = 10, gop: int | None = None) -> int:
    """Encode BGR frames to an H.264 MP4 (one keyframe per ``gop`` frames, default one per second)."""
    count = 0
    keyint = gop or fps
    with av.open(path, "w", format="mp4") as container:
        stream: Any = None
        for image in frames:
            if stream is None:
                stream = container.add_stream(
                    "libx264",
                    rate=fps,
                    options={"x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0"},
                )
                stream.width, stream.height = image.shape[1], image.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.codec_context.thread_count = 1
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = count
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
            count += 1
        if stream is not None:
            container.mux(stream.encode(None))
    return count
