"""Scale-out path: cameras per recorder worker, and what PostgreSQL + S3 cost per segment vs embedded.

    python bench/scaleout.py                       # 8 cameras, 2 workers, 300 segments of 1 MB
    python bench/scaleout.py --cameras 6 --segments 200 --segment-bytes 500000

Needs PostgreSQL (``--postgres``, default 127.0.0.1 trust) and NATS (``--nats``). S3 is moto's
server in a child process: a TEST STAND-IN for Ceph/MinIO/AWS, so the S3 figures measure Vigie's
client path plus a local Python S3 server, not a production object store.

1. Two ``vigie worker --role recorder`` processes on simulated cameras (PostgreSQL + S3 + NATS KV
   leases): prints how many cameras each one records after ``--settle`` seconds.
2. ``Vault.append`` of synthetic segments (the recorder's write: SHA-256, AES-256-GCM, blob put,
   chained catalog row) on SQLite + local directory vs PostgreSQL + S3: p50/p95 latency and this
   process's CPU per segment (the moto server's CPU is reported apart).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.db import Catalog
from vigie.catalog.models import Source
from vigie.config import S3Settings, Settings, VaultSettings
from vigie.vault.store import Vault

TICKS = os.sysconf("SC_CLK_TCK")
VIGIE = [sys.executable, "-m", "vigie"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def fresh_schema(base_url: str) -> tuple[str, str]:
    schema = "bench_" + uuid.uuid4().hex[:12]
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base_url else "?"
    return schema, f"{base_url}{separator}options=-csearch_path%3D{schema}"


def drop_schema(base_url: str, schema: str) -> None:
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("moto_server did not start")


def s3_settings(endpoint: str) -> S3Settings:
    return S3Settings(
        bucket="vigie-bench",
        prefix=uuid.uuid4().hex,
        endpoint_url=endpoint,
        access_key="bench",
        secret_key="bench",
        create_bucket=True,
    )


# -- 1. cameras per worker --------------------------------------------------------------------------
def cameras_per_worker(args: argparse.Namespace, database_url: str, s3: S3Settings, home: Path) -> dict[str, int]:
    from vigie.access.audit import Actor, AuditLog
    from vigie.ingest.cameras.registry import CameraRegistry, CameraSpec
    from vigie.sim.rtsp import CameraSimulator

    settings = Settings(home=home, database_url=database_url, vault=VaultSettings(store="s3", s3=s3, fsync=False))
    catalog = Catalog(settings.catalog_url)
    vault = Vault(settings, catalog)
    audit = AuditLog(catalog, vault.signer)
    actor = Actor(name="bench", role="local-admin", client="bench")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")} | {
        "VIGIE_DATABASE_URL": database_url,
        "VIGIE_VAULT__STORE": "s3",
        "VIGIE_VAULT__FSYNC": "false",
        "VIGIE_VAULT__S3__BUCKET": s3.bucket,
        "VIGIE_VAULT__S3__PREFIX": s3.prefix,
        "VIGIE_VAULT__S3__ENDPOINT_URL": s3.endpoint_url or "",
        "VIGIE_VAULT__S3__ACCESS_KEY": "bench",
        "VIGIE_VAULT__S3__SECRET_KEY": "bench",
        "VIGIE_EVENTS__BUS": "nats",
        "VIGIE_EVENTS__NATS_URL": args.nats,
        "VIGIE_RECORDER__HEALTH_SECONDS": "0.5",
    }
    workers = []
    with CameraSimulator(count=args.cameras, port=0, seconds=5, main_size=(640, 360), sub_size=None) as simulator:
        registry = CameraRegistry(vault, audit)
        for name in simulator.names:
            registry.add(CameraSpec(name, simulator.url(name)), actor)
        try:
            for index in range(2):
                workers.append(
                    subprocess.Popen(
                        [*VIGIE, "--home", str(home), "worker", "--role", "recorder", "--id", f"bench-{index}"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            time.sleep(args.settle)
            with catalog.session() as session:
                rows = session.execute(
                    select(Source.name, CameraHealth.recorder_id, CameraHealth.state).join(
                        CameraHealth, CameraHealth.camera_id == Source.id
                    )
                ).all()
        finally:
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(timeout=60)
    catalog.dispose()
    counts: dict[str, int] = {}
    for _name, holder, state in rows:
        if state == "online" and holder:
            counts[holder] = counts.get(holder, 0) + 1
    return counts


# -- 2. Vault.append ------------------------------------------------------------------------------------
def append_cost(settings: Settings, segments: int, size: int) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, CPU ms per segment) of Vault.append for ``segments`` synthetic segments."""
    settings.home.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url)
    vault = Vault(settings, catalog)
    source = vault.ensure_source("bench-cam", kind="camera")
    start = datetime.now(UTC)
    recording = vault.begin_recording(source, start=start)
    payloads = [os.urandom(size) for _ in range(8)]
    latencies = []
    cpu_before = time.process_time()
    for index in range(segments):
        began = time.perf_counter()
        prepared = vault.prepare(payloads[index % len(payloads)])
        vault.append(
            source,
            recording,
            prepared,
            start=start + timedelta(seconds=4 * index),
            end=start + timedelta(seconds=4 * (index + 1)),
            kind="video",
        )
        latencies.append((time.perf_counter() - began) * 1000)
    cpu = (time.process_time() - cpu_before) * 1000 / segments
    vault.finish(source, recording, end=start + timedelta(seconds=4 * segments))
    catalog.dispose()
    latencies.sort()
    return statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--settle", type=float, default=12.0, help="seconds before counting cameras per worker")
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--segment-bytes", type=int, default=1_000_000, help="~4 s at 2 Mb/s")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()

    moto, endpoint = start_moto()
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            if not args.skip_workers:
                schema, url = fresh_schema(args.postgres)
                schemas.append(schema)
                counts = cameras_per_worker(args, url, s3_settings(endpoint), root / "workers")
                print(
                    f"cameras recorded per worker ({args.cameras} simulated 640x360 cameras, after {args.settle:g} s):"
                )
                for worker, count in sorted(counts.items()):
                    print(f"  {worker}: {count}")

            embedded = Settings(home=root / "embedded", vault=VaultSettings())
            p50, p95, cpu = append_cost(embedded, args.segments, args.segment_bytes)
            print(
                f"\nVault.append, {args.segments} segments of {args.segment_bytes / 1e6:g} MB "
                "(SHA-256 + AES-GCM + blob + chained row):"
            )
            print(f"  embedded  SQLite + local (fsync): p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  CPU {cpu:5.1f} ms/seg")
            schema, url = fresh_schema(args.postgres)
            schemas.append(schema)
            scaled = Settings(
                home=root / "scaleout", database_url=url, vault=VaultSettings(store="s3", s3=s3_settings(endpoint))
            )
            moto_cpu = cpu_seconds(moto.pid)
            p50s, p95s, cpus = append_cost(scaled, args.segments, args.segment_bytes)
            moto_cpu = (cpu_seconds(moto.pid) - moto_cpu) * 1000 / args.segments
            print(f"  scale-out PostgreSQL + S3 (moto): p50 {p50s:6.1f} ms  p95 {p95s:6.1f} ms  CPU {cpus:5.1f} ms/seg")
            print(f"  (moto server, the S3 stand-in, used {moto_cpu:.1f} ms CPU per segment on top; not Vigie's cost)")
            print(f"  p95 ratio scale-out / embedded: {p95s / p95:.1f}x; CPU ratio {cpus / cpu:.1f}x")
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        for schema in schemas:
            drop_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
