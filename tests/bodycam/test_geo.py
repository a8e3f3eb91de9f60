"""The index boxes only have to contain the truth: circle boxes and minute boxes, property-checked."""

from __future__ import annotations

import math

from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vigie.ingest.bodycam.geo import (
    EARTH_RADIUS_M,
    circle_boxes,
    haversine_m,
    index_seconds_floor,
    minute_boxes,
    to_micro_ceil,
    to_micro_floor,
)

lats = st.floats(min_value=-89.9, max_value=89.9)
lons = st.floats(min_value=-180.0, max_value=180.0)


@hypothesis_settings(max_examples=500, deadline=None)
@given(
    lat=lats,
    lon=lons,
    radius=st.floats(min_value=1.0, max_value=200_000.0),
    bearing=st.floats(min_value=0, max_value=2 * math.pi),
    fraction=st.floats(min_value=0.0, max_value=0.999),
)
def test_every_point_of_the_circle_is_in_a_box(
    lat: float, lon: float, radius: float, bearing: float, fraction: float
) -> None:
    # A point at distance fraction*radius along a bearing (spherical destination formula).
    delta = fraction * radius / EARTH_RADIUS_M
    phi1, lmb1 = math.radians(lat), math.radians(lon)
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(bearing))
    lmb2 = lmb1 + math.atan2(
        math.sin(bearing) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * math.sin(phi2)
    )
    plat, plon = math.degrees(phi2), (math.degrees(lmb2) + 540) % 360 - 180
    assume(haversine_m(lat, lon, plat, plon) <= radius)
    assert any(
        b.lat_min <= plat <= b.lat_max and b.lon_min <= plon <= b.lon_max for b in circle_boxes(lat, lon, radius)
    )


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(1.7e9, 1.8e9), lats, lons), min_size=1, max_size=200))
def test_minute_boxes_contain_their_points(rows: list[tuple[float, float, float]]) -> None:
    rows.sort()
    boxes = minute_boxes(rows)
    for t, lat, lon in rows:
        assert any(
            b.lat_min <= to_micro_floor(lat)
            and to_micro_ceil(lat) <= b.lat_max
            and b.lon_min <= to_micro_floor(lon)
            and to_micro_ceil(lon) <= b.lon_max
            and b.t_min <= index_seconds_floor(t) <= b.t_max
            for b in boxes
        )
    assert all(b.t_max - b.t_min <= 61 for b in boxes)  # the btree flavour relies on it
