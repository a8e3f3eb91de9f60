"""GPS samples as stored: little-endian float64 rows of (unix seconds, lat, lon, accuracy m or NaN).

Binary rather than JSON because a wide search over a busy city centre reads thousands of tracks:
``numpy.frombuffer`` hands them to the distance computation without decoding a single number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vigie.ingest.bodycam.gps import TrackPoint

COLUMNS = 4  # t, lat, lon, accuracy
_DTYPE = np.dtype("<f8")
Samples = npt.NDArray[np.float64]


def pack(points: Sequence[TrackPoint]) -> bytes:
    rows = np.array(
        [(p.t, p.lat, p.lon, math.nan if p.accuracy_m is None else p.accuracy_m) for p in points], dtype=_DTYPE
    ).reshape(-1, COLUMNS)
    return rows.tobytes()


def pack_rows(rows: Sequence[Sequence[float]]) -> bytes:
    """From ``(t, lat, lon)`` or ``(t, lat, lon, accuracy)`` rows (tests, tools)."""
    return pack([TrackPoint(row[0], row[1], row[2], row[3] if len(row) > 3 else None) for row in rows])


def unpack(data: bytes | None) -> Samples:
    """An (n, 4) read-only view of the stored bytes."""
    if not data:
        return np.empty((0, COLUMNS), dtype=_DTYPE)
    return np.frombuffer(data, dtype=_DTYPE).reshape(-1, COLUMNS)
