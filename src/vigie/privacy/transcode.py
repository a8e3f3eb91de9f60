"""Masked re-encoding: decode H.264 → hide the masked pixels → encode H.264 again (libx264).

The vault keeps what the camera sent, byte for byte (evidence grade, see
docs/design/privacy-masks.md), so masks are applied on every way out: live view, playback,
snapshots, exports. A camera without masks passes through untouched (same bytes, no re-encode).
Cameras whose authorisation forbids recording the masked pixels at all use :func:`burn_in_segment`
in the recorder, before the segment reaches the vault.

Masking happens in the decoder's own YUV 4:2:0 planes: no colour conversion round trip (cheaper and
nothing lost outside the mask). A chroma sample is hidden when any of the four luma pixels it covers
is hidden, so colour never bleeds out of a masked area either.

Timing is kept: every output frame carries its input frame's timestamp in the input time base, and
the fMP4 options are the segmenter's, so a masked segment replaces its original one for one in a
playlist or a Media Source buffer.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
import numpy.typing as npt

from vigie.privacy.masks import CameraMasks, Image, PrivacyMask, mask_for_analytics, masked_jpeg, raster

# The segmenter's options (vigie.ingest.segmenter.FMP4_OPTIONS): fragments at keyframes, the
# original decode times kept in tfdt, no shifting of negative timestamps.
FMP4_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof+frag_discont",
    "avoid_negative_ts": "disabled",
}
FASTSTART = {"movflags": "+faststart"}
# A whole file kept in memory: fragmented (faststart would have to re-read a file to move the index).
FRAGMENTED_FILE = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
# Black in limited-range YUV (what MASK_FILL_BGR becomes after H.264).
_Y_BLACK, _C_NEUTRAL = 16, 128

Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]


class TranscodeError(RuntimeError):
    """The input could not be decoded or the output not encoded; one line says why."""


@dataclass(frozen=True)
class EncoderSettings:
    """How masked video is re-encoded. GOP of about one second: HLS and seeking stay fine-grained."""

    preset: Preset = "veryfast"
    crf: int = 23
    gop_seconds: float = 1.0
    threads: int = 1  # 2 shared cores: one encoder thread per stream leaves room for the recorder

    def x264_options(self, fps: float) -> dict[str, str]:
        gop = max(1, round(fps * self.gop_seconds))
        return {
            "preset": self.preset,
            "crf": str(self.crf),
            # Fixed GOP, no B-frames: output timestamps equal input timestamps (no reordering delay).
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0",
        }


# Deliveries (playback, live, exports) may trade a little quality for speed; burn-in is the record.
DELIVERY = EncoderSettings(preset="veryfast", crf=23)
RECORD = EncoderSettings(preset="veryfast", crf=20)


def hide_in_yuv420(planes: npt.NDArray[np.uint8], hidden: npt.NDArray[np.bool_]) -> None:
    """Fill hidden pixels of a packed yuv420p image (H*3/2 x W, as PyAV gives it) in place."""
    height, width = hidden.shape
    luma = planes[:height]
    luma[hidden] = _Y_BLACK
    chroma_h, chroma_w = (height + 1) // 2, (width + 1) // 2
    padded = np.zeros((chroma_h * 2, chroma_w * 2), dtype=bool)
    padded[:height, :width] = hidden
    chroma_hidden = padded.reshape(chroma_h, 2, chroma_w, 2).any(axis=(1, 3))
    # PyAV packs U then V below the luma, each chroma row split across two rows of width W.
    chroma = planes[height:].reshape(2, chroma_h, chroma_w)
    chroma[:, chroma_hidden] = _C_NEUTRAL


def _masked_frame(frame: Any, masks: Sequence[PrivacyMask]) -> Any:
    """A new yuv420p VideoFrame with the masks applied, carrying the input frame's timing."""
    yuv = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
    planes = yuv.to_ndarray(format="yuv420p")
    hide_in_yuv420(planes, raster(masks, yuv.width, yuv.height))
    out = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    out.pts = frame.pts
    out.time_base = frame.time_base
    return out


def _frame_rate(stream: Any) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else Fraction(25)


class _Encoder:
    """One libx264 stream in an output container, opened on the first frame (its size is known then)."""

    def __init__(self, container: Any, rate: Fraction, time_base: Fraction, settings: EncoderSettings) -> None:
        self.container = container
        self.rate = rate
        self.time_base = time_base
        self.settings = settings
        self.stream: Any = None
        self.frames = 0

    def encode(self, frame: Any) -> None:
        if self.stream is None:
            stream = self.container.add_stream("libx264", rate=self.rate, options=self.settings.x264_options(
                float(self.rate)))
            stream.width, stream.height = frame.width, frame.height
            stream.pix_fmt = "yuv420p"
            stream.time_base = self.time_base
            stream.codec_context.time_base = self.time_base
            stream.codec_context.thread_count = self.settings.threads
            self.stream = stream
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        if self.stream is not None:
            self.container.mux(self.stream.encode(None))


