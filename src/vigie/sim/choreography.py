"""Who walks where and when, for each scene kind, and the exact truth that follows from it.

Each kind is staged in world metres (see `camera`), sampled at the frame times, and turned into
figures. The truth is then *measured* on what will be drawn (the integer boxes of the figures),
never assumed from the script, so it holds to the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .camera import (
    BIN_Z,
    CURB_Z,
    LAMP_Z,
    PLAZA_FAR_Z,
    PLAZA_NEAR_Z,
    RAIL_Z,
    TRACK_NEAR_Z,
    Camera,
    StreetLayout,
)
from .effects import BIN_HEIGHT_M, DroppedBag, FireSite, TamperPlan, bag_box, flame_envelope
from .figures import Appearance, FigureGeometry, Pose, figure_geometry
from .randomness import Stream, stream_rng
from .scene import Box, GroundTruth, SceneSpec, TruthEvent, Zone, ZoneRole, foot_point

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Rect = tuple[float, float, float, float]  # x0, z0, x1, z1 on the ground, metres

WALK_SPEED = (1.1, 1.6)  # metres per second
RUN_SPEED = (3.8, 5.5)
FALL_SECONDS = 0.6
BAG_PAUSE_SECONDS = 1.0
NEAREST_RUN_Z = 3.5  # runners heading for the camera stop here, well below the frame
DENSITY_ZONE: Rect = (-2.6, 12.0, 2.6, 16.0)
CORRIDOR: Rect = (-3.2, 10.8, 3.2, 13.2)


class Route:
    """A piecewise-linear walk on the ground: keyframes of (time, x, z)."""

    def __init__(self, x: float, z: float, t: float = 0.0) -> None:
        self.keys: list[tuple[float, float, float]] = [(t, x, z)]

    @property
    def end(self) -> tuple[float, float, float]:
        return self.keys[-1]

    def walk_to(self, x: float, z: float, speed: float) -> Route:
        t, x0, z0 = self.end
        distance = math.hypot(x - x0, z - z0)
        if distance > 1e-9:
            self.keys.append((t + distance / speed, x, z))
        return self

    def wait(self, seconds: float) -> Route:
        t, x, z = self.end
        self.keys.append((t + seconds, x, z))
        return self

    def shift(self, seconds: float) -> Route:
        self.keys = [(t + seconds, x, z) for t, x, z in self.keys]
        return self

    def time_at(self, axis: int, value: float) -> float:
        """When the walk first reaches ``value`` along x (axis 0) or z (axis 1)."""
        for (t0, *p0), (t1, *p1) in zip(self.keys, self.keys[1:], strict=False):
            a, b = p0[axis], p1[axis]
            if min(a, b) <= value <= max(a, b) and a != b:
                return t0 + (t1 - t0) * (value - a) / (b - a)
        raise ValueError(f"route never reaches {value} on axis {axis}")

    def time_entering(self, rect: Rect) -> float:
        """When the walk first steps into a ground rectangle (to a centimetre or so)."""
        x0, z0, x1, z1 = rect
        start, end = self.keys[0][0], self.end[0]
        times = np.linspace(start, end, max(2, int((end - start) * 200)))
        xs, zs, _ = self.sample(times)
        inside = np.flatnonzero((xs >= x0) & (xs <= x1) & (zs >= z0) & (zs <= z1))
        if inside.size == 0:
            raise ValueError("route never enters the rectangle")
        return float(times[inside[0]])

    def sample(self, times: FloatArray) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Positions at the given times; before its first keyframe the walker is not there."""
        key_times = np.array([t for t, _, _ in self.keys])
        xs = np.interp(times, key_times, [x for _, x, _ in self.keys])
        zs = np.interp(times, key_times, [z for _, _, z in self.keys])
        return xs, zs, times >= key_times[0]


@dataclass(frozen=True)
class Actor:
    track_id: int
    looks: Appearance
    x: FloatArray  # ground position in each frame, metres
    z: FloatArray
    present: BoolArray
    lean: FloatArray  # 0 upright, 1 lying
    carrying: BoolArray  # holding a bag in this frame


