"""The fixed street camera: a pinhole 4.8 m above a flat street, and the street's layout in metres.

The world has X to the right and Z away from the camera along the ground. Working in metres and
projecting makes perspective come for free: people shrink and slow down towards the horizon, and
a figure keeps its real size whatever the frame resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

CAMERA_HEIGHT_M = 4.8
# The horizon sits just above the top edge: the camera looks down on the street.
HORIZON_ROW_FRACTION = -0.02
# Focal length as a multiple of the frame height (a 16:9 frame spans about 53 degrees).
FOCAL_PER_HEIGHT = 16 / 9

# Street layout, as depths (metres from the camera) of horizontal bands.
FACADE_Z = 25.0  # building fronts; the ground ends here
CURB_Z = 23.2  # far kerb, between the sidewalk and the tram tracks
TRACK_NEAR_Z = 20.6  # near edge of the tram track bed (the forbidden zone)
RAIL_Z = (21.2, 22.6)
FENCE_Z = 20.2  # low railing separating the plaza from the tracks
LAMP_Z = 19.9
PLAZA_FAR_Z = 19.6  # walkers keep in front of this
PLAZA_NEAR_Z = 9.6  # and behind this, so they stay whole in the frame
BIN_Z = 9.8
BENCH_Z = 17.6


@dataclass(frozen=True)
class Camera:
    width: int
    height: int

    @property
    def focal(self) -> float:
        return self.height * FOCAL_PER_HEIGHT

    @property
    def horizon_row(self) -> float:
        return self.height * HORIZON_ROW_FRACTION

    @property
    def centre_column(self) -> float:
        return self.width / 2

    def ground_row(self, z: float) -> float:
        """Image row of the ground at depth z."""
        return self.horizon_row + self.focal * CAMERA_HEIGHT_M / z

    def project(self, x: float, z: float, up: float = 0.0) -> tuple[float, float]:
        """Image point (column, row) of the world point at ground position (x, z), ``up`` metres high."""
        return (
            self.centre_column + self.focal * x / z,
            self.horizon_row + self.focal * (CAMERA_HEIGHT_M - up) / z,
        )

    def project_many(self, x: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        return self.centre_column + self.focal * x / z, self.horizon_row + self.focal * CAMERA_HEIGHT_M / z

    def pixels_per_metre(self, z: float) -> float:
        return self.focal / z

    def half_width_m(self, z: float) -> float:
        """Half the width of the view, in metres, at depth z."""
        return self.centre_column * z / self.focal

    def off_screen_x(self, z: float, side: float, margin: float = 1.2) -> float:
        """An X just outside the view at depth z, on the left (side < 0) or right (side > 0)."""
        return float(np.sign(side)) * (self.half_width_m(z) + margin)

    def depth_of_row(self, row: FloatArray) -> FloatArray:
        """Ground depth seen at image rows (rows below the horizon only)."""
        return self.focal * CAMERA_HEIGHT_M / (row - self.horizon_row)


@dataclass(frozen=True)
class StreetLayout:
    """Where the seed put the street furniture, in metres."""

    bench_x: float
    bin_x: float
    lamp_xs: tuple[float, ...]

    @classmethod
    def from_seed(cls, rng: np.random.Generator, camera: Camera) -> StreetLayout:
        bench_half_range = camera.half_width_m(BENCH_Z) - 1.6
        bin_half_range = camera.half_width_m(BIN_Z) - 0.6
        lamp_half_range = camera.half_width_m(LAMP_Z) - 1.0
        return cls(
            bench_x=float(-rng.uniform(0.35, 0.7) * bench_half_range),
            bin_x=float(-rng.uniform(0.55, 0.8) * bin_half_range),
            lamp_xs=(
                float(-rng.uniform(0.45, 0.8) * lamp_half_range),
                float(rng.uniform(0.35, 0.75) * lamp_half_range),
            ),
        )

    def obstacles(self) -> list[tuple[float, float, float, float]]:
        """Ground rectangles (x0, z0, x1, z1) that walkers must not walk through, with a margin."""
        return [
            (self.bench_x - 1.3, BENCH_Z - 0.8, self.bench_x + 1.3, BENCH_Z + 0.6),
            (self.bin_x - 0.7, BIN_Z - 0.7, self.bin_x + 0.7, BIN_Z + 0.7),
        ]
