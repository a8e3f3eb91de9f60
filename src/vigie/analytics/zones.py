"""Per-camera zones (forbidden, density, one-way) and the two zone detectors: intrusion and wrong way.

Zones are polygons in the input video's pixels, given as JSON::

    {"zones": [
        {"name": "tracks", "kind": "forbidden", "polygon": [[0, 125], [639, 125], [639, 142], [0, 142]]},
        {"name": "corridor", "kind": "direction", "polygon": [...], "direction": [1, 0]},
        {"name": "square", "kind": "density", "polygon": [...], "max_people": 10}
     ],
     "person_height": [[row, height], [row, height]]}

``direction`` is the allowed direction of travel in image coordinates ([1, 0]: left to right).
``person_height`` (optional) fixes the perspective model with two reference points: the height in
pixels of a standing person whose feet are at that row; without it the model is learned.
A person is in a zone when their foot point (bottom centre of the blob) is inside the polygon.
Validation is strict: a malformed polygon or a point outside the picture is an error that names
the zone, never a silently ignored zone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.frames import FrameGeometry, Mask
from vigie.analytics.people import PersonScale
from vigie.analytics.persistence import Persistence, Transition
from vigie.analytics.tracking import Track

Point = tuple[float, float]


class ZoneError(ValueError):
    """The zones file is unusable; the message names the zone and the problem."""


class ZoneKind(StrEnum):
    FORBIDDEN = "forbidden"
    DENSITY = "density"
    DIRECTION = "direction"


@dataclass(frozen=True)
class Zone:
    name: str
    kind: ZoneKind
    polygon: tuple[Point, ...]  # input pixels
    direction: tuple[float, float] | None = None  # unit vector, direction zones only
    max_people: int | None = None  # density zones only (None: the camera default)


@dataclass(frozen=True)
class CameraSetup:
    """What an installer configures per camera: zones and, optionally, the perspective."""

    zones: tuple[Zone, ...] = ()
    person_height: tuple[tuple[float, float], tuple[float, float]] | None = None  # (row, height), input pixels

    def of_kind(self, kind: ZoneKind) -> tuple[Zone, ...]:
        return tuple(zone for zone in self.zones if zone.kind is kind)


_ZONE_KEYS = {"name", "kind", "polygon", "direction", "max_people"}


def load_setup(path: str | Path, width: int, height: int) -> CameraSetup:
    """Read and validate a zones file for a width×height camera."""
    location = Path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ZoneError(f"zones file {location}: cannot read it ({error.__class__.__name__})") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ZoneError(f"zones file {location}: not valid JSON ({error.msg} at line {error.lineno})") from error
    return parse_setup(document, width, height)


def parse_setup(document: Any, width: int, height: int) -> CameraSetup:
    if not isinstance(document, dict):
        raise ZoneError('zones: expected a JSON object like {"zones": [...]}')
    unknown = set(document) - {"zones", "person_height"}
    if unknown:
        raise ZoneError(f"zones: unknown key(s) {', '.join(sorted(unknown))}")
    items = document.get("zones", [])
    if not isinstance(items, list):
        raise ZoneError('zones: "zones" must be a list')
    zones: list[Zone] = []
    names: set[str] = set()
    for index, item in enumerate(items):
        zone = _parse_zone(item, index, width, height)
        if zone.name in names:
            raise ZoneError(f"zone {zone.name!r}: the name is used twice")
        names.add(zone.name)
        zones.append(zone)
    reference = document.get("person_height")
    return CameraSetup(tuple(zones), _parse_person_height(reference, height) if reference is not None else None)


def _parse_zone(item: Any, index: int, width: int, height: int) -> Zone:
    if not isinstance(item, dict):
        raise ZoneError(f"zone #{index + 1}: expected an object with name, kind and polygon")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ZoneError(f"zone #{index + 1}: a non-empty name is required")
    label = f"zone {name!r}"
    unknown = set(item) - _ZONE_KEYS
    if unknown:
        raise ZoneError(f"{label}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        kind = ZoneKind(str(item.get("kind")))
    except ValueError as error:
        raise ZoneError(f"{label}: kind must be one of {', '.join(k.value for k in ZoneKind)}") from error
    polygon = _parse_polygon(item.get("polygon"), label, width, height)
    direction = None
    if kind is ZoneKind.DIRECTION:
        direction = _parse_direction(item.get("direction"), label)
    elif "direction" in item:
        raise ZoneError(f"{label}: direction only applies to direction zones")
    max_people = None
    if "max_people" in item:
        if kind is not ZoneKind.DENSITY:
            raise ZoneError(f"{label}: max_people only applies to density zones")
        value = item["max_people"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ZoneError(f"{label}: max_people must be a whole number of at least 1")
        max_people = value
    return Zone(name.strip(), kind, polygon, direction, max_people)


def _parse_polygon(value: Any, label: str, width: int, height: int) -> tuple[Point, ...]:
    if not isinstance(value, list) or len(value) < 3:
        raise ZoneError(f"{label}: polygon must be a list of at least 3 [x, y] points")
    points: list[Point] = []
    for raw in value:
        if (
            not isinstance(raw, list | tuple)
            or len(raw) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in raw)
        ):
            raise ZoneError(f"{label}: polygon point {raw!r} is not an [x, y] pair of numbers")
        x, y = float(raw[0]), float(raw[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ZoneError(f"{label}: polygon point {raw!r} is not finite")
        if not (0 <= x <= width and 0 <= y <= height):
            raise ZoneError(f"{label}: point [{raw[0]}, {raw[1]}] is outside the {width}x{height} image")
        points.append((x, y))
    if _self_intersects(points):
        raise ZoneError(f"{label}: polygon edges cross each other")
    contour = np.asarray(points, dtype=np.float32)
    if abs(float(cv2.contourArea(contour))) < 1.0:
        raise ZoneError(f"{label}: polygon has no area (its points are on one line)")
    return tuple(points)


def _parse_direction(value: Any, label: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value)
    ):
        raise ZoneError(f"{label}: a direction zone needs direction: [dx, dy]")
    dx, dy = float(value[0]), float(value[1])
    norm = math.hypot(dx, dy)
    if not math.isfinite(norm) or norm < 1e-9:
        raise ZoneError(f"{label}: direction [{value[0]}, {value[1]}] has no length")
    return (dx / norm, dy / norm)


def _parse_person_height(value: Any, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    message = "person_height must be two [row, height] pairs on different rows, inside the image"
    if not isinstance(value, list) or len(value) != 2:
        raise ZoneError(message)
    pairs: list[tuple[float, float]] = []
    for pair in value:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in pair)
        ):
            raise ZoneError(message)
        row, size = float(pair[0]), float(pair[1])
        if not (0 <= row <= height and 0 < size <= 2 * height):
            raise ZoneError(message)
        pairs.append((row, size))
    if abs(pairs[0][0] - pairs[1][0]) < 1:
        raise ZoneError(message)
    return (pairs[0], pairs[1])


def _self_intersects(points: Sequence[Point]) -> bool:
    """Whether two non-adjacent edges of the closed polygon cross (simple O(n²): zones are small)."""
    edges = [(points[i], points[(i + 1) % len(points)]) for i in range(len(points))]
    count = len(edges)
    for i in range(count):
        for j in range(i + 1, count):
            if j == i + 1 or (i == 0 and j == count - 1):
                continue
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    def orientation(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    o1, o2, o3, o4 = orientation(a, b, c), orientation(a, b, d), orientation(c, d, a), orientation(c, d, b)
    return o1 * o2 < 0 and o3 * o4 < 0


def zone_mask(zone: Zone, geometry: FrameGeometry) -> Mask:
    """The zone rasterised at the work scale (True inside, border included)."""
    mask = np.zeros((geometry.work_height, geometry.work_width), np.uint8)
    scale = geometry.scale
    polygon = np.rint(np.asarray(zone.polygon, dtype=np.float64) / scale).astype(np.int32)
    cv2.fillPoly(mask, [polygon], 1)
    cv2.polylines(mask, [polygon], True, 1)
    result: Mask = mask.astype(bool)
    return result


def _point_in(mask: Mask, point: Point) -> bool:
    height, width = mask.shape
    x = min(width - 1, max(0, int(point[0])))
    y = min(height - 1, max(0, int(point[1])))
    return bool(mask[y, x])


def _union(boxes: Sequence[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class ZoneParams:
    """Tuning of the zone detectors (seconds; distances in person heights)."""

    min_person_height: float = 0.4  # a blob shorter than this share of a person's expected height is ignored
    intrusion_on_seconds: float = 0.4  # presence needed before the alert
    intrusion_off_seconds: float = 3.0  # zone empty this long and the occurrence ends
    wrong_way_window_seconds: float = 1.5  # how far back a person's movement is measured
    wrong_way_min_distance: float = 0.4  # movement needed, in person heights
    wrong_way_max_cosine: float = -0.5  # at most this aligned with the allowed direction (> 120° off)
    wrong_way_on_seconds: float = 0.2
    wrong_way_off_seconds: float = 3.0


class _ZoneWatch:
    def __init__(self, zone: Zone, mask: Mask, on: float, off: float) -> None:
        self.zone = zone
        self.mask = mask
        self.persistence = Persistence(on, off, max_gap=0.6)
        self.event: Event | None = None
        self.peak = 0


def _person_sized(track: Track, scale: PersonScale, share: float) -> bool:
    return track.confirmed and track.box[3] >= share * scale.height_at(track.foot[1])


def _feet(track: Track, time: float, scale: PersonScale) -> Point:
    """Where someone stands: the bottom of their blob, unless its bottom is hidden.

    Someone walking behind a bench or a low wall loses their legs: their blob gets shorter relative
    to the perspective model than it was a moment ago, while the head stays where it was. Then the
    feet are put where that person's usual height (relative to the model) puts them below the head,
    so that someone behind a bench is not "standing" on the rails beyond it.
    """
    x, bottom = track.foot_now(time)
    height = track.box[3]
    ratios = [box[3] / scale.height_at(box[1] + box[3]) for _, box in track.history]
    if len(ratios) < 3:
        return (x, bottom)
    usual = sorted(ratios)[(3 * len(ratios)) // 4]
    if height / scale.height_at(bottom) >= 0.7 * usual:
        return (x, bottom)
    top = bottom - height
    # Solve feet - usual * (slope * feet + offset) = top.
    feet = (top + usual * scale.offset) / max(1.0 - usual * scale.slope, 0.05)
    return (x, max(bottom, feet))


def _visible(track: Track) -> bool:
    """Seen this frame, or hidden inside someone else's blob (then its predicted position counts)."""
    return not track.coasting or track.merged