@dataclass(frozen=True)
class CastMember:
    """An actor as drawn: its geometry, and its box clipped to the frame where visible."""

    actor: Actor
    geometry: FigureGeometry
    boxes: npt.NDArray[np.int32]  # (frames, 4), clipped
    visible: BoolArray

    def box(self, frame: int) -> Box:
        x, y, w, h = (int(v) for v in self.boxes[frame])
        return (x, y, w, h)

    def in_zone(self, zone: Zone) -> BoolArray:
        return np.array([bool(seen) and zone.contains(foot_point(self.box(i))) for i, seen in enumerate(self.visible)])


@dataclass(frozen=True)
class Judged:
    """What the truth rules may look at."""

    spec: SceneSpec
    camera: Camera
    cast: list[CastMember]
    zones: list[Zone]

    def member(self, track_id: int) -> CastMember:
        return next(member for member in self.cast if member.actor.track_id == track_id)

    def time(self, frame: int) -> float:
        return self.spec.frame_time(frame)

    def end_time(self, holds: BoolArray, start: int) -> float | None:
        """First frame after `start` at which a condition no longer holds, as a time."""
        stops = np.flatnonzero(~holds[start:])
        return None if stops.size == 0 else self.time(start + int(stops[0]))


TruthRule = Callable[[Judged], list[TruthEvent]]


def _no_events(_: Judged) -> list[TruthEvent]:
    return []


@dataclass
class Staging:
    actors: list[Actor] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    bag: DroppedBag | None = None
    fire: FireSite | None = None
    tamper: TamperPlan | None = None
    corridor: Rect | None = None  # painted one-way corridor, drawn on the ground
    rule: TruthRule = _no_events


class Stage:
    """Shared helpers for staging a kind: the clock, the cast's random stream, the layout."""

    def __init__(self, spec: SceneSpec, camera: Camera, layout: StreetLayout) -> None:
        self.spec = spec
        self.camera = camera
        self.layout = layout
        self.rng = stream_rng(spec.seed, Stream.CAST)
        self.times = np.arange(spec.frame_count) / spec.fps
        self.obstacles = [
            *layout.obstacles(),
            *((x - 0.4, LAMP_Z - 0.4, x + 0.4, LAMP_Z + 0.4) for x in layout.lamp_xs),
        ]
        self._next_id = 1

    def first_frame_at(self, t: float) -> int:
        """The first frame whose timestamp is at or after t."""
        return max(0, math.ceil(t * self.spec.fps - 1e-9))

    def actor(
        self,
        route: Route,
        *,
        lean: FloatArray | None = None,
        carrying_until: float | None = None,
        looks: Appearance | None = None,
    ) -> Actor:
        x, z, present = route.sample(self.times)
        return self.actor_from_positions(x, z, present, lean=lean, carrying_until=carrying_until, looks=looks)

    def actor_from_positions(
        self,
        x: FloatArray,
        z: FloatArray,
        present: BoolArray,
        *,
        lean: FloatArray | None = None,
        carrying_until: float | None = None,
        looks: Appearance | None = None,
    ) -> Actor:
        track_id = self._next_id
        self._next_id += 1
        frames = len(self.times)
        carrying = np.zeros(frames, dtype=bool)
        if carrying_until is not None:
            carrying = self.times < carrying_until - 1e-9
        return Actor(
            track_id=track_id,
            looks=looks if looks is not None else Appearance.random(self.rng),
            x=x,
            z=z,
            present=present,
            lean=np.zeros(frames) if lean is None else lean,
            carrying=carrying,
        )

    def blocked(self, x0: float, z0: float, x1: float, z1: float) -> bool:
        """Whether a straight walk would go through the bench, the bin or a lamp post."""
        for s in np.linspace(0.0, 1.0, 60):
            x, z = x0 + (x1 - x0) * s, z0 + (z1 - z0) * s
            if any(a <= x <= c and b <= z <= d for a, b, c, d in self.obstacles):
                return True
        return False

    def crossing(self, z_range: tuple[float, float], start: float | None = None) -> Route | None:
        """A walker crossing the view from one side to the other, avoiding the street furniture.

        Unless given, the start time is drawn so that the walker is on screen for part of the clip.
        """
        low, high = z_range
        for _ in range(40):
            direction = float(self.rng.choice([-1.0, 1.0]))
            z0 = float(self.rng.uniform(low, high))
            z1 = float(np.clip(z0 + self.rng.uniform(-2.5, 2.5), low, high))
            x0 = self.camera.off_screen_x(z0, -direction)
            x1 = self.camera.off_screen_x(z1, direction)
            speed = float(self.rng.uniform(*WALK_SPEED))
            if self.blocked(x0, z0, x1, z1):
                continue
            duration = math.hypot(x1 - x0, z1 - z0) / speed
            begin = (
                start
                if start is not None
                else float(self.rng.uniform(-0.7 * duration, max(-0.5 * duration, self.spec.seconds - 0.4 * duration)))
            )
            return Route(x0, z0, begin).walk_to(x1, z1, speed)
        return None

    def add_crossers(self, staging: Staging, count: int, z_range: tuple[float, float]) -> None:
        for _ in range(count):
            route = self.crossing(z_range)
            if route is not None:
                staging.actors.append(self.actor(route))

    def spread_points(
        self, count: int, x_range: tuple[float, float], z_range: tuple[float, float], spacing: float
    ) -> list[tuple[float, float]]:
        """`count` ground points in a rectangle, at least `spacing` apart (relaxed if they do not fit)."""
        points: list[tuple[float, float]] = []
        attempts = 0
        while len(points) < count:
            x, z = float(self.rng.uniform(*x_range)), float(self.rng.uniform(*z_range))
            if all(math.hypot(x - px, z - pz) >= spacing for px, pz in points):
                points.append((x, z))
            attempts += 1
            if attempts > 400:
                spacing *= 0.85
                attempts = 0
        return points

    def zone_from_rect(
        self, name: str, role: ZoneRole, rect: Rect, direction: tuple[float, float] | None = None
    ) -> Zone:
        """The image polygon of a rectangle on the ground (a trapezoid, by perspective)."""
        x0, z0, x1, z1 = rect
        corners = [(x0, z1), (x1, z1), (x1, z0), (x0, z0)]
        polygon = tuple((round(u), round(v)) for u, v in (self.camera.project(x, z) for x, z in corners))
        return Zone(name=name, role=role, polygon=polygon, direction=direction)


