"""Import video files into the vault: camera footage as fMP4 segments, body-cam files byte-exact.

Either the whole import lands (segments, chain entries, seal, checkpoint) or, on any error,
nothing of it stays: the recording is undone before the error is reported.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import io
import itertools
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av

from vigie.catalog.models import Recording, Source, new_uid
from vigie.catalog.types import utcnow
from vigie.ingest.segmenter import MediaError, segment_file, video_stream
from vigie.vault.blobstore import BUFFERS
from vigie.vault.chain import CHUNK
from vigie.vault.envelope import sealed_size
from vigie.vault.store import PreparedBlob, SegmentPlacement, StagedBlob, Vault

ByteProgress = Callable[[int], None]
_CHUNKS_IN_FLIGHT = 8  # read ahead of the hash and the writes: 8 × chunk_bytes of buffers
_WRITERS = 4  # direct writes in flight: the disk's queue wants more than one
MP4_BRANDS = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"moof", b"styp")


@dataclass
class ImportResult:
    recording: Recording
    segments: int
    duration: float
    size: int
    sha256: str | None = None
    anomalies: list[str] = field(default_factory=list)


def _container_start(path: Path) -> datetime | None:
    """The recording time the file claims (``creation_time``), if any."""
    try:
        with av.open(str(path)) as container:
            return _creation_time(container)
    except (av.error.FFmpegError, OSError):
        return None


def _creation_time(container: Any) -> datetime | None:
    stamp = container.metadata.get("creation_time")
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _check_readable(path: Path) -> None:
    if not path.is_file():
        raise MediaError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty")


def import_camera_file(
    vault: Vault, path: Path, source: Source, *, start: datetime | None = None, progress: ByteProgress | None = None
) -> ImportResult:
    _check_readable(path)
    info, cuts, anomalies = segment_file(str(path), vault.settings.vault.segment_seconds)
    origin = start or _container_start(path) or utcnow()
    recording = vault.begin_recording(source, start=origin, original_name=path.name, media_info=info.as_dict())
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: deque[tuple[Future[PreparedBlob], Any]] = deque()
            for cut in cuts:
                pending.append((pool.submit(vault.prepare, cut.data), cut))
                if len(pending) > 2:
                    _append_cut(vault, source, recording, origin, *pending.popleft(), progress)
            while pending:
                _append_cut(vault, source, recording, origin, *pending.popleft(), progress)
        if recording.segment_count == 0:
            raise MediaError("no decodable video in the input")
        duration = (recording.end - origin).total_seconds() if recording.end else 0.0
        status = "truncated" if anomalies else "complete"
        vault.finish(source, recording, status=status, anomalies=list(anomalies))
    except BaseException:
        vault.abort(source, recording)
        raise
    return ImportResult(recording, recording.segment_count, duration, recording.size, anomalies=list(anomalies))


def _append_cut(
    vault: Vault,
    source: Source,
    recording: Recording,
    origin: datetime,
    future: Future[PreparedBlob],
    cut: Any,
    progress: ByteProgress | None,
) -> None:
    prepared = future.result()
    vault.append(
        source,
        recording,
        prepared,
        start=origin + timedelta(seconds=cut.start),
        end=origin + timedelta(seconds=cut.end),
        kind="fmp4",
    )
    if progress:
        progress(prepared.size)


@dataclass
class ProbeResult:
    """What demuxing a byte-exact file tells: its keyframes, and whether it is whole."""

    media_info: dict[str, Any] = field(default_factory=dict)
    keyframes: list[list[float]] = field(default_factory=list)  # [[seconds, byte offset], ...]
    duration: float = 0.0
    anomalies: list[str] = field(default_factory=list)
    created: datetime | None = None  # the container's creation_time, if it has one


def probe_bytes_file(path: Path) -> ProbeResult:
    """Build the keyframe index so playback can seek inside the stored original (no second copy).

    An MP4's sample table already lists every frame's time, byte position, size and keyframe
    flag: read from it, the probe costs milliseconds and leaves the disk to the import. Files whose
    table does not cover every frame (fragmented MP4: fragments are indexed as they are read) are
    demuxed instead.
    """
    result = ProbeResult()
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        result.anomalies.append(f"undecodable: {error}")
        return result
    with container:
        result.created = _creation_time(container)
        try:
            stream = video_stream(container)
        except MediaError as error:
            result.anomalies.append(f"undecodable: {error}")
            return result
        rate = stream.average_rate or stream.guessed_rate
        result.media_info = {
            "codec": stream.codec_context.name,
            "width": int(stream.codec_context.width),
            "height": int(stream.codec_context.height),
            "fps": float(rate) if rate else None,
        }
        if not _probe_sample_table(stream, path.stat().st_size, result):
            _probe_by_demuxing(container, stream, result)
    return result


def _probe_sample_table(stream: Any, file_size: int, result: ProbeResult) -> bool:
    """Fill ``result`` from the container's sample table; False when it does not list every frame."""
    entries = list(stream.index_entries)
    expected = int(stream.frames or 0)
    if not entries or len(entries) != expected:
        return False
    # Float seconds per tick, not Fraction: tens of thousands of entries, while the import hashes beside.
    tick = float(stream.time_base)
    first = entries[0].timestamp
    step = entries[1].timestamp - first if len(entries) > 1 else 0
    readable = 0
    last = first
    keyframes = result.keyframes
    for entry in entries:
        if entry.pos < 0 or entry.pos + entry.size > file_size:
            break  # the table lists frames the file no longer holds: truncated here
        readable += 1
        timestamp = entry.timestamp
        if timestamp > last:
            last = timestamp
        if entry.is_keyframe:
            keyframes.append([round((timestamp - first) * tick, 6), int(entry.pos)])
    if readable < expected:
        result.anomalies.append(f"truncated: {readable} of {expected} frames readable")
    result.duration = (last - first + step) * tick if readable else 0.0
    return True


