"""``vigie analyse`` (offline video analytics) and ``vigie evaluate`` (scoring them on labelled clips).

`analyse` is a contract other tools rely on: with ``--json`` it prints one JSON object per event and
nothing else on stdout; progress and errors go to stderr; a bad input is one ``error: ...`` line and
exit code 2.

`evaluate` runs every detector over the synthetic suite of `vigie.sim` (each scene kind by day, at
night and in rain, with exact ground truth) and over the real clips in the shared data directory when
present (where any abandoned-object, fire or crowd-movement alarm is false), then prints precision,
recall, mean detection delay and false alarms per hour per detector (`vigie.analytics.evaluate`).
Generated clips are cached in the temporary directory, keyed by the scene and the simulator's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigie.analytics import (
    Analyzer,
    AnalyzerConfig,
    CameraSetup,
    Event,
    EventType,
    FrameSizeError,
    VideoSource,
    VideoSourceError,
    Zone,
    ZoneError,
    ZoneKind,
    load_setup,
    parse_detectors,
    run_analyzer,
)
from vigie.analytics.evaluate import ClipOutcome, Occurrence, format_table, match_clip, score
from vigie.cli.context import CliState
from vigie.cli.output import console, fail
from vigie.config import AnalyticsSettings, load_settings
from vigie.sim import GroundTruth, SceneSpec, generate, truth_path_for

# Real footage beside the repository (never copied into it); see ../shared/data/README.md.
REAL_CLIPS: tuple[str, ...] = (
    "pedestrians/campus_walkers_480x360_10fps.mp4",
    "counting/one_by_one_768x432_10fps.mp4",
)
# On real clips nothing of these types happens (README of the shared data): any such alarm is false.
REAL_CLIP_TYPES: frozenset[EventType] = frozenset(
    {EventType.ABANDONED_OBJECT, EventType.FIRE, EventType.CROWD_MOVEMENT}
)
SUITE_KINDS: tuple[str, ...] = (
    "walkers",
    "abandoned",
    "crowd_disperse",
    "crowd_thickens",
    "zone_intrusion",
    "wrong_way",
    "fall",
    "fire",
    "tamper",
)
SUITE_VARIANTS: tuple[str, ...] = ("day", "night", "rain")


def _settings(ctx: typer.Context) -> AnalyticsSettings:
    state = ctx.obj
    home = state.home if isinstance(state, CliState) else None
    return load_settings(home).analytics


def analyse(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video file (or stream URL) to analyse.", show_default=False)],
    detectors: Annotated[
        str | None,
        typer.Option(
            "--detectors",
            help="Comma-separated detectors (abandoned_object, crowd_movement, crowd_density, zone_intrusion, "
            "wrong_way, person_down, fire, camera_tamper, motion, or all). Default: all that need no zones, "
            "plus zone detectors when --zones has such zones.",
        ),
    ] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="Frames analysed per second (default 5).")] = None,
    zones: Annotated[
        Path | None, typer.Option("--zones", help="Zones JSON: forbidden, density and direction polygons.")
    ] = None,
    abandoned_after: Annotated[
        float | None,
        typer.Option("--abandoned-after", help="Seconds an object stays unattended before an alert (default 60)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per event on stdout, nothing else.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why a vault recording is analysed (required for recordings; audited).")
    ] = None,
) -> None:
    """Run the video analytics on a file, or on a vault recording (audited), and list the events."""
    if not video.exists() and "://" not in str(video):
        with _recording_as_file(ctx, str(video), reason) as (path, audit_done):
            analyse(ctx, path, detectors, fps, zones, abandoned_after, json_output, None)
            audit_done()
        return
    settings = _settings(ctx)
    rate = settings.fps if fps is None else fps
    if not rate > 0:
        fail(f"--fps {rate} must be a positive number")
    seconds = settings.abandoned_after_seconds if abandoned_after is None else abandoned_after
    if not seconds >= 0:
        fail(f"--abandoned-after {seconds} must be a non-negative number of seconds")

    started = time.monotonic()
    try:
        if detectors is not None:
            parse_detectors(detectors, _any_zone_setup())  # unknown names fail before any decoding
        with VideoSource.open(video, fps=rate) as source:
            setup = load_setup(zones, source.width, source.height) if zones is not None else CameraSetup()
            config = AnalyzerConfig.from_settings(settings, setup).with_abandoned_after(seconds)
            if detectors is not None:
                config = replace(config, detectors=parse_detectors(detectors, setup))
            analyzer = Analyzer(source.width, source.height, config, setup)
            report = run_analyzer(analyzer, source)
    except (VideoSourceError, ZoneError, FrameSizeError, ValueError) as error:
        fail(str(error).splitlines()[0])
    elapsed = time.monotonic() - started
    console.print(
        f"analysed {report.frames_analysed} frames ({report.duration:.1f} s of video, {report.width}x{report.height}) "
        f"in {elapsed:.1f} s: {len(report.events)} event(s)",
        highlight=False,
    )
    if json_output:
        for event in report.events:
            sys.stdout.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    _print_events(report.events)


@contextlib.contextmanager
def _recording_as_file(
    ctx: typer.Context, recording_id: str, reason: str | None
) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A vault recording as a private temporary file (0700 folder, deleted after), for forensic review.

    Analysing footage is a consultation: it needs a reason and is written to the register.
    """
    from vigie.access.audit import AuditRecord
    from vigie.export.extract import extract_recording
    from vigie.vault.store import VaultError

    state = ctx.obj
    assert isinstance(state, CliState)
    try:
        recording = state.vault.recording(recording_id)
    except VaultError:
        fail(f"{recording_id}: no such file, and no recording of this installation has that id")
    if not reason or not reason.strip():
        fail("analysing a vault recording needs --reason (it is written to the access register)")
    with tempfile.TemporaryDirectory(prefix="vigie-analyse-") as private:
        os.chmod(private, 0o700)
        path = Path(private) / "recording.mp4"
        extract_recording(state.vault, recording, path)

        def audited() -> None:
            state.audit.append(
                state.actor,
                AuditRecord(action="analyse", object_type="recording", object_ids=[recording.id], reason=reason),
            )

        yield path, audited


