"""A small blob tracker: constant-velocity prediction and greedy nearest-centre association.

Tracks carry only geometry (boxes over time, velocity): no appearance, so a track can never be
used to recognise or re-identify anyone; a track id means nothing beyond "the same blob as a moment
ago" and dies with the blob. When two people merge into one blob, the one that did not get the blob
coasts on its prediction for a while and is picked up again when they separate.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from vigie.analytics.people import Blob, PersonScale

BoxF = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackerParams:
    """Tuning of the tracker (times in seconds, distances in box sizes)."""

    gate: float = 0.9  # farthest match, in sizes of the larger of the two boxes
    size_change_cost: float = 0.5  # cost per unit of |log(height ratio)|: a person does not become a bag
    confirm_hits: int = 3  # matched frames before a track counts
    max_coast_seconds: float = 1.0  # unmatched this long and the track ends
    merged_coast_seconds: float = 2.5  # ... or this long when hidden inside another blob
    history_seconds: float = 12.0
    velocity_smoothing: float = 0.5  # weight of the newest velocity measurement


@dataclass
class Track:
    id: int
    box: BoxF
    first_seen: float
    last_seen: float
    area: float
    velocity: tuple[float, float] = (0.0, 0.0)  # centre, work pixels per second
    hits: int = 1
    confirmed: bool = False
    coasting: bool = False  # not matched this frame (box is a prediction)
    merged: bool = False  # hidden inside another track's blob
    shared: bool = False  # its blob this frame also covers a coasting neighbour
    history: deque[tuple[float, BoxF]] = field(default_factory=lambda: deque(maxlen=120))

    @property
    def foot(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return (x + w / 2, y + h)

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)

    def foot_now(self, time: float) -> tuple[float, float]:
        """Where the feet are now: observed, or predicted while the track is hidden in a group."""
        if not self.coasting:
            return self.foot
        x, y, w, h = self.predicted(time)
        return (x + w / 2, y + h)

    def predicted(self, time: float) -> BoxF:
        dt = max(0.0, time - self.last_seen)
        x, y, w, h = self.box
        return (x + self.velocity[0] * dt, y + self.velocity[1] * dt, w, h)

    def foot_at(self, seconds_ago: float, now: float) -> tuple[float, float] | None:
        """Foot point as observed at least ``seconds_ago`` before ``now`` (oldest kept if shorter)."""
        chosen: BoxF | None = None
        for when, box in self.history:
            if when <= now - seconds_ago:
                chosen = box
            else:
                break
        if chosen is None:
            if not self.history:
                return None
            chosen = self.history[0][1]
        x, y, w, h = chosen
        return (x + w / 2, y + h)


@dataclass(frozen=True)
class EndedTrack:
    id: int
    box: BoxF
    first_seen: float
    last_seen: float


class Tracker:
    def __init__(self, scale: PersonScale, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self.scale = scale
        self.tracks: list[Track] = []
        self.ended: deque[EndedTrack] = deque(maxlen=256)
        self._next_id = 1

    def reset(self, time: float) -> None:
        for track in self.tracks:
            self._end(track)
        self.tracks = []

    def update(self, blobs: list[Blob], time: float) -> list[Track]:
        p = self.params
        predictions = [track.predicted(time) for track in self.tracks]
        pairs: list[tuple[float, int, int]] = []
        for t_index, box in enumerate(predictions):
            px, py = box[0] + box[2] / 2, box[1] + box[3] / 2
            for b_index, blob in enumerate(blobs):
                bx, by = blob.centre
                size = max(box[2], box[3], blob.w, blob.h, 4.0)
                # Height changes are cheap for a fall (height drops, width grows) but not when both shrink.
                growth = max(blob.h / max(box[3], 1.0), blob.w / max(box[2], 1.0))
                cost = math.hypot(px - bx, py - by) / size + p.size_change_cost * abs(math.log(max(growth, 1e-3)))
                if cost < p.gate:
                    pairs.append((cost, t_index, b_index))
        pairs.sort()
        track_blob: dict[int, int] = {}
        blob_track: dict[int, int] = {}
        for _, t_index, b_index in pairs:
            if t_index in track_blob or b_index in blob_track:
                continue
            track_blob[t_index] = b_index
            blob_track[b_index] = t_index

        survivors: list[Track] = []
        for t_index, track in enumerate(self.tracks):
            track.shared = False
            if t_index in track_blob:
                self._match(track, blobs[track_blob[t_index]], time)
                survivors.append(track)
                continue
            predicted = predictions[t_index]
            host = _covering_blob(predicted, blobs)
            track.coasting = True
            track.merged = host is not None
            if host is not None and host in blob_track:
                self.tracks[blob_track[host]].shared = True
            limit = p.merged_coast_seconds if track.merged else p.max_coast_seconds
            if time - track.last_seen > limit:
                self._end(track)
                continue
            survivors.append(track)

        for b_index, blob in enumerate(blobs):
            if b_index in blob_track:
                continue
            # A fragment of someone already tracked (a head split from a body) is not a new person.
            if any(_overlap_share(blob.box, track.box) > 0.5 for track in survivors if not track.coasting):
                continue
            track = Track(self._next_id, blob.box, time, time, blob.area)
            track.history.append((time, blob.box))
            self._next_id += 1
            survivors.append(track)
        self.tracks = survivors
        return survivors

    def _match(self, track: Track, blob: Blob, time: float) -> None:
        p = self.params
        dt = time - track.last_seen
        if dt > 0:
            old_x, old_y = track.centre
            new_x, new_y = blob.centre
            measured = ((new_x - old_x) / dt, (new_y - old_y) / dt)
            a = p.velocity_smoothing if track.hits > 1 else 1.0
            track.velocity = (
                a * measured[0] + (1 - a) * track.velocity[0],
                a * measured[1] + (1 - a) * track.velocity[1],
            )
        track.box = blob.box
        track.area = blob.area
        track.last_seen = time
        track.hits += 1
        track.coasting = False
        track.merged = False
        if track.hits >= p.confirm_hits:
            track.confirmed = True
        track.history.append((time, blob.box))
        while track.history and track.history[0][0] < time - p.history_seconds:
            track.history.popleft()

    def _end(self, track: Track) -> None:
        if track.confirmed:
            self.ended.append(EndedTrack(track.id, track.box, track.first_seen, track.last_seen))


def _overlap_share(inner: BoxF, outer: BoxF) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    x0 = max(inner[0], outer[0])
    y0 = max(inner[1], outer[1])
    x1 = min(inner[0] + inner[2], outer[0] + outer[2])
    y1 = min(inner[1] + inner[3], outer[1] + outer[3])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return (x1 - x0) * (y1 - y0) / max(inner[2] * inner[3], 1e-6)


def _covering_blob(box: BoxF, blobs: list[Blob]) -> int | None:
    best, best_share = None, 0.5
    for index, blob in enumerate(blobs):
        share = _overlap_share(box, blob.box)
        if share > best_share:
            best, best_share = index, share
    return best
