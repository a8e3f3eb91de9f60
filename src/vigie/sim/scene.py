"""What a synthetic scene is (`SceneSpec`) and what really happens in it (`GroundTruth`).

Everything here is plain data: the renderer and the choreography live in sibling modules. Times are
seconds from the start of the clip and fall on frame timestamps (``frame_index / fps``), so an
evaluator can compare a detection with the truth frame by frame; the one exception is the start of
``abandoned_object``, which is a frame timestamp plus ``abandoned_after``. Pixel coordinates have
their origin at the top-left corner; a box is ``(x, y, w, h)`` with every pixel of the object inside.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import cv2
import numpy as np

Box = tuple[int, int, int, int]
Point = tuple[int, int]
Variant = Literal["day", "night", "rain"]
TamperMode = Literal["cover", "defocus"]
ZoneRole = Literal["forbidden", "one_way", "density"]
ExtraValue = float | int | str

SCENE_KINDS: tuple[str, ...] = (
    "walkers",
    "abandoned",
    "crowd_disperse",
    "crowd_thickens",
    "zone_intrusion",
    "wrong_way",
    "fall",
    "fire",
    "tamper",
)
EVENT_TYPES: tuple[str, ...] = (
    "abandoned_object",
    "crowd_movement",
    "crowd_density",
    "zone_intrusion",
    "wrong_way",
    "person_down",
    "fire",
    "camera_tamper",
)
VARIANTS: tuple[str, ...] = get_args(Variant)
TAMPER_MODES: tuple[str, ...] = get_args(TamperMode)

TRUTH_FORMAT = "vigie.sim.truth/1"

# When `SceneSpec.event_at` is left unset, the scene's event happens at this fraction of the clip:
# 5 s into the default 20 s clip for the bag drop, mid-clip for the crowd scenes, and so on.
DEFAULT_EVENT_FRACTION: dict[str, float] = {
    "walkers": 0.5,
    "abandoned": 0.25,
    "crowd_disperse": 0.5,
    "crowd_thickens": 0.5,
    "zone_intrusion": 0.4,
    "wrong_way": 0.4,
    "fall": 0.3,
    "fire": 0.3,
    "tamper": 0.5,
}

# Sensor noise (standard deviation in grey levels) when `SceneSpec.noise` is left unset.
DEFAULT_NOISE: dict[str, float] = {"day": 1.0, "rain": 2.0, "night": 6.0}


@dataclass(frozen=True)
class SceneSpec:
    """A reproducible scene: the same spec always renders the same frames, bit for bit.

    ``event_at`` moves the scene's key moment (bag drop, dispersal, fall, ignition...); unset, it is
    ``DEFAULT_EVENT_FRACTION[kind] * seconds``. ``people`` overrides the number of people the kind
    stages (walkers: 3-8 drawn from the seed; crowd_disperse: 25; crowd_thickens: threshold + 6;
    wrong_way: 6 compliant walkers). ``noise`` overrides the variant's sensor noise; 0 gives
    noise-free frames, which tests use for exact pixel comparisons.
    """

    kind: str
    width: int = 640
    height: int = 360
    fps: int = 10
    seconds: float = 20.0
    seed: int = 0
    variant: Variant = "day"
    event_at: float | None = None
    people: int | None = None
    abandoned_after: float = 10.0
    density_threshold: int = 10
    tamper_mode: TamperMode = "cover"
    noise: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCENE_KINDS:
            raise ValueError(f"unknown scene kind {self.kind!r}; expected one of {', '.join(SCENE_KINDS)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")
        if self.tamper_mode not in TAMPER_MODES:
            raise ValueError(f"unknown tamper mode {self.tamper_mode!r}")
        # yuv420p subsamples chroma 2x2, so H.264 needs even dimensions.
        if self.width < 96 or self.height < 64 or self.width % 2 or self.height % 2:
            raise ValueError(f"frame size {self.width}x{self.height} must be even and at least 96x64")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"fps {self.fps} must be between 1 and 120")
        if not (self.seconds > 0 and math.isfinite(self.seconds)):
            raise ValueError(f"seconds {self.seconds} must be positive")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if self.event_at is not None and not 0 <= self.event_at <= self.seconds:
            raise ValueError(f"event_at {self.event_at} is outside the clip (0..{self.seconds} s)")
        if self.people is not None and self.people < 1:
            raise ValueError("people must be at least 1")
        if self.abandoned_after < 0:
            raise ValueError("abandoned_after must be non-negative")
        if self.density_threshold < 1:
            raise ValueError("density_threshold must be at least 1")
        if self.noise is not None and self.noise < 0:
            raise ValueError("noise must be non-negative")

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))

    @property
    def event_time(self) -> float:
        """When the scene's key moment happens, in seconds."""
        if self.event_at is not None:
            return self.event_at
        return DEFAULT_EVENT_FRACTION[self.kind] * self.seconds

    @property
    def noise_sigma(self) -> float:
        return DEFAULT_NOISE[self.variant] if self.noise is None else self.noise

    def frame_time(self, frame_index: int) -> float:
        """Timestamp of a frame, rounded so that truth times compare equal across platforms."""
        return round(frame_index / self.fps, 6)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        try:
            return cls(**data)
        except TypeError as error:
            raise ValueError(f"not a scene spec: {error}") from error


