"""Search by place and time returns exactly the recordings that passed within the radius (brute force says so)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text

from vigie.catalog.camera_models import Camera
from vigie.catalog.models import Recording
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.geo import haversine_m
from vigie.ingest.bodycam.registry import DeviceView
from vigie.ingest.bodycam.search import PlaceTimeQuery, search_bodycams, search_cameras, spans_within

from .helpers import LYON, T0, index_track

BASE = T0.timestamp()
_sequences = itertools.count(1)

track_strategy = st.builds(
    lambda start, steps, lat, lon, moves: (start, steps, lat, lon, moves),
    st.integers(min_value=0, max_value=6 * 3600),
    st.integers(min_value=1, max_value=30),
    st.floats(min_value=-0.01, max_value=0.01),
    st.floats(min_value=-0.01, max_value=0.01),
    st.lists(
        st.tuples(st.integers(1, 90), st.floats(-0.0015, 0.0015), st.floats(-0.0015, 0.0015)), min_size=1, max_size=40
    ),
)


def points_of(spec: tuple[int, int, float, float, list[tuple[int, float, float]]]) -> list[tuple[float, float, float]]:
    start, _, lat, lon, moves = spec
    t, la, lo = BASE + start, LYON[0] + lat, LYON[1] + lon
    points = [(t, la, lo)]
    for dt, dla, dlo in moves:
        t, la, lo = t + dt, la + dla, lo + dlo
        points.append((t, la, lo))
    return points


def brute_force(tracks: dict[str, list[tuple[float, float, float]]], query: PlaceTimeQuery) -> set[str]:
    t_from, t_to = query.start.timestamp(), query.end.timestamp()
    return {
        recording_id
        for recording_id, points in tracks.items()
        if any(
            t_from <= t <= t_to and haversine_m(query.lat, query.lon, lat, lon) <= query.radius_m
            for t, lat, lon in points
        )
    }


def check_against_brute_force(
    context: BodycamContext,
    device: DeviceView,
    new_tracks: list[tuple[int, int, float, float, list[tuple[int, float, float]]]],
    queries: list[tuple[float, float, float, int, int]],
) -> None:
    tracks = context.__dict__.setdefault("_test_tracks", {})  # grows over the examples: the index does too
    for spec in new_tracks:
        points = points_of(spec)
        tracks[index_track(context, device, next(_sequences), points)] = points
    for dlat, dlon, radius, start, length in queries:
        query = PlaceTimeQuery(
            LYON[0] + dlat,
            LYON[1] + dlon,
            radius,
            datetime.fromtimestamp(BASE + start, tz=UTC),
            datetime.fromtimestamp(BASE + start + length, tz=UTC),
        )
        with context.catalog.session() as session:
            hits = search_bodycams(session, query, join_seconds=30.0)
        assert {hit.recording_id for hit in hits} == brute_force(tracks, query)
        for hit in hits:
            inside = [
                t
                for t, lat, lon in tracks[hit.recording_id]
                if query.start.timestamp() <= t <= query.end.timestamp()
                and haversine_m(query.lat, query.lon, lat, lon) <= query.radius_m
            ]
            # The spans begin and end on points inside the circle, and cover every such point.
            edges = {span.start.timestamp() for span in hit.spans} | {span.end.timestamp() for span in hit.spans}
            assert edges <= set(inside)
            assert all(any(s.start.timestamp() <= t <= s.end.timestamp() for s in hit.spans) for t in inside)
            assert hit.closest_m <= query.radius_m
            # Looking only at the minutes the index matched gives the very spans of a full scan.
            rows = [list(point) for point in tracks[hit.recording_id]]
            assert hit.spans == spans_within(rows, query, join_seconds=30.0)


TRACKS = st.lists(track_strategy, min_size=1, max_size=4)
QUERIES = st.lists(
    st.tuples(
        st.floats(-0.012, 0.012),
        st.floats(-0.012, 0.012),
        st.floats(5.0, 2500.0),
        st.integers(-600, 7 * 3600),
        st.integers(1, 4 * 3600),
    ),
    min_size=1,
    max_size=5,
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new_tracks=TRACKS, queries=QUERIES)
def test_search_matches_brute_force_haversine(
    context: BodycamContext,
    device: DeviceView,
    new_tracks: list[tuple[int, int, float, float, list[tuple[int, float, float]]]],
    queries: list[tuple[float, float, float, int, int]],
) -> None:
    """On each stack's own index: SQLite R*Tree, or PostGIS when the extension is there."""
    check_against_brute_force(context, device, new_tracks, queries)


@pytest.fixture
def btree_index(context: BodycamContext) -> None:
    """PostgreSQL without PostGIS: the plain integer boxes under a btree."""
    if not context.settings.catalog_url.startswith("postgresql"):
        pytest.skip("the btree fallback is PostgreSQL's")
    with context.catalog.session() as session:
        session.execute(text("UPDATE meta SET value = 'btree' WHERE name = 'bodycam_spatial_index'"))


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new_tracks=TRACKS, queries=QUERIES)
def test_search_without_postgis_matches_brute_force_too(
    btree_index: None,
    context: BodycamContext,
    device: DeviceView,
    new_tracks: list[tuple[int, int, float, float, list[tuple[int, float, float]]]],
    queries: list[tuple[float, float, float, int, int]],
) -> None:
    check_against_brute_force(context, device, new_tracks, queries)


