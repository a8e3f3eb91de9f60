"""Shared helpers: synthetic clips (generated once, cached by the simulator's code) and their scores."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from vigie.analytics.evaluate import ClipOutcome, ClipScore, match_clip
from vigie.cli.analytics_commands import cached_clip, clip_cache_dir, run_scene, shared_data_dir
from vigie.sim import GroundTruth, SceneSpec

REPO = Path(__file__).resolve().parents[2]


def scene(kind: str, variant: str = "day", **overrides: object) -> SceneSpec:
    seconds = 30.0 if kind == "abandoned" else 20.0
    return SceneSpec(kind, variant=variant, seconds=seconds, **overrides)  # type: ignore[arg-type]


@lru_cache(maxsize=64)
def clip(spec: SceneSpec) -> tuple[Path, GroundTruth]:
    return cached_clip(spec, clip_cache_dir())


@lru_cache(maxsize=64)
def outcome(spec: SceneSpec) -> ClipOutcome:
    """The default detectors (plus zone ones) run over a scene, scored against its truth."""
    return run_scene(spec, clip_cache_dir())


def scored(spec: SceneSpec) -> ClipScore:
    return match_clip(outcome(spec))


def real_clip(name: str) -> Path | None:
    shared = shared_data_dir()
    if shared is None or not (shared / name).is_file():
        return None
    return shared / name
