"""One `Analyzer` per camera: frames in, typed events out.

Per frame (everything on downscaled pictures, heavier steps only when something calls for them):

1. downscale the luma plane to the work (~320 px wide) and small (~100 px high) pictures;
2. measure conditions (noise, night, rain) and enhance the picture (`enhance`);
3. camera tampering (`tamper`): while the view is lost, every other detector is suspended;
4. the motion gate (`motion`); a global change (infrared switch, lightning) recalibrates every
   background instead of raising anything;
5. only if something moves (or is being tracked): blobs and tracks (`people`, `tracking`), then
   zones, wrong way and falls;
6. a couple of times per second: the dual-rate background for abandoned objects and density (when
   nothing moved since the last update, only the clocks advance);
7. only with enough motion: dense optical flow for crowd movement; only with motion: fire colours.

The analyzer knows nothing of databases, buses or the web: `process` returns a `FrameResult` with
the events raised and ended on that frame. `analyse_video` runs a whole file (the offline CLI).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vigie.analytics.abandoned import AbandonedObjectDetector, AbandonedParams
from vigie.analytics.background import StaticScene, StaticSceneParams, StaticSnapshot, outline_verdict
from vigie.analytics.crowd import CrowdMovementDetector, CrowdParams, DensityDetector
from vigie.analytics.enhance import ConditionMonitor, Conditions, EnhanceParams
from vigie.analytics.events import NOT_PROVIDED, Event, EventLog, EventType
from vigie.analytics.fall import FallDetector, FallParams
from vigie.analytics.fire import FireDetector, FireParams
from vigie.analytics.frames import DEFAULT_WORK_WIDTH, Frame, FrameGeometry, GreyImage, downscale, small_chroma
from vigie.analytics.motion import MotionDetector, MotionEventDetector, MotionParams
from vigie.analytics.people import Blob, PeopleParams, PersonScale, extract_blobs
from vigie.analytics.source import VideoSource
from vigie.analytics.tamper import TamperDetector, TamperParams
from vigie.analytics.tracking import Track, Tracker, TrackerParams
from vigie.analytics.zones import CameraSetup, WrongWayDetector, ZoneIntrusionDetector, ZoneKind, ZoneParams

if TYPE_CHECKING:
    from vigie.config import AnalyticsSettings

DEFAULT_DETECTORS: frozenset[EventType] = frozenset(
    {
        EventType.ABANDONED_OBJECT,
        EventType.CROWD_MOVEMENT,
        EventType.CROWD_DENSITY,
        EventType.PERSON_DOWN,
        EventType.FIRE,
        EventType.CAMERA_TAMPER,
    }
)
# Detectors that need zones of a given kind, and are switched on by default when such zones exist.
ZONE_DETECTORS: dict[EventType, ZoneKind] = {
    EventType.ZONE_INTRUSION: ZoneKind.FORBIDDEN,
    EventType.WRONG_WAY: ZoneKind.DIRECTION,
}
# Even when nothing moves, the static background is refreshed this often (slow light changes).
STATIC_REFRESH_SECONDS = 10.0


def parse_detectors(text: str | None, setup: CameraSetup | None = None) -> frozenset[EventType]:
    """Detector names from a comma-separated list (None: the defaults, plus zone ones with zones)."""
    setup = setup or CameraSetup()
    if text is None:
        chosen = set(DEFAULT_DETECTORS)
        chosen.update(name for name, kind in ZONE_DETECTORS.items() if setup.of_kind(kind))
        return frozenset(chosen)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("--detectors is empty; name at least one detector")
    chosen = set()
    for name in names:
        if name == "all":
            chosen.update(DEFAULT_DETECTORS)
            chosen.update(name for name, kind in ZONE_DETECTORS.items() if setup.of_kind(kind))
            continue
        if name in NOT_PROVIDED:
            raise ValueError(NOT_PROVIDED[name])
        try:
            chosen.add(EventType(name))
        except ValueError:
            valid = ", ".join(event.value for event in EventType)
            raise ValueError(f"unknown detector {name!r}; choose from: {valid}") from None
    for name, kind in ZONE_DETECTORS.items():
        if name in chosen and not setup.of_kind(kind):
            raise ValueError(f"{name.value} needs at least one {kind.value} zone (--zones FILE.json)")
    return frozenset(chosen)


@dataclass(frozen=True)
class AnalyzerConfig:
    """Everything tunable about one camera's analysis. Defaults work on ordinary street CCTV."""

    detectors: frozenset[EventType] = DEFAULT_DETECTORS
    work_width: int = DEFAULT_WORK_WIDTH
    default_max_people: int = 30  # density alert over the whole view when no density zone is set
    motion: MotionParams = field(default_factory=MotionParams)
    enhance: EnhanceParams = field(default_factory=EnhanceParams)
    people: PeopleParams = field(default_factory=PeopleParams)
    tracker: TrackerParams = field(default_factory=TrackerParams)
    static: StaticSceneParams = field(default_factory=StaticSceneParams)
    abandoned: AbandonedParams = field(default_factory=AbandonedParams)
    crowd: CrowdParams = field(default_factory=CrowdParams)
    zones: ZoneParams = field(default_factory=ZoneParams)
    fall: FallParams = field(default_factory=FallParams)
    fire: FireParams = field(default_factory=FireParams)
    tamper: TamperParams = field(default_factory=TamperParams)

    def __post_init__(self) -> None:
        for name in self.detectors:
            EventType(name)  # the closed list, again: nothing else can be configured
        if self.default_max_people < 1:
            raise ValueError("default_max_people must be at least 1")
        if not (self.abandoned.abandoned_after >= 0 and math.isfinite(self.abandoned.abandoned_after)):
            raise ValueError("abandoned_after must be a non-negative number of seconds")

    @classmethod
    def from_settings(cls, settings: AnalyticsSettings, setup: CameraSetup | None = None) -> AnalyzerConfig:
        """The configuration an installation's settings describe (``Settings.analytics``)."""
        base = cls(work_width=settings.work_width, default_max_people=settings.default_max_people)
        detectors = set(parse_detectors(",".join(settings.detectors), CameraSetup()))
        detectors.update(name for name, kind in ZONE_DETECTORS.items() if setup is not None and setup.of_kind(kind))
        return replace(base, detectors=frozenset(detectors)).with_abandoned_after(settings.abandoned_after_seconds)

    def with_abandoned_after(self, seconds: float) -> AnalyzerConfig:
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"--abandoned-after {seconds} must be a non-negative number of seconds")
        return replace(self, abandoned=replace(self.abandoned, abandoned_after=seconds))