def walkers(stage: Stage) -> Staging:
    staging = Staging()
    count = stage.spec.people if stage.spec.people is not None else int(stage.rng.integers(3, 9))
    stage.add_crossers(staging, count, (PLAZA_NEAR_Z + 0.6, PLAZA_FAR_Z))
    return staging


def abandoned(stage: Stage) -> Staging:
    """A walker puts a bag down and leaves; other walkers keep further back, never hiding the bag."""
    spec, camera, rng = stage.spec, stage.camera, stage.rng
    direction = float(rng.choice([-1.0, 1.0]))
    lane_z = float(rng.uniform(12.0, 14.0))
    # Stop on the exit side of the centre so the owner is gone well within a 20 s clip.
    stop_x = direction * float(rng.uniform(1.5, 2.5))
    drop_frame = stage.first_frame_at(spec.event_time)
    drop_t = drop_frame / spec.fps
    entry_x = camera.off_screen_x(lane_z, -direction)
    route = Route(entry_x, lane_z).walk_to(stop_x, lane_z, 1.4)
    route.shift(drop_t - BAG_PAUSE_SECONDS / 2 - route.end[0])
    route.wait(BAG_PAUSE_SECONDS).walk_to(camera.off_screen_x(lane_z, direction), lane_z, 1.8)
    owner = stage.actor(route, carrying_until=drop_t)
    # The bag sits behind the owner's heels, a little further from the camera, so the owner walks
    # away without ever stepping over it.
    bag = DroppedBag(x=stop_x - direction * 0.45, z=lane_z + 0.15, from_frame=drop_frame, colour=owner.looks.bag)
    staging = Staging(actors=[owner], bag=bag)

    bag_top_row = bag_box(camera, bag)[1]
    far_enough = float(camera.depth_of_row(np.array([bag_top_row - 3.0]))[0])
    if far_enough < PLAZA_FAR_Z - 0.5:
        stage.add_crossers(staging, 2, (far_enough, PLAZA_FAR_Z))

    def rule(judged: Judged) -> list[TruthEvent]:
        seen = judged.member(owner.track_id).visible
        gone = np.flatnonzero(~seen[drop_frame:])
        if gone.size == 0:
            return []
        since = judged.time(drop_frame + int(gone[0]))
        start = round(since + spec.abandoned_after, 6)
        if start > judged.time(spec.frame_count - 1):
            return []
        extra: dict[str, float | int | str] = {
            "since": since,
            "dropped_at": judged.time(drop_frame),
            "owner_track_id": owner.track_id,
        }
        return [TruthEvent("abandoned_object", start, None, bag_box(camera, bag), extra)]

    staging.rule = rule
    return staging


