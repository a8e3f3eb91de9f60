"""Shared pieces of the camera tests: quick settings, misbehaving fake cameras, timeline checks."""

from __future__ import annotations

import contextlib
import io
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from sqlalchemy import select

from vigie.access.audit import Actor, AuditLog
from vigie.catalog.db import Catalog
from vigie.catalog.models import Gap, Recording, Segment, Source
from vigie.config import RecorderSettings, Settings, VaultSettings
from vigie.vault.store import Vault

ACTOR = Actor(name="tester", role="local-admin", client="pytest")


def quick_settings(home: Path, **recorder: float) -> Settings:
    """Settings that make reconnection and health fast enough for tests of a few seconds."""
    home.mkdir(parents=True, exist_ok=True)
    values: dict[str, float] = {
        "reconnect_initial_seconds": 0.2,
        "reconnect_max_seconds": 1.0,
        "stall_timeout_seconds": 2.0,
        "connect_timeout_seconds": 3.0,
        "health_seconds": 0.5,
        "registry_poll_seconds": 1.0,
        "lease_seconds": 5.0,
    }
    values.update(recorder)
    return Settings(
        home=home,
        vault=VaultSettings(fsync=False),
        recorder=RecorderSettings(**values),  # type: ignore[arg-type]
        operator="tester",
    )


@dataclass
class Installation:
    settings: Settings
    catalog: Catalog
    vault: Vault
    audit: AuditLog

    def close(self) -> None:
        self.catalog.dispose()


def installation(settings: Settings, vault_factory: Callable[[Settings, Catalog], Vault] | None = None) -> Installation:
    catalog = Catalog(settings.catalog_url)
    vault = vault_factory(settings, catalog) if vault_factory else Vault(settings, catalog)
    return Installation(settings, catalog, vault, AuditLog(catalog, vault.signer))


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# -- reading back what was recorded ----------------------------------------------------------------
def source_id(catalog: Catalog, name: str) -> int:
    with catalog.session() as session:
        return session.execute(select(Source.id).where(Source.name == name)).scalar_one()


def segments_of(catalog: Catalog, name: str) -> list[Segment]:
    with catalog.session() as session:
        return list(
            session.execute(
                select(Segment)
                .join(Source, Segment.source_id == Source.id)
                .where(Source.name == name)
                .order_by(Segment.seq)
            ).scalars()
        )


def recordings_of(catalog: Catalog, name: str) -> list[Recording]:
    with catalog.session() as session:
        return list(
            session.execute(
                select(Recording)
                .join(Source, Recording.source_id == Source.id)
                .where(Source.name == name)
                .order_by(Recording.start)
            ).scalars()
        )


def gaps_of(catalog: Catalog, name: str) -> list[Gap]:
    with catalog.session() as session:
        return list(
            session.execute(
                select(Gap).join(Source, Gap.source_id == Source.id).where(Source.name == name).order_by(Gap.start)
            ).scalars()
        )


def assert_continuous(segments: list[Segment], frame: timedelta) -> None:
    """Each segment of a recording starts where the previous one ended, within a frame."""
    by_recording: dict[str, list[Segment]] = {}
    for segment in segments:
        by_recording.setdefault(segment.recording_id, []).append(segment)
    for recording_segments in by_recording.values():
        for previous, current in itertools.pairwise(recording_segments):
            assert abs(current.start - previous.end) <= frame, (
                f"segment #{current.seq} starts at {current.start}, #{previous.seq} ended at {previous.end}"
            )
            assert current.end > current.start


def covered_without_holes(segments: list[Segment], gaps: list[Gap], start: datetime, end: datetime) -> None:
    """Segments and gaps together leave no unexplained hole longer than a second in [start, end]."""
    spans = sorted([(s.start, s.end) for s in segments] + [(g.start, g.end or end) for g in gaps])
    reach = start
    for span_start, span_end in spans:
        assert span_start - reach <= timedelta(seconds=1), f"nothing explains {reach} .. {span_start}"
        reach = max(reach, span_end)
    assert end - reach <= timedelta(seconds=1), f"nothing explains {reach} .. {end}"


# -- misbehaving cameras -----------------------------------------------------------------------------
FakeMode = Literal["garbage", "unauthorized"]


class FakeRtspServer:
    """A TCP server that talks to FFmpeg like a broken camera: noise, or "401 Unauthorized"."""

    def __init__(self, mode: FakeMode) -> None:
        self.mode = mode
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(2)
        with contextlib.suppress(OSError), connection:
            buffer = b""
            while not self._stop.is_set():
                chunk = connection.recv(4096)
                if not chunk:
                    return
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    request, buffer = buffer.split(b"\r\n\r\n", 1)
                    if self.mode == "garbage":
                        connection.sendall(bytes(np.random.default_rng(1).integers(0, 256, 2048, dtype=np.uint8)))
                        return
                    method = request.split(b" ", 1)[0]
                    cseq = next(
                        (
                            line.split(b":", 1)[1].strip()
                            for line in request.split(b"\r\n")
                            if line.lower().startswith(b"cseq")
                        ),
                        b"1",
                    )
                    if method == b"OPTIONS":
                        reply = (
                            b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n"
                        )
                    else:
                        reply = (
                            b"RTSP/1.0 401 Unauthorized\r\nCSeq: "
                            + cseq
                            + b'\r\nWWW-Authenticate: Basic realm="camera"\r\n\r\n'
                        )
                    connection.sendall(reply)


@contextlib.contextmanager
def fake_camera(mode: FakeMode) -> Iterator[FakeRtspServer]:
    server = FakeRtspServer(mode)
    try:
        yield server
    finally:
        server.close()


def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- synthetic files -----------------------------------------------------------------------------------
def h264_transport_stream(
    seconds: float, *, fps: int = 25, pts_offset: float = 0.0, size: tuple[int, int] = (320, 180)
) -> bytes:
    """A small MPEG-TS of H.264 (one keyframe a second); ``pts_offset`` shifts its timestamps."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"preset": "ultrafast", "x264-params": f"keyint={fps}:bframes=0"}
        )
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = Fraction(1, fps)
        offset = round(pts_offset * fps)
        for index in range(round(seconds * fps)):
            image = np.full((size[1], size[0], 3), (index * 5) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = offset + index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
