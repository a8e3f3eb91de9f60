"""Find footage by place and time: body-cam recordings by their GPS track, fixed cameras by their position.

The index gives candidates (a superset); the answer is exact: a body-cam recording is a hit when
at least one of its track points lies within the radius (haversine) during the period, and its
time spans are the runs of consecutive such points. A fixed camera is a hit when its registered
position lies within the radius; its spans are its recordings' overlap with the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vigie.catalog.bodycam_models import BodycamDevice, BodycamRecording, BodycamTrack
from vigie.catalog.models import Recording, Source
from vigie.catalog.types import iso, utcnow
from vigie.ingest.bodycam import samples, spatial
from vigie.ingest.bodycam.geo import circle_boxes, haversine_m, haversine_many, valid_position
from vigie.ingest.bodycam.samples import Samples


class SearchError(ValueError):
    """A search that cannot be answered as asked (bad coordinates, radius or period)."""


@dataclass(frozen=True)
class PlaceTimeQuery:
    lat: float
    lon: float
    radius_m: float
    start: datetime
    end: datetime

    def check(self, *, max_radius_m: float, max_days: float) -> None:
        if not valid_position(self.lat, self.lon):
            raise SearchError("lat must be within ±90 and lon within ±180 degrees")
        if not 0 < self.radius_m <= max_radius_m:
            raise SearchError(f"radius must be positive and at most {max_radius_m:g} m")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise SearchError("from and to need a time zone")
        if self.end <= self.start:
            raise SearchError("'to' must come after 'from'")
        if self.end - self.start > timedelta(days=max_days):
            raise SearchError(f"the period may span at most {max_days:g} days")

    def as_json(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "radius_m": self.radius_m,
            "from": iso(self.start),
            "to": iso(self.end),
        }


@dataclass(frozen=True)
class TimeSpan:
    start: datetime
    end: datetime
    closest_m: float

    def as_json(self) -> dict[str, Any]:
        return {"start": iso(self.start), "end": iso(self.end), "closest_m": round(self.closest_m, 1)}


@dataclass(frozen=True)
class SearchHit:
    recording_id: str
    kind: str  # bodycam | camera
    source: str
    unit: str | None
    recording_start: datetime
    recording_end: datetime | None
    spans: list[TimeSpan]
    device: str | None = None
    officer: str | None = None
    sequence: int | None = None
    trigger: str | None = None
    position: tuple[float, float] | None = None  # fixed cameras
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def closest_m(self) -> float:
        return min(span.closest_m for span in self.spans)

    def as_json(self) -> dict[str, Any]:
        return {
            "recording_id": self.recording_id,
            "kind": self.kind,
            "source": self.source,
            "unit": self.unit,
            "device": self.device,
            "officer": self.officer,
            "sequence": self.sequence,
            "trigger": self.trigger,
            "position": list(self.position) if self.position else None,
            "recording_start": iso(self.recording_start),
            "recording_end": iso(self.recording_end) if self.recording_end else None,
            "closest_m": round(self.closest_m, 1),
            "spans": [span.as_json() for span in self.spans],
        }


def spans_within(
    points: Sequence[Sequence[float]] | Samples,
    query: PlaceTimeQuery,
    join_seconds: float,
    minutes: Iterable[int] | None = None,
) -> list[TimeSpan]:
    """Runs of consecutive track points inside the circle during the period (one track).

    A run ends at a point outside the circle, or when two inside points are further apart in time
    than ``join_seconds`` (no fix in between: nobody can say where the camera was). ``minutes``
    (unix minutes whose index boxes meet the circle) limits the distances computed: the points of
    other minutes are outside the circle, which the index guarantees.
    """
    array = np.asarray(points, dtype=np.float64).reshape(-1, len(points[0]) if len(points) else 3)
    return track_spans([array], [None if minutes is None else list(minutes)], query, join_seconds)[0]


def track_spans(
    tracks: Sequence[Samples],
    minutes: Sequence[Sequence[int] | None],
    query: PlaceTimeQuery,
    join_seconds: float,
) -> list[list[TimeSpan]]:
    """:func:`spans_within` for many tracks at once, vectorised over all their points.

    A wide search over a busy city centre meets thousands of tracks: one concatenated array, one
    distance computation and one run detection keep it to a few NumPy passes.
    """
    result: list[list[TimeSpan]] = [[] for _ in tracks]
    if not tracks:
        return result
    t_from, t_to = query.start.timestamp(), query.end.timestamp()
    owners = np.repeat(np.arange(len(tracks), dtype=np.int64), [track.shape[0] for track in tracks])
    stacked = np.concatenate([track[:, :3] for track in tracks]) if owners.size else np.empty((0, 3))
    times, lats, lons = stacked[:, 0], stacked[:, 1], stacked[:, 2]
    kept = (times >= t_from) & (times <= t_to)  # outside the period: not looked at, not a break
    times, lats, lons, owners = times[kept], lats[kept], lons[kept], owners[kept]
    eligible = np.ones(times.shape, dtype=bool)
    if any(chosen is not None for chosen in minutes):
        point_keys = (owners << 32) | np.floor(times / 60.0).astype(np.int64)
        keys = [
            (np.int64(index) << 32) | np.asarray(chosen if chosen is not None else [], dtype=np.int64)
            for index, chosen in enumerate(minutes)
        ]
        everything = np.asarray([chosen is None for chosen in minutes])
        eligible = np.isin(point_keys, np.concatenate(keys)) | everything[owners]
    distances = np.full(times.shape, np.inf)
    distances[eligible] = haversine_many(query.lat, query.lon, lats[eligible], lons[eligible])
    inside = np.flatnonzero(distances <= query.radius_m)
    if inside.size == 0:
        return result
    # Runs break where an outside point lies between two inside ones, the track changes, or the fix was lost.
    breaks = (
        np.flatnonzero(
            (np.diff(inside) != 1) | (np.diff(owners[inside]) != 0) | (np.diff(times[inside]) > join_seconds)
        )
        + 1
    )
    firsts = np.concatenate(([0], breaks))
    lasts = np.concatenate((breaks - 1, [inside.size - 1]))
    closest = np.minimum.reduceat(distances[inside], firsts)
    for first, last, near in zip(inside[firsts].tolist(), inside[lasts].tolist(), closest.tolist(), strict=True):
        result[int(owners[first])].append(TimeSpan(_moment(float(times[first])), _moment(float(times[last])), near))
    return result


def _moment(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, tz=UTC)


def search_bodycams(session: Session, query: PlaceTimeQuery, *, join_seconds: float) -> list[SearchHit]:
    kind = spatial.flavour(session)
    candidates = spatial.candidate_minutes(
        session,
        kind,
        circle_boxes(query.lat, query.lon, query.radius_m),
        query.start.timestamp(),
        query.end.timestamp(),
    )
    hits: list[SearchHit] = []
    if not candidates:
        return hits
    ordered = sorted(candidates)
    for batch_start in range(0, len(ordered), 2000):
        batch = ordered[batch_start : batch_start + 2000]
        rows = session.execute(
            select(BodycamTrack.id, BodycamTrack.samples, BodycamRecording, Recording, Source, BodycamDevice.serial)
            .join(BodycamRecording, BodycamRecording.track_id == BodycamTrack.id)
            .join(Recording, Recording.id == BodycamRecording.recording_id)
            .join(Source, Source.id == Recording.source_id)
            .join(BodycamDevice, BodycamDevice.id == BodycamRecording.device_id)
            .where(BodycamTrack.id.in_(batch))
        ).all()
        spans_of = track_spans(
            [samples.unpack(row[1]) for row in rows], [candidates[row[0]] for row in rows], query, join_seconds
        )
        for (_, _, claim, recording, source, serial), spans in zip(rows, spans_of, strict=True):
            if not spans:
                continue
            hits.append(
                SearchHit(
                    recording_id=recording.id,
                    kind="bodycam",
                    source=source.name,
                    unit=source.unit,
                    recording_start=recording.start,
                    recording_end=recording.end,
                    spans=spans,
                    device=str(serial),
                    officer=claim.officer_matricule,
                    sequence=int(claim.sequence),
                    trigger=claim.trigger,
                )
            )
    return hits


def search_cameras(session: Session, query: PlaceTimeQuery) -> list[SearchHit]:
    try:
        from vigie.catalog.camera_models import Camera
    except ImportError:  # the fixed-camera registry is optional in this module's world
        return []
    hits: list[SearchHit] = []
    cameras = session.execute(
        select(Camera, Source)
        .join(Source, Source.id == Camera.source_id)
        .where(Camera.latitude.is_not(None), Camera.longitude.is_not(None))
    ).all()
    now = utcnow()
    for camera, source in cameras:
        assert camera.latitude is not None and camera.longitude is not None
        distance = haversine_m(query.lat, query.lon, camera.latitude, camera.longitude)
        if distance > query.radius_m:
            continue
        recordings = session.execute(
            select(Recording)
            .where(Recording.source_id == source.id, Recording.start <= query.end)
            .where(or_(Recording.end.is_(None), Recording.end >= query.start))
            .order_by(Recording.start)
        ).scalars()
        for recording in recordings:
            begin = max(recording.start, query.start)
            finish = min(recording.end or now, query.end)
            if finish < begin:
                continue
            hits.append(
                SearchHit(
                    recording_id=recording.id,
                    kind="camera",
                    source=source.name,
                    unit=source.unit,
                    recording_start=recording.start,
                    recording_end=recording.end,
                    spans=[TimeSpan(begin, finish, distance)],
                    position=(camera.latitude, camera.longitude),
                )
            )
    return hits


def search_place_time(
    session: Session, query: PlaceTimeQuery, *, join_seconds: float, include_cameras: bool = True
) -> list[SearchHit]:
    hits = search_bodycams(session, query, join_seconds=join_seconds)
    if include_cameras:
        hits.extend(search_cameras(session, query))
    hits.sort(key=lambda hit: (hit.spans[0].start, hit.source, hit.recording_id))
    return hits
