"""Frames as the analyzer sees them, and the few picture sizes it works at.

A `Frame` carries the planes a decoder already has (luma, and the two chroma planes of 4:2:0
video), so no colour conversion is ever paid for: grey analysis reads the luma plane, the fire
detector reads chroma directly (flame colours are easy to state in YCbCr). Frames built from BGR
arrays (tests, simulators) are converted once to the same layout.

Detectors run on downscaled pictures: a *work* picture about 320 px wide (static objects, fire,
density) and a *small* one half that size (about 90-120 px high: motion gate, blobs, tamper),
plus a quarter-size one for dense optical flow. Everything is reported back in input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# Pictures as OpenCV hands them back (its stubs type results as "integer or floating" arrays):
# grey pictures hold uint8 by convention, float pictures float32, masks are boolean.
GreyImage = npt.NDArray[Any]
FloatImage = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

DEFAULT_WORK_WIDTH = 320


class FrameSizeError(ValueError):
    """A frame does not have the size the analyzer was built for (the stream changed resolution)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture: its time in seconds from the start of the stream and its planes.

    ``chroma_blue``/``chroma_red`` are the Cb (U) and Cr (V) planes of 4:2:0 video, half the luma
    size in each direction; they may be None for grey-only sources (fire detection then idles).
    """

    time: float
    luma: GreyImage
    chroma_blue: GreyImage | None = None
    chroma_red: GreyImage | None = None

    @property
    def width(self) -> int:
        return int(self.luma.shape[1])

    @property
    def height(self) -> int:
        return int(self.luma.shape[0])

    @classmethod
    def from_bgr(cls, time: float, bgr: npt.NDArray[np.uint8]) -> Frame:
        """Convert a BGR picture (OpenCV's layout) to luma + 4:2:0 chroma, as a decoder would give."""
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 image of shape (h, w, 3), got {bgr.shape} {bgr.dtype}")
        height, width = bgr.shape[:2]
        if height % 2 == 0 and width % 2 == 0:
            planar = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
            quarter = (height // 2) * (width // 2)
            chroma = planar[height:].reshape(-1)
            blue = chroma[:quarter].reshape(height // 2, width // 2)
            red = chroma[quarter:].reshape(height // 2, width // 2)
            return cls(time, planar[:height], blue, red)
        ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
        half = ((width + 1) // 2, (height + 1) // 2)
        red = cv2.resize(ycrcb[:, :, 1], half, interpolation=cv2.INTER_AREA)
        blue = cv2.resize(ycrcb[:, :, 2], half, interpolation=cv2.INTER_AREA)
        return cls(time, np.ascontiguousarray(ycrcb[:, :, 0]), blue, red)

    @classmethod
    def from_grey(cls, time: float, grey: GreyImage) -> Frame:
        if grey.ndim != 2 or grey.dtype != np.uint8:
            raise ValueError(f"expected a grey uint8 image of shape (h, w), got {grey.shape} {grey.dtype}")
        return cls(time, grey)


@dataclass(frozen=True, slots=True)
class FrameGeometry:
    """The sizes a camera's pictures are analysed at, and how they map back to input pixels."""

    input_width: int
    input_height: int
    work_width: int
    work_height: int

    @classmethod
    def for_input(cls, width: int, height: int, work_width: int = DEFAULT_WORK_WIDTH) -> FrameGeometry:
        if width < 32 or height < 32:
            raise FrameSizeError(f"frames of {width}x{height} are too small to analyse (at least 32x32)")
        if work_width < 64:
            raise ValueError("the work width must be at least 64 pixels")
        if width <= work_width:
            return cls(width, height, width, height)
        work_height = max(32, round(height * work_width / width))
        return cls(width, height, work_width, work_height)

    @property
    def scale(self) -> float:
        """Input pixels per work pixel."""
        return self.input_width / self.work_width

    @property
    def work_size(self) -> tuple[int, int]:
        return (self.work_width, self.work_height)

    @property
    def small_size(self) -> tuple[int, int]:
        return (max(16, self.work_width // 2), max(16, self.work_height // 2))

    @property
    def small_scale(self) -> float:
        """Work pixels per small pixel."""
        return self.work_width / self.small_size[0]

    @property
    def flow_size(self) -> tuple[int, int]:
        width, height = self.small_size
        return (max(16, width // 2), max(16, height // 2))

    @property
    def flow_scale(self) -> float:
        """Work pixels per flow pixel."""
        return self.work_width / self.flow_size[0]

    def check(self, frame: Frame) -> None:
        if frame.width != self.input_width or frame.height != self.input_height:
            raise FrameSizeError(
                f"frame at {frame.time:.2f} s is {frame.width}x{frame.height}, but this camera's analyzer was "
                f"built for {self.input_width}x{self.input_height}; start a new analyzer for the new size"
            )


def small_chroma(frame: Frame, geometry: FrameGeometry) -> tuple[GreyImage, GreyImage] | None:
    """(Cb, Cr) at the small size, or None for a grey-only source. Only the fire detector pays for it."""
    blue, red = frame.chroma_blue, frame.chroma_red
    if blue is None or red is None:
        return None
    return downscale(blue, geometry.small_size), downscale(red, geometry.small_size)


def downscale(image: GreyImage, size: tuple[int, int]) -> GreyImage:
    if (image.shape[1], image.shape[0]) == size:
        return image
    resized: GreyImage = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return resized