class ZoneIntrusionDetector:
    """Someone's feet inside a forbidden zone: one occurrence per zone while it is occupied."""

    def __init__(self, zones: Sequence[Zone], geometry: FrameGeometry, params: ZoneParams) -> None:
        self.params = params
        self.watches = [
            _ZoneWatch(zone, zone_mask(zone, geometry), params.intrusion_on_seconds, params.intrusion_off_seconds)
            for zone in zones
        ]

    def update(self, time: float, tracks: Sequence[Track], scale: PersonScale, log: EventLog) -> None:
        for watch in self.watches:
            share = self.params.min_person_height
            inside = [
                t
                for t in tracks
                if _visible(t) and _person_sized(t, scale, share) and _point_in(watch.mask, _feet(t, time, scale))
            ]
            transition = watch.persistence.update(time, bool(inside))
            if inside:
                watch.peak = max(watch.peak, len(inside))
            if transition is Transition.RAISE:
                watch.event = log.open(
                    EventType.ZONE_INTRUSION,
                    time,
                    _union([t.box for t in inside]),
                    0.9,
                    zone=watch.zone.name,
                    details={"people": len(inside)},
                )
            elif transition is Transition.END and watch.event is not None:
                log.close(watch.event, time)
                watch.event = None
                watch.peak = 0


