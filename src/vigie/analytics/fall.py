"""A person on the ground after a fall: a tracked blob goes from tall to wide, low, and stays still.

For each track the detector remembers how tall the person was while upright (only from boxes that
are clearly upright and of a plausible person height). A *fall* is when that track's box becomes wide
(width/height over ``wide_ratio``) and low (under ``low_share`` of the upright height) shortly after
being upright, then stays still; the alert is raised once it has stayed down for ``down_seconds``.
Someone lying on a bench for an hour never was upright in view, so raises nothing; someone who sits
down is not wide and low enough. Boxes cut by the picture border are not judged, and a ghost (the
place where people stood, still remembered by the motion background after they left) is told from a
body by where the edges are.

If the tracker gives the fallen blob a new id (the shape change can be abrupt at low frame rates),
an upright observation at the same place moments before stands in for the track's own history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vigie.analytics.events import Event, EventLog, EventType
from vigie.analytics.people import PersonScale
from vigie.analytics.tracking import Track


@dataclass(frozen=True)
class FallParams:
    """Tuning of the fall detector (seconds; speeds in person heights per second)."""

    upright_ratio: float = 1.5  # height/width at least this: standing
    wide_ratio: float = 2.0  # width/height at least this: lying (a bag put down is not that flat)
    low_share: float = 0.6  # lying box height under this share of the upright height
    long_share: float = 0.35  # lying box width over this share of the upright height (a body, not a bag)
    presence_long_share: float = 0.5  # ... of the expected height, when the person was only seen merged
    upright_within_seconds: float = 4.0  # upright this recently before going down: a fall
    still_speed: float = 0.35  # slower than this counts as still
    down_seconds: float = 2.0  # down and still this long before the alert
    border_margin: float = 2.0  # work pixels; boxes this close to the border are cut and not judged


@dataclass
class _Posture:
    upright_height: float | None = None
    last_upright: float | None = None
    down_since: float | None = None
    event: Event | None = None
    last_seen: float = 0.0


class FallDetector:
    def __init__(self, work_size: tuple[int, int], params: FallParams) -> None:
        self.params = params
        self.width, self.height = work_size
        self.postures: dict[int, _Posture] = {}
        # Recent upright sightings (time, foot x, foot y, height, track id) from any track.
        self._upright_sightings: deque[tuple[float, float, float, float, int]] = deque(maxlen=400)

    def reset(self, time: float, log: EventLog) -> None:
        for posture in self.postures.values():
            if posture.event is not None:
                log.close(posture.event, time)
        self.postures = {}
        self._upright_sightings.clear()

    def update(
        self,
        time: float,
        tracks: Sequence[Track],
        scale: PersonScale,
        log: EventLog,
        really_there: Callable[[tuple[float, float, float, float]], bool] | None = None,
    ) -> None:
        """``really_there`` tells a body on the ground from a ghost (where people stood, remembered by
        the background after they left), which is just as wide and still."""
        p = self.params
        live_ids = {track.id for track in tracks if track.confirmed and not track.coasting}
        for track in tracks:
            if not track.confirmed or track.coasting:
                continue
            posture = self.postures.setdefault(track.id, _Posture())
            posture.last_seen = time
            x, y, w, h = track.box
            if x <= p.border_margin or y <= p.border_margin:
                continue
            if x + w >= self.width - p.border_margin or y + h >= self.height - p.border_margin:
                continue
            foot_x, foot_y = track.foot
            expected = scale.height_at(foot_y)
            if h >= p.upright_ratio * w and 0.5 * expected <= h <= 1.8 * expected:
                posture.upright_height = h if posture.upright_height is None else 0.7 * posture.upright_height + 0.3 * h
                posture.last_upright = time
                posture.down_since = None
                self._upright_sightings.append((time, foot_x, foot_y, h, track.id))
                if posture.event is not None:
                    log.close(posture.event, time)
                    posture.event = None
                continue
            reference = self._upright_reference(track, posture, time, live_ids, scale)
            lying = (
                reference is not None
                and w >= p.wide_ratio * h
                and h <= p.low_share * reference
                and w >= p.long_share * reference
            )
            speed = (track.velocity[0] ** 2 + track.velocity[1] ** 2) ** 0.5 / expected
            if not lying or speed > p.still_speed:
                if not lying:
                    posture.down_since = None
                continue
            if posture.down_since is None:
                posture.down_since = time
            if posture.event is None and time - posture.down_since >= p.down_seconds - 1e-6:
                assert reference is not None
                if really_there is not None and not really_there(track.box):
                    posture.down_since = None
                    continue
                posture.event = log.open(
                    EventType.PERSON_DOWN,
                    time,
                    track.box,
                    min(1.0, 0.6 + 0.4 * (1.0 - h / reference)),
                    details={"down_seconds": round(time - posture.down_since, 1)},
                )
        for track_id in list(self.postures):
            if track_id in live_ids:
                continue
            posture = self.postures[track_id]
            if time - posture.last_seen > 3.0:
                if posture.event is not None:
                    log.close(posture.event, posture.last_seen)
                del self.postures[track_id]

    def _upright_reference(
        self, track: Track, posture: _Posture, time: float, others: set[int], scale: PersonScale
    ) -> float | None:
        p = self.params
        since = posture.down_since if posture.down_since is not None else time
        if (
            posture.upright_height is not None
            and posture.last_upright is not None
            and since - posture.last_upright <= p.upright_within_seconds
        ):
            return posture.upright_height
        # Borrow an upright sighting at the same spot moments ago (the track may have been re-born):
        # the nearest one not taken by someone still walking about under another track. If only such
        # sightings exist (the person fell while merged with a passer-by), someone was there: use the
        # height a person is expected to have at that spot, and ask for a longer body on the ground.
        x, y, w, h = track.box
        best: tuple[float, float, float] | None = None
        someone_there = False
        walked_on: set[int] = set()  # seen upright elsewhere afterwards: they put something down and left
        latest: set[int] = set()
        for when, foot_x, foot_y, height, owner in reversed(self._upright_sightings):
            if since - when > p.upright_within_seconds:
                break
            near = x - height <= foot_x <= x + w + height and abs(foot_y - (y + h)) <= 0.6 * height
            if owner not in latest:
                latest.add(owner)
                away = not (x - 2 * height <= foot_x <= x + w + 2 * height and abs(foot_y - (y + h)) <= height)
                if away:
                    walked_on.add(owner)
            if not near or owner in walked_on:
                continue
            if owner != track.id and owner in others:
                someone_there = True
                continue
            distance = abs(foot_x - (x + w / 2)) + abs(foot_y - (y + h))
            if best is None or distance < best[0]:
                best = (distance, when, height)
        if best is not None:
            posture.upright_height = best[2]
            posture.last_upright = best[1]
            return best[2]
        if someone_there:
            expected = scale.height_at(y + h)
            if w >= p.presence_long_share * expected:
                return expected
        return None
