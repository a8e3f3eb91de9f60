"""Fixed cameras for the web tests: a registered camera and real (tiny) H.264 footage in the vault.

The footage goes through the recorder's own pieces (``Segmenter`` → vault segments of kind
``fmp4``), so playback, snapshots and masks work on what a recorder would have stored, without
running one. Frames are bright grey with a white square, so masked pixels are easy to tell apart.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import av
import numpy as np

from vigie.catalog.models import Segment
from vigie.ingest.cameras.registry import CameraRecord, CameraSpec
from vigie.ingest.segmenter import Segmenter
from vigie.web.services import Services

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SIZE = (320, 180)
FPS = 10


def register_camera(
    services: Services, name: str = "place-bellecour", *, unit: str | None = "ville-a", url: str | None = None
) -> CameraRecord:
    from access.helpers import ADMIN_ACTOR

    return services.cameras.add(
        CameraSpec(
            name=name,
            main_url=url or "rtsp://127.0.0.1:1/stream",
            latitude=45.7578,
            longitude=4.8320,
            heading=90.0,
            unit=unit,
            authorisation="arrêté 69-2026-0142",
        ),
        ADMIN_ACTOR,
    )


def h264_clip(seconds: float, *, size: tuple[int, int] = SIZE, fps: int = FPS) -> bytes:
    """MPEG-TS, one keyframe a second, bright frames (luma ~200) with a moving white square."""
    buffer = io.BytesIO()
    width, height = size
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"preset": "ultrafast", "x264-params": f"keyint={fps}:bframes=0"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index in range(round(seconds * fps)):
            image = np.full((height, width, 3), 200, dtype=np.uint8)
            x = (index * 7) % (width - 40)
            image[60:100, x : x + 40] = 255
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def record_footage(
    services: Services, camera: str, *, seconds: float = 6.0, start: datetime = START, segment_seconds: float = 2.0
) -> list[Segment]:
    """One finished recording of ``seconds`` of video, cut like the recorder cuts it."""
    vault = services.vault
    source = vault.source(camera)
    with av.open(io.BytesIO(h264_clip(seconds)), "r") as container:
        stream = container.streams.video[0]
        segmenter = Segmenter(stream, segment_seconds)
        cuts = []
        for packet in container.demux(stream):
            if packet.dts is None:
                continue
            cut = segmenter.feed(packet)
            if cut is not None:
                cuts.append(cut)
        last = segmenter.flush()
        if last is not None:
            cuts.append(last)
    recording = vault.begin_recording(source, start=start, media_info={"codec": "h264"})
    segments = [
        vault.append(
            source,
            recording,
            vault.prepare(cut.data),
            start=start + timedelta(seconds=cut.start),
            end=start + timedelta(seconds=cut.end),
            kind="fmp4",
        )
        for cut in cuts
    ]
    vault.finish(source, recording, end=start + timedelta(seconds=cuts[-1].end))
    return segments


def range_params(start: datetime = START, seconds: float = 60.0) -> dict[str, str]:
    end = start + timedelta(seconds=seconds)
    return {"from": start.isoformat().replace("+00:00", "Z"), "to": end.isoformat().replace("+00:00", "Z")}