def reference_spans(points: list[list[float]], query: PlaceTimeQuery, join: float) -> list[tuple[float, float]]:
    """The span rule, written plainly: a scalar oracle for the vectorised implementation."""
    spans: list[tuple[float, float]] = []
    run: list[float] | None = None
    for t, lat, lon in points:
        if not query.start.timestamp() <= t <= query.end.timestamp():
            continue
        if haversine_m(query.lat, query.lon, lat, lon) > query.radius_m:
            if run:
                spans.append((run[0], run[1]))
            run = None
            continue
        if run and t - run[1] > join:
            spans.append((run[0], run[1]))
            run = None
        run = [run[0], t] if run else [t, t]
    if run:
        spans.append((run[0], run[1]))
    return spans


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    spec=track_strategy,
    dlat=st.floats(-0.01, 0.01),
    dlon=st.floats(-0.01, 0.01),
    radius=st.floats(5.0, 2000.0),
    start=st.integers(-600, 7 * 3600),
    length=st.integers(1, 8 * 3600),
    join=st.sampled_from([1.0, 30.0, 120.0]),
)
def test_vectorised_spans_equal_the_plain_rule(
    spec: tuple[int, int, float, float, list[tuple[int, float, float]]],
    dlat: float,
    dlon: float,
    radius: float,
    start: int,
    length: int,
    join: float,
) -> None:
    from vigie.ingest.bodycam.geo import from_index_seconds, minute_boxes

    points = [list(point) for point in points_of(spec)]
    query = PlaceTimeQuery(
        LYON[0] + dlat,
        LYON[1] + dlon,
        radius,
        datetime.fromtimestamp(BASE + start, tz=UTC),
        datetime.fromtimestamp(BASE + start + length, tz=UTC),
    )
    expected = reference_spans(points, query, join)
    full = spans_within(points, query, join)
    assert [(s.start.timestamp(), s.end.timestamp()) for s in full] == expected
    # Looking only at the minutes of boxes meeting the circle's boxes (as the index does): the same spans.
    from vigie.ingest.bodycam.geo import circle_boxes, to_micro_ceil, to_micro_floor

    minutes = [
        int(from_index_seconds(box.t_min)) // 60
        for box in minute_boxes([(p[0], p[1], p[2]) for p in points])
        if any(
            box.lat_max >= to_micro_floor(c.lat_min)
            and box.lat_min <= to_micro_ceil(c.lat_max)
            and box.lon_max >= to_micro_floor(c.lon_min)
            and box.lon_min <= to_micro_ceil(c.lon_max)
            for c in circle_boxes(query.lat, query.lon, radius)
        )
    ]
    assert spans_within(points, query, join, minutes) == full


def test_spans_split_when_the_track_leaves_the_circle_or_the_fix_is_lost() -> None:
    centre = PlaceTimeQuery(LYON[0], LYON[1], 50.0, T0, T0 + timedelta(hours=1))
    far = LYON[0] + 0.01
    t = BASE
    points = [
        [t, LYON[0], LYON[1]],
        [t + 1, LYON[0], LYON[1]],  # inside
        [t + 2, far, LYON[1]],  # outside: ends the first span
        [t + 3, LYON[0], LYON[1]],  # inside again
        [t + 100, LYON[0], LYON[1]],  # inside, but 97 s without a fix: a new span
    ]
    spans = spans_within(points, centre, join_seconds=30.0)
    assert [(s.start.timestamp() - t, s.end.timestamp() - t) for s in spans] == [(0, 1), (3, 3), (100, 100)]


def test_fixed_cameras_by_their_position(context: BodycamContext) -> None:
    near = context.vault.ensure_source("cam-place-bellecour", kind="camera", unit="ville-a")
    far = context.vault.ensure_source("cam-far-away", kind="camera", unit="ville-a")
    with context.catalog.session() as session:
        session.add(
            Camera(source_id=near.id, main_url="rtsp://127.0.0.1/x", latitude=LYON[0] + 0.0005, longitude=LYON[1])
        )
        session.add(Camera(source_id=far.id, main_url="rtsp://127.0.0.1/y", latitude=LYON[0] + 0.05, longitude=LYON[1]))
    for source in (near, far):
        recording = context.vault.begin_recording(source, start=T0)
        context.vault.finish(source, recording, end=T0 + timedelta(hours=2))
    query = PlaceTimeQuery(LYON[0], LYON[1], 100.0, T0 + timedelta(minutes=30), T0 + timedelta(hours=5))
    with context.catalog.session() as session:
        hits = search_cameras(session, query)
        recording_ids = {row.id for row in session.query(Recording).filter(Recording.source_id == near.id)}
    assert [hit.source for hit in hits] == ["cam-place-bellecour"]
    assert {hit.recording_id for hit in hits} == recording_ids
    span = hits[0].spans[0]
    assert (span.start, span.end) == (T0 + timedelta(minutes=30), T0 + timedelta(hours=2))
    assert 50 < span.closest_m < 60