def _any_zone_setup() -> CameraSetup:
    """A setup with one zone of each kind, to check detector names before the real zones are read."""
    square = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    return CameraSetup(
        (
            Zone("f", ZoneKind.FORBIDDEN, square),
            Zone("d", ZoneKind.DIRECTION, square, (1.0, 0.0)),
            Zone("n", ZoneKind.DENSITY, square),
        )
    )


def _print_events(events: Sequence[Event]) -> None:
    table = Table(title=f"{len(events)} event(s)", show_lines=False)
    for column in ("type", "start s", "end s", "box (x, y, w, h)", "score", "details"):
        table.add_column(column)
    for event in events:
        details = ", ".join(
            f"{k}={v}" for k, v in event.to_json().items() if k not in {"type", "start", "end", "box", "score"}
        )
        table.add_row(
            event.type.value,
            f"{event.start:.1f}",
            "—" if event.end is None else f"{event.end:.1f}",
            "—" if event.box is None else ", ".join(str(v) for v in event.box.as_list()),
            f"{event.score:.2f}",
            details,
        )
    Console().print(table)


# --- evaluation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteResult:
    outcomes: list[ClipOutcome]
    synthetic_seconds: float
    real_seconds: float
    shared_data: Path | None


def shared_data_dir() -> Path | None:
    """Where the real clips live: ``$VIGIE_SHARED_DATA``, else ``<repository>/../shared/data``."""
    configured = os.environ.get("VIGIE_SHARED_DATA")
    candidate = Path(configured) if configured else Path(__file__).resolve().parents[3].parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def synthetic_suite(quick: bool = False, seeds: int | None = None) -> list[SceneSpec]:
    """Every scene kind by day, at night and in rain, plus a defocused camera, for several seeds
    (different walkers, layouts and event places); ``quick``: by day, one seed.

    Scenes last 20 s; the abandoned-bag scene 30 s so that its 10 s unattended timer ends well
    inside the clip.
    """
    variants = ("day",) if quick else SUITE_VARIANTS
    count = seeds if seeds is not None else (1 if quick else 3)
    specs: list[SceneSpec] = []
    for seed in range(count):
        specs.extend(
            SceneSpec(kind, variant=variant, seed=seed, seconds=30.0 if kind == "abandoned" else 20.0)  # type: ignore[arg-type]
            for variant in variants
            for kind in SUITE_KINDS
        )
        if not quick:
            specs.append(SceneSpec("tamper", tamper_mode="defocus", seed=seed))
    return specs


