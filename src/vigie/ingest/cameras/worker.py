"""One camera, one thread: connect, cut the stream into segments, reconnect, forever.

Time model. Inside one connection ("run"), a segment's times come from the camera's own
timestamps, so consecutive segments meet exactly (within a frame): playback and continuity checks
need that. The run is pinned to the wall clock once, by its earliest plausible arrival: for each
packet ``arrival - media offset`` is an upper bound of when the run's first frame was captured
(the network only ever delays), so the minimum over the first segment is the best estimate — the
burst FFmpeg buffers while probing the stream would otherwise make the whole run look late.

A run ends when the connection drops, stalls, or the camera's timestamps break (backwards, or a
jump far ahead of real time); the next run starts at the next keyframe, never before the
previous run's end.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime
from typing import Any

import av

from vigie.config import Settings
from vigie.ingest.cameras.archive import CameraArchive
from vigie.ingest.cameras.failures import GapCause, StreamFailure, classify
from vigie.ingest.cameras.health import CameraState, CameraStatus, HealthChange, HealthStore, Lease
from vigie.ingest.cameras.live import LiveChannel
from vigie.ingest.cameras.reconnect import Backoff
from vigie.ingest.cameras.registry import CameraTarget
from vigie.ingest.segmenter import CutSegment, Segmenter, describe, video_stream
from vigie.vault.store import Vault
from vigie.vault.writer import SegmentWriter

log = logging.getLogger(__name__)

# Media time running this much faster than wall time between two packets is a timestamp jump,
# not a burst of buffered packets (bursts are at most what FFmpeg buffered while probing).
JUMP_TOLERANCE_SECONDS = 3.0
# Two consecutive frames further apart than this (in the camera's own time) leave a hole in the
# footage: the camera froze and came back on the same connection. The run is cut there.
HOLE_SECONDS = 2.0


def open_stream(url: str, settings: Settings) -> Any:
    """Open a camera stream with PyAV: RTSP over TCP by default, bounded connect and read waits.

    Reads are bounded by FFmpeg's own socket timeout, not by PyAV's read timeout: PyAV checks its
    timeout in a callback that takes the GIL, and FFmpeg calls it several times per RTP packet —
    with 40 cameras that alone cost four times the CPU of demuxing. PyAV's timeout still bounds
    opening (probing a stream that never delivers a frame can otherwise wait forever).
    """
    recorder = settings.recorder
    options = {
        "rtsp_transport": recorder.rtsp_transport,
        # FFmpeg's RTSP socket I/O timeout, in microseconds.
        "timeout": str(int(recorder.stall_timeout_seconds * 1_000_000)),
    }
    return av.open(url, "r", options=options, timeout=(recorder.connect_timeout_seconds, None))


def wall(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class _Run:
    """One continuous piece of a connection: a segmenter and the run's pin to the wall clock."""

    def __init__(self, stream: Any, first_pts: int, target_seconds: float, not_before: float | None) -> None:
        self.segmenter = Segmenter(stream, target_seconds)
        self.first_pts = first_pts
        # Seconds per tick as a float, not a Fraction: this runs on every packet of every camera.
        self.tick = float(stream.time_base)
        self.anchor = float("inf")  # wall time of the run's first frame
        self.pinned = False
        self.not_before = not_before
        self.last_dts: int | None = None
        self.last_arrival = 0.0
        self.frame_ticks = 0  # typical packet duration, for cameras that send none

    def offset(self, pts: int) -> float:
        return (pts - self.first_pts) * self.tick

    def observe(self, pts: int, arrival: float) -> None:
        if not self.pinned:
            self.anchor = min(self.anchor, arrival - self.offset(pts))

    def pin(self) -> None:
        if not self.pinned:
            self.pinned = True
            if self.not_before is not None:
                self.anchor = max(self.anchor, self.not_before)

    def discontinuity(self, dts: int, pts: int, arrival: float) -> tuple[GapCause, str] | None:
        if self.last_dts is None:
            return None
        if dts < self.last_dts:
            return GapCause.TIMESTAMPS_BACKWARDS, "camera timestamps went backwards"
        media_step = (dts - self.last_dts) * self.tick
        # A jump ahead shows both between two packets and against the run's pin to the wall clock.
        # Either alone is normal: FFmpeg's parser holds a frame until the next one starts, so the
        # frame after a freeze arrives right after the one before it; and a file read faster than
        # real time runs ahead of the clock without any single jump.
        step_ahead = media_step - (arrival - self.last_arrival)
        clock_ahead = self.anchor + self.offset(pts) - arrival
        if step_ahead > JUMP_TOLERANCE_SECONDS and clock_ahead > JUMP_TOLERANCE_SECONDS:
            return GapCause.TIMESTAMPS_JUMPED, "camera timestamps jumped ahead"
        if media_step > HOLE_SECONDS:
            return GapCause.STREAM_STALLED, f"no video for {media_step:.1f} s on an open connection"
        return None


