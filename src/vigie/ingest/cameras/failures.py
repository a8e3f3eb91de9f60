"""Why a camera is not being recorded: the gap causes, and how a stream error maps to one.

The cause words are a contract: they are stored on gap rows, shown on timelines, counted in
reports and relied on by scripts. Add words, never rename one.
"""

from __future__ import annotations

import re
from enum import StrEnum

import av

from vigie.ingest.segmenter import MediaError


class GapCause(StrEnum):
    CAMERA_UNREACHABLE = "camera-unreachable"  # connection refused, timed out, no such stream (404)
    AUTH_FAILED = "auth-failed"  # 401/403: wrong or missing credentials
    UNSUPPORTED_STREAM = "unsupported-stream"  # no video, or a codec that cannot be stored without re-encoding
    STREAM_ERROR = "stream-error"  # the camera sent something that is not a usable stream (garbage, bad RTSP)
    STREAM_ENDED = "stream-ended"  # the camera closed the connection
    STREAM_STALLED = "stream-stalled"  # connected, but nothing arrived for the stall timeout
    TIMESTAMPS_BACKWARDS = "timestamps-backwards"  # the camera's clock jumped back: the run is cut there
    TIMESTAMPS_JUMPED = "timestamps-jumped"  # the camera's clock jumped ahead of real time
    VAULT_WRITE_FAILED = "vault-write-failed"  # full disk, store unavailable, catalog error: footage lost
    RECORDER_DOWN = "recorder-down"  # the recorder process died (crash, kill -9, power loss)
    RECORDER_STOPPED = "recorder-stopped"  # the recorder was stopped while the camera was enabled


class StreamFailure(Exception):
    """A camera connection failed or ended; ``cause`` is the gap cause, ``detail`` one human line."""

    def __init__(self, cause: GapCause, detail: str) -> None:
        super().__init__(cause, detail)
        self.cause = cause
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.cause.value}: {self.detail}"


def classify(error: BaseException, *, connected: bool) -> StreamFailure:
    """Map what PyAV/FFmpeg raised to a gap cause. ``connected``: the stream had been opened."""
    if isinstance(error, StreamFailure):
        return error
    detail = _one_line(error)
    if isinstance(error, MediaError):
        return StreamFailure(GapCause.UNSUPPORTED_STREAM, detail)
    if isinstance(error, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError) or " 401 " in detail:
        return StreamFailure(GapCause.AUTH_FAILED, detail)
    if isinstance(error, av.error.TimeoutError | TimeoutError | av.error.ExitError):
        # ExitError: PyAV's own read/open timeout interrupted FFmpeg ("Immediate exit requested").
        if connected:
            return StreamFailure(GapCause.STREAM_STALLED, "nothing received within the stall timeout")
        return StreamFailure(GapCause.CAMERA_UNREACHABLE, "no answer within the connect timeout")
    if isinstance(
        error,
        av.error.ConnectionRefusedError
        | av.error.HTTPNotFoundError
        | av.error.HTTPError
        | ConnectionRefusedError
        | av.error.ConnectionResetError
        | av.error.ConnectionAbortedError
        | ConnectionError,
    ):
        return StreamFailure(GapCause.STREAM_ENDED if connected else GapCause.CAMERA_UNREACHABLE, detail)
    if isinstance(error, av.error.EOFError | EOFError):
        return StreamFailure(GapCause.STREAM_ENDED if connected else GapCause.STREAM_ERROR, detail)
    if isinstance(error, av.error.InvalidDataError):
        return StreamFailure(GapCause.STREAM_ERROR, detail)
    if isinstance(error, av.error.FFmpegError | OSError):
        # Name resolution and routing failures come as plain OSErrors before any byte is exchanged.
        return StreamFailure(GapCause.STREAM_ERROR if connected else GapCause.CAMERA_UNREACHABLE, detail)
    return StreamFailure(GapCause.STREAM_ERROR, detail)


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    first = text.splitlines()[0]
    return redact_url(first)[:300]


def redact_url(text: str) -> str:
    """Hide ``user:password@`` in any RTSP/HTTP URL of a message (errors and listings are logged)."""
    return re.sub(r"(rtsps?|https?)://[^/@\s'\"]+@", r"\1://***@", text)
