"""Analytics cost per camera: bare decoding against the full pipeline, on a quiet and a busy street.

    .venv/bin/python bench/analytics.py [--seconds 60] [--repeats 5]

Two 640x360, 5 fps H.264 streams are generated with `vigie.sim` (cached under bench/.cache): a quiet
street (a few walkers) and a busy one (a crowd of 25 that disperses halfway). For each, the CPU time
(``time.process_time``, so decoder threads would count too) of

* **bare decode**: demux and decode every frame at the same fps policy, no analysis;
* **full pipeline**: the same plus an `Analyzer` with every detector enabled (zones included);

is measured ``--repeats`` times and the median kept. Printed: ms per frame, the ratio (goals:
≤ 1.5× on the quiet street, ≤ 3× on the busy one) and cameras per core at 5 analysed fps. OpenCV is
held to one thread: a node runs one camera per core, and OpenCV's pool only adds overhead at these
picture sizes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from vigie.analytics import Analyzer, AnalyzerConfig, CameraSetup, EventType, VideoSource, Zone, ZoneKind
from vigie.sim import SceneSpec, generate

CACHE = Path(__file__).resolve().parent / ".cache"
FPS = 5
GOALS = {"quiet": 1.5, "busy": 3.0}


def scenes(seconds: float) -> dict[str, SceneSpec]:
    return {
        "quiet": SceneSpec("walkers", width=640, height=360, fps=FPS, seconds=seconds, seed=1),
        "busy": SceneSpec("crowd_disperse", width=640, height=360, fps=FPS, seconds=seconds, seed=1),
    }


def clip_for(name: str, spec: SceneSpec) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"analytics-{name}-{spec.width}x{spec.height}-{spec.fps}fps-{int(spec.seconds)}s.mp4"
    if not path.exists():
        partial = path.with_suffix(".partial.mp4")
        generate(spec, partial, write_truth=False)
        partial.replace(path)
    return path


def every_detector(width: int, height: int) -> tuple[AnalyzerConfig, CameraSetup]:
    """All nine detectors, with a zone of each kind so that the zone detectors have work too."""

    def band(top: float, bottom: float, left: float = 0.0, right: float = 1.0) -> tuple[tuple[float, float], ...]:
        x0, x1, y0, y1 = left * width, right * width, top * height, bottom * height
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))

    setup = CameraSetup(
        (
            Zone("rails", ZoneKind.FORBIDDEN, band(0.35, 0.4)),
            Zone("lane", ZoneKind.DIRECTION, band(0.6, 0.75), (1.0, 0.0)),
            Zone("square", ZoneKind.DENSITY, band(0.5, 0.7, 0.3, 0.7), None, 20),
        )
    )
    return AnalyzerConfig(detectors=frozenset(EventType)), setup


def bare_decode(path: Path) -> tuple[float, int]:
    started = time.process_time()
    frames = 0
    with VideoSource.open(path, fps=FPS) as source:
        for _ in source:
            frames += 1
    return time.process_time() - started, frames


def full_pipeline(path: Path) -> tuple[float, int]:
    started = time.process_time()
    frames = 0
    with VideoSource.open(path, fps=FPS) as source:
        config, setup = every_detector(source.width, source.height)
        analyzer = Analyzer(source.width, source.height, config, setup)
        for frame in source:
            analyzer.process(frame)
            frames += 1
    return time.process_time() - started, frames


def median_ms_per_frame(run: Callable[[Path], tuple[float, int]], path: Path, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        seconds, frames = run(path)
        samples.append(1000.0 * seconds / max(frames, 1))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each generated stream")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (the median is kept)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(
        f"analytics bench: 640x360 H.264 at {FPS} fps, {args.seconds:.0f} s per stream, median of {args.repeats} runs"
    )
    print(f"{'scene':<7}{'bare decode':>14}{'full pipeline':>16}{'ratio':>8}{'goal':>7}{'cameras/core':>15}")
    failures = []
    for name, spec in scenes(args.seconds).items():
        path = clip_for(name, spec)
        full_pipeline(path)  # warm-up: imports, caches, first-run allocations
        bare = median_ms_per_frame(bare_decode, path, args.repeats)
        full = median_ms_per_frame(full_pipeline, path, args.repeats)
        ratio = full / bare
        per_core = 1000.0 / (full * FPS)
        goal = GOALS[name]
        verdict = "ok" if ratio <= goal else "over"
        if ratio > goal:
            failures.append(name)
        print(f"{name:<7}{bare:>11.3f} ms{full:>13.3f} ms{ratio:>7.2f}x{goal:>6.1f}x{per_core:>9.0f} ({verdict})")
    print("ms are CPU time per analysed frame (decode included in both); cameras/core = 1000 / (full ms × 5 fps)")
    if failures:
        print(f"over the cost goal: {', '.join(failures)}")


if __name__ == "__main__":
    main()
