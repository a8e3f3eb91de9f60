"""Evidence-bundle throughput: export (decrypt, hash, prove, zip) and offline verification.

    python bench/export.py [--size-mb 1024]

Imports a body-cam-sized MP4 (the same cached file as bench/vault.py), puts it in a case, exports
the bundle and runs the standalone verifier on it, and prints MB/s for both next to this machine's
raw sha256 speed measured in the same process.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from vault import CACHE, MB, bodycam_sized_file, raw_sha256
from vigie.access.audit import Actor, AuditLog
from vigie.catalog.db import Catalog
from vigie.config import Settings, VaultSettings
from vigie.export import verify as verifier
from vigie.export.bundle import ExportRequest, export_case
from vigie.export.cases import CaseService
from vigie.ingest.files import import_bytes_file
from vigie.vault.store import Vault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    clip = bodycam_sized_file(args.size_mb)
    size = clip.stat().st_size
    sha = raw_sha256(b"\0" * (8 * MB), 32)
    home = Path(tempfile.mkdtemp(prefix="vigie-bench-export-", dir=CACHE))
    try:
        settings = Settings(home=home, vault=VaultSettings(fsync=False))
        catalog = Catalog(settings.catalog_url)
        vault = Vault(settings, catalog)
        audit = AuditLog(catalog, vault.signer)
        actor = Actor(name="bench", role="investigator")
        recording = import_bytes_file(vault, clip, vault.ensure_source("BENCH-1", kind="bodycam")).recording
        cases = CaseService(vault, audit)
        cases.open("BENCH-1", actor=actor)
        cases.add_recording("BENCH-1", recording.id, actor=actor, reason="bench")
        out = home / "bundle.zip"
        request = ExportRequest("BENCH-1", reason="bench", requester="bench", recipient="bench")
        start = time.perf_counter()
        export_case(vault, audit, request, out, actor=actor)
        export_seconds = time.perf_counter() - start
        start = time.perf_counter()
        report, _manifest = verifier.verify_bundle(str(out))
        verify_seconds = time.perf_counter() - start
        assert not report.problems, report.problems
        bundle_size = out.stat().st_size
        catalog.dispose()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"media                 {size / MB:8.0f} MB (bundle {bundle_size / MB:.0f} MB)")
    print(f"raw sha256            {sha:8.0f} MB/s  (one core)")
    for label, seconds in (("export", export_seconds), ("offline verify", verify_seconds)):
        rate = size / MB / seconds
        print(f"{label:<22}{rate:8.0f} MB/s  = {rate / sha:5.1%} of sha256")


if __name__ == "__main__":
    main()