class CameraWorker:
    """Records one camera until stopped. Create, :meth:`start`, later :meth:`stop` and :meth:`join`."""

    def __init__(
        self,
        target: CameraTarget,
        *,
        settings: Settings,
        vault: Vault,
        events: queue.SimpleQueue[HealthChange],
        health_store: HealthStore | None = None,
        channel: LiveChannel | None = None,
        writer: SegmentWriter | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.vault = vault
        self.health_store = health_store
        self.channel = channel
        self.status = CameraStatus(target.name, events)
        self.archive = CameraArchive(
            vault, target.source, checkpoint_seconds=settings.vault.checkpoint_seconds, writer=writer
        )
        self._stop = threading.Event()
        self._stop_cause: GapCause | None = GapCause.RECORDER_STOPPED
        self._thread = threading.Thread(target=self._main, name=f"camera-{target.name}", daemon=True)
        self._last_end: float | None = None  # wall time the last stored segment ended
        self.holds_lease = health_store is None

    @property
    def name(self) -> str:
        return self.target.name

    def start(self) -> None:
        self._thread.start()

    def stop(self, cause: GapCause | None = GapCause.RECORDER_STOPPED) -> None:
        """Ask the worker to end; ``cause`` None means nobody expects footage (camera disabled).

        The first request decides: a camera already stopping because it was disabled keeps no gap
        when the whole recorder stops a moment later.
        """
        if self._stop.is_set():
            return
        self._stop_cause = cause
        self._stop.set()

    def abandon(self) -> None:
        """Another recorder took this camera over: stop without writing anything more about it.

        The new holder has already sealed our open recording as interrupted and accounts for the
        time since our last heartbeat; any write from here would contradict it.
        """
        self.holds_lease = False
        self.archive.abandon()
        self.stop(None)

    def watchdog(self, now: float) -> None:
        """Called by the supervisor: flag a camera whose connection is open but delivers nothing.

        FFmpeg's socket timeout ends such a connection when the camera goes fully silent; a camera
        that keeps talking RTSP/RTCP without video would hold the read open, so its status must not
        keep saying "online" meanwhile. The gap is written when the read returns.
        """
        status = self.status
        silent_for = now - (status.last_packet_at or now)
        if status.state is CameraState.ONLINE and silent_for > 2 * self.settings.recorder.stall_timeout_seconds:
            status.set_state(
                CameraState.OFFLINE,
                GapCause.STREAM_STALLED.value,
                f"no video for {silent_for:.0f} s; the camera keeps the connection open",
            )

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread -------------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            if not self._take_camera():
                return
            self._record_forever()
        except Exception:
            log.exception("camera %s: worker crashed", self.name)
            self.status.set_state(CameraState.OFFLINE, "recorder-error", "internal error (see the recorder log)")
        finally:
            self.archive.close()
            if self.health_store is not None and self.holds_lease:
                try:
                    self.health_store.mark_stopped(self.target.camera_id, self._stop_cause)
                except Exception:
                    log.exception("camera %s: cannot mark the camera stopped", self.name)
            self.status.set_state(CameraState.STOPPED, self._stop_cause, None)

    def _take_camera(self) -> bool:
        """Hold the camera's lease (waiting while another live recorder has it), then recover."""
        if self.health_store is None:
            self.archive.recover(Lease(True, None, None)).result()
            return True
        while not self._stop.is_set():
            lease = self.health_store.acquire(self.target.camera_id)
            if lease.acquired:
                self.holds_lease = True
                report = self.archive.recover(lease).result()
                if report is not None and report.interrupted:
                    log.warning("camera %s: sealed %d interrupted recording(s)", self.name, len(report.interrupted))
                return True
            self.status.set_state(CameraState.STANDBY, None, f"recorded by {lease.previous_holder}")
            self._stop.wait(self.health_store.retry_seconds)
        return False

    def _record_forever(self) -> None:
        recorder = self.settings.recorder
        backoff = Backoff(recorder.reconnect_initial_seconds, recorder.reconnect_max_seconds)
        while not self._stop.is_set():
            failure = self._connect_and_record(backoff)
            if self._stop.is_set():
                break
            if failure is not None:
                self.status.set_state(CameraState.OFFLINE, failure.cause.value, failure.detail)
            self._stop.wait(backoff.next_delay())
        self.archive.stopped(cause=self._stop_cause, at=wall(time.time()))

    def _connect_and_record(self, backoff: Backoff) -> StreamFailure | None:
        attempt_at = time.time()
        if self.status.state is not CameraState.OFFLINE:
            # A camera that failed stays "offline (cause)" while retried; it is online once packets flow.
            self.status.set_state(CameraState.CONNECTING, self.status.cause, self.status.detail)
        try:
            container = open_stream(self.target.main_url, self.settings)
        except Exception as error:
            failure = classify(error, connected=False)
            self.archive.connection_failed(failure.cause, failure.detail, wall(attempt_at))
            return failure
        try:
            return self._record(container, backoff, attempt_at)
        finally:
            try:
                container.close()
            except Exception:
                log.debug("camera %s: closing the stream failed", self.name, exc_info=True)

    def _record(self, container: Any, backoff: Backoff, attempt_at: float) -> StreamFailure | None:
        try:
            stream = video_stream(container)
        except Exception as error:
            refused = classify(error, connected=True)
            self.archive.connection_failed(refused.cause, refused.detail, wall(attempt_at))
            return refused
        info = describe(stream)
        self.status.codec, self.status.width, self.status.height = info.codec, info.width, info.height
        media_info = {**info.as_dict(), "transport": f"rtsp/{self.settings.recorder.rtsp_transport}"}
        target_seconds = self.settings.vault.segment_seconds
        channel = self.channel
        if channel is not None:
            channel.start(stream)
        run: _Run | None = None
        failure: StreamFailure | None = None
        status, stopping = self.status, self._stop
        try:
            for packet in container.demux(stream):
                if stopping.is_set():
                    break
                pts, dts, size = packet.pts, packet.dts, packet.size
                if pts is None or dts is None or not size:
                    continue
                arrival = time.time()
                keyframe = packet.is_keyframe
                status.count(size, keyframe, arrival)
                if run is not None:
                    if dts == run.last_dts:
                        continue  # a duplicated packet: keep the first
                    broken = run.discontinuity(dts, pts, arrival)
                    if broken is not None:
                        cause, detail = broken
                        log.warning("camera %s: %s; starting a new recording", self.name, detail)
                        self._end_run(run, cause, detail, media_info, cut=True)
                        run = None
                if run is None:
                    if not keyframe:
                        continue
                    run = _Run(stream, pts, target_seconds, self._last_end)
                if status.state is not CameraState.ONLINE:
                    status.set_state(CameraState.ONLINE, None, None)
                if not run.pinned:
                    run.observe(pts, arrival)
                duration = packet.duration
                if not duration:
                    if run.last_dts is not None and dts > run.last_dts:
                        run.frame_ticks = dts - run.last_dts
                    packet.duration = duration = run.frame_ticks
                run.last_dts, run.last_arrival = dts, arrival
                cut = run.segmenter.feed(packet)
                if cut is not None:
                    self._store(run, cut, media_info)
                    backoff.reset()
                if channel is not None:
                    # The segmenter's muxer may have rescaled the packet in place: the relay gets the camera's timing.
                    channel.offer(packet, arrival, pts, dts, duration, keyframe)
            else:
                failure = StreamFailure(GapCause.STREAM_ENDED, "the camera closed the stream")
        except Exception as error:
            failure = classify(error, connected=True)
            if failure.cause is GapCause.STREAM_STALLED:
                stalled = self.settings.recorder.stall_timeout_seconds
                failure = StreamFailure(failure.cause, f"nothing received for {stalled:g} s")
        finally:
            if channel is not None:
                channel.stop()
        if run is not None:
            # Stopping on purpose seals the run without a gap here: ``archive.stopped`` decides.
            self._end_run(run, failure.cause if failure else None, failure.detail if failure else None, media_info)
        elif failure is not None:
            self.archive.connection_failed(failure.cause, failure.detail, wall(attempt_at))
        return failure

    def _store(self, run: _Run, cut: CutSegment, media_info: dict[str, Any]) -> None:
        run.pin()
        start, end = run.anchor + cut.start, run.anchor + cut.end
        self.archive.store_segment(cut.data, wall(start), wall(end), media_info)
        self._last_end = end
        error = self.archive.storage_error
        if error is not None:
            self.status.set_state(CameraState.ONLINE, GapCause.VAULT_WRITE_FAILED.value, error)
        elif self.status.cause is not None and self.status.state is CameraState.ONLINE:
            self.status.set_state(CameraState.ONLINE, None, None)

    def _end_run(
        self, run: _Run, cause: GapCause | None, detail: str | None, media_info: dict[str, Any], *, cut: bool = False
    ) -> None:
        """Seal the run's last partial segment and its recording. ``cut``: the connection goes on."""
        try:
            last = run.segmenter.flush()
        except Exception:
            log.warning("camera %s: the last partial segment could not be closed", self.name, exc_info=True)
            last = None
        if last is not None:
            self._store(run, last, media_info)
        anomalies = [f"cut: {detail}"] if cut else []
        self.archive.end_recording(cause=cause, detail=detail, at=wall(time.time()), anomalies=anomalies)
