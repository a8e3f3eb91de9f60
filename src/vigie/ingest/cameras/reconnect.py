"""When to try a camera again after a failure: exponential backoff with a cap and jitter.

The cap bounds how late recording resumes after a camera comes back (a gap is never longer than
the outage plus the cap plus one GOP). Jitter keeps 200 cameras that fell with the same switch
from reconnecting in lockstep.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial: float, maximum: float, *, factor: float = 2.0, jitter: float = 0.2) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._next = initial
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each call (one more failure) lengthens the following one."""
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        self.failures += 1
        spread = delay * self.jitter
        return max(0.0, min(self.maximum, delay + random.uniform(-spread, spread)))

    def reset(self) -> None:
        """The camera worked again: the next failure starts from the initial delay."""
        self._next = self.initial
        self.failures = 0