def crowd_disperse(stage: Stage) -> Staging:
    """A crowd mills about on the plaza, then everyone runs outwards at once."""
    spec, rng, times = stage.spec, stage.rng, stage.times
    count = spec.people if spec.people is not None else 25
    radius = math.sqrt(count * 0.9 / math.pi)  # about 0.9 m² per person
    centre_x, centre_z = float(rng.uniform(-1.0, 1.0)), 14.2
    homes = stage.spread_points(
        count, (centre_x - radius, centre_x + radius), (centre_z - radius * 0.8, centre_z + radius * 0.8), 0.8
    )
    run_frame = stage.first_frame_at(spec.event_time)
    run_t = run_frame / spec.fps
    members: list[Actor] = []
    for home_x, home_z in homes:
        amplitude = rng.uniform(0.15, 0.45, 2)
        pulsation = rng.uniform(0.35, 0.9, 2)
        phase = rng.uniform(0.0, 2 * np.pi, 2)
        milling_t = np.minimum(times, run_t)
        x = home_x + amplitude[0] * np.sin(pulsation[0] * milling_t + phase[0])
        z = home_z + 0.6 * amplitude[1] * np.sin(pulsation[1] * milling_t + phase[1])
        # Run away from the centre; people behind the crowd mostly sideways (a tram line and
        # houses are behind them), people in front towards and past the camera.
        away = np.array([home_x - centre_x, home_z - centre_z])
        if abs(away[0]) < 0.3:
            away[0] = 0.3 * float(rng.choice([-1.0, 1.0]))
        if away[1] > 0:
            away = np.array([np.sign(away[0]) * max(abs(away[0]), 0.8), 0.25 * away[1]])
        away /= np.linalg.norm(away)
        speed = float(rng.uniform(*RUN_SPEED))
        run_time = np.maximum(times - run_t, 0.0)
        start_x = home_x + amplitude[0] * np.sin(pulsation[0] * run_t + phase[0])
        start_z = home_z + 0.6 * amplitude[1] * np.sin(pulsation[1] * run_t + phase[1])
        travel = speed * run_time
        if away[1] < 0:
            travel = np.minimum(travel, (start_z - NEAREST_RUN_Z) / -away[1])
        x = np.where(times > run_t, start_x + away[0] * travel, x)
        z = np.where(times > run_t, start_z + away[1] * travel, z)
        members.append(stage.actor_from_positions(x, z, np.ones(len(times), dtype=bool)))
    staging = Staging(actors=members)

    def rule(judged: Judged) -> list[TruthEvent]:
        if run_frame >= spec.frame_count:
            return []
        boxes = [m.box(run_frame) for m in judged.cast if m.visible[run_frame]]
        if not boxes:
            return []
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
        anyone = np.any([m.visible for m in judged.cast], axis=0)
        extra: dict[str, float | int | str] = {"people": count}
        event = TruthEvent(
            "crowd_movement",
            judged.time(run_frame),
            judged.end_time(anyone, run_frame),
            (x0, y0, x1 - x0, y1 - y0),
            extra,
        )
        return [event]

    staging.rule = rule
    return staging


