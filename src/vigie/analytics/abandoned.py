"""Abandoned objects: something smaller than a person arrives, stops, and is left unattended.

Built on the dual-rate background (`background.StaticScene`). At each of its updates:

1. Foreground regions (differing from the empty scene) that are mostly *static* (matching the recent
   picture) are candidates. A candidate must be object-sized for its place in the picture: shorter
   than ``max_height`` person heights, within an area range. A person standing still is as tall as
   a person, and the region of someone standing next to their bag includes them, so neither counts;
   the bag becomes a candidate when its owner steps away from it.
2. Each candidate is checked for being a *ghost* (something that left, not something that arrived)
   by comparing edges, and ghosts are erased from the long-term background.
3. An object is *attended* while someone stands within ``attend_radius`` of it (passers-by do not
   count), or while one of its *owners* (people who were at it just before it settled) is still in
   view within ``owner_radius``.
   The unattended clock restarts whenever it is attended; when it reaches ``abandoned_after`` the
   alert is raised with ``since`` = when it was left. The event ends when the object is taken away.

A passer-by hiding the object does not reset anything (the region is then "moving", not gone).
Objects that stay attended for very long (a stall, a parked bike with its owner nearby) eventually
become part of the background without an alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.background import StaticScene, StaticSnapshot
from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.people import PersonScale
from vigie.analytics.tracking import Track

BoxI = tuple[int, int, int, int]


@dataclass(frozen=True)
class AbandonedParams:
    """Tuning of the abandoned-object detector (seconds; sizes in expected person heights)."""

    abandoned_after: float = 60.0  # unattended this long before the alert (`--abandoned-after`)
    min_static_seconds: float = 1.5  # a candidate must stay put this long before it is an object
    static_share: float = 0.6  # share of a region's pixels that must be static
    max_height: float = 0.75  # taller than this: a person or something bigger, not a left object
    max_width: float = 1.0
    max_aspect: float = 3.0  # width / height; longer is a person lying down or a shadow, not a bag
    min_area: float = 0.012  # person heights²; smaller is litter or noise
    max_area: float = 0.6
    attend_radius: float = 1.5  # someone standing this close (person heights, on the ground) attends it
    standing_speed: float = 0.3  # person heights/s: slower counts as standing by it (passers-by do not attend)
    owner_radius: float = 4.0  # its owner attends it from this far while still in view
    owner_window_seconds: float = 8.0  # who was at it this long before it settled counts as an owner
    occlusion_grace_seconds: float = 20.0  # hidden behind passers-by this long and it is still there
    absorb_after_seconds: float = 600.0  # settled things that never raised an alert join the background


@dataclass
class StaticObject:
    id: int
    box: BoxI
    first_static: float
    last_seen: float
    unattended_since: float
    owners: set[int] = field(default_factory=set)
    real: bool | None = None  # None until the edge test decides object or ghost
    event: Event | None = None


class AbandonedObjectDetector:
    def __init__(self, scene: StaticScene, work_width: int, params: AbandonedParams) -> None:
        self.scene = scene
        self.params = params
        self.work_width = work_width
        self.objects: list[StaticObject] = []
        self._next_id = 1
        self._close = np.ones((3, 3), np.uint8)

    def reset(self, time: float, log: EventLog) -> None:
        for item in self.objects:
            if item.event is not None:
                log.close(item.event, time)
        self.objects = []

    def update(self, snapshot: StaticSnapshot, tracks: Sequence[Track], scale: PersonScale, log: EventLog) -> None:
        p = self.params
        now = snapshot.time
        seen: set[int] = set()
        if snapshot.static.any():
            foreground = cv2.morphologyEx(snapshot.foreground.astype(np.uint8), cv2.MORPH_CLOSE, self._close)
            static = snapshot.static.astype(np.uint8)
            contours, _ = cv2.findContours(foreground, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                x, y, w, h = cv2.boundingRect(contour)
                local = foreground[y : y + h, x : x + w]
                area = cv2.countNonZero(local)
                if area < 4:
                    continue
                still = cv2.countNonZero(cv2.bitwise_and(static[y : y + h, x : x + w], local))
                if still < p.static_share * area:
                    continue
                self._candidate(now, (x, y, w, h), local > 0, area, still, tracks, scale, seen)
        self._follow_up(now, seen, snapshot, tracks, scale, log)

    def _candidate(
        self,
        now: float,
        box: BoxI,
        local: npt.NDArray[np.bool_],
        area: int,
        still: int,
        tracks: Sequence[Track],
        scale: PersonScale,
        seen: set[int],
    ) -> None:
        """One region that arrived and stopped: an object to follow, a ghost to erase, or neither."""
        p = self.params
        _, y, w, h = box
        person = scale.height_at(y + h)
        sized = (
            h <= p.max_height * person
            and w <= p.max_width * person
            and w <= p.max_aspect * h
            and p.min_area * person * person <= area <= p.max_area * person * person
        )
        if not sized:
            # A person standing still or something big; if it is the ghost of something that left
            # the empty scene, erase it there.
            if still >= 0.8 * area and self.scene.is_ghost(self._full(local, box), box):
                self.scene.absorb(self._full(local, box))
            return
        item = self._match(box)
        if item is None:
            item = StaticObject(self._next_id, box, now, now, now, owners=_owners(box, tracks, scale, self))
            self._next_id += 1
            self.objects.append(item)
        item.box = box
        item.last_seen = now
        seen.add(item.id)
        if item.real is None and now - item.first_static >= p.min_static_seconds:
            region = self._full(local, box)
            verdict = self.scene.is_ghost(region, box)
            if verdict is True:
                self.scene.absorb(region)
                item.real = False
            elif verdict is False:
                item.real = True

    def _full(self, local: npt.NDArray[np.bool_], box: BoxI) -> npt.NDArray[np.bool_]:
        x, y, w, h = box
        region = np.zeros(self.scene.shape, bool)
        region[y : y + h, x : x + w] = local
        return region

    def _follow_up(
        self,
        now: float,
        seen: set[int],
        snapshot: StaticSnapshot,
        tracks: Sequence[Track],
        scale: PersonScale,
        log: EventLog,
    ) -> None:
        p = self.params
        alive = {track.id: track for track in tracks if track.confirmed}
        kept: list[StaticObject] = []
        for item in self.objects:
            if item.real is False:
                continue
            if item.id not in seen:
                x, y, w, h = item.box
                hidden = snapshot.moving[y : y + h, x : x + w].mean() > 0.3
                if hidden and now - item.last_seen <= p.occlusion_grace_seconds:
                    kept.append(item)
                    continue
                if item.event is not None:
                    log.close(item.event, item.last_seen if not hidden else now)
                continue
            if self._attended(item, alive, scale):
                item.unattended_since = now
            if item.real and item.event is None and now - item.unattended_since >= p.abandoned_after - 1e-6:
                left_for = now - item.unattended_since
                item.event = log.open(
                    EventType.ABANDONED_OBJECT,
                    now,
                    item.box,
                    min(1.0, 0.6 + 0.4 * min(1.0, left_for / max(p.abandoned_after, 1.0))),
                    since=item.unattended_since,
                    details={"static_seconds": round(now - item.first_static, 1)},
                )
            if item.event is None and now - item.first_static > p.absorb_after_seconds:
                x, y, w, h = item.box
                region = np.zeros(snapshot.static.shape, bool)
                region[y : y + h, x : x + w] = snapshot.foreground[y : y + h, x : x + w]
                self.scene.absorb(region)
                continue
            kept.append(item)
        self.objects = kept

    def _match(self, box: BoxI) -> StaticObject | None:
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        for item in self.objects:
            x, y, w, h = item.box
            if x - 2 <= cx <= x + w + 2 and y - 2 <= cy <= y + h + 2:
                return item
        return None

    def _attended(self, item: StaticObject, alive: dict[int, Track], scale: PersonScale) -> bool:
        p = self.params
        x, y, w, h = item.box
        foot = (x + w / 2, float(y + h))
        for track in alive.values():
            if track.box[3] < 0.5 * scale.height_at(track.foot[1]) or _on_object(item.box, track.box):
                continue  # the object's own blob, or something too small to be a person
            distance = scale.ground_distance(track.foot, foot, self.work_width)
            if track.id in item.owners and distance <= p.owner_radius:
                return True
            standing = math.hypot(*track.velocity) <= p.standing_speed * scale.height_at(track.foot[1])
            if standing and distance <= p.attend_radius:
                return True
        return False


def _on_object(item: BoxI, track: tuple[float, float, float, float]) -> bool:
    """Whether a track is the object's own blob (its feet on the object, or mostly overlapping it)."""
    x, y, w, h = item
    foot_x, foot_y = track[0] + track[2] / 2, track[1] + track[3]
    if x - 3 <= foot_x <= x + w + 3 and y - 3 <= foot_y <= y + h + 3:
        return True
    x0, y0 = max(x, track[0]), max(y, track[1])
    x1, y1 = min(x + w, track[0] + track[2]), min(y + h, track[1] + track[3])
    return x1 > x0 and y1 > y0 and (x1 - x0) * (y1 - y0) > 0.5 * w * h


def _owners(box: BoxI, tracks: Sequence[Track], scale: PersonScale, detector: AbandonedObjectDetector) -> set[int]:
    """People whose feet were close to the object shortly before it settled."""
    x, y, w, h = box
    foot = (x + w / 2, float(y + h))
    owners: set[int] = set()
    for track in tracks:
        if not track.confirmed:
            continue
        for _, past in track.history:
            px, py, pw, ph = past
            if ph < 0.5 * scale.height_at(py + ph):
                continue
            distance = scale.ground_distance((px + pw / 2, py + ph), foot, detector.work_width)
            if distance <= detector.params.attend_radius:
                owners.add(track.id)
                break
    return owners
