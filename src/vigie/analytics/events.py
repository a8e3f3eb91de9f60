"""What analytics may say: the closed list of event types, and the typed result of a detection.

The list is the law's, not ours. Décret n° 2023-828 art. 3 names the only events algorithmic
video processing may signal (abandoned objects, weapons, wrong-way movement, presence in a forbidden
or sensitive zone, a person on the ground after a fall, crowd movement, excessive density, fire
starts); Vigie adds two technical health signals (camera tampering, motion) that describe the camera,
not people. `EventType` is a closed enum and `Event` refuses any other value, so no code path can
emit anything else (LAW.md F.34).

**Weapons are not provided.** Recognising a knife or a gun in CCTV footage needs a trained object
detector; no model that is accurate enough on street footage at CCTV resolution ships as an offline,
openly licensed PyPI package that we could load without network access, and colour/shape heuristics
would flood operators with false alarms (umbrellas, phones, tools). A weapon alert that is wrong most
of the time is worse than none, so the type is deliberately absent: asking for it is a clear error
(see `NOT_PROVIDED`), never a silent no-op.

No event carries anything that identifies a person: boxes, times, counts and scores only. There are
no face crops, no appearance descriptors, no embeddings and no re-identification features (décret
art. 2; LAW.md F.35). Every event is an alert awaiting a human's confirm or dismiss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

DetailValue = float | int | str


class EventType(StrEnum):
    """Every event type Vigie's analytics can emit. Closed: the law lists them (décret 2023-828 art. 3)."""

    ABANDONED_OBJECT = "abandoned_object"
    CROWD_MOVEMENT = "crowd_movement"
    CROWD_DENSITY = "crowd_density"
    ZONE_INTRUSION = "zone_intrusion"
    WRONG_WAY = "wrong_way"
    PERSON_DOWN = "person_down"
    FIRE = "fire"
    CAMERA_TAMPER = "camera_tamper"
    MOTION = "motion"


# Where each type comes from: a line of décret 2023-828 art. 3, or a health signal about the camera.
LEGAL_BASIS: Mapping[EventType, str] = MappingProxyType(
    {
        EventType.ABANDONED_OBJECT: "décret 2023-828 art. 3, 1° objets abandonnés",
        EventType.WRONG_WAY: "décret 2023-828 art. 3, 3° non-respect du sens de circulation",
        EventType.ZONE_INTRUSION: "décret 2023-828 art. 3, 4° franchissement ou présence en zone interdite ou sensible",
        EventType.PERSON_DOWN: "décret 2023-828 art. 3, 5° personne au sol après une chute",
        EventType.CROWD_MOVEMENT: "décret 2023-828 art. 3, 6° mouvement de foule",
        EventType.CROWD_DENSITY: "décret 2023-828 art. 3, 7° densité trop importante de personnes",
        EventType.FIRE: "décret 2023-828 art. 3, 8° départs de feux",
        EventType.CAMERA_TAMPER: "technical health signal (the camera is covered, blurred, moved or sprayed)",
        EventType.MOTION: "technical health signal (something changed in the picture)",
    }
)

# Listed by the law, deliberately not implemented; the reason is shown to whoever asks for it.
NOT_PROVIDED: Mapping[str, str] = MappingProxyType(
    {
        "weapon": "weapon detection (décret 2023-828 art. 3, 2°) is not provided: it needs a trained object "
        "detector, and no model accurate enough on CCTV footage ships offline in a package Vigie can load; "
        "a weapon alarm that is usually wrong would do more harm than none",
    }
)


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in pixels: top-left corner, width and height (both at least 1)."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if self.w < 1 or self.h < 1:
            raise ValueError(f"box {self.as_list()} is empty")

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_floats(cls, x: float, y: float, w: float, h: float, width: int, height: int) -> Box:
        """Round outwards and clip to a width×height image (at least one pixel)."""
        left = min(max(0, math.floor(x)), width - 1)
        top = min(max(0, math.floor(y)), height - 1)
        right = min(width, max(left + 1, math.ceil(x + w)))
        bottom = min(height, max(top + 1, math.ceil(y + h)))
        return cls(left, top, right - left, bottom - top)


@dataclass(frozen=True)
class Event:
    """One occurrence of something worth a human look.

    ``start`` is when the event is raised (seconds from the start of the stream), ``end`` when it
    stopped holding, or None while it still holds. ``box`` is in the pixels of the input video. For an
    abandoned object ``since`` is when it was left unattended. ``details`` holds a few numbers that
    explain the score (a count, a z-score, the tamper mode); never anything about who a person is.
    """

    id: int
    type: EventType
    start: float
    end: float | None
    box: Box | None
    score: float
    zone: str | None = None
    since: float | None = None
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # EventType(...) raises ValueError for anything outside the closed list, even a plain string.
        object.__setattr__(self, "type", EventType(self.type))
        if not math.isfinite(self.start) or self.start < 0:
            raise ValueError(f"event start {self.start} must be a finite, non-negative time")
        if self.end is not None and not self.end >= self.start:
            raise ValueError(f"event ends ({self.end}) before it starts ({self.start})")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"event score {self.score} must be within 0..1")
        for key, value in self.details.items():
            if not isinstance(key, str) or not isinstance(value, float | int | str):
                raise ValueError(f"event detail {key!r} must be a number or a short text")
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def ended_at(self, end: float) -> Event:
        return replace(self, end=max(end, self.start), details=dict(self.details))

    def to_json(self) -> dict[str, Any]:
        """The analyse CLI's JSON line: the contract keys first, then the optional ones."""
        document: dict[str, Any] = {
            "type": self.type.value,
            "start": round(self.start, 3),
            "end": None if self.end is None else round(self.end, 3),
            "box": None if self.box is None else self.box.as_list(),
            "score": round(self.score, 3),
        }
        if self.since is not None:
            document["since"] = round(self.since, 3)
        if self.zone is not None:
            document["zone"] = self.zone
        for key, value in self.details.items():
            document.setdefault(key, round(value, 3) if isinstance(value, float) else value)
        return document


class EventLog:
    """Hands out events for one camera: ids, box scaling to input pixels, and what changed this frame.

    Detectors work on a downscaled picture; they give boxes in those pixels and the log scales them
    to the input video's pixels, so every event leaving the analyzer speaks the input's coordinates.
    """

    def __init__(self, scale: float, width: int, height: int) -> None:
        self.scale = scale
        self.width = width
        self.height = height
        self._next_id = 1
        self.raised: list[Event] = []
        self.ended: list[Event] = []

    def begin_frame(self) -> None:
        self.raised = []
        self.ended = []

    def to_input_box(self, box: tuple[float, float, float, float] | None) -> Box | None:
        if box is None:
            return None
        x, y, w, h = box
        s = self.scale
        return Box.from_floats(x * s, y * s, w * s, h * s, self.width, self.height)

    def open(
        self,
        event_type: EventType,
        start: float,
        box: tuple[float, float, float, float] | None,
        score: float,
        *,
        zone: str | None = None,
        since: float | None = None,
        details: Mapping[str, DetailValue] | None = None,
    ) -> Event:
        event = Event(
            id=self._next_id,
            type=event_type,
            start=start,
            end=None,
            box=self.to_input_box(box),
            score=min(1.0, max(0.0, score)),
            zone=zone,
            since=since,
            details=details or {},
        )
        self._next_id += 1
        self.raised.append(event)
        return event

    def close(self, event: Event, end: float) -> Event:
        finished = event.ended_at(end)
        self.ended.append(finished)
        return finished