def crowd_thickens(stage: Stage) -> Staging:
    """People keep joining a group in the square until there are more than the threshold."""
    spec, camera, rng = stage.spec, stage.camera, stage.rng
    threshold = spec.density_threshold
    count = spec.people if spec.people is not None else threshold + 6
    zone = stage.zone_from_rect("square", "density", DENSITY_ZONE)
    x0, z0, x1, z1 = DENSITY_ZONE
    margin = 0.5
    homes = stage.spread_points(count, (x0 + margin, x1 - margin), (z0 + margin, z1 - margin), 0.75)
    # People step into the zone at a steady pace; the (threshold + 1)-th at the event time.
    interval = spec.event_time / (threshold + 1)
    actors: list[Actor] = []
    for index, (home_x, home_z) in enumerate(homes):
        speed = float(rng.uniform(*WALK_SPEED))
        for _ in range(20):
            side = float(rng.choice([-1.0, 1.0]))
            start_z = float(np.clip(home_z + rng.uniform(-3.0, 3.0), PLAZA_NEAR_Z + 0.8, PLAZA_FAR_Z))
            start_x = camera.off_screen_x(start_z, side)
            if not stage.blocked(start_x, start_z, home_x, home_z):
                break
        route = Route(start_x, start_z).walk_to(home_x, home_z, speed)
        route.shift(interval * (index + 1) - route.time_entering(DENSITY_ZONE))
        arrival = route.end[0]
        x, z, present = route.sample(stage.times)
        # Once there, people shuffle on the spot without leaving their place in the zone.
        settled = stage.times > arrival
        wobble = rng.uniform(0.05, 0.15) * np.sin(rng.uniform(0.5, 1.0) * stage.times + rng.uniform(0, 6.3))
        x = np.where(settled, x + wobble * np.minimum(1.0, stage.times - arrival), x)
        actors.append(stage.actor_from_positions(x, z, present))
    staging = Staging(actors=actors, zones=[zone])

    def rule(judged: Judged) -> list[TruthEvent]:
        inside = np.sum([m.in_zone(zone) for m in judged.cast], axis=0)
        crowded = inside > threshold
        over = np.flatnonzero(crowded)
        if over.size == 0:
            return []
        start = int(over[0])
        extra: dict[str, float | int | str] = {"count": int(inside[start]), "threshold": threshold, "zone": zone.name}
        return [
            TruthEvent("crowd_density", judged.time(start), judged.end_time(crowded, start), zone.bounding_box(), extra)
        ]

    staging.rule = rule
    return staging


def _zone_entries(
    judged: Judged, zone: Zone, event_type: str, against: Callable[[CastMember], BoolArray] | None
) -> list[TruthEvent]:
    """One event per person entering the zone (moving against its direction, for one-way zones)."""
    events = []
    for member in judged.cast:
        holds = member.in_zone(zone)
        if against is not None:
            holds &= against(member)
        entries = np.flatnonzero(holds)
        if entries.size == 0:
            continue
        start = int(entries[0])
        extra: dict[str, float | int | str] = {"zone": zone.name, "track_id": member.actor.track_id}
        events.append(
            TruthEvent(event_type, judged.time(start), judged.end_time(holds, start), member.box(start), extra)
        )
    return events


def zone_intrusion(stage: Stage) -> Staging:
    """Someone leaves the plaza, climbs the railing and walks onto the tram tracks."""
    spec, camera, rng = stage.spec, stage.camera, stage.rng
    top = round(camera.ground_row(CURB_Z))
    bottom = round(camera.ground_row(TRACK_NEAR_Z))
    right = spec.width - 1
    zone = Zone("tracks", "forbidden", ((0, top), (right, top), (right, bottom), (0, bottom)))
    staging = Staging(zones=[zone])
    stage.add_crossers(staging, 3, (PLAZA_NEAR_Z + 0.6, PLAZA_FAR_Z))
    lane_z, track_z = 15.5, sum(RAIL_Z) / 2
    side = float(rng.choice([-1.0, 1.0]))  # where the intruder comes from
    for _ in range(40):
        turn_x = float(rng.uniform(0.5, 3.0)) * (1 if rng.random() < 0.5 else -1)
        step_x = turn_x + side * 1.0
        if not stage.blocked(turn_x, lane_z, step_x, track_z):
            break
    route = (
        Route(camera.off_screen_x(lane_z, -side), lane_z)
        .walk_to(turn_x, lane_z, 1.3)
        .walk_to(step_x, track_z, 1.1)
        .walk_to(step_x + side * 2.5, track_z, 0.9)
    )
    route.shift(spec.event_time - route.time_at(1, TRACK_NEAR_Z))
    staging.actors.append(stage.actor(route))
    staging.rule = lambda judged: _zone_entries(judged, zone, "zone_intrusion", None)
    return staging