def _probe_by_demuxing(container: Any, stream: Any, result: ProbeResult) -> None:
    time_base = stream.time_base
    expected = int(stream.frames or 0)
    first: int | None = None
    frames = 0
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            first = packet.pts if first is None else first
            seconds = float((packet.pts - first) * time_base)
            frames += 1
            end = max(end, seconds + float((packet.duration or 0) * time_base))
            if packet.is_keyframe and packet.pos is not None and packet.pos >= 0:
                result.keyframes.append([round(seconds, 6), int(packet.pos)])
    except (av.error.FFmpegError, OSError) as error:
        result.anomalies.append(f"truncated: demuxing stopped after {frames} frames: {error}")
    if expected and frames < expected and not result.anomalies:
        result.anomalies.append(f"truncated: {frames} of {expected} frames readable")
    result.duration = end


def _looks_like_mp4(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(12)
    return len(head) >= 8 and head[4:8] in MP4_BRANDS


def _time_at(keyframes: list[list[float]], offset: int, default: float) -> float:
    """Time of the last keyframe at or before a byte offset (a chunk's approximate start)."""
    index = bisect.bisect_right([position for _seconds, position in keyframes], offset)
    return default if index == 0 else float(keyframes[index - 1][0])


def import_bytes_file(
    vault: Vault,
    path: Path,
    source: Source,
    *,
    start: datetime | None = None,
    expected_sha256: str | None = None,
    progress: ByteProgress | None = None,
    extra_info: dict[str, Any] | None = None,
) -> ImportResult:
    """Store a body-cam file byte-exact, in chunks, hashing it whole on the way in.

    Work runs in parallel on the machine's cores: the keyframe probe (PyAV demux releases the GIL),
    the whole-file sha256 (hashlib releases it) and the per-chunk hash+encrypt overlap.
    """
    _check_readable(path)
    if not _looks_like_mp4(path):
        raise MediaError(f"{path.name} is not an MP4/MOV video file")
    size = path.stat().st_size
    chunk_bytes = vault.settings.vault.chunk_bytes
    recording_id = new_uid()
    with ThreadPoolExecutor(max_workers=1) as beside:
        # The keyframe index, the file's own start time and the catalog row are worked out beside
        # the hashing, not before it: the chunks are staged under the recording id chosen here.
        opening = beside.submit(
            _probe_and_begin, vault, path, source, recording_id, start, dict(extra_info or {})
        )
        staged: list[tuple[StagedBlob, int]] = []
        recording: Recording | None = None
        try:
            digest = _stage_chunks(vault, path, source, recording_id, chunk_bytes, staged, progress)
            recording, origin, probe = opening.result()
            anomalies = list(probe.anomalies)
            if expected_sha256 and expected_sha256.lower() != digest:
                raise MediaError(f"sha256 mismatch: device says {expected_sha256.lower()}, file is {digest}")
            # Chained only now, with each chunk's time span taken from the keyframe index.
            placements = []
            for index, (blob, at) in enumerate(staged):
                following = staged[index + 1][1] if index + 1 < len(staged) else None
                begin = _time_at(probe.keyframes, at, 0.0)
                finish = (
                    _time_at(probe.keyframes, following, probe.duration) if following is not None else probe.duration
                )
                placements.append(
                    SegmentPlacement(
                        blob,
                        origin + timedelta(seconds=begin),
                        origin + timedelta(seconds=max(begin, finish)),
                        CHUNK,
                        at,
                    )
                )
            vault.record_many(source, recording, placements)
            if not probe.keyframes and not anomalies:
                anomalies.append("undecodable: no keyframe found")
            status = "truncated" if any(a.startswith(("truncated", "undecodable")) for a in anomalies) else "complete"
            vault.finish(
                source,
                recording,
                end=origin + timedelta(seconds=probe.duration),
                status=status,
                sha256=digest,
                keyframe_index=probe.keyframes,
                anomalies=anomalies,
                media_info={**probe.media_info, "bytes": size, "chunk_bytes": chunk_bytes},
            )
        except BaseException:
            if recording is None:  # staging or the probe failed: was the recording begun meanwhile?
                opening.cancel()
                recording = _begun(opening)
            if recording is not None:
                vault.abort(source, recording)
            vault.discard([blob for blob, _ in staged])
            raise
    return ImportResult(recording, recording.segment_count, probe.duration, size, digest, anomalies)


def _begun(opening: Future[tuple[Recording, datetime, ProbeResult]]) -> Recording | None:
    """The recording the side thread began, or None if it failed or never started (after a failure)."""
    try:
        return opening.result()[0]
    except BaseException:
        return None


def _probe_and_begin(
    vault: Vault,
    path: Path,
    source: Source,
    recording_id: str,
    start: datetime | None,
    media_info: dict[str, Any],
) -> tuple[Recording, datetime, ProbeResult]:
    """Probe the file, then open its recording: last, so a recording begun is always returned."""
    probe = probe_bytes_file(path)
    origin = start or probe.created or utcnow()
    recording = vault.begin_recording(
        source, start=origin, original_name=path.name, media_info=media_info, recording_id=recording_id
    )
    return recording, origin, probe


def _stage_chunks(
    vault: Vault,
    path: Path,
    source: Source,
    recording_id: str,
    chunk_bytes: int,
    staged: list[tuple[StagedBlob, int]],
    progress: ByteProgress | None,
) -> str:
    """Read the file once, in chunks, and overlap what is done with each chunk on the machine's cores.

    One thread extends the running sha256 of the whole file and notes its digest at each chunk's
    end (the chunk's chain entry; the last one is the device's hash); four threads seal chunks into
    reusable page-aligned buffers and write them with direct I/O; this thread reads into a ring of
    buffers. hashlib and file I/O release the GIL, and AES-GCM is an order of magnitude faster
    than sha256, so the import runs at about the speed of one sha256 pass, or of the disk where
    that is slower. Every blob written, even when a later step fails, ends up in ``staged`` so
    the caller can remove it.
    """
    running = hashlib.sha256()
    depth = _CHUNKS_IN_FLIGHT
    ring = [BUFFERS.take(chunk_bytes) for _ in range(depth)]  # reused: no page faults per chunk

    def extend_running_hash(chunk: memoryview) -> str:
        running.update(chunk)
        return running.copy().hexdigest()

    def seal_and_write(chunk: memoryview) -> str:
        with BUFFERS.lend(sealed_size(chunk_bytes)) as buffer:
            return vault.stage_sealed(source, recording_id, chunk, buffer)

    in_flight: deque[tuple[int, int, Future[str], Future[str]]] = deque()  # offset, size, digest, key

    def settle_oldest() -> None:
        at, size, digest, key = in_flight.popleft()
        try:
            staged.append((StagedBlob(key=key.result(), sha256=digest.result(), size=size), at))
        except BaseException:
            if key.exception() is None:  # written, though its hash failed: still the caller's to remove
                staged.append((StagedBlob(key=key.result(), sha256="", size=size), at))
            raise
        if progress:
            progress(size)

    offset = 0
    try:
        with (
            open(path, "rb", buffering=0) as handle,
            ThreadPoolExecutor(max_workers=1) as hasher,
            ThreadPoolExecutor(max_workers=_WRITERS) as writers,
        ):
            try:
                for index in itertools.count():
                    if len(in_flight) == depth:  # the slot about to be refilled must be hashed and written
                        settle_oldest()
                    buffer = ring[index % depth][:chunk_bytes]  # pooled buffers are rounded up to a page
                    size = _fill(handle, buffer)
                    if not size:
                        break
                    chunk = buffer[:size]
                    in_flight.append(
                        (offset, size, hasher.submit(extend_running_hash, chunk), writers.submit(seal_and_write, chunk))
                    )
                    offset += size
                while in_flight:
                    settle_oldest()
            except BaseException:
                while in_flight:  # let the chunks in flight land, then account for every blob written
                    with contextlib.suppress(BaseException):
                        settle_oldest()
                raise
    finally:  # the pools have shut down: no thread uses the ring any more
        for buffer in ring:
            BUFFERS.give(buffer)
    if offset != os.path.getsize(path):
        raise MediaError(f"{path.name} changed while it was read")
    return running.hexdigest()


def _fill(handle: io.RawIOBase, buffer: memoryview) -> int:
    """Read into ``buffer`` until it is full or the file ends (a raw read may return less)."""
    filled = 0
    while filled < len(buffer):
        count = handle.readinto(buffer[filled:])
        if not count:
            break
        filled += count
    return filled
