"""Video input for the analyzer: a PyAV container (a file now, a camera's RTSP substream later).

H.264 cannot skip decoding a frame that later frames refer to, so every frame is decoded; what is
saved on dropped frames is everything after decoding. Frames are kept on a fixed time grid
(``fps`` slots per second) chosen from their timestamps, so a 25 fps and a 10 fps camera both give
5 analysed frames per second, and a stream with irregular timestamps is sampled by time, not count.
Kept frames are handed over as their decoded planes (no colour conversion, no copy for 4:2:0
video); only unusual pixel formats are converted, and only on kept frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.container
import numpy as np

from vigie.analytics.frames import Frame, GreyImage

# Formats whose planes are already luma + 4:2:0 chroma (the "j" variant only differs in range).
_PLANAR_420 = {"yuv420p", "yuvj420p"}
_GREY = {"gray", "gray8"}
# Consecutive undecodable packets tolerated before the stream is declared broken.
MAX_CONSECUTIVE_DECODE_ERRORS = 25


class VideoSourceError(ValueError):
    """The video cannot be opened or decoded; the message says which and why."""


class FrameSampler:
    """Keeps at most one frame per 1/fps slot of the timeline (None keeps every frame)."""

    def __init__(self, fps: float | None) -> None:
        if fps is not None and not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"analysis rate {fps} must be a positive number of frames per second")
        self.fps = fps
        self._last_slot: int | None = None

    def keep(self, time: float) -> bool:
        if self.fps is None:
            return True
        slot = math.floor(time * self.fps + 1e-6)
        if self._last_slot is not None and slot <= self._last_slot:
            return False
        self._last_slot = slot
        return True


def _plane_array(plane: Any, width: int, height: int) -> GreyImage:
    """A zero-copy view of one decoded plane without its line padding."""
    stride = int(plane.line_size)
    buffer = np.frombuffer(plane, dtype=np.uint8, count=stride * height)
    view: GreyImage = buffer.reshape(height, stride)[:, :width]
    return view


def frame_from_av(video_frame: Any, time: float) -> Frame:
    """Turn a decoded PyAV frame into a `Frame`, converting the pixel format only when needed."""
    name = video_frame.format.name
    if name in _GREY:
        return Frame(time, _plane_array(video_frame.planes[0], video_frame.width, video_frame.height))
    if name not in _PLANAR_420:
        video_frame = video_frame.reformat(format="yuv420p")
    width, height = video_frame.width, video_frame.height
    planes = video_frame.planes
    half_width, half_height = (width + 1) // 2, (height + 1) // 2
    return Frame(
        time,
        _plane_array(planes[0], width, height),
        _plane_array(planes[1], half_width, half_height),
        _plane_array(planes[2], half_width, half_height),
    )


class VideoSource:
    """Frames of one video stream, sampled at ``fps`` by timestamp.

    Build it from an open PyAV input container (an RTSP URL opened with the recorder's options works
    the same as a file) or with `VideoSource.open`. Times are seconds from the first decoded frame.
    ``threads`` > 1 lets FFmpeg decode on several threads: lower latency per camera, but not less
    CPU in total, so the default of 1 is right when one process serves many cameras.
    """

    def __init__(
        self,
        container: av.container.InputContainer,
        *,
        fps: float | None = 5.0,
        stream_index: int = 0,
        threads: int = 1,
        name: str = "video",
    ) -> None:
        self.name = name
        self._container = container
        if not container.streams.video:
            container.close()
            raise VideoSourceError(f"{name}: no video stream")
        try:
            self._stream = container.streams.video[stream_index]
        except IndexError as error:
            container.close()
            raise VideoSourceError(f"{name}: there is no video stream #{stream_index}") from error
        context = self._stream.codec_context
        if threads > 1:
            self._stream.thread_type = "AUTO"
            context.thread_count = threads
        else:
            context.thread_count = 1
        self.width = int(context.width)
        self.height = int(context.height)
        if self.width <= 0 or self.height <= 0:
            container.close()
            raise VideoSourceError(f"{name}: the video stream has no picture size (is the file complete?)")
        self.sampler = FrameSampler(fps)
        self.decode_errors = 0
        self.frames_decoded = 0

    @classmethod
    def open(
        cls,
        location: str | Path,
        *,
        fps: float | None = 5.0,
        options: dict[str, str] | None = None,
        timeout: float | None = None,
        threads: int = 1,
    ) -> VideoSource:
        """Open a file or a stream URL (``rtsp://...``) for analysis."""
        text = str(location)
        is_url = "://" in text
        if not is_url:
            path = Path(text)
            if not path.exists():
                raise VideoSourceError(f"{text}: no such file")
            if not path.is_file():
                raise VideoSourceError(f"{text}: not a file")
        try:
            container = av.open(text, mode="r", options=options or {}, timeout=timeout)
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
            raise VideoSourceError(f"{text}: cannot read video ({_reason(error)})") from error
        return cls(container, fps=fps, threads=threads, name=text)

    @property
    def duration(self) -> float | None:
        """Length of a file in seconds when the container says (None for live streams)."""
        if self._stream.duration is not None and self._stream.time_base is not None:
            return float(self._stream.duration * self._stream.time_base)
        if self._container.duration is not None:
            return float(self._container.duration) / 1_000_000
        return None

    @property
    def nominal_fps(self) -> float | None:
        rate = self._stream.average_rate or self._stream.guessed_rate
        return float(rate) if rate else None

    def __iter__(self) -> Iterator[Frame]:
        origin: float | None = None
        fallback_period = 1.0 / (self.nominal_fps or 25.0)
        consecutive_errors = 0
        try:
            for packet in self._container.demux(self._stream):
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as error:
                    self.decode_errors += 1
                    consecutive_errors += 1
                    if consecutive_errors > MAX_CONSECUTIVE_DECODE_ERRORS:
                        raise VideoSourceError(f"{self.name}: the video data is corrupt ({_reason(error)})") from error
                    continue
                consecutive_errors = 0
                for video_frame in decoded:
                    index = self.frames_decoded
                    self.frames_decoded += 1
                    stamp = video_frame.time
                    if stamp is None:
                        stamp = index * fallback_period
                    if origin is None:
                        origin = stamp
                    time = max(0.0, stamp - origin)
                    if not self.sampler.keep(time):
                        continue
                    # A resolution change mid-stream reaches the analyzer as is; it refuses it clearly.
                    yield frame_from_av(video_frame, time)
        except av.error.FFmpegError as error:
            raise VideoSourceError(f"{self.name}: cannot read video ({_reason(error)})") from error
        if self.frames_decoded == 0:
            raise VideoSourceError(f"{self.name}: no decodable video frames")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return str(text).splitlines()[0] if text else type(error).__name__
