"""Face redaction of footage that leaves Vigie: a new, re-encoded video; the original is never touched.

Pipeline, one frame at a time in presentation order:

1. the camera's privacy masks are applied (dwellings first: no face is looked for where nothing shows);
2. the face detector runs on every ``detect_every``-th frame, at a reduced width (``detector.py``);
3. a tracker carries each face between detections and for ``hold_frames`` after it is lost
   (``tracking.py``); a face that appears is also covered for ``hold_frames`` *before* its first
   detection (the frames wait in a short buffer), because the frames just before a detector
   first fires usually show the face already;
4. each box, grown by ``margin``, is covered by an ellipse: a strong blur (pixelated, then blurred;
   nothing of the face survives) or a solid fill;
5. frames are re-encoded to H.264 (libx264) MP4 with their original timestamps. Audio is dropped:
   voices are redacted separately (LAW.md E.30), the original sound stays in the vault.

No biometrics: the detector outputs boxes and scores, the tracker numbers faces within one video;
no embedding, template or identity is computed, stored or compared (décret 2023-828 art. 2). A
redaction that finds no face says so loudly: that is when a human must look hardest.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, cast

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.privacy.detector import FaceDetector
from vigie.privacy.masks import Image, PrivacyMask, mask_frame
from vigie.privacy.tracking import FaceTracker, TrackedBox
from vigie.privacy.transcode import EncoderSettings, Preset, TranscodeError, output_options

Style = Literal["blur", "fill"]
Rect = tuple[int, int, int, int]  # x, y, w, h in whole pixels

NO_FACE_WARNING = "0 faces found: review carefully"
_FILL_BGR = (0, 0, 0)


@dataclass(frozen=True)
class RedactionParameters:
    """How faces are found and hidden. Defaults measured with bench/redaction.py (see the design note)."""

    detect_every: int = 1  # run the detector on every k-th frame; the tracker covers the frames between
    hold_frames: int = 12  # keep covering a lost face this many frames (and before its first detection)
    margin: float = 0.3  # grow each box by this fraction of its size on every side
    style: Style = "blur"
    preset: Preset = "veryfast"
    crf: int = 20
    threads: int = 1

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ValueError("detect_every must be at least 1")
        if self.hold_frames < self.detect_every - 1:
            raise ValueError("hold_frames must cover the frames between two detections (>= detect_every - 1)")
        if not 0.2 <= self.margin <= 2.0:
            # Below ~0.2 the inscribed ellipse no longer covers the corners of the detected box.
            raise ValueError("margin must be between 0.2 and 2.0")

    def encoder(self) -> EncoderSettings:
        return EncoderSettings(preset=self.preset, crf=self.crf, threads=self.threads)


@dataclass(frozen=True)
class FrameBoxes:
    """The regions hidden in one frame: time in seconds from the start, boxes [x, y, w, h] in pixels."""

    t: float
    boxes: tuple[Rect, ...]


@dataclass
class RedactionReport:
    frames: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    faces_found: int = 0  # distinct face tracks (a face lost for longer than hold_frames counts again)
    detections: int = 0  # boxes the detector returned, over all frames where it ran
    detector_runs: int = 0
    frames_with_faces: int = 0
    hidden_boxes: int = 0
    seconds: float = 0.0
    sha256: str = ""
    size: int = 0
    detector: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    frame_boxes: list[FrameBoxes] = field(default_factory=list)

    @property
    def warning(self) -> str | None:
        return NO_FACE_WARNING if self.faces_found == 0 else None

    @property
    def fps_processed(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """What the CLI prints and the catalog keeps (no per-frame boxes)."""
        return {
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 3),
            "faces_found": self.faces_found,
            "detections": self.detections,
            "frames_with_faces": self.frames_with_faces,
            "hidden_boxes": self.hidden_boxes,
            "sha256": self.sha256,
            "size": self.size,
            "seconds": round(self.seconds, 3),
            "warning": self.warning,
            "detector": self.detector,
            "parameters": self.parameters,
        }


# -- hiding one region ------------------------------------------------------------------------------


def region_mask(rects: Sequence[Rect], width: int, height: int) -> npt.NDArray[np.bool_]:
    """True where the redaction hides pixels: the ellipse inscribed in each rectangle."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    for x, y, w, h in rects:
        if w > 0 and h > 0:
            centre = (x + w // 2, y + h // 2)
            cv2.ellipse(canvas, centre, (max(1, (w + 1) // 2), max(1, (h + 1) // 2)), 0, 0, 360, 255, -1)
    return canvas > 0


def obscure(image: Image, rects: Sequence[Rect], style: Style) -> None:
    """Hide the ellipses of ``rects`` in ``image`` (in place)."""
    for x, y, w, h in rects:
        if w <= 0 or h <= 0:
            continue
        roi = image[y : y + h, x : x + w]
        ellipse = region_mask([(0, 0, w, h)], w, h)
        if style == "fill":
            roi[ellipse] = _FILL_BGR
            continue
        # Pixelate to ~10 blocks across, then blur: no detail finer than a tenth of the face remains,
        # which defeats de-blurring (a plain Gaussian blur of a small face can be partly inverted).
        small = cv2.resize(roi, (max(2, w // 10), max(2, h // 10)), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        kernel = max(3, (min(w, h) // 4) | 1)
        blurred = cv2.GaussianBlur(coarse, (kernel, kernel), 0)
        roi[ellipse] = blurred[ellipse]


# -- the streaming redactor ---------------------------------------------------------------------------


@dataclass
class _Pending:
    index: int
    t: float
    pts: int | None
    image: Image
    boxes: dict[int, TrackedBox]


@dataclass(frozen=True)
class RedactedFrame:
    index: int
    t: float
    pts: int | None
    image: Image
    rects: tuple[Rect, ...]


class FrameRedactor:
    """Push decoded frames in order, get redacted frames back ``hold_frames`` later (then flush)."""

    def __init__(
        self, detector: FaceDetector, parameters: RedactionParameters, masks: Sequence[PrivacyMask] = ()
    ) -> None:
        self.detector = detector
        self.parameters = parameters
        self.masks = tuple(masks)
        self.tracker = FaceTracker(hold_frames=parameters.hold_frames)
        self._buffer: deque[_Pending] = deque()
        self._count = 0
        self.detections = 0
        self.detector_runs = 0

    @property
    def faces_found(self) -> int:
        return self.tracker.tracks_started

    def push(self, image: Image, t: float, pts: int | None = None) -> list[RedactedFrame]:
        index = self._count
        self._count += 1
        image = mask_frame(image, self.masks) if self.masks else image.copy()
        detections = None
        if index % self.parameters.detect_every == 0:
            detections = self.detector.detect(image)
            self.detector_runs += 1
            self.detections += len(detections)
        step = self.tracker.update(index, detections)
        # Cover each new face in the frames before its first detection too (they are still buffered).
        for box in step.born:
            for earlier in self._buffer:
                if index - earlier.index <= self.parameters.hold_frames and box.track not in earlier.boxes:
                    earlier.boxes[box.track] = TrackedBox(box.track, box.x, box.y, box.w, box.h, "held")
        self._buffer.append(_Pending(index, t, pts, image, {b.track: b for b in step.boxes}))
        out: list[RedactedFrame] = []
        while len(self._buffer) > self.parameters.hold_frames:
            out.append(self._emit(self._buffer.popleft()))
        return out

    def flush(self) -> list[RedactedFrame]:
        out = [self._emit(pending) for pending in self._buffer]
        self._buffer.clear()
        return out

    def _emit(self, pending: _Pending) -> RedactedFrame:
        height, width = pending.image.shape[:2]
        rects = tuple(
            rect
            for rect in (b.expanded(self.parameters.margin, width, height) for b in pending.boxes.values())
            if rect[2] > 0 and rect[3] > 0
        )
        obscure(pending.image, rects, self.parameters.style)
        return RedactedFrame(pending.index, pending.t, pending.pts, pending.image, rects)


# -- decoding the input, encoding the derivative --------------------------------------------------------


@dataclass(frozen=True)
class DecodedFrame:
    image: Image
    t: float
    pts: int | None
    time_base: Fraction | None
    rate: Fraction


VideoInput = str | Path | bytes | io.IOBase


def decode_video(source: VideoInput | Iterable[bytes]) -> Iterator[DecodedFrame]:
    """BGR frames of a file path, in-memory bytes, a seekable file object, or consecutive fMP4 pieces.

    Times are seconds from the first frame of the whole input, from the container's timestamps.
    """
    one = isinstance(source, str | Path | bytes | io.IOBase)
    pieces = cast(Iterable[VideoInput], [source] if one else source)
    origin: float | None = None
    for piece in pieces:
        handle: Any = io.BytesIO(piece) if isinstance(piece, bytes) else str(piece) if isinstance(
            piece, Path) else piece
        try:
            container = av.open(handle, "r")
        except (av.error.FFmpegError, OSError) as error:
            raise TranscodeError(f"not readable video: {error}") from error
        with container:
            if not container.streams.video:
                raise TranscodeError("no video stream in the input")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            try:
                for index, frame in enumerate(container.decode(stream)):
                    if frame.pts is not None and frame.time_base is not None:
                        seconds = float(frame.pts * frame.time_base)
                    else:
                        seconds = index / float(rate)
                    if origin is None:
                        origin = seconds
                    yield DecodedFrame(
                        frame.to_ndarray(format="bgr24"), seconds - origin, frame.pts, frame.time_base, Fraction(rate)
                    )
            except av.error.FFmpegError as error:
                raise TranscodeError(f"decoding failed: {error}") from error


class _Mp4Writer:
    """H.264 MP4 (faststart) of BGR frames, timestamps in the input's time base, no audio."""

    def __init__(self, sink: Any, settings: EncoderSettings) -> None:
        self.container = av.open(sink, "w", format="mp4", options=output_options(sink))
        self.settings = settings
        self.stream: Any = None
        self.time_base: Fraction = Fraction(1, 90000)
        self.last_pts = -1

    def write(self, image: Image, t: float, pts: int | None, time_base: Fraction | None, rate: Fraction) -> None:
        height, width = image.shape[:2]
        if width % 2 or height % 2:  # 4:2:0 needs even sizes: pad one column/row, never crop a pixel away
            image = np.asarray(cv2.copyMakeBorder(image, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE), np.uint8)
        if self.stream is None:
            self.time_base = time_base or Fraction(1, 90000)
            stream = self.container.add_stream(
                "libx264", rate=rate, options=self.settings.x264_options(float(rate))
            )
            stream.width, stream.height = image.shape[1], image.shape[0]
            stream.pix_fmt = "yuv420p"
            stream.time_base = self.time_base
            stream.codec_context.time_base = self.time_base
            stream.codec_context.thread_count = self.settings.threads
            self.stream = stream
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        stamp = pts if pts is not None and time_base == self.time_base else round(t / self.time_base)
        stamp = max(stamp, self.last_pts + 1)  # the muxer needs strictly increasing timestamps
        self.last_pts = stamp
        frame.pts = stamp
        frame.time_base = self.time_base
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        if self.stream is not None:
            self.container.mux(self.stream.encode(None))
        self.container.close()


def redact_video(
    source: VideoInput | Iterable[bytes],
    detector: FaceDetector,
    parameters: RedactionParameters | None = None,
    *,
    masks: Sequence[PrivacyMask] = (),
    out: Path | None = None,
) -> tuple[bytes | None, RedactionReport]:
    """Redact faces (and masks) of a video. Returns (derivative bytes or None if written to ``out``, report)."""
    parameters = parameters or RedactionParameters()
    redactor = FrameRedactor(detector, parameters, masks)
    report = RedactionReport(detector=detector.describe(), parameters=asdict(parameters))
    buffer = io.BytesIO()
    if out is not None and out.exists():
        raise TranscodeError(f"{out} exists already: refusing to overwrite")
    target: Any = str(out.with_name(out.name + ".partial")) if out is not None else buffer
    writer = _Mp4Writer(target, parameters.encoder())
    started = time.perf_counter()
    time_base: Fraction | None = None
    rate = Fraction(25)

    def consume(frames: list[RedactedFrame]) -> None:
        for frame in frames:
            writer.write(frame.image, frame.t, frame.pts, time_base, rate)
            report.frame_boxes.append(FrameBoxes(round(frame.t, 6), frame.rects))
            report.frames += 1
            report.hidden_boxes += len(frame.rects)
            report.frames_with_faces += bool(frame.rects)

    try:
        for decoded in decode_video(source):
            if report.frames == 0 and not report.width:
                report.height, report.width = decoded.image.shape[:2]
                report.fps = float(decoded.rate)
                time_base, rate = decoded.time_base, decoded.rate
            consume(redactor.push(decoded.image, decoded.t, decoded.pts if decoded.time_base == time_base else None))
        consume(redactor.flush())
        if report.frames == 0:
            raise TranscodeError("the input holds no decodable frame")
        writer.close()
    except BaseException:
        if out is not None:
            Path(target).unlink(missing_ok=True)
        raise
    report.seconds = time.perf_counter() - started
    report.faces_found = redactor.faces_found
    report.detections = redactor.detections
    report.detector_runs = redactor.detector_runs
    if out is not None:
        with open(target, "rb") as handle:
            report.sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        report.size = Path(target).stat().st_size
        Path(target).replace(out)
        return None, report
    data = buffer.getvalue()
    report.sha256 = hashlib.sha256(data).hexdigest()
    report.size = len(data)
    return data, report


def frame_boxes_json(report: RedactionReport) -> list[list[Any]]:
    """Per-frame boxes as compact JSON: [[t, [[x, y, w, h], ...]], ...]."""
    return [[item.t, [list(rect) for rect in item.boxes]] for item in report.frame_boxes]


def frame_boxes_from_json(data: list[list[Any]]) -> list[FrameBoxes]:
    return [
        FrameBoxes(float(t), tuple((int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes)) for t, boxes in data
    ]
