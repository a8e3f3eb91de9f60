"""Distances on the Earth and the integer boxes of the place-and-time index.

Haversine on a sphere of mean radius is within 0.5 % of the ellipsoid, far below GPS error; the
index boxes only have to *contain* the truth (the exact test is the haversine post-filter), so
they are rounded outwards to whole microdegrees and whole seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
FloatArray = npt.NDArray[np.float64]
MICRODEGREES = 1_000_000
# The index stores seconds since this instant in 32-bit integers: good until 2088.
INDEX_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_INDEX_EPOCH_UNIX = int(INDEX_EPOCH.timestamp())


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_many(lat: float, lon: float, lats: FloatArray, lons: FloatArray) -> FloatArray:
    """:func:`haversine_m` from one point to many, the same formula term by term (NumPy)."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    dphi = phi2 - phi1
    dlmb = np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return result


def valid_position(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box in degrees (south, north, west, east); never crosses the antimeridian."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float


def circle_boxes(lat: float, lon: float, radius_m: float) -> list[Box]:
    """Boxes that together contain every point within ``radius_m`` of (lat, lon).

    Near a pole the circle covers every longitude; across the antimeridian it is split in two.
    """
    angular = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angular)
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_min <= -90.0 or lat_max >= 90.0:
        return [Box(max(lat_min, -90.0), min(lat_max, 90.0), -180.0, 180.0)]
    # The widest longitude extent of a spherical cap (exact, not the equator's approximation).
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return [Box(lat_min, lat_max, -180.0, 180.0)]
    dlon = math.degrees(math.asin(ratio))
    west, east = lon - dlon, lon + dlon
    if west < -180.0:
        return [Box(lat_min, lat_max, west + 360.0, 180.0), Box(lat_min, lat_max, -180.0, east)]
    if east > 180.0:
        return [Box(lat_min, lat_max, west, 180.0), Box(lat_min, lat_max, -180.0, east - 360.0)]
    return [Box(lat_min, lat_max, west, east)]


def to_micro_floor(degrees: float) -> int:
    return math.floor(degrees * MICRODEGREES)


def to_micro_ceil(degrees: float) -> int:
    return math.ceil(degrees * MICRODEGREES)


def index_seconds_floor(unix_seconds: float) -> int:
    return math.floor(unix_seconds) - _INDEX_EPOCH_UNIX


def index_seconds_ceil(unix_seconds: float) -> int:
    return math.ceil(unix_seconds) - _INDEX_EPOCH_UNIX


def from_index_seconds(seconds: int) -> float:
    return float(seconds + _INDEX_EPOCH_UNIX)


@dataclass(frozen=True)
class IndexBox:
    """One entry of the place-and-time index: the points of one track within one clock minute."""

    lat_min: int  # microdegrees
    lat_max: int
    lon_min: int
    lon_max: int
    t_min: int  # seconds since INDEX_EPOCH
    t_max: int


def minute_boxes(points: list[tuple[float, float, float]]) -> list[IndexBox]:
    """Group time-ordered ``(unix seconds, lat, lon)`` points by clock minute; one box per minute.

    A recording-minute is the index's unit: coarse enough that 10,400 devices × 30 days stay near
    19 M entries, fine enough that a small circle over an hour touches few of them.
    """
    boxes: list[IndexBox] = []
    current: int | None = None
    lat_lo = lat_hi = lon_lo = lon_hi = 0.0
    t_lo = t_hi = 0.0

    def close() -> None:
        boxes.append(
            IndexBox(
                to_micro_floor(lat_lo),
                to_micro_ceil(lat_hi),
                to_micro_floor(lon_lo),
                to_micro_ceil(lon_hi),
                index_seconds_floor(t_lo),
                index_seconds_ceil(t_hi),
            )
        )

    for t, lat, lon in points:
        minute = math.floor(t / 60.0)
        if minute != current:
            if current is not None:
                close()
            current = minute
            lat_lo = lat_hi = lat
            lon_lo = lon_hi = lon
            t_lo = t_hi = t
            continue
        lat_lo, lat_hi = min(lat_lo, lat), max(lat_hi, lat)
        lon_lo, lon_hi = min(lon_lo, lon), max(lon_hi, lon)
        t_lo, t_hi = min(t_lo, t), max(t_hi, t)
    if current is not None:
        close()
    return boxes
