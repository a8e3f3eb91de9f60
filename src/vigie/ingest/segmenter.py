"""Cut a compressed video stream into self-contained fMP4 segments at keyframes, without re-encoding.

Packets are copied as they are (same bytes, same timestamps): a segment is a complete fragmented
MP4 (its own init and fragments), so any segment plays alone and consecutive segments can be
appended to one Media Source buffer.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av

FMP4_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof+frag_discont",
    "avoid_negative_ts": "disabled",
}
SUPPORTED_CODECS = {"h264", "hevc"}


class MediaError(RuntimeError):
    """The input is not usable video; the message says why in one line."""


@dataclass
class CutSegment:
    data: bytes
    start: float  # seconds from the stream's first packet
    end: float
    packets: int
    keyframe: bool = True


@dataclass
class StreamInfo:
    codec: str
    width: int
    height: int
    time_base: Fraction
    fps: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"codec": self.codec, "width": self.width, "height": self.height, "fps": self.fps, **self.extra}


def video_stream(container: Any) -> Any:
    if not container.streams.video:
        raise MediaError("no video stream in the input")
    stream = container.streams.video[0]
    codec = stream.codec_context.name
    if codec not in SUPPORTED_CODECS:
        raise MediaError(f"video codec {codec} is not supported for recording without re-encoding (H.264/H.265)")
    return stream


def describe(stream: Any) -> StreamInfo:
    rate = stream.average_rate or stream.guessed_rate
    return StreamInfo(
        codec=stream.codec_context.name,
        width=int(stream.codec_context.width),
        height=int(stream.codec_context.height),
        time_base=stream.time_base,
        fps=float(rate) if rate else None,
    )


class Segmenter:
    """Feed packets of one video stream; get finished segments back at keyframes."""

    def __init__(self, template: Any, target_seconds: float) -> None:
        self.template = template
        self.time_base: Fraction = template.time_base
        # Seconds per tick as a float: Fraction arithmetic on every packet was a measurable share of the
        # recorder's CPU, and a float is exact to far below a microsecond over days of ticks.
        self._tick = float(self.time_base)
        self.target = target_seconds
        self._buffer: io.BytesIO | None = None
        self._output: Any = None
        self._stream: Any = None
        self._first_pts: int | None = None
        self._segment_start = 0.0
        self._last_end = 0.0
        self._packets = 0
        self._frame_duration = 0.0

    def _open(self, start: float) -> None:
        self._buffer = io.BytesIO()
        self._output = av.open(self._buffer, "w", format="mp4", options=FMP4_OPTIONS)
        self._stream = self._output.add_stream_from_template(self.template)
        self._segment_start = start
        self._packets = 0

    def _close(self) -> CutSegment | None:
        if self._output is None:
            return None
        self._output.close()
        assert self._buffer is not None
        segment = CutSegment(self._buffer.getvalue(), self._segment_start, self._last_end, self._packets)
        self._output = self._buffer = self._stream = None
        return segment if segment.packets else None

    def feed(self, packet: Any) -> CutSegment | None:
        """Mux one packet; returns the segment it closed, if any."""
        pts = packet.pts
        if pts is None or packet.dts is None or packet.size == 0:
            return None
        keyframe = packet.is_keyframe
        if self._first_pts is None:
            if not keyframe:
                return None  # a segment must start with a keyframe to play alone
            self._first_pts = pts
        start = (pts - self._first_pts) * self._tick
        ticks = packet.duration
        duration = ticks * self._tick if ticks else self._frame_duration
        self._frame_duration = duration or self._frame_duration
        finished = None
        if self._output is None:
            self._open(start)
        elif keyframe and start - self._segment_start >= self.target:
            finished = self._close()
            self._open(start)
        packet.stream = self._stream
        self._output.mux(packet)
        self._packets += 1
        if start + duration > self._last_end:
            self._last_end = start + duration
        return finished

    def flush(self) -> CutSegment | None:
        return self._close()


def segment_file(path: str, target_seconds: float) -> tuple[StreamInfo, Iterator[CutSegment], list[str]]:
    """Open a video file and lazily cut it. ``anomalies`` (third item) fills while iterating."""
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as error:
        raise MediaError(f"not a readable video file: {error}") from error
    try:
        stream = video_stream(container)
    except MediaError:
        container.close()
        raise
    info = describe(stream)
    expected_frames = int(stream.frames or 0)
    anomalies: list[str] = []

    def cuts() -> Iterator[CutSegment]:
        segmenter = Segmenter(stream, target_seconds)
        count = 0
        try:
            for packet in _safe_demux(container, stream, anomalies):
                if packet.size:
                    count += 1
                finished = segmenter.feed(packet)
                if finished:
                    yield finished
            last = segmenter.flush()
            if last:
                yield last
            if expected_frames and count < expected_frames:
                anomalies.append(f"truncated: {count} of {expected_frames} frames readable")
        finally:
            container.close()

    return info, cuts(), anomalies


def _safe_demux(container: Any, stream: Any, anomalies: list[str]) -> Iterable[Any]:
    iterator = container.demux(stream)
    while True:
        try:
            packet = next(iterator)
        except StopIteration:
            return
        except (av.error.FFmpegError, OSError) as error:
            anomalies.append(f"truncated: demuxing stopped: {error}")
            return
        yield packet


def join_segments(segments: Iterable[bytes], out_path: str) -> int:
    """Remux consecutive fMP4 segments into one MP4 file (stream copy). Returns packets written."""
    output = av.open(out_path, "w", format="mp4", options={"movflags": "+faststart"})
    out_stream = None
    written = 0
    try:
        for data in segments:
            with av.open(io.BytesIO(data), "r") as container:
                stream = container.streams.video[0]
                if out_stream is None:
                    out_stream = output.add_stream_from_template(stream)
                for packet in container.demux(stream):
                    if packet.dts is None:
                        continue
                    packet.stream = out_stream
                    output.mux(packet)
                    written += 1
    finally:
        output.close()
    return written
