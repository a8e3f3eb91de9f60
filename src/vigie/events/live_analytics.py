"""The live analytics worker: camera substream → privacy masks → `Analyzer` → `EventService`.

Why it lives in ``vigie.events`` and not in ``vigie.analytics``: analytics stays pure (frames in,
typed results out); this module is the wiring around it (streams, the catalog, the legal-basis
gate, the bus), so it may import analytics, privacy and the camera registry, and nothing in
analytics, privacy or ingest imports it. Only the composition roots (``vigie serve``, the CLI) do.

How it behaves:

* **Gate first.** A supervisor thread re-reads the legal bases every ``reload_seconds``. A camera
  with no basis in force has no thread: its stream is never opened, not one frame is decoded
  (LAW.md F.33). A revoked or lapsed basis stops the camera at the next reload, and
  ``EventService.raise_event`` re-checks the basis at the event's instant anyway, so no event
  outside a basis is ever stored, even in between.
* **One thread per camera.** It decodes the substream (or the main stream scaled down to
  ``max_width``) at ``fps`` with the analytics package's `VideoSource`, hides the camera's privacy
  masks in the analytics input itself (`mask_for_analytics`: the detectors never look into a
  dwelling), runs only the detectors for the event types the law currently allows on that camera
  (plus the camera-tamper health signal), with the camera's zones rescaled to the stream.
* **Each detection** becomes ``EventService.raise_event`` with a snapshot that is masked, scaled
  down and has the box drawn, and the id of the recording running at that instant (the link an
  operator follows). Nothing else happens: a person confirms or dismisses (décret 2023-828 art. 2).
* **Failures are per camera.** A camera that cannot be opened, a corrupt stream, a picture that
  changes size: a clear status for that camera, a reconnection with exponential backoff, and the
  other cameras carry on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import av
import cv2
import numpy as np
from sqlalchemy import or_, select

from vigie.analytics.events import Box, EventType
from vigie.analytics.events import Event as AnalyticsEvent
from vigie.analytics.frames import Frame, FrameSizeError, GreyImage
from vigie.analytics.pipeline import ZONE_DETECTORS, Analyzer, AnalyzerConfig
from vigie.analytics.source import VideoSource, VideoSourceError
from vigie.analytics.zones import ZoneError
from vigie.catalog.event_models import LegalBasis
from vigie.catalog.models import Recording
from vigie.catalog.types import iso, utcnow
from vigie.config import LiveAnalyticsSettings, Settings
from vigie.events.service import LEGAL_EVENT_TYPES, EventDraft, EventService
from vigie.events.zone_store import CameraAnalyticsSetup, ZoneStore
from vigie.ingest.cameras.reconnect import Backoff
from vigie.ingest.cameras.registry import CameraTarget, load_targets
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.masks import PrivacyMask, mask_for_analytics, mask_frame, masked_jpeg
from vigie.vault.store import Vault

log = logging.getLogger(__name__)

# Health signals describe the camera, not people: they run whenever a camera is analysed at all.
HEALTH_DETECTORS: frozenset[EventType] = frozenset({EventType.CAMERA_TAMPER})
# Chroma under a mask becomes neutral grey (no colour), luma becomes black: no motion, no "flame".
NEUTRAL_CHROMA: tuple[int, int, int] = (128, 128, 128)
# A recording that ended this shortly before an event still holds its first moments (segment cuts).
RECORDING_SLACK = timedelta(seconds=5)
BOX_COLOUR_BGR = (0, 0, 255)


class AnalysisState(StrEnum):
    OFF = "off"  # no legal basis in force (or nothing the law allows can run): nothing is decoded
    CONNECTING = "connecting"
    RUNNING = "running"
    ERROR = "error"  # the last attempt failed; the detail says why; a retry is scheduled
    STOPPED = "stopped"


@dataclass(frozen=True)
class CameraAnalyticsStatus:
    """What the settings page and the CLI show about one camera's live analysis."""

    camera: str
    state: AnalysisState
    detail: str | None = None
    since: datetime = field(default_factory=utcnow)
    detectors: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # allowed by a basis, but not runnable (e.g. no zone drawn)
    frames: int = 0
    events: int = 0
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "state": self.state.value,
            "detail": self.detail,
            "since": iso(self.since),
            "detectors": list(self.detectors),
            "skipped": list(self.skipped),
            "frames": self.frames,
            "events": self.events,
            "width": self.width,
            "height": self.height,
        }