def wrong_way(stage: Stage) -> Staging:
    """A one-way corridor: everyone walks left to right, except one person."""
    spec, camera, rng = stage.spec, stage.camera, stage.rng
    zone = stage.zone_from_rect("corridor", "one_way", CORRIDOR, direction=(1.0, 0.0))
    staging = Staging(zones=[zone], corridor=CORRIDOR)
    _, z0, _, z1 = CORRIDOR
    lanes = (z0 + 0.3, z1 - 0.3)
    compliant = spec.people if spec.people is not None else 6
    slots = np.sort(rng.uniform(0.0, 1.0, compliant))
    for slot in slots:
        z = float(rng.uniform(*lanes))
        speed = float(rng.uniform(*WALK_SPEED))
        start_x, end_x = camera.off_screen_x(z, -1.0), camera.off_screen_x(z, 1.0)
        duration = (end_x - start_x) / speed
        begin = -0.6 * duration + slot * (spec.seconds - 0.2 * duration)
        staging.actors.append(stage.actor(Route(start_x, z, begin).walk_to(end_x, z, speed)))
    z = float(rng.uniform(*lanes))
    route = Route(camera.off_screen_x(z, 1.0), z).walk_to(camera.off_screen_x(z, -1.0), z, 1.3)
    route.shift(spec.event_time - route.time_at(0, CORRIDOR[2]))
    staging.actors.append(stage.actor(route))
    allowed_x = 1.0

    def against(member: CastMember) -> BoolArray:
        # Direction comes from where the person really goes, not from the jittery box centre.
        step = frame_steps(member.actor.x)
        moving: BoolArray = np.abs(step) > 1e-9
        backwards: BoolArray = np.sign(step) != allowed_x
        return moving & backwards

    staging.rule = lambda judged: _zone_entries(judged, zone, "wrong_way", against)
    return staging


def fall(stage: Stage) -> Staging:
    """A walker collapses mid-plaza and stays on the ground."""
    spec, camera, rng = stage.spec, stage.camera, stage.rng
    direction = float(rng.choice([-1.0, 1.0]))
    lane_z = float(rng.uniform(11.5, 14.0))
    fall_x = float(rng.uniform(-1.0, 1.0)) - direction * 0.8
    fall_frame = stage.first_frame_at(spec.event_time)
    fall_t = fall_frame / spec.fps
    route = Route(camera.off_screen_x(lane_z, -direction), lane_z).walk_to(
        fall_x, lane_z, float(rng.uniform(*WALK_SPEED))
    )
    route.shift(fall_t - route.end[0])
    lean = np.clip((stage.times - fall_t) / FALL_SECONDS, 0.0, 1.0) ** 2  # gravity: slow, then fast
    victim = stage.actor(route, lean=lean)
    staging = Staging(actors=[victim])
    stage.add_crossers(staging, 2, (min(lane_z + 3.0, PLAZA_FAR_Z - 0.5), PLAZA_FAR_Z))

    def rule(judged: Judged) -> list[TruthEvent]:
        member = judged.member(victim.track_id)
        down = (member.actor.lean >= 1.0) & member.visible
        frames = np.flatnonzero(down)
        if frames.size == 0:
            return []
        start = int(frames[0])
        extra: dict[str, float | int | str] = {"fall_started": judged.time(fall_frame), "track_id": victim.track_id}
        return [TruthEvent("person_down", judged.time(start), judged.end_time(down, start), member.box(start), extra)]

    staging.rule = rule
    return staging


def fire(stage: Stage) -> Staging:
    """The bin catches fire and the flames grow; a few people pass further back."""
    spec, camera, layout = stage.spec, stage.camera, stage.layout
    site = FireSite(x=layout.bin_x, z=BIN_Z, base_up=BIN_HEIGHT_M, from_frame=stage.first_frame_at(spec.event_time))
    staging = Staging(fire=site)
    stage.add_crossers(staging, 3, (13.5, PLAZA_FAR_Z))

    def rule(judged: Judged) -> list[TruthEvent]:
        if site.from_frame >= spec.frame_count:
            return []
        extra: dict[str, float | int | str] = {"growth_seconds": site.growth_seconds}
        return [TruthEvent("fire", judged.time(site.from_frame), None, flame_envelope(camera, site), extra)]

    staging.rule = rule
    return staging


def tamper(stage: Stage) -> Staging:
    """Ordinary street life until the lens is covered (or knocked out of focus)."""
    spec = stage.spec
    plan = TamperPlan(mode=spec.tamper_mode, from_frame=stage.first_frame_at(spec.event_time))
    staging = Staging(tamper=plan)
    stage.add_crossers(staging, 4, (PLAZA_NEAR_Z + 0.6, PLAZA_FAR_Z))

    def rule(judged: Judged) -> list[TruthEvent]:
        if plan.from_frame >= spec.frame_count:
            return []
        extra: dict[str, float | int | str] = {"mode": plan.mode}
        return [TruthEvent("camera_tamper", judged.time(plan.from_frame), None, None, extra)]

    staging.rule = rule
    return staging