@dataclass(frozen=True)
class FrameResult:
    """What one frame changed: events raised, events ended (same ids, with ``end`` set)."""

    time: float
    raised: tuple[Event, ...]
    ended: tuple[Event, ...]
    motion: float  # share of the small picture that changed
    recalibrated: bool  # a global change reset the backgrounds (no alarm)
    tampered: bool  # the view is lost; other detectors are suspended


class Analyzer:
    """Per-camera analysis state. Feed it frames of one size, in time order."""

    def __init__(
        self, width: int, height: int, config: AnalyzerConfig | None = None, setup: CameraSetup | None = None
    ) -> None:
        self.config = config or AnalyzerConfig()
        self.setup = setup or CameraSetup()
        c, detectors = self.config, self.config.detectors
        for name, kind in ZONE_DETECTORS.items():
            if name in detectors and not self.setup.of_kind(kind):
                raise ValueError(f"{name.value} needs at least one {kind.value} zone")
        self.geometry = geometry = FrameGeometry.for_input(width, height, c.work_width)
        self.log = EventLog(geometry.scale, width, height)
        reference = None
        if self.setup.person_height is not None:
            (row_a, height_a), (row_b, height_b) = self.setup.person_height
            s = geometry.scale
            reference = ((row_a / s, height_a / s), (row_b / s, height_b / s))
        self.scale = PersonScale(geometry.work_height, c.people, reference)
        self.monitor = ConditionMonitor(c.enhance)
        self.motion = MotionDetector(geometry.small_size, c.motion)
        self.tracker = Tracker(self.scale, c.tracker)
        wants = detectors.__contains__
        self.motion_events = MotionEventDetector(geometry.small_scale) if wants(EventType.MOTION) else None
        self.tamper = TamperDetector(geometry.flow_size, c.tamper) if wants(EventType.CAMERA_TAMPER) else None
        needs_static = wants(EventType.ABANDONED_OBJECT) or wants(EventType.CROWD_DENSITY)
        self.static = StaticScene(geometry.work_size, c.static) if needs_static else None
        self.abandoned = (
            AbandonedObjectDetector(self.static, geometry.work_width, c.abandoned)
            if self.static is not None and wants(EventType.ABANDONED_OBJECT)
            else None
        )
        self.density = (
            DensityDetector(self.setup.of_kind(ZoneKind.DENSITY), c.default_max_people, geometry, c.crowd)
            if wants(EventType.CROWD_DENSITY)
            else None
        )
        self.crowd_movement = CrowdMovementDetector(geometry, c.crowd) if wants(EventType.CROWD_MOVEMENT) else None
        self.intrusion = (
            ZoneIntrusionDetector(self.setup.of_kind(ZoneKind.FORBIDDEN), geometry, c.zones)
            if wants(EventType.ZONE_INTRUSION)
            else None
        )
        self.wrong_way = (
            WrongWayDetector(self.setup.of_kind(ZoneKind.DIRECTION), geometry, c.zones)
            if wants(EventType.WRONG_WAY)
            else None
        )
        self.fall = FallDetector(geometry.work_size, c.fall) if wants(EventType.PERSON_DOWN) else None
        self.fire = FireDetector(geometry.small_scale, c.fire) if wants(EventType.FIRE) else None
        # Blobs and tracks serve every detector about people (and teach the perspective model).
        self._needs_tracks = any(
            d is not None
            for d in (self.abandoned, self.intrusion, self.wrong_way, self.fall, self.density, self.crowd_movement)
        )
        self._close_kernel = np.ones((5, 3), np.uint8)  # joins a head or a leg to its body (5 rows, 3 columns)
        self._last_time: float | None = None
        self._motion_mask: GreyImage | None = None
        self._view_lost = False
        self._moved_since_static = True
        self._last_static_refresh: float | None = None
        self._snapshot: StaticSnapshot | None = None
        self.open_events: dict[int, Event] = {}

    def process(self, frame: Frame) -> FrameResult:
        geometry = self.geometry
        geometry.check(frame)
        now = frame.time
        if not math.isfinite(now) or now < 0:
            raise ValueError(f"frame time {now} must be a finite, non-negative number of seconds")
        if self._last_time is not None and now < self._last_time - 1e-9:
            raise ValueError(
                f"frame at {now:.3f} s arrives after one at {self._last_time:.3f} s: frames must be in time order"
            )
        self._last_time = now
        log = self.log
        log.begin_frame()

        raw_work = downscale(frame.luma, geometry.work_size)
        raw_small = downscale(raw_work, geometry.small_size)
        self.monitor.update(now, raw_work, raw_small)
        work = self.monitor.enhance(raw_work)
        small = raw_small if work is raw_work else downscale(work, geometry.small_size)
        still = None if self._motion_mask is None else self._motion_mask == 0
        conditions = self.monitor.observe_enhanced(small, still)

        if self.tamper is not None:
            if self.tamper.update(raw_small, now, log):
                self._view_lost = True
                self._motion_mask = None
                return self._result(now, 0.0, False, True)
            if self._view_lost:
                self._view_lost = False
                self._recalibrate(now, work, small, reset_motion=True)
        if self.monitor.switched:
            self._recalibrate(now, work, small, reset_motion=True)

        motion = self.motion.update(small, now, conditions)
        self._motion_mask = motion.mask
        if motion.recalibrated:
            self._recalibrate(now, work, small, reset_motion=False)
        if motion.active:
            self._moved_since_static = True
        if self.motion_events is not None:
            self.motion_events.update(now, motion, log)

        tracks: list[Track] = self.tracker.tracks
        blobs: list[Blob] = []
        if self._needs_tracks and (motion.active or tracks):
            if motion.active:
                blobs = extract_blobs(
                    motion.mask, geometry.small_scale, self.scale, self.config.people, self._close_kernel
                )
            tracks = self.tracker.update(blobs, now)
            self._learn_scale(tracks)

        if self.static is not None:
            self._update_static(now, work, small, conditions, tracks)
        if self.crowd_movement is not None:
            groups = sum(1 for track in tracks if not track.coasting)
            self.crowd_movement.update(small, motion.mask, motion.changed_fraction, groups, now, self.scale, log)
        if self.intrusion is not None:
            self.intrusion.update(now, tracks, self.scale, log)
        if self.wrong_way is not None:
            self.wrong_way.update(now, tracks, self.scale, log)
        if self.fall is not None:
            self.fall.update(now, tracks, self.scale, log, lambda box: self._really_there(box, small, conditions))
        if self.fire is not None and (motion.active or self.fire.candidates):
            self.fire.update(now, raw_small, small_chroma(frame, geometry), motion.active, conditions.noise, log)
        return self._result(now, motion.changed_fraction, motion.recalibrated, False)

    def _update_static(
        self, now: float, work: GreyImage, small: GreyImage, conditions: Conditions, tracks: list[Track]
    ) -> None:
        assert self.static is not None
        if not self.static.due(now):
            return
        refresh_due = self._last_static_refresh is None or now - self._last_static_refresh >= STATIC_REFRESH_SECONDS
        if self._moved_since_static or refresh_due or self._snapshot is None:
            snapshot = self.static.update(work, now, conditions)
            self._last_static_refresh = now
            self._moved_since_static = False
            if snapshot is None:
                return
            self._snapshot = snapshot
        else:
            # Nothing moved since the last update: the masks still hold, only the clocks advance.
            self.static.mark_updated(now)
            snapshot = replace(self._snapshot, time=now, relearned=False)
            self._snapshot = snapshot
        if snapshot.relearned:
            if self.abandoned is not None:
                self.abandoned.reset(now, self.log)
            return
        if self.abandoned is not None:
            self.abandoned.update(snapshot, tracks, self.scale, self.log)
        if self.density is not None:
            empty = self.static.long_term()
            if empty is not None:
                threshold = conditions.threshold(self.config.motion.threshold, self.config.motion.noise_factor)
                people = self.density.people_mask(small, empty, threshold)
                self.density.learn_fill(people, [t.box for t in tracks if self._isolated_person(t, tracks)])
                counts = self.density.count(people, self.scale)
                self.density.update(now, counts, self.scale.trusted, self.log)

    def _really_there(self, box: tuple[float, float, float, float], small: GreyImage, conditions: Conditions) -> bool:
        """Whether a blob is something in the current picture rather than a ghost of the background."""
        background = self.motion.background
        if background is None:
            return True
        s = self.geometry.small_scale
        x, y = int(box[0] / s), int(box[1] / s)
        w, h = max(1, math.ceil(box[2] / s)), max(1, math.ceil(box[3] / s))
        threshold = conditions.threshold(self.config.motion.threshold, self.config.motion.noise_factor)
        current = cv2.GaussianBlur(small, (3, 3), 0)  # blurred as the motion background is
        region = np.zeros(small.shape, bool)
        region[y : y + h, x : x + w] = (
            cv2.absdiff(current[y : y + h, x : x + w], background[y : y + h, x : x + w]) > threshold
        )
        return outline_verdict(current, background, region, (x, y, w, h)) is False

    def _learn_scale(self, tracks: list[Track]) -> None:
        if self.scale.configured:
            return
        for track in tracks:
            if not track.confirmed or track.coasting or track.merged or track.shared:
                continue
            _, y, w, h = track.box
            if h >= 1.2 * w and math.hypot(*track.velocity) >= 0.15 * h:
                self.scale.observe_any(y + h, h)
            if self._isolated_person(track, tracks):
                self.scale.observe(y + h, h, track.area)

    def _isolated_person(self, track: Track, tracks: list[Track]) -> bool:
        """A clean sample of one person: upright, moving, whole (not cut by the border), alone."""
        if not track.confirmed or track.coasting or track.merged or track.shared:
            return False
        width, height = self.geometry.work_size
        x, y, w, h = track.box
        if x < 2 or y < 2 or x + w > width - 2 or y + h > height - 2 or w <= 0:
            return False
        if not 1.6 <= h / w <= 5.0 or math.hypot(*track.velocity) < 0.15 * h:
            return False
        # A steady height over the last second: one whole person, not fragments coming and going.
        recent = [box[3] for when, box in track.history if when >= track.last_seen - 1.0]
        if len(recent) < 4 or max(recent) > 1.3 * min(recent):
            return False
        return not any(
            other is not track and not other.coasting and _near(other.box, track.box, 0.3 * h) for other in tracks
        )

    def _recalibrate(self, now: float, work: GreyImage, small: GreyImage, *, reset_motion: bool) -> None:
        """The whole picture changed (IR switch, lightning, a restored view): relearn, do not alarm."""
        if reset_motion:
            self.motion.reset(small, now)
        self.tracker.reset(now)
        if self.static is not None:
            self.static.reset(work, now)
            self._snapshot = None
        for detector in (self.abandoned, self.density, self.crowd_movement, self.fall, self.fire):
            if detector is not None:
                detector.reset(now, self.log)

    def _result(self, now: float, motion: float, recalibrated: bool, tampered: bool) -> FrameResult:
        for event in self.log.raised:
            self.open_events[event.id] = event
        for event in self.log.ended:
            self.open_events.pop(event.id, None)
        return FrameResult(now, tuple(self.log.raised), tuple(self.log.ended), motion, recalibrated, tampered)