def clip_cache_dir() -> Path:
    """A temporary directory for generated clips, versioned by the simulator's own source code."""
    import vigie.sim

    digest = hashlib.sha256()
    for source in sorted(Path(vigie.sim.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    directory = Path(tempfile.gettempdir()) / "vigie-eval-cache" / digest.hexdigest()[:12]
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def cached_clip(spec: SceneSpec, directory: Path) -> tuple[Path, GroundTruth]:
    """The clip of a scene and its truth, generated once (atomically, so parallel runs may share)."""
    key = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    video = directory / f"{spec.kind}-{spec.variant}-{key}.mp4"
    truth_file = truth_path_for(video)
    if video.exists() and truth_file.exists():
        return video, GroundTruth.read(truth_file)
    partial = directory / f".{video.stem}.{os.getpid()}.partial.mp4"
    truth = generate(spec, partial, write_truth=False)
    truth.write(truth_file)
    partial.replace(video)
    return video, truth


def camera_setup_for(truth: GroundTruth) -> CameraSetup:
    """The zones of a synthetic scene as an installer would configure them."""
    kinds = {"forbidden": ZoneKind.FORBIDDEN, "one_way": ZoneKind.DIRECTION, "density": ZoneKind.DENSITY}
    zones = []
    for zone in truth.zones:
        kind = kinds[zone.role]
        zones.append(
            Zone(
                zone.name,
                kind,
                tuple((float(x), float(y)) for x, y in zone.polygon),
                zone.direction if kind is ZoneKind.DIRECTION else None,
                truth.spec.density_threshold if kind is ZoneKind.DENSITY else None,
            )
        )
    return CameraSetup(tuple(zones))


def scene_name(spec: SceneSpec) -> str:
    name = f"{spec.kind} {spec.variant}"
    if spec.kind == "tamper" and spec.tamper_mode != "cover":
        name = f"{name} ({spec.tamper_mode})"
    return f"{name} #{spec.seed}" if spec.seed else name


def run_scene(spec: SceneSpec, directory: Path, settings: AnalyticsSettings | None = None) -> ClipOutcome:
    """Analyse one synthetic scene with the default detectors (plus zone ones) and its truth."""
    video, truth = cached_clip(spec, directory)
    setup = camera_setup_for(truth)
    base = AnalyzerConfig.from_settings(settings or AnalyticsSettings(), setup)
    # The scene's own unattended time: its truth says when the alert is due.
    config = base.with_abandoned_after(spec.abandoned_after)
    with VideoSource.open(video, fps=(settings or AnalyticsSettings()).fps) as source:
        report = run_analyzer(Analyzer(source.width, source.height, config, setup), source)
    return ClipOutcome(
        name=scene_name(spec),
        duration=spec.seconds,
        detectors=config.detectors,
        truth=tuple(Occurrence(EventType(e.type), e.start, e.end) for e in truth.events),
        detected=tuple(Occurrence(e.type, e.start) for e in report.events),
    )


def run_real_clip(path: Path, settings: AnalyticsSettings | None = None) -> ClipOutcome:
    """Analyse a real clip with the default settings; its truth is that nothing happens."""
    chosen = settings or AnalyticsSettings()
    config = AnalyzerConfig.from_settings(chosen)
    with VideoSource.open(path, fps=chosen.fps) as source:
        report = run_analyzer(Analyzer(source.width, source.height, config), source)
    return ClipOutcome(
        name=path.name,
        duration=report.duration,
        detectors=config.detectors,
        truth=(),
        detected=tuple(Occurrence(e.type, e.start) for e in report.events),
        real=True,
    )


def run_suite(
    quick: bool, settings: AnalyticsSettings | None = None, progress: bool = True, seeds: int | None = None
) -> SuiteResult:
    directory = clip_cache_dir()
    outcomes: list[ClipOutcome] = []
    specs = synthetic_suite(quick, seeds)
    shared = shared_data_dir()
    real = [shared / name for name in REAL_CLIPS if (shared / name).is_file()] if shared is not None else []
    total = len(specs) + len(real)
    for index, spec in enumerate(specs, start=1):
        outcome = run_scene(spec, directory, settings)
        outcomes.append(outcome)
        if progress:
            console.print(f"[{index}/{total}] {outcome.name}: {len(outcome.detected)} event(s)", highlight=False)
    for index, path in enumerate(real, start=len(specs) + 1):
        outcome = run_real_clip(path, settings)
        outcomes.append(outcome)
        if progress:
            console.print(f"[{index}/{total}] {outcome.name}: {len(outcome.detected)} event(s)", highlight=False)
    return SuiteResult(
        outcomes,
        synthetic_seconds=sum(o.duration for o in outcomes if not o.real),
        real_seconds=sum(o.duration for o in outcomes if o.real),
        shared_data=shared,
    )


def evaluate(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option("--quick", help="Day scenes, one seed (well under a minute).")] = False,
    seeds: Annotated[
        int | None, typer.Option("--seeds", min=1, max=20, help="Scene seeds to run (default: 3, quick: 1).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the scores as one JSON document.")] = False,
) -> None:
    """Score every detector on synthetic scenes with exact truth and on the real clips (when present)."""
    settings = _settings(ctx)
    started = time.monotonic()
    result = run_suite(quick, settings, progress=True, seeds=seeds)
    elapsed = time.monotonic() - started
    synthetic = [o for o in result.outcomes if not o.real]
    real = [o for o in result.outcomes if o.real]
    synthetic_scores = score(synthetic)
    if json_output:
        document: dict[str, Any] = {
            "suite": "quick" if quick else "full",
            "synthetic_clips": len(synthetic),
            "synthetic_minutes": round(result.synthetic_seconds / 60, 2),
            "detectors": [item.as_dict() for item in synthetic_scores],
            "real_clips": [_real_summary(o) for o in real],
            "clips": [_clip_summary(o) for o in result.outcomes],
            "seconds": round(elapsed, 1),
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    out = Console(highlight=False, soft_wrap=True)
    seed_count = len({o.name.split(" #")[-1] if " #" in o.name else "0" for o in synthetic})
    out.print(
        f"Synthetic suite ({'quick: day only' if quick else 'day, night and rain'}, {seed_count} seed(s)): "
        f"{len(synthetic)} clips, {result.synthetic_seconds / 60:.1f} min of footage"
    )
    out.print(format_table(synthetic_scores), markup=False)
    problems = [(o.name, match_clip(o)) for o in synthetic]
    misses = [f"{name}: {t.type.value} at {t.start:.1f} s" for name, clip in problems for t in clip.missed]
    alarms = [
        f"{name}: {d.type.value} at {d.start:.1f} s{' (late)' if d in clip.late else ''}"
        for name, clip in problems
        for d in clip.false_alarms
    ]
    out.print(f"missed: {'; '.join(misses) if misses else 'none'}", markup=False)
    out.print(f"false alarms: {'; '.join(alarms) if alarms else 'none'}", markup=False)
    if result.shared_data is None:
        out.print("real clips: shared data not found (set VIGIE_SHARED_DATA)")
    else:
        out.print(f"Real clips ({result.real_seconds / 60:.1f} min, {result.shared_data}):")
        for outcome in real:
            summary = _real_summary(outcome)
            out.print(
                f"  {outcome.name}: {summary['alarms']} alarm(s) in {outcome.duration:.0f} s; "
                f"abandoned_object/fire/crowd_movement: {summary['forbidden_alarms']} "
                f"({'OK' if summary['forbidden_alarms'] == 0 else 'FAIL'})",
                markup=False,
            )
            for line in summary["events"]:
                out.print(f"    {line}", markup=False)
    out.print(f"evaluated in {elapsed:.0f} s")


def _real_summary(outcome: ClipOutcome) -> dict[str, Any]:
    forbidden = [d for d in outcome.detected if d.type in REAL_CLIP_TYPES]
    return {
        "clip": outcome.name,
        "seconds": round(outcome.duration, 1),
        "alarms": len(outcome.detected),
        "forbidden_alarms": len(forbidden),
        "events": [f"{d.type.value} at {d.start:.1f} s" for d in outcome.detected],
    }


def _clip_summary(outcome: ClipOutcome) -> dict[str, Any]:
    clip = match_clip(outcome)
    return {
        "clip": outcome.name,
        "real": outcome.real,
        "truth": [{"type": t.type.value, "start": t.start} for t in outcome.truth],
        "detected": [{"type": d.type.value, "start": round(d.start, 2)} for d in outcome.detected],
        "missed": [{"type": t.type.value, "start": t.start} for t in clip.missed],
        "false_alarms": [{"type": d.type.value, "start": round(d.start, 2)} for d in clip.false_alarms],
        "delays": [round(d.start - t.start, 2) for t, d in clip.matched],
    }
