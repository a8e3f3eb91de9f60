"""Body-cam intake and place-and-time search, measured.

    python bench/bodycam.py            # 512 MiB upload; index of 10,400 devices x 30 days (~19 M entries)
    python bench/bodycam.py --small    # 32 MiB upload; index of 200 devices x 5 days (a quick run)

1. Upload throughput over loopback: ``vigie serve`` in a child process (uvicorn, SQLite catalog,
   local vault, fsync on), the dock client of ``vigie bodycam offload`` (tuspy, sha256 per PATCH)
   in this one. Reported: the PATCH rate into the encrypted spool, the completion (decrypt, sha256
   check, byte-exact import into the vault) and the end-to-end rate a dock sees; beside them, in the
   same run and on the same file, the vault's raw ingest (``import_bytes_file``) and plain sha256.
2. Search latency: an SQLite R*Tree of one box per recording-minute is built ONCE into
   ``bench/.cache/`` (executemany in large transactions; the build time is printed), then random
   circles (50 m to 1 km) over random periods (15 min to 24 h) in 20 French cities are answered by
   the real ``spatial.candidate_minutes`` plus the exact post-filter ``search.track_spans`` over the
   candidates' 1 Hz samples (regenerated from each track's seed, not read back). Goal: p95 < 50 ms.

The machine is shared (2 cores): run twice before trusting a figure.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
MIB = 1 << 20

# Where 10,400 devices work: city centre and weight (rough share of the devices).
CITIES = [
    ("Paris", 48.8566, 2.3522, 30),
    ("Marseille", 43.2965, 5.3698, 8),
    ("Lyon", 45.7640, 4.8357, 7),
    ("Toulouse", 43.6047, 1.4442, 5),
    ("Nice", 43.7102, 7.2620, 5),
    ("Nantes", 47.2184, -1.5536, 4),
    ("Strasbourg", 48.5734, 7.7521, 4),
    ("Montpellier", 43.6108, 3.8767, 4),
    ("Bordeaux", 44.8378, -0.5792, 4),
    ("Lille", 50.6292, 3.0573, 4),
    ("Rennes", 48.1173, -1.6778, 3),
    ("Reims", 49.2583, 4.0317, 2),
    ("Toulon", 43.1242, 5.9280, 2),
    ("Grenoble", 45.1885, 5.7245, 2),
    ("Dijon", 47.3220, 5.0415, 2),
    ("Angers", 47.4784, -0.5632, 2),
    ("Nîmes", 43.8367, 4.3601, 2),
    ("Clermont-Ferrand", 45.7772, 3.0870, 2),
    ("Le Havre", 49.4944, 0.1079, 2),
    ("Saint-Étienne", 45.4397, 4.3872, 2),
]
FIRST_DAY = datetime(2026, 10, 1, tzinfo=UTC)
M_PER_DEG = 111_195.0


# -- 1. upload throughput --------------------------------------------------------------------------


def make_payload(path: Path, size: int) -> None:
    """A real small MP4 followed by a ``free`` box of random bytes up to ``size`` (a long body-cam file)."""
    from vigie.sim import SceneSpec, generate

    clip = path.with_suffix(".clip.mp4")
    generate(SceneSpec("walkers", width=160, height=96, fps=5, seconds=4, seed=1), clip, write_truth=False)
    head = clip.read_bytes()
    clip.unlink()
    padding = size - len(head) - 8
    with open(path, "wb") as handle:
        handle.write(head)
        handle.write(struct.pack(">I4s", padding + 8, b"free"))
        block = os.urandom(MIB)
        while padding > 0:
            handle.write(block[: min(MIB, padding)])
            padding -= MIB


def sha256_rate(path: Path) -> float:
    started = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(8 * MIB):
            digest.update(block)
    return path.stat().st_size / MIB / (time.perf_counter() - started)


def wait_for(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health", timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_upload(size_mib: int, chunk_mib: int, work: Path) -> dict[str, float]:
    from vigie.access.audit import Actor, AuditLog
    from vigie.catalog.db import Catalog
    from vigie.config import Settings
    from vigie.ingest.bodycam.context import BodycamContext
    from vigie.ingest.bodycam.offload import DockClient
    from vigie.ingest.files import import_bytes_file
    from vigie.vault.store import Vault

    home = work / "home"
    home.mkdir(parents=True)
    settings = Settings(home=home)
    config = work / "vigie.yaml"
    config.write_text(yaml.safe_dump({"home": str(home)}))
    payload = work / "bodycam.mp4"
    make_payload(payload, size_mib * MIB)
    size = payload.stat().st_size
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    results = {"size_mib": size / MIB, "sha256_mib_s": sha256_rate(payload)}

    admin = Actor(name="bench", role="local-admin")
    catalog = Catalog(settings.catalog_url)
    vault = Vault(settings, catalog)
    context = BodycamContext.build(settings, catalog, vault, AuditLog(catalog, vault.signer))
    device = context.registry.add_device("BENCH-1", force="police", by=admin, unit="bench")
    context.registry.assign("BENCH-1", "PN-BENCH", by=admin, start=FIRST_DAY)
    token = context.registry.issue_dock_token("bench-dock", by=admin).token

    # The vault's own limit on the same bytes, in this run.
    raw_source = vault.ensure_source("bench-raw", kind="bodycam")
    started = time.perf_counter()
    import_bytes_file(vault, payload, raw_source, start=FIRST_DAY, expected_sha256=digest)
    results["vault_import_mib_s"] = size / MIB / (time.perf_counter() - started)
    catalog.dispose()

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "vigie"), "--home", str(home), "serve", "--port", str(port)],
        env={**os.environ, "VIGIE_CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url)
        client = DockClient(url, token, chunk_size=chunk_mib * MIB)
        docking = client.open_docking(device.serial, datetime.now(UTC))["id"]
        track = work / "track.gpx"
        track.write_text(
            '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            '<trkpt lat="45.76" lon="4.84"><time>2026-10-01T08:00:00Z</time></trkpt></trkseg></trk></gpx>'
        )
        client.send_track(docking, 1, track)
        metadata = {
            "device": device.serial,
            "sequence": "1",
            "start": "2026-10-01T08:00:00Z",
            "end": "2026-10-01T08:10:00Z",
            "trigger": "manual",
            "sha256": digest,
            "track": "track.gpx",
            "docking": docking,
        }
        patch_times: list[tuple[float, int]] = []
        last = [time.perf_counter()]

        def progress(advance: int) -> None:
            now = time.perf_counter()
            patch_times.append((now - last[0], advance))
            last[0] = now

        client.progress = progress
        started = time.perf_counter()
        outcome = client.upload(payload, metadata)
        total = time.perf_counter() - started
        client.close()
        assert outcome == ("uploaded", None), outcome
    finally:
        server.terminate()
        server.wait(30)
    transfer_seconds = sum(seconds for seconds, _ in patch_times[:-1])
    transfer_bytes = sum(count for _, count in patch_times[:-1])
    last_seconds, last_bytes = patch_times[-1]
    transfer_rate = transfer_bytes / MIB / transfer_seconds if transfer_seconds else float("nan")
    # The last PATCH carries its bytes and the completion (decrypt, verify, import).
    completion = last_seconds - (last_bytes / MIB / transfer_rate if transfer_seconds else 0.0)
    results.update(
        tus_patch_mib_s=transfer_rate,
        completion_seconds=completion,
        completion_mib_s=size / MIB / completion if completion > 0 else float("nan"),
        end_to_end_mib_s=size / MIB / total,
    )
    return results


# -- 2. search latency -------------------------------------------------------------------------------


def track_seed(track_id: int) -> random.Random:
    return random.Random(track_id * 2654435761 % (1 << 32))


def track_geometry(
    track_id: int, city: tuple[str, float, float, int], start: float, minutes: int
) -> tuple[float, float, float, float, float]:
    """(start t, start lat, start lon, north m/s, east m/s) of a recording: a straight walk or drive."""
    rng = track_seed(track_id)
    _, lat, lon, _ = city
    lat0 = lat + rng.uniform(-3000, 3000) / M_PER_DEG
    lon0 = lon + rng.uniform(-3000, 3000) / (M_PER_DEG * math.cos(math.radians(lat)))
    speed = rng.choice((1.4, 1.4, 1.4, 8.0))
    heading = rng.uniform(0, 2 * math.pi)
    return start, lat0, lon0, speed * math.cos(heading), speed * math.sin(heading)


def position(geometry: tuple[float, float, float, float, float], t: float) -> tuple[float, float]:
    start, lat0, lon0, north, east = geometry
    elapsed = t - start
    lat = lat0 + north * elapsed / M_PER_DEG
    return lat, lon0 + east * elapsed / (M_PER_DEG * math.cos(math.radians(lat0)))


def recordings(devices: int, days: int, seed: int = 1) -> Iterator[tuple[int, int, float, int]]:
    """(track id, city index, start unix s, minutes) for every recording: ~61 recording-minutes per device-day."""
    rng = random.Random(seed)
    weights = [city[3] for city in CITIES]
    homes = rng.choices(range(len(CITIES)), weights=weights, k=devices)
    track_id = 0
    for day in range(days):
        day_start = (FIRST_DAY + timedelta(days=day)).timestamp()
        for device in range(devices):
            shift = day_start + rng.choice((6, 14, 22)) * 3600
            for slot in sorted(rng.sample(range(48), 6)):  # six activations in an 8-hour shift
                track_id += 1
                yield track_id, homes[device], shift + slot * 600 + rng.randint(0, 60), rng.randint(7, 12)


def build_index(path: Path, devices: int, days: int) -> tuple[int, float]:
    from vigie.ingest.bodycam.geo import minute_boxes

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("CREATE TABLE meta (name VARCHAR(80) PRIMARY KEY, value TEXT NOT NULL)")
    connection.execute("INSERT INTO meta VALUES ('bodycam_spatial_index', 'rtree')")
    connection.execute(
        "CREATE VIRTUAL TABLE bodycam_track_boxes USING rtree_i32("
        "id, lat_min, lat_max, lon_min, lon_max, t_min, t_max, +track_id INTEGER)"
    )
    connection.execute("CREATE TABLE bench_tracks (id INTEGER PRIMARY KEY, city INTEGER, start REAL, minutes INTEGER)")
    started = time.perf_counter()
    rows: list[tuple[int, int, int, int, int, int, int]] = []
    tracks: list[tuple[int, int, float, int]] = []
    entries = 0
    for track_id, city, start, minutes in recordings(devices, days):
        geometry = track_geometry(track_id, CITIES[city], start, minutes)
        # A straight track's box over one clock minute spans its positions at the minute's two ends.
        end = start + minutes * 60
        first_boundary = math.floor(start / 60) * 60 + 60
        times = [start]
        for boundary in range(int(first_boundary), int(end), 60):
            times += [boundary - 0.001, boundary]
        times.append(end)
        points = [(t, *position(geometry, t)) for t in times]
        for box in minute_boxes(points):
            rows.append((track_id, box.lat_min, box.lat_max, box.lon_min, box.lon_max, box.t_min, box.t_max))
        tracks.append((track_id, city, start, minutes))
        if len(rows) >= 500_000:
            entries += flush(connection, rows, tracks)
            print(f"  {entries / 1e6:.1f} M entries, {time.perf_counter() - started:.0f} s", flush=True)
    entries += flush(connection, rows, tracks)
    connection.close()
    partial.rename(path)
    return entries, time.perf_counter() - started


def flush(connection: sqlite3.Connection, rows: list[Any], tracks: list[Any]) -> int:
    count = len(rows)
    with connection:
        connection.executemany(
            "INSERT INTO bodycam_track_boxes (track_id, lat_min, lat_max, lon_min, lon_max, t_min, t_max) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.executemany("INSERT INTO bench_tracks VALUES (?, ?, ?, ?)", tracks)
    rows.clear()
    tracks.clear()
    return count


def bench_search(path: Path, days: int, queries: int) -> dict[str, float]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from vigie.catalog.db import make_engine
    from vigie.ingest.bodycam import spatial
    from vigie.ingest.bodycam.geo import circle_boxes
    from vigie.ingest.bodycam.search import PlaceTimeQuery, track_spans

    engine = make_engine(f"sqlite:///{path}")
    rng = random.Random(42)
    latencies: list[float] = []
    candidates_seen: list[int] = []
    hits_seen: list[int] = []
    with Session(engine) as session:
        kind = spatial.flavour(session)
        for index in range(queries + 20):
            _, lat, lon, _ = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
            lat += rng.uniform(-2000, 2000) / M_PER_DEG
            lon += rng.uniform(-2000, 2000) / (M_PER_DEG * math.cos(math.radians(lat)))
            radius = rng.choice((50, 100, 250, 500, 1000))
            window = rng.choice((900, 3600, 4 * 3600, 24 * 3600))
            begin = FIRST_DAY + timedelta(seconds=rng.uniform(0, days * 86400 - window))
            query = PlaceTimeQuery(lat, lon, radius, begin, begin + timedelta(seconds=window))
            started = time.perf_counter()
            found = spatial.candidate_minutes(
                session, kind, circle_boxes(lat, lon, radius), query.start.timestamp(), query.end.timestamp()
            )
            hits = 0
            if found:
                rows = session.execute(
                    text(f"SELECT id, city, start, minutes FROM bench_tracks WHERE id IN ({','.join(map(str, found))})")
                ).all()
                # The catalog hands over each track's 1 Hz samples (float64 bytes): regenerate them here.
                arrays = []
                for track_id, city, start, minutes in rows:
                    _, lat0, lon0, north, east = track_geometry(track_id, CITIES[city], start, minutes)
                    seconds = start + np.arange(minutes * 60 + 1, dtype=np.float64)
                    arrays.append(
                        np.column_stack(
                            (
                                seconds,
                                lat0 + north * (seconds - start) / M_PER_DEG,
                                lon0 + east * (seconds - start) / (M_PER_DEG * math.cos(math.radians(lat0))),
                            )
                        )
                    )
                spans = track_spans(arrays, [found[row[0]] for row in rows], query, 30.0)
                hits = sum(1 for found_spans in spans if found_spans)
            elapsed = (time.perf_counter() - started) * 1000
            if index >= 20:  # the first queries warm the page cache
                latencies.append(elapsed)
                candidates_seen.append(len(found))
                hits_seen.append(hits)
    engine.dispose()
    ordered = sorted(latencies)
    return {
        "queries": len(latencies),
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
        "max_ms": ordered[-1],
        "mean_candidates": statistics.mean(candidates_seen),
        "mean_hits": statistics.mean(hits_seen),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="32 MiB upload, 200 devices x 5 days.")
    parser.add_argument("--size-mib", type=int, help="Upload size (default 512, --small 32).")
    parser.add_argument("--chunk-mib", type=int, default=16, help="tus PATCH size.")
    parser.add_argument("--devices", type=int, help="Index devices (default 10,400, --small 200).")
    parser.add_argument("--days", type=int, help="Index days (default 30, --small 5).")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    size = args.size_mib or (32 if args.small else 512)
    devices = args.devices or (200 if args.small else 10_400)
    days = args.days or (5 if args.small else 30)

    if not args.skip_upload:
        work = Path(tempfile.mkdtemp(prefix="vigie-bench-bodycam-"))
        try:
            print(f"upload: {size} MiB over loopback (tus, {args.chunk_mib} MiB PATCHes, sha256 per PATCH)...")
            result = bench_upload(size, args.chunk_mib, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"  tus PATCH into the encrypted spool : {result['tus_patch_mib_s']:8.1f} MiB/s")
        print(
            f"  completion (decrypt+verify+import) : {result['completion_seconds']:8.2f} s "
            f"({result['completion_mib_s']:.1f} MiB/s)"
        )
        print(f"  end to end, as the dock sees it    : {result['end_to_end_mib_s']:8.1f} MiB/s")
        print(f"  vault raw ingest (import_bytes_file): {result['vault_import_mib_s']:8.1f} MiB/s")
        print(f"  sha256 of the file (read + hash)   : {result['sha256_mib_s']:8.1f} MiB/s")
        print(
            f"  end to end / vault raw ingest      : {result['end_to_end_mib_s'] / result['vault_import_mib_s']:8.2f}"
        )

    if not args.skip_search:
        path = CACHE / f"bodycam-index-{devices}x{days}.sqlite"
        if path.exists():
            print(f"search: index {path.name} (cached; delete it to rebuild)")
        else:
            print(f"search: building {path} once ({devices} devices x {days} days)...")
            entries, seconds = build_index(path, devices, days)
            print(
                f"  built {entries:,} entries in {seconds:.0f} s ({entries / seconds:,.0f} entries/s), "
                f"{path.stat().st_size / MIB:,.0f} MiB"
            )
        with sqlite3.connect(path) as connection:
            entries = connection.execute("SELECT count(*) FROM bench_tracks").fetchone()[0]
            boxes = connection.execute("SELECT max(id) FROM bodycam_track_boxes").fetchone()[0]
        print(f"  {boxes:,} recording-minute entries, {entries:,} recordings")
        result = bench_search(path, days, args.queries)
        verdict = "OK" if result["p95_ms"] < 50 else "ABOVE GOAL"
        print(
            f"  {result['queries']} queries (50 m-1 km circles, 15 min-24 h periods): "
            f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms "
            f"[goal p95 < 50 ms: {verdict}]"
        )
        print(f"  mean candidates per query {result['mean_candidates']:.1f}, mean exact hits {result['mean_hits']:.1f}")


if __name__ == "__main__":
    main()
