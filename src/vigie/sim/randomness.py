"""Independent random streams, all derived from the scene seed.

Each concern draws from its own stream so that, for instance, turning rain on does not move a single
walker, and any frame can be rendered on its own (its per-frame streams are keyed by frame index).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    LAYOUT = 1
    BACKDROP = 2
    CAST = 3
    FLAMES = 4
    SMOKE = 5
    RAIN = 6
    NOISE = 7


def stream_rng(seed: int, stream: Stream, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(stream), *keys])
