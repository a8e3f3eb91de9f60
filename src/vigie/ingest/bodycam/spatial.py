"""The place-and-time index of body-cam tracks: one box per recording-minute.

Three flavours, one interface (chosen by the migration and written in ``meta``):

* ``rtree``: SQLite's R*Tree (``rtree_i32``: exact integer coordinates in microdegrees and seconds
  since 2020; a float32 R*Tree would round unix seconds to about two minutes);
* ``postgis:<schema>``: PostGIS, each box a 3-D line (lon, lat, seconds) whose n-D bounding box is
  the box, under a GiST ``gist_geometry_ops_nd`` index and the ``&&&`` operator;
* ``btree``: PostgreSQL without PostGIS, the same integer boxes in a table with a btree on
  (t_min, lat_min, lon_min). A box never spans more than a minute, so ``t_min`` alone bounds the
  time range tightly and the btree does the work.

Every flavour answers "which tracks have a box meeting this box and period, and in which minutes":
a superset. The exact answer is the haversine post-filter on the points of those minutes (``search``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from vigie.catalog.models import Meta
from vigie.ingest.bodycam.geo import (
    Box,
    IndexBox,
    from_index_seconds,
    index_seconds_ceil,
    index_seconds_floor,
    to_micro_ceil,
    to_micro_floor,
)

SPATIAL_META = "bodycam_spatial_index"
INDEX_TABLE = "bodycam_track_boxes"
MINUTE = 60


@dataclass(frozen=True)
class Flavour:
    kind: str  # rtree | postgis | btree
    schema: str | None = None  # PostGIS's schema

    @classmethod
    def of(cls, value: str | None) -> Flavour:
        if value is None:
            raise RuntimeError("the place-and-time index is missing: run 'vigie migrate'")
        kind, _, schema = value.partition(":")
        if kind not in ("rtree", "postgis", "btree"):
            raise RuntimeError(f"unknown place-and-time index flavour {value!r}")
        return cls(kind, schema or None)


def flavour(session: Session) -> Flavour:
    row = session.get(Meta, SPATIAL_META)
    return Flavour.of(row.value if row else None)


def _qualified(schema: str | None, name: str) -> str:
    return f'"{schema}".{name}' if schema else name


def add_boxes(session: Session, kind: Flavour, track_id: int, boxes: Sequence[IndexBox]) -> None:
    if not boxes:
        return
    rows = [
        {
            "track_id": track_id,
            "lat_min": box.lat_min,
            "lat_max": box.lat_max,
            "lon_min": box.lon_min,
            "lon_max": box.lon_max,
            "t_min": box.t_min,
            "t_max": box.t_max,
        }
        for box in boxes
    ]
    columns = "track_id, lat_min, lat_max, lon_min, lon_max, t_min, t_max"
    values = ":track_id, :lat_min, :lat_max, :lon_min, :lon_max, :t_min, :t_max"
    if kind.kind == "postgis":
        point = _qualified(kind.schema, "ST_MakePoint")
        line = _qualified(kind.schema, "ST_MakeLine")
        geometry = (
            f"{line}({point}(:lon_min / 1e6, :lat_min / 1e6, :t_min), {point}(:lon_max / 1e6, :lat_max / 1e6, :t_max))"
        )
        session.execute(text(f"INSERT INTO {INDEX_TABLE} ({columns}, box) VALUES ({values}, {geometry})"), rows)
        return
    session.execute(text(f"INSERT INTO {INDEX_TABLE} ({columns}) VALUES ({values})"), rows)


def remove_track(session: Session, track_id: int) -> None:
    session.execute(text(f"DELETE FROM {INDEX_TABLE} WHERE track_id = :track_id"), {"track_id": track_id})


def candidate_minutes(
    session: Session, kind: Flavour, boxes: Sequence[Box], t_from: float, t_to: float
) -> dict[int, list[int]]:
    """Tracks with a recording-minute box meeting one of ``boxes`` within [t_from, t_to] (unix seconds),
    and for each the unix minutes of those boxes: only points of those minutes can lie within the circle."""
    found: dict[int, list[int]] = {}
    lo, hi = index_seconds_floor(t_from), index_seconds_ceil(t_to)
    for box in boxes:
        params = {
            "lat_lo": to_micro_floor(box.lat_min),
            "lat_hi": to_micro_ceil(box.lat_max),
            "lon_lo": to_micro_floor(box.lon_min),
            "lon_hi": to_micro_ceil(box.lon_max),
            "t_lo": lo,
            "t_hi": hi,
            "t_lo_minus_minute": lo - MINUTE,
        }
        if kind.kind == "rtree":
            statement = (
                f"SELECT track_id, t_min FROM {INDEX_TABLE} WHERE lat_max >= :lat_lo AND lat_min <= :lat_hi "
                "AND lon_max >= :lon_lo AND lon_min <= :lon_hi AND t_max >= :t_lo AND t_min <= :t_hi"
            )
        elif kind.kind == "postgis":
            point = _qualified(kind.schema, "ST_MakePoint")
            line = _qualified(kind.schema, "ST_MakeLine")
            operator = f"OPERATOR({kind.schema}.&&&)" if kind.schema else "&&&"
            statement = (
                f"SELECT track_id, t_min FROM {INDEX_TABLE} WHERE box {operator} "
                f"{line}({point}(:lon_lo / 1e6, :lat_lo / 1e6, :t_lo), {point}(:lon_hi / 1e6, :lat_hi / 1e6, :t_hi))"
            )
        else:
            statement = (
                f"SELECT track_id, t_min FROM {INDEX_TABLE} WHERE t_min >= :t_lo_minus_minute "
                "AND t_min <= :t_hi AND t_max >= :t_lo AND lat_max >= :lat_lo AND lat_min <= :lat_hi "
                "AND lon_max >= :lon_lo AND lon_min <= :lon_hi"
            )
        for track_id, t_min in session.execute(text(statement), params):
            # A box's t_min is its first point's second, floored: its minute is the box's clock minute.
            found.setdefault(int(track_id), []).append(int(from_index_seconds(t_min)) // 60)
    return found