KIND_STAGING: dict[str, Callable[[Stage], Staging]] = {
    "walkers": walkers,
    "abandoned": abandoned,
    "crowd_disperse": crowd_disperse,
    "crowd_thickens": crowd_thickens,
    "zone_intrusion": zone_intrusion,
    "wrong_way": wrong_way,
    "fall": fall,
    "fire": fire,
    "tamper": tamper,
}


def pose_of(actor: Actor, camera: Camera, fps: int) -> Pose:
    """Turn positions into a walking pose: the gait follows the distance covered, so it never slides."""
    step_x = frame_steps(actor.x)
    step_z = frame_steps(actor.z)
    step = np.hypot(step_x, step_z)
    speed = step * fps
    stride = 1.25 + 0.28 * speed  # metres per gait cycle; runners take longer strides
    phase = 2 * np.pi * np.cumsum(step / stride) + actor.track_id * 1.7
    swing = np.clip(speed / 1.3, 0.0, 1.5) * (1.0 - actor.lean)
    facing = _held_sign(step_x)
    lateral = np.divide(np.abs(step_x), step, out=np.full_like(step, np.nan), where=step > 1e-9)
    breadth = 1.0 - 0.35 * _held(lateral, 1.0)
    foot_u, foot_v = camera.project_many(actor.x, actor.z)
    return Pose(
        foot_u=foot_u,
        foot_v=foot_v,
        height_px=camera.focal * actor.looks.height_m / actor.z,
        phase=phase,
        swing=swing,
        facing=facing,
        breadth=breadth,
        lean=actor.lean,
    )


def frame_steps(values: FloatArray) -> FloatArray:
    """Movement into each frame from the previous one; frame 0 is assumed to move like frame 1."""
    if values.size < 2:
        return np.zeros_like(values)
    steps = np.diff(values, prepend=values[0])
    steps[0] = steps[1]
    return steps


def _held(values: FloatArray, default: float) -> FloatArray:
    """Fill NaNs with the previous value (or the next one at the start, or `default`)."""
    known = ~np.isnan(values)
    if not known.any():
        return np.full_like(values, default)
    index = np.where(known, np.arange(values.size), 0)
    np.maximum.accumulate(index, out=index)
    first = int(np.flatnonzero(known)[0])
    filled = values[index]
    filled[:first] = values[first]
    return filled


def _held_sign(step_x: FloatArray) -> FloatArray:
    signs = np.where(np.abs(step_x) > 1e-9, np.sign(step_x), np.nan)
    return _held(signs, 1.0)


def cast_members(staging: Staging, camera: Camera, fps: int) -> list[CastMember]:
    members = []
    for actor in staging.actors:
        geometry = figure_geometry(pose_of(actor, camera, fps))
        raw = geometry.boxes
        x0 = np.clip(raw[:, 0], 0, camera.width)
        y0 = np.clip(raw[:, 1], 0, camera.height)
        x1 = np.clip(raw[:, 0] + raw[:, 2], 0, camera.width)
        y1 = np.clip(raw[:, 1] + raw[:, 3], 0, camera.height)
        clipped = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.int32)
        visible = actor.present & (clipped[:, 2] > 0) & (clipped[:, 3] > 0)
        members.append(CastMember(actor, geometry, clipped, visible))
    return members


def stage_scene(spec: SceneSpec, camera: Camera, layout: StreetLayout) -> Staging:
    return KIND_STAGING[spec.kind](Stage(spec, camera, layout))


def judge(spec: SceneSpec, camera: Camera, staging: Staging, cast: list[CastMember]) -> GroundTruth:
    """Measure the truth on the cast as it will be drawn."""
    hidden_from = spec.frame_count
    if staging.tamper is not None and staging.tamper.mode == "cover":
        hidden_from = staging.tamper.from_frame  # nobody is visible through a covered lens
    frames: list[list[Box]] = []
    track_ids: list[list[int]] = []
    for index in range(spec.frame_count):
        seen = [m for m in cast if m.visible[index]] if index < hidden_from else []
        frames.append([m.box(index) for m in seen])
        track_ids.append([m.actor.track_id for m in seen])
    events = staging.rule(Judged(spec, camera, cast, staging.zones))
    events.sort(key=lambda event: event.start)
    return GroundTruth(spec=spec, events=events, frames=frames, track_ids=track_ids, zones=list(staging.zones))