def _near(a: tuple[float, float, float, float], b: tuple[float, float, float, float], margin: float) -> bool:
    return (
        a[0] - margin < b[0] + b[2]
        and b[0] - margin < a[0] + a[2]
        and a[1] - margin < b[1] + b[3]
        and b[1] - margin < a[1] + a[3]
    )


@dataclass(frozen=True)
class AnalysisReport:
    """The result of analysing a whole file: every event, with ``end`` set when it ended in the clip."""

    events: tuple[Event, ...]
    width: int
    height: int
    frames_analysed: int
    frames_decoded: int
    duration: float
    decode_errors: int


def analyse_video(
    location: str | Path,
    *,
    config: AnalyzerConfig | None = None,
    setup: CameraSetup | Callable[[int, int], CameraSetup] | None = None,
    fps: float | None = 5.0,
    progress: Callable[[float], None] | None = None,
) -> AnalysisReport:
    """Run an analyzer over a file (or stream URL) until it ends.

    ``setup`` may be a function of the video's width and height, so that zones are validated
    against the real picture size (a zone outside the image is an error before anything runs).
    """
    with VideoSource.open(location, fps=fps) as source:
        resolved = setup(source.width, source.height) if callable(setup) else setup
        analyzer = Analyzer(source.width, source.height, config, resolved)
        return run_analyzer(analyzer, source, progress)


def run_analyzer(
    analyzer: Analyzer, frames: Iterable[Frame] | VideoSource, progress: Callable[[float], None] | None = None
) -> AnalysisReport:
    events: dict[int, Event] = {}
    analysed = 0
    last_time = 0.0
    for frame in frames:
        result = analyzer.process(frame)
        analysed += 1
        last_time = frame.time
        for event in result.raised:
            events[event.id] = event
        for event in result.ended:
            events[event.id] = event
        if progress is not None:
            progress(frame.time)
    ordered = tuple(sorted(events.values(), key=lambda event: (event.start, event.id)))
    decoded = frames.frames_decoded if isinstance(frames, VideoSource) else analysed
    errors = frames.decode_errors if isinstance(frames, VideoSource) else 0
    return AnalysisReport(
        ordered, analyzer.geometry.input_width, analyzer.geometry.input_height, analysed, decoded, last_time, errors
    )