class WrongWayDetector:
    """People in a one-way zone moving against its allowed direction for a minimum distance."""

    def __init__(self, zones: Sequence[Zone], geometry: FrameGeometry, params: ZoneParams) -> None:
        self.params = params
        self.watches = [
            _ZoneWatch(zone, zone_mask(zone, geometry), params.wrong_way_on_seconds, params.wrong_way_off_seconds)
            for zone in zones
        ]

    def update(self, time: float, tracks: Sequence[Track], scale: PersonScale, log: EventLog) -> None:
        p = self.params
        for watch in self.watches:
            assert watch.zone.direction is not None
            allowed_x, allowed_y = watch.zone.direction
            offenders: list[tuple[Track, float]] = []
            for track in tracks:
                if not _visible(track) or not _person_sized(track, scale, p.min_person_height):
                    continue
                foot = _feet(track, time, scale)
                if not _point_in(watch.mask, foot):
                    continue
                before = track.foot_at(p.wrong_way_window_seconds, time)
                if before is None:
                    continue
                dx, dy = foot[0] - before[0], foot[1] - before[1]
                travelled = math.hypot(dx, dy)
                if travelled < p.wrong_way_min_distance * scale.height_at(foot[1]):
                    continue
                cosine = (dx * allowed_x + dy * allowed_y) / travelled
                if cosine <= p.wrong_way_max_cosine:
                    offenders.append((track, cosine))
            transition = watch.persistence.update(time, bool(offenders))
            if transition is Transition.RAISE:
                worst = min(cosine for _, cosine in offenders)
                watch.event = log.open(
                    EventType.WRONG_WAY,
                    time,
                    _union([t.box for t, _ in offenders]),
                    min(1.0, 0.5 + 0.5 * -worst),
                    zone=watch.zone.name,
                    details={"people": len(offenders), "cosine": round(worst, 3)},
                )
            elif transition is Transition.END and watch.event is not None:
                log.close(watch.event, time)
                watch.event = None
