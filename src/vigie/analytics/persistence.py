"""Debouncing: a per-frame condition becomes occurrences that start and end once.

Detectors look at noisy evidence frame by frame; operators want one alert per occurrence. A
condition must hold for ``on_seconds`` (tolerating dropouts shorter than ``max_gap``) before the
occurrence is raised, and must stay false for ``off_seconds`` before it ends. Everything is in
seconds, so the behaviour does not change with the analysis frame rate.
"""

from __future__ import annotations

from enum import Enum


class Transition(Enum):
    RAISE = "raise"
    END = "end"


class Persistence:
    def __init__(self, on_seconds: float, off_seconds: float, max_gap: float = 0.5) -> None:
        self.on_seconds = on_seconds
        self.off_seconds = off_seconds
        self.max_gap = max_gap
        self.active = False
        self.since: float | None = None  # when the current run of "holds" began
        self.last_true: float | None = None

    def update(self, now: float, holds: bool) -> Transition | None:
        if holds:
            new_run = self.since is None or self.last_true is None or now - self.last_true > self.max_gap
            if new_run and not self.active:
                self.since = now
            self.last_true = now
            if not self.active and self.since is not None and now - self.since >= self.on_seconds - 1e-6:
                self.active = True
                return Transition.RAISE
            return None
        if self.last_true is None:
            return None
        if self.active:
            if now - self.last_true >= self.off_seconds - 1e-6:
                self.active = False
                self.since = None
                return Transition.END
        elif now - self.last_true > self.max_gap:
            self.since = None
        return None

    def reset(self) -> None:
        self.active = False
        self.since = None
        self.last_true = None
