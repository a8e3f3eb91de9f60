"""Privacy masks of fixed cameras: polygons hiding dwellings, burnt into every image that leaves Vigie.

CSI L251-3 forbids images of dwelling interiors and, specifically, of their entrances; prefectures ask
for *masquage irréversible*. A mask here is an opaque fill, never a blur: the pixels under it are
replaced before anything is encoded, so no output (re-encoded video, JPEG snapshot, analytics input)
holds any information about them.

Polygons are stored in normalised coordinates (0..1 of the frame's width and height) so one mask
serves the main stream, the substream and any later change of resolution. A mask is rasterised once
per frame size (:func:`raster`) and reused for every frame: applying it is one boolean assignment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from vigie.catalog.db import Catalog
    from vigie.catalog.models import Source

Image = npt.NDArray[np.uint8]
BoolImage = npt.NDArray[np.bool_]
Point = tuple[float, float]

# What the hidden pixels become: plain black (Y=16 in limited-range video, exact after H.264).
MASK_FILL_BGR: tuple[int, int, int] = (0, 0, 0)
# A polygon smaller than this fraction of the frame is a typo (a click, three points on a line).
MIN_AREA_FRACTION = 1e-4
MAX_POINTS = 64
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$")


class MaskError(ValueError):
    """A mask is refused; the message says which point or rule, in one line."""


@dataclass(frozen=True)
class PrivacyMask:
    """One named polygon of one camera, in normalised coordinates (x right, y down, 0..1)."""

    name: str
    polygon: tuple[Point, ...]

    def __post_init__(self) -> None:
        validate_name(self.name)
        validate_polygon(self.polygon)

    def pixel_polygon(self, width: int, height: int) -> npt.NDArray[np.int32]:
        """The polygon in pixel coordinates of a ``width`` x ``height`` frame (rounded outwards by the raster)."""
        points = np.array(self.polygon, dtype=np.float64) * np.array([width, height], dtype=np.float64)
        return np.rint(points).astype(np.int32)

    def as_text(self) -> str:
        """The ``x1,y1 x2,y2 ...`` form the CLI reads back."""
        return " ".join(f"{x:.6g},{y:.6g}" for x, y in self.polygon)


def validate_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise MaskError(
            f"mask name {name!r} must be 1-80 letters, digits, spaces, dots, dashes or underscores, "
            "starting with a letter or digit"
        )


def validate_polygon(polygon: Sequence[Point]) -> None:
    """≥3 points, all inside [0, 1], enclosing a real area (not a line, not a speck)."""
    if len(polygon) < 3:
        raise MaskError(f"a mask needs at least 3 points, got {len(polygon)}")
    if len(polygon) > MAX_POINTS:
        raise MaskError(f"a mask has at most {MAX_POINTS} points, got {len(polygon)}")
    for index, (x, y) in enumerate(polygon, start=1):
        if not (math.isfinite(x) and math.isfinite(y)):
            raise MaskError(f"point {index} ({x}, {y}) is not a number")
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise MaskError(f"point {index} ({x:g}, {y:g}) is outside the frame: normalised coordinates are 0..1")
    area = polygon_area(polygon)
    if area < MIN_AREA_FRACTION:
        raise MaskError(
            f"the polygon encloses {area:.2e} of the frame (points on a line or too close together); "
            f"a mask must cover at least {MIN_AREA_FRACTION:g} of the frame"
        )


def polygon_area(polygon: Sequence[Point]) -> float:
    """Shoelace area in normalised units (1.0 is the whole frame)."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def parse_polygon(text: str, *, pixels: tuple[int, int] | None = None) -> tuple[Point, ...]:
    """Read ``"x1,y1 x2,y2 ..."``: normalised numbers, or pixels of a ``(width, height)`` frame."""
    points: list[Point] = []
    for index, token in enumerate(text.replace(";", " ").split(), start=1):
        parts = token.split(",")
        if len(parts) != 2:
            raise MaskError(f"point {index} {token!r} is not of the form x,y")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError as error:
            raise MaskError(f"point {index} {token!r} is not two numbers") from error
        if pixels is not None:
            width, height = pixels
            if not (0 <= x <= width and 0 <= y <= height):
                raise MaskError(f"point {index} ({x:g}, {y:g}) is outside the {width}x{height} frame")
            x, y = x / width, y / height
        points.append((x, y))
    validate_polygon(points)
    return tuple(points)


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080)."""
    match = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", text)
    if not match:
        raise MaskError(f"frame size {text!r} is not of the form WIDTHxHEIGHT (e.g. 1920x1080)")
    return int(match[1]), int(match[2])


@lru_cache(maxsize=64)
def _raster(polygons: tuple[tuple[Point, ...], ...], width: int, height: int) -> BoolImage:
    canvas = np.zeros((height, width), dtype=np.uint8)
    scale = np.array([width, height], dtype=np.float64)
    for polygon in polygons:
        points = np.rint(np.array(polygon, dtype=np.float64) * scale).astype(np.int32)
        cv2.fillPoly(canvas, [points], 255, lineType=cv2.LINE_8)
        # The outline too: every pixel the edge touches is hidden (never one pixel short of the polygon).
        cv2.polylines(canvas, [points], True, 255, thickness=2, lineType=cv2.LINE_8)
    hidden = canvas > 0
    hidden.setflags(write=False)  # shared by every caller: nobody may edit the cached raster
    return hidden


def raster(masks: Iterable[PrivacyMask], width: int, height: int) -> BoolImage:
    """Boolean image, True where pixels are hidden. Cached per (masks, size): one rasterisation per stream."""
    polygons = tuple(sorted(mask.polygon for mask in masks))
    return _raster(polygons, width, height)


def mask_frame(frame: Image, masks: Sequence[PrivacyMask], *, fill: tuple[int, int, int] = MASK_FILL_BGR) -> Image:
    """A copy of ``frame`` (BGR or grey) with every masked pixel replaced by ``fill``. No masks: the frame itself."""
    if not masks:
        return frame
    height, width = frame.shape[:2]
    hidden = raster(masks, width, height)
    out = frame.copy()
    out[hidden] = fill if out.ndim == 3 else round(sum(fill) / 3)
    return out


def mask_for_analytics(frame: Image, masks: Sequence[PrivacyMask]) -> Image:
    """The analytics input: same opaque fill, so detectors never look into a dwelling either.

    A constant fill has no motion and no texture, so it raises no motion or object alarm by itself.
    """
    return mask_frame(frame, masks)


def masked_jpeg(frame: Image, masks: Sequence[PrivacyMask], *, quality: int = 85) -> bytes:
    """A snapshot or event thumbnail: masked first, then JPEG-encoded (OpenCV)."""
    ok, encoded = cv2.imencode(".jpg", mask_frame(frame, masks), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise MaskError("JPEG encoding failed")
    return bytes(encoded.tobytes())


@dataclass(frozen=True)
class CameraMasks:
    """The masks in force for one camera, bound together for the code paths that hide pixels."""

    camera: str
    masks: tuple[PrivacyMask, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.masks)

    def apply(self, frame: Image) -> Image:
        return mask_frame(frame, self.masks)

    def for_analytics(self, frame: Image) -> Image:
        return mask_for_analytics(frame, self.masks)

    def jpeg(self, frame: Image, *, quality: int = 85) -> bytes:
        return masked_jpeg(frame, self.masks, quality=quality)


def masks_for_source(catalog: Catalog, source: Source, since: datetime | None = None) -> tuple[PrivacyMask, ...]:
    """The masks to apply to footage of ``source`` recorded from ``since`` on (see mask_store).

    Without ``since``, every mask the camera ever had, removed ones included: the safe choice when
    the footage's date is not known.
    """
    from vigie.privacy.mask_store import masks_of_source  # the catalog is needed only here

    return masks_of_source(catalog, source.id, since)


def __getattr__(name: str) -> Any:
    # ``masks.MaskedTranscoder``: the transcoder lives in transcode.py (which imports this module).
    if name == "MaskedTranscoder":
        from vigie.privacy.transcode import MaskedTranscoder

        return MaskedTranscoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