def _decode_frames(data: bytes | str, threads: int) -> Iterator[tuple[Any, Any]]:
    """(stream, frame) for every decodable frame of an MP4/fMP4 (bytes or a path)."""
    try:
        container = av.open(io.BytesIO(data) if isinstance(data, bytes) else data, "r")
    except (av.error.FFmpegError, OSError) as error:
        raise TranscodeError(f"not readable video: {error}") from error
    with container:
        if not container.streams.video:
            raise TranscodeError("no video stream in the input")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = threads
        try:
            for frame in container.decode(stream):
                yield stream, frame
        except av.error.FFmpegError as error:
            raise TranscodeError(f"decoding failed: {error}") from error


def output_options(sink: object) -> dict[str, str]:
    """A file on disk gets a regular MP4 with its index first; bytes in memory a fragmented MP4."""
    return FASTSTART if isinstance(sink, str | Path) else FRAGMENTED_FILE


def transcode_masked(
    segments: Iterable[bytes], masks: Sequence[PrivacyMask], settings: EncoderSettings, *, out: Path | None = None
) -> bytes:
    """Decode consecutive MP4/fMP4 pieces, mask, and encode them as ONE output.

    Without ``out``: fMP4 bytes with the segmenter's options (a segment for a segment). With ``out``:
    a regular MP4 file there (faststart), and empty bytes are returned.
    """
    buffer = io.BytesIO()
    encoder: _Encoder | None = None
    target: Any = str(out) if out is not None else buffer
    with av.open(target, "w", format="mp4", options=FASTSTART if out is not None else FMP4_OPTIONS) as sink:
        for data in segments:
            for stream, frame in _decode_frames(data, settings.threads):
                if encoder is None:
                    encoder = _Encoder(sink, _frame_rate(stream), stream.time_base, settings)
                encoder.encode(_masked_frame(frame, masks))
        if encoder is None:
            raise TranscodeError("the input holds no decodable frame")
        encoder.close()
    return buffer.getvalue()


def burn_in_segment(fmp4: bytes, masks: Sequence[PrivacyMask], settings: EncoderSettings = RECORD) -> bytes:
    """Re-encode one recorder segment with the masks burnt in, for cameras whose authorisation requires
    that masked pixels are never recorded. Same timestamps, same fMP4 layout, first frame a keyframe.

    No masks: the segment is returned as it is (no re-encode, byte-identical).
    """
    if not masks:
        return fmp4
    return transcode_masked([fmp4], masks, settings)


class MaskedTranscoder:
    """Every way an image of one camera leaves Vigie, with the camera's masks applied.

    * :meth:`segment` — one fMP4 segment (playback, HLS live window) → masked fMP4, same timing;
    * :meth:`segments` — a run of segments, one masked fMP4 per input segment;
    * :meth:`export` — a recording's segments → one masked MP4 file (exports);
    * :meth:`snapshot` — a decoded frame → masked JPEG (snapshots, event thumbnails);
    * :meth:`analytics` — a decoded frame → masked frame for the analytics.

    Cameras without masks pass through: segments come back as the same bytes, exports are a
    stream copy, frames are not copied.
    """

    def __init__(self, masks: CameraMasks | Sequence[PrivacyMask], settings: EncoderSettings = DELIVERY) -> None:
        self.masks: tuple[PrivacyMask, ...] = tuple(masks.masks if isinstance(masks, CameraMasks) else masks)
        self.settings = settings

    @property
    def passthrough(self) -> bool:
        return not self.masks

    def segment(self, fmp4: bytes) -> bytes:
        if self.passthrough:
            return fmp4
        return transcode_masked([fmp4], self.masks, self.settings)

    def transcode(self, fmp4: bytes) -> bytes:
        """Alias of :meth:`segment` (the name the export hook uses)."""
        return self.segment(fmp4)

    def segments(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            yield self.segment(piece)

    def export(self, pieces: Iterable[bytes], out: Path) -> int:
        """Write the pieces as one MP4 (faststart). Returns frames (masked) or packets (copied) written."""
        if out.exists():
            raise TranscodeError(f"{out} exists already: refusing to overwrite")
        if self.passthrough:
            return _remux(pieces, out)
        partial = out.with_name(out.name + ".partial")
        try:
            transcode_masked(pieces, self.masks, self.settings, out=partial)
            partial.replace(out)
        finally:
            partial.unlink(missing_ok=True)
        return _count_packets(out)

    def snapshot(self, frame: Image, *, quality: int = 85) -> bytes:
        return masked_jpeg(frame, self.masks, quality=quality)

    def analytics(self, frame: Image) -> Image:
        return mask_for_analytics(frame, self.masks)


def _remux(pieces: Iterable[bytes], out: Path) -> int:
    """Stream copy of consecutive MP4/fMP4 pieces into one MP4 (no re-encode)."""
    written = 0
    with av.open(str(out), "w", format="mp4", options=FASTSTART) as sink:
        out_stream: Any = None
        for data in pieces:
            with av.open(io.BytesIO(data), "r") as source:
                stream = source.streams.video[0]
                if out_stream is None:
                    out_stream = sink.add_stream_from_template(stream)
                for packet in source.demux(stream):
                    if packet.dts is None:
                        continue
                    packet.stream = out_stream
                    sink.mux(packet)
                    written += 1
    return written


def _count_packets(path: Path) -> int:
    with av.open(str(path), "r") as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)
