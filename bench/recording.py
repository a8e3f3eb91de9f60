"""Recording cost per camera: Vigie's recorder against one ffmpeg per camera, on the same simulated cameras.

    python bench/recording.py [--cameras 40] [--seconds 60] [--width 1280 --height 720 --fps 25]
    python bench/recording.py --cameras 4 --seconds 10          # a quick run
    python bench/recording.py --rounds 3                         # alternate both sides, report medians

One run, one RTSP simulator (``vigie.sim.rtsp``, H.264 encoded once, ~2 Mb/s per camera):

1. Vigie: a child process runs :class:`vigie.ingest.cameras.Recorder` on every camera — RTSP/TCP
   demux, fMP4 segments of ~4 s, SHA-256 + AES-256-GCM, fsync'd blob, chained catalog row — plus
   one live-relay viewer on cam0 (fragment per frame) to measure latency.
2. ffmpeg: one ``ffmpeg -rtsp_transport tcp -i URL -c copy -f segment -segment_time 4 out%03d.mp4``
   per camera (no hashing, no encryption, no catalog: the floor of "just write the stream to disk").

CPU is read from /proc/<pid>/stat (user + system time of every thread) over the same steady
window for both, after every camera is connected. Prints CPU % of one core per camera, the
ratio, cameras per core extrapolated, the simulator's own cost, and live latency from the time
the simulated camera sent a frame (stamped in an SEI message) to a LiveHub subscriber receiving it.
The machine may be shared: run twice and compare before trusting a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the Vigie side, in a child process ------------------------------------------------------------
def vigie_child(config_path: str) -> None:
    """Record every camera until told to stop on stdin; report segments and live latency on stdout."""
    import logging

    from sqlalchemy import func, select

    from vigie.access.audit import Actor, AuditLog
    from vigie.catalog.db import Catalog
    from vigie.catalog.models import Segment
    from vigie.config import Settings
    from vigie.ingest.cameras.health import CameraState
    from vigie.ingest.cameras.live import LiveHub
    from vigie.ingest.cameras.recorder import Recorder
    from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
    from vigie.sim.rtsp import read_stamp
    from vigie.vault.store import Vault

    logging.basicConfig(level=logging.WARNING)
    config = json.loads(Path(config_path).read_text())
    home = Path(config["home"])
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home)
    catalog = Catalog(settings.catalog_url)
    vault = Vault(settings, catalog)
    registry = CameraRegistry(vault, AuditLog(catalog, vault.signer))
    for name, url in config["cameras"].items():
        registry.add(CameraSpec(name, url), Actor("bench", "local-admin"))
    hub = LiveHub(settings.recorder)
    recorder = Recorder(settings, catalog, vault, hub=hub)
    recorder.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = recorder.health()
        if len(health) == len(config["cameras"]) and all(s.state is CameraState.ONLINE for s in health):
            break
        time.sleep(0.2)
    latencies: list[float] = []
    watching = threading.Event()
    watching.set()

    def watch() -> None:
        with hub.subscribe(next(iter(config["cameras"])), timeout=10) as subscription:
            while watching.is_set():
                fragment = subscription.get(timeout=1)
                if fragment is None or fragment.kind != "media":
                    continue
                stamp = read_stamp(fragment.data)
                if stamp is not None:
                    latencies.append(time.time() - stamp)

    viewer = threading.Thread(target=watch, daemon=True)
    viewer.start()
    time.sleep(3)  # past the connection bursts: steady state
    latencies.clear()
    print("ready", flush=True)
    sys.stdin.readline()  # the parent measured the steady window
    watching.clear()
    health = recorder.health()
    recorder.stop(timeout=20)
    viewer.join(5)
    with vault.catalog.session() as session:
        segments, stored = session.execute(select(func.count(), func.sum(Segment.size))).one()
    print(
        json.dumps(
            {
                "segments": segments,
                "bytes": int(stored or 0),
                "fps": [s.fps for s in health],
                "bitrate": [s.bitrate for s in health],
                "latency": latencies,
            }
        ),
        flush=True,
    )
    catalog.dispose()


# -- the parent: simulator, both runs, figures --------------------------------------------------------
def measure_vigie(urls: dict[str, str], seconds: float, workdir: Path, sim_pid: int) -> dict[str, Any]:
    config = workdir / "vigie.json"
    config.write_text(json.dumps({"home": str(workdir / "vigie-home"), "cameras": urls}))
    child = subprocess.Popen(
        [sys.executable, __file__, "--vigie-child", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")},
    )
    assert child.stdout is not None and child.stdin is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        raise SystemExit("the Vigie recorder did not get every camera online")
    started, (user0, system0), sim0 = time.monotonic(), cpu_times(child.pid), cpu_seconds(sim_pid)
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    (user1, system1), sim_cpu = cpu_times(child.pid), cpu_seconds(sim_pid) - sim0
    user, system = user1 - user0, system1 - system0
    child.stdin.write("stop\n")
    child.stdin.flush()
    report = json.loads(child.stdout.readline())
    child.wait(60)
    return {"cpu": user + system, "user": user, "system": system, "elapsed": elapsed, "sim_cpu": sim_cpu, **report}


def measure_ffmpeg(urls: dict[str, str], seconds: float, workdir: Path, sim_pid: int) -> dict[str, Any]:
    processes = []
    for name, url in urls.items():
        out = workdir / "ffmpeg" / name
        out.mkdir(parents=True)
        command = [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
            "-c", "copy", "-f", "segment", "-segment_time", "4", str(out / "out%03d.mp4"),
        ]  # fmt: skip
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(any((workdir / "ffmpeg" / n).iterdir()) for n in urls):
        time.sleep(0.2)
    time.sleep(3)  # same steady-state rule as for Vigie
    started = time.monotonic()
    cpu0 = {p.pid: cpu_seconds(p.pid) for p in processes}
    sim0 = cpu_seconds(sim_pid)
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu = sum(cpu_seconds(p.pid) - cpu0[p.pid] for p in processes)
    sim_cpu = cpu_seconds(sim_pid) - sim0
    for process in processes:
        process.send_signal(signal.SIGINT)  # ffmpeg finishes its segment cleanly
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    files = list((workdir / "ffmpeg").rglob("*.mp4"))
    return {
        "cpu": cpu,
        "elapsed": elapsed,
        "sim_cpu": sim_cpu,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60.0, help="Steady measuring window of each run.")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--bitrate", type=int, default=2_000_000, help="Simulated cameras' target bits per second.")
    parser.add_argument("--rounds", type=int, default=1, help="Alternate Vigie and ffmpeg windows this many times.")
    parser.add_argument("--vigie-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.vigie_child:
        vigie_child(args.vigie_child)
        return
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is not installed (apt install ffmpeg)")

    from vigie.sim.rtsp import CameraSimulator

    workdir = Path(tempfile.mkdtemp(prefix="vigie-bench-recording-"))
    simulator = CameraSimulator(
        count=args.cameras,
        port=0,
        seconds=10,
        fps=args.fps,
        main_size=(args.width, args.height),
        sub_size=None,
        main_bitrate=args.bitrate,
        stamp_frames=True,
    )
    print(f"simulating {args.cameras} cameras {args.width}x{args.height} {args.fps} fps (encoding the loop once)...")
    try:
        simulator.start(timeout=120)
        assert simulator.pid is not None
        urls = {name: simulator.url(name) for name in simulator.names}
        runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for round_number in range(1, args.rounds + 1):
            folder = workdir / f"round-{round_number}"
            folder.mkdir()
            print(f"[{round_number}/{args.rounds}] Vigie recorder: {args.seconds:g} s steady window...")
            vigie = measure_vigie(urls, args.seconds, folder, simulator.pid)
            print(f"[{round_number}/{args.rounds}] ffmpeg -c copy -f segment, one per camera: {args.seconds:g} s...")
            runs.append((vigie, measure_ffmpeg(urls, args.seconds, folder, simulator.pid)))
    finally:
        simulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    cameras = args.cameras

    def per_camera(run: dict[str, Any], key: str = "cpu") -> float:
        return float(100 * run[key] / run["elapsed"] / cameras)

    vigie_pct = statistics.median(per_camera(vigie) for vigie, _ in runs)
    ffmpeg_pct = statistics.median(per_camera(ffmpeg) for _, ffmpeg in runs)
    sim_pct = statistics.median(per_camera(run, "sim_cpu") for pair in runs for run in pair)
    vigie, ffmpeg = runs[-1]
    bitrates = [b for b in vigie["bitrate"] if b]
    print()
    if len(runs) > 1:
        for number, (v, f) in enumerate(runs, 1):
            print(f"round {number}: Vigie {per_camera(v):.2f} % (user {per_camera(v, 'user'):.2f}, "
                  f"system {per_camera(v, 'system'):.2f}), ffmpeg {per_camera(f):.2f} %")  # fmt: skip
        print("medians of the rounds:")
    print(f"cameras                         {cameras} x {args.width}x{args.height} @ {args.fps} fps, "
          f"{statistics.mean(bitrates) / 1e6:.2f} Mb/s measured")  # fmt: skip
    print(f"Vigie recorder CPU per camera   {vigie_pct:.2f} % of a core  "
          f"(user {per_camera(vigie, 'user'):.2f} + system {per_camera(vigie, 'system'):.2f} in the last round; "
          f"{vigie['segments']} segments hashed, encrypted, fsync'd, chained)")  # fmt: skip
    print(f"ffmpeg -c copy CPU per camera   {ffmpeg_pct:.2f} % of a core  ({ffmpeg['files']} plain files)")
    print(f"ratio Vigie / ffmpeg            {vigie_pct / ffmpeg_pct:.2f}")
    print(f"cameras per core (extrapolated) Vigie {100 / vigie_pct:.0f}, ffmpeg {100 / ffmpeg_pct:.0f}")
    print(f"simulator CPU per camera        {sim_pct:.2f} % of a core (not counted above)")
    if vigie["latency"]:
        latency = vigie["latency"]
        print(
            f"live latency camera -> LiveHub subscriber (cam0, {len(latency)} frames): "
            f"median {1000 * statistics.median(latency):.0f} ms, p95 {1000 * percentile(latency, 0.95):.0f} ms, "
            f"max {1000 * max(latency):.0f} ms"
        )


if __name__ == "__main__":
    main()