class FrameStream(Protocol):
    """Decoded, time-sampled frames of one camera (`VideoSource` is one)."""

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


StreamOpener = Callable[[CameraTarget], FrameStream]


def substream_opener(settings: Settings) -> StreamOpener:
    """Open a camera's substream (its main stream when it has none) with the recorder's RTSP options."""
    live = settings.events.analytics
    recorder = settings.recorder

    def open_stream(target: CameraTarget) -> FrameStream:
        url = target.sub_url or target.main_url
        options: dict[str, str] = {}
        if url.startswith(("rtsp://", "rtsps://")):
            options = {
                "rtsp_transport": recorder.rtsp_transport,
                "timeout": str(int(recorder.stall_timeout_seconds * 1_000_000)),
            }
        return VideoSource.open(url, fps=live.fps, options=options, timeout=recorder.connect_timeout_seconds)

    return open_stream


# -- frames: scale, mask, picture -------------------------------------------------------------------
def scale_frame(frame: Frame, width: int) -> Frame:
    """The frame at ``width`` pixels wide (even height), planes resized; smaller frames pass unchanged."""
    if frame.width <= width:
        return frame
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    luma = _u8(cv2.resize(frame.luma, (width, height), interpolation=cv2.INTER_AREA))
    if frame.chroma_blue is None or frame.chroma_red is None:
        return Frame(frame.time, luma)
    half = ((width + 1) // 2, (height + 1) // 2)
    blue = _u8(cv2.resize(frame.chroma_blue, half, interpolation=cv2.INTER_AREA))
    red = _u8(cv2.resize(frame.chroma_red, half, interpolation=cv2.INTER_AREA))
    return Frame(frame.time, luma, blue, red)


def _u8(image: Any) -> GreyImage:
    """OpenCV's results typed as the uint8 pictures they are (no copy when already uint8)."""
    return np.asarray(image, dtype=np.uint8)


def masked_frame(frame: Frame, masks: tuple[PrivacyMask, ...]) -> Frame:
    """The analytics input with every masked pixel hidden, in every plane (LAW.md E.27, L251-3)."""
    if not masks:
        return frame
    luma = mask_for_analytics(frame.luma, masks)
    if frame.chroma_blue is None or frame.chroma_red is None:
        return Frame(frame.time, luma)
    # Masks are normalised polygons: the same mask rasterises at the half-size chroma planes.
    blue = mask_frame(frame.chroma_blue, masks, fill=NEUTRAL_CHROMA)
    red = mask_frame(frame.chroma_red, masks, fill=NEUTRAL_CHROMA)
    return Frame(frame.time, luma, blue, red)


def frame_bgr(frame: Frame) -> GreyImage:
    """A BGR picture (h, w, 3) of a frame: only for snapshots, analysis never converts colours."""
    luma = np.ascontiguousarray(frame.luma)
    blue, red = frame.chroma_blue, frame.chroma_red
    if blue is None or red is None:
        return _u8(cv2.cvtColor(luma, cv2.COLOR_GRAY2BGR))
    height, width = luma.shape
    if height % 2 == 0 and width % 2 == 0 and blue.shape == (height // 2, width // 2) == red.shape:
        # The decoder's own layout (I420): the exact inverse of Frame.from_bgr's conversion.
        planar = np.concatenate([luma.ravel(), np.ascontiguousarray(blue).ravel(), np.ascontiguousarray(red).ravel()])
        return _u8(cv2.cvtColor(planar.reshape(height * 3 // 2, width), cv2.COLOR_YUV2BGR_I420))
    full_blue = cv2.resize(np.ascontiguousarray(blue), (width, height), interpolation=cv2.INTER_LINEAR)
    full_red = cv2.resize(np.ascontiguousarray(red), (width, height), interpolation=cv2.INTER_LINEAR)
    return _u8(cv2.cvtColor(cv2.merge([luma, full_red, full_blue]), cv2.COLOR_YCrCb2BGR))


def alert_snapshot(frame: Frame, box: Box | None, masks: tuple[PrivacyMask, ...], width: int) -> bytes:
    """The picture an operator sees with an alert: masked, scaled down, the box drawn, JPEG.

    ``frame`` is already masked (it is the analytics input); ``masked_jpeg`` masks again at the
    snapshot's size, so even a box drawn across a mask's edge never reveals what is under it.
    """
    picture = frame_bgr(frame)
    scale = min(1.0, width / picture.shape[1])
    if scale < 1.0:
        size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
        picture = _u8(cv2.resize(picture, size, interpolation=cv2.INTER_AREA))
    else:
        picture = picture.copy()
    if box is not None:
        x0, y0 = round(box.x * scale), round(box.y * scale)
        x1, y1 = round((box.x + box.w) * scale), round((box.y + box.h) * scale)
        thickness = max(1, round(picture.shape[1] / 240))
        cv2.rectangle(picture, (x0, y0), (max(x0 + 1, x1), max(y0 + 1, y1)), BOX_COLOUR_BGR, thickness)
    return masked_jpeg(picture, masks, quality=80)


# -- the plan of one camera ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AnalysisPlan:
    """What one camera is analysed with. Any change restarts that camera's thread."""

    target: CameraTarget
    detectors: frozenset[EventType]
    setup: CameraAnalyticsSetup
    masks: tuple[PrivacyMask, ...]
    skipped: tuple[str, ...] = ()

    @property
    def camera(self) -> str:
        return self.target.name

    def signature(self) -> tuple[Any, ...]:
        return (
            self.target.sub_url or self.target.main_url,
            tuple(sorted(self.detectors)),
            self.setup.version,
            tuple(sorted((mask.name, mask.polygon) for mask in self.masks)),
        )


def enabled_types_by_source(bases: Iterable[LegalBasis], at: datetime) -> dict[int, set[str]]:
    """Lawful types with a basis in force at ``at``, per source, from one read of the table.

    The same rule as ``EventService.basis_in_force`` (not revoked, valid_from <= at < valid_until),
    applied to all cameras at once so a reload costs one query, not one per camera and type.
    ``raise_event`` still checks the basis authoritatively for every event.
    """
    enabled: dict[int, set[str]] = {}
    for basis in bases:
        if (
            basis.event_type in LEGAL_EVENT_TYPES
            and basis.revoked_at is None
            and basis.valid_from <= at < basis.valid_until
        ):
            enabled.setdefault(basis.source_id, set()).add(basis.event_type)
    return enabled


def plan_detectors(enabled: set[str], setup: CameraAnalyticsSetup) -> tuple[frozenset[EventType], tuple[str, ...]]:
    """(detectors to run, allowed types that cannot run and why). Health signals only join real work."""
    kinds = setup.kinds()
    chosen: set[EventType] = set()
    skipped: list[str] = []
    for name in sorted(enabled):
        event_type = EventType(name)
        needed = ZONE_DETECTORS.get(event_type)
        if needed is not None and needed not in kinds:
            skipped.append(f"{name}: no {needed.value} zone drawn")
            continue
        chosen.add(event_type)
    if not chosen:
        return frozenset(), tuple(skipped)
    return frozenset(chosen | HEALTH_DETECTORS), tuple(skipped)


# -- one camera ---------------------------------------------------------------------------------------
class CameraAnalysis:
    """One camera's thread: open, decode, mask, analyse, raise; reconnect with backoff on failure."""

    def __init__(
        self,
        plan: AnalysisPlan,
        events: EventService,
        opener: StreamOpener,
        settings: LiveAnalyticsSettings,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.plan = plan
        self.events = events
        self.opener = opener
        self.settings = settings
        self.on_refused = on_refused
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stream: FrameStream | None = None
        self._status = CameraAnalyticsStatus(
            plan.camera, AnalysisState.CONNECTING, detectors=_names(plan.detectors), skipped=plan.skipped
        )
        self._thread = threading.Thread(target=self._main, name=f"vigie-analytics-{plan.camera}", daemon=True)

    # lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def status(self) -> CameraAnalyticsStatus:
        with self._lock:
            return self._status

    def _set(self, state: AnalysisState | None = None, detail: str | None = None, **changes: Any) -> None:
        with self._lock:
            current = self._status
            if state is not None and (state is not current.state or detail != current.detail):
                changes.update(state=state, detail=detail, since=utcnow())
            self._status = replace(current, **changes)

    # the loop
    def _main(self) -> None:
        backoff = Backoff(self.settings.reconnect_initial_seconds, self.settings.reconnect_max_seconds)
        while not self._stop.is_set():
            analysed = self._run_once()
            if self._stop.is_set():
                break
            if analysed:
                backoff.reset()  # it worked for a while: the next failure starts from the first delay
            self._stop.wait(backoff.next_delay())
        self._set(AnalysisState.STOPPED, None)

    def run_once(self, *, recorded_at: datetime | None = None) -> int:
        """Analyse one connection in the calling thread (a recorded file: the demo, tests).

        ``recorded_at`` is when the stream's first frame was filmed: events are then dated (and
        linked to recordings) on that timeline instead of the wall clock of decoding.
        """
        return self._run_once(recorded_at.timestamp() if recorded_at is not None else None)

    def _run_once(self, fixed_origin: float | None = None) -> int:
        """One connection: the number of frames analysed before it ended (failures set the status)."""
        plan = self.plan
        self._set(AnalysisState.CONNECTING, None)
        try:
            stream = self.opener(plan.target)
        except (VideoSourceError, av.error.FFmpegError, OSError) as error:
            self._set(AnalysisState.ERROR, f"cannot open the stream: {self._clean(error)}")
            return 0
        analysed = 0
        try:
            analyzer: Analyzer | None = None
            input_size: tuple[int, int] | None = None
            # Wall-clock seconds of the stream's time 0: the earliest plausible estimate for a live stream
            # (the network only ever delays a frame), or the known recording time of a file.
            origin: float | None = fixed_origin
            for raw in stream:
                if self._stop.is_set():
                    break
                if input_size is None:
                    input_size = (raw.width, raw.height)
                elif (raw.width, raw.height) != input_size:
                    raise FrameSizeError(
                        f"the picture changed from {input_size[0]}x{input_size[1]} to {raw.width}x{raw.height}; "
                        "analysis restarts at the new size"
                    )
                if fixed_origin is None:
                    arrival = time.time()
                    origin = arrival - raw.time if origin is None else min(origin, arrival - raw.time)
                frame = masked_frame(scale_frame(raw, self.settings.max_width), plan.masks)
                if analyzer is None:
                    analyzer = self._analyzer(frame.width, frame.height)
                    self._set(AnalysisState.RUNNING, None, width=frame.width, height=frame.height)
                result = analyzer.process(frame)
                analysed += 1
                self._set(frames=self.status.frames + 1)
                for event in result.raised:
                    self._raise(event, frame, origin, recorded=fixed_origin is not None)
            else:
                if not self._stop.is_set():
                    self._set(AnalysisState.ERROR, "the stream ended")
        except FrameSizeError as error:
            self._set(AnalysisState.ERROR, f"picture size changed: {self._clean(error)}")
        except ZoneError as error:
            self._set(AnalysisState.ERROR, f"zones unusable at this stream's size: {error}")
        except (VideoSourceError, av.error.FFmpegError, OSError) as error:
            self._set(AnalysisState.ERROR, f"stream failed: {self._clean(error)}")
        except Exception as error:  # a bug in one camera's analysis must not take the others down
            log.exception("analytics of %s failed", plan.camera)
            self._set(AnalysisState.ERROR, f"analysis failed: {type(error).__name__}")
        finally:
            try:
                stream.close()
            except Exception:  # closing a broken stream may fail too; nothing more to do
                log.debug("closing the stream of %s failed", plan.camera, exc_info=True)
        return analysed

    def _analyzer(self, width: int, height: int) -> Analyzer:
        plan = self.plan
        config = AnalyzerConfig(detectors=plan.detectors)
        if plan.setup.abandoned_after is not None:
            config = config.with_abandoned_after(plan.setup.abandoned_after)
        return Analyzer(width, height, config, plan.setup.setup_for(width, height))

    def _raise(self, found: AnalyticsEvent, frame: Frame, origin: float | None, *, recorded: bool = False) -> None:
        plan = self.plan
        now = utcnow()
        start = now if origin is None else datetime.fromtimestamp(origin + found.start, UTC)
        if not recorded:
            start = min(now, start)  # live: an estimate of the past, never a time still to come
        details: dict[str, Any] = {key: value for key, value in found.details.items()}
        details.update(stream_time=round(found.start, 2), frame=[frame.width, frame.height], analytics_id=found.id)
        if found.zone is not None:
            details["zone"] = found.zone
        if found.since is not None and origin is not None:
            details["since"] = iso(datetime.fromtimestamp(origin + found.since, UTC))
        draft = EventDraft(
            type=found.type.value,
            start=start,
            score=found.score,
            box=(box.x, box.y, box.w, box.h) if (box := found.box) is not None else None,
            recording_id=self._recording_at(start),
            details=details,
        )
        try:
            snapshot = alert_snapshot(frame, found.box, plan.masks, self.settings.snapshot_width)
            stored = self.events.raise_event(plan.target.source, draft, snapshot_jpeg=snapshot)
        except Exception:  # the catalog or vault is unreachable: this alert is lost, analysis goes on
            log.exception("could not store a %s event of %s", found.type.value, plan.camera)
            self._set(AnalysisState.RUNNING, f"last {found.type.value} event could not be stored")
            return
        if stored is None:
            # The basis lapsed between two reloads: the gate refused it; ask for an early reload.
            if self.on_refused is not None:
                self.on_refused()
            return
        self._set(events=self.status.events + 1)

    def _recording_at(self, moment: datetime) -> str | None:
        """The recording of this camera that holds ``moment`` (the link from the alert to the footage)."""
        source_id = self.plan.target.source.id
        try:
            with self.events.catalog.session() as session:
                found = session.execute(
                    select(Recording.id)
                    .where(Recording.source_id == source_id, Recording.start <= moment)
                    .where(or_(Recording.end.is_(None), Recording.end >= moment - RECORDING_SLACK))
                    .order_by(Recording.start.desc())
                    .limit(1)
                ).scalar()
        except Exception:
            log.exception("recording lookup for %s failed", self.plan.camera)
            return None
        return str(found) if found is not None else None

    def _clean(self, error: BaseException) -> str:
        return describe_failure(error, self.plan.target)


def describe_failure(error: BaseException, target: CameraTarget) -> str:
    """An error's first line with the stream URLs (which may hold the camera's password) replaced."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    for url, label in ((target.sub_url, "substream"), (target.main_url, "main stream")):
        if url:
            text = text.replace(url, f"{target.name} {label}")
    return text


def _names(detectors: Iterable[EventType]) -> tuple[str, ...]:
    return tuple(sorted(detector.value for detector in detectors))


# -- all cameras ------------------------------------------------------------------------------------
class LiveAnalytics:
    """Supervises one `CameraAnalysis` per camera that has a legal basis in force.

    ``cameras`` limits the worker to some cameras (spreading cameras over several workers at scale).
    ``opener`` is how streams are opened: the RTSP substream by default; tests feed files through it.
    """

    def __init__(
        self,
        vault: Vault,
        events: EventService,
        settings: Settings,
        *,
        opener: StreamOpener | None = None,
        zones: ZoneStore | None = None,
        masks: MaskStore | None = None,
        cameras: list[str] | None = None,
    ) -> None:
        self.vault = vault
        self.events = events
        self.settings = settings.events.analytics
        self.opener = opener or substream_opener(settings)
        self.zones = zones or ZoneStore(vault.catalog, events.audit)
        self.masks = masks or MaskStore(vault.catalog, events.audit)
        self.cameras = cameras
        self._workers: dict[str, CameraAnalysis] = {}
        self._off: dict[str, CameraAnalyticsStatus] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.reloads = 0

    def start(self) -> LiveAnalytics:
        if self._thread is None:
            self._thread = threading.Thread(target=self._supervise, name="vigie-analytics", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(timeout)

    def __enter__(self) -> LiveAnalytics:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def request_reload(self) -> None:
        """Reload now rather than at the next period (after a basis or zone change)."""
        self._wake.set()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                self.reload()
            except Exception:  # a catalog hiccup: try again at the next period
                log.exception("live analytics reload failed")
            self._wake.wait(self.settings.reload_seconds)
            self._wake.clear()

    def reload(self) -> None:
        """Bring the running cameras in line with the bases, zones and masks in force now."""
        targets = load_targets(self.vault, self.cameras, strict=False)
        enabled = enabled_types_by_source(self.events.legal_bases(), utcnow())
        setups = self.zones.all()
        wanted: dict[str, AnalysisPlan] = {}
        off: dict[str, CameraAnalyticsStatus] = {}
        for target in targets:
            types = enabled.get(target.source.id, set())
            if not types:
                off[target.name] = CameraAnalyticsStatus(target.name, AnalysisState.OFF, "no legal basis in force")
                continue
            setup = setups.get(target.source.id) or CameraAnalyticsSetup(source_id=target.source.id, document={})
            detectors, skipped = plan_detectors(types, setup)
            if not detectors:
                off[target.name] = CameraAnalyticsStatus(
                    target.name, AnalysisState.OFF, "; ".join(skipped) or "nothing to analyse", skipped=skipped
                )
                continue
            masks = self.masks.masks(target.name).masks
            wanted[target.name] = AnalysisPlan(target, detectors, setup, masks, skipped)
        with self._lock:
            if self._stop.is_set():
                return
            stopping = []
            for name, worker in list(self._workers.items()):
                plan = wanted.get(name)
                if plan is None or plan.signature() != worker.plan.signature() or not worker.alive:
                    worker.stop()
                    stopping.append(worker)
                    del self._workers[name]
            for worker in stopping:
                worker.join(5.0)
            for name, plan in wanted.items():
                if name not in self._workers:
                    worker = CameraAnalysis(plan, self.events, self.opener, self.settings, self.request_reload)
                    self._workers[name] = worker
                    worker.start()
            self._off = off
            self.reloads += 1

    def statuses(self) -> list[CameraAnalyticsStatus]:
        with self._lock:
            found = {name: worker.status for name, worker in self._workers.items()}
            found.update({name: status for name, status in self._off.items() if name not in found})
        return [found[name] for name in sorted(found)]

    def status(self, camera: str) -> CameraAnalyticsStatus | None:
        return next((status for status in self.statuses() if status.camera == camera), None)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._workers)