@dataclass(frozen=True)
class TruthEvent:
    """Something a detector should report.

    ``start`` is the first frame at which the event holds; ``end`` the first frame at which it no longer
    does, or None when it lasts to the end of the clip. ``box`` locates it at ``start`` (None for
    whole-frame events such as tampering).
    """

    type: str
    start: float
    end: float | None
    box: Box | None
    extra: dict[str, ExtraValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"event ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True)
class Zone:
    """A polygon configured on the camera view (image pixels).

    ``direction`` is the allowed direction of travel, a unit vector in image coordinates, for
    ``one_way`` zones (``(1.0, 0.0)`` means left to right); None otherwise.
    """

    name: str
    role: ZoneRole
    polygon: tuple[Point, ...]
    direction: tuple[float, float] | None = None

    def contains(self, point: tuple[float, float]) -> bool:
        """Whether a point is inside the polygon or on its border."""
        contour = np.asarray(self.polygon, dtype=np.int32).reshape(-1, 1, 2)
        return bool(cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0)

    def bounding_box(self) -> Box:
        xs = [x for x, _ in self.polygon]
        ys = [y for _, y in self.polygon]
        return (min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)


def foot_point(box: Box) -> Point:
    """Bottom-centre of a person box: where zone membership is decided, as analytics usually do."""
    x, y, w, h = box
    return (x + w // 2, y + h - 1)


@dataclass(frozen=True)
class GroundTruth:
    """The exact truth of a rendered scene.

    ``frames[i]`` lists the boxes of the people visible in frame ``i`` (amodal: the full body even
    when partly hidden behind a prop or another person, clipped to the frame; carried bags excluded;
    empty while the lens is covered), and ``track_ids[i]`` their stable identities in the same order.
    Events are listed only when they start within the clip (at or before the last frame).
    """

    spec: SceneSpec
    events: list[TruthEvent]
    frames: list[list[Box]]
    track_ids: list[list[int]]
    zones: list[Zone]

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    def events_of(self, event_type: str) -> list[TruthEvent]:
        return [event for event in self.events if event.type == event_type]

    def zone(self, name: str) -> Zone:
        for zone in self.zones:
            if zone.name == name:
                return zone
        raise KeyError(name)

    def to_json(self, indent: int | None = None) -> str:
        document = {
            "format": TRUTH_FORMAT,
            "spec": self.spec.to_dict(),
            "events": [asdict(event) for event in self.events],
            "zones": [asdict(zone) for zone in self.zones],
            "frames": self.frames,
            "track_ids": self.track_ids,
        }
        return json.dumps(document, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> GroundTruth:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != TRUTH_FORMAT:
            raise ValueError(f"not a {TRUTH_FORMAT} document")
        return cls(
            spec=SceneSpec.from_dict(document["spec"]),
            events=[_event_from(item) for item in document["events"]],
            frames=[[_box_from(box) for box in boxes] for boxes in document["frames"]],
            track_ids=[[int(track) for track in tracks] for tracks in document["track_ids"]],
            zones=[_zone_from(item) for item in document["zones"]],
        )

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_json(indent=1), encoding="utf-8")
        return target

    @classmethod
    def read(cls, path: str | Path) -> GroundTruth:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _box_from(value: Any) -> Box:
    x, y, w, h = (int(v) for v in value)
    return (x, y, w, h)


def _event_from(item: dict[str, Any]) -> TruthEvent:
    end = item["end"]
    box = item["box"]
    return TruthEvent(
        type=str(item["type"]),
        start=float(item["start"]),
        end=None if end is None else float(end),
        box=None if box is None else _box_from(box),
        extra=dict(item["extra"]),
    )


def _zone_from(item: dict[str, Any]) -> Zone:
    direction = item["direction"]
    role = item["role"]
    if role not in get_args(ZoneRole):
        raise ValueError(f"unknown zone role {role!r}")
    return Zone(
        name=str(item["name"]),
        role=role,
        polygon=tuple((int(x), int(y)) for x, y in item["polygon"]),
        direction=None if direction is None else (float(direction[0]), float(direction[1])),
    )
