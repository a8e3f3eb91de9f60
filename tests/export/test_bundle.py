"""Evidence bundles: export → offline verification, and every kind of tampering is caught."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigie.access.audit import Actor, AuditLog
from vigie.catalog.models import Gap
from vigie.export import verify as verifier
from vigie.export.bundle import ExportRequest, export_case
from vigie.export.cases import CaseError, CaseService
from vigie.ingest.files import import_bytes_file, import_camera_file
from vigie.vault import merkle
from vigie.vault.chain import canonical as vault_canonical
from vigie.vault.store import Vault

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
REQUEST = ExportRequest(
    case_ref="PV-2026-777", reason="assault, rue de la République", requester="OPJ Durand", recipient="Parquet de Lyon"
)


@pytest.fixture
def bundle(vault: Vault, audit: AuditLog, actor: Actor, scenes: Path, tmp_path: Path) -> Path:
    camera = vault.ensure_source("cam-1", kind="camera")
    device = vault.ensure_source("BC-7", kind="bodycam")
    import_camera_file(vault, scenes / "walkers.mp4", camera, start=T0)
    recording = import_bytes_file(vault, scenes / "night.mp4", device, start=T0).recording
    with vault.catalog.session() as session:
        session.add(
            Gap(
                source_id=camera.id,
                start=T0 + timedelta(seconds=9),
                end=T0 + timedelta(seconds=12),
                cause="camera-unreachable",
            )
        )
    cases = CaseService(vault, audit)
    cases.open(REQUEST.case_ref, actor=actor, title="Agression")
    cases.add_span(
        REQUEST.case_ref, "cam-1", T0 + timedelta(seconds=2), T0 + timedelta(seconds=14), actor=actor, reason="scene"
    )
    cases.add_recording(REQUEST.case_ref, recording.id, actor=actor, reason="officer's camera")
    out = tmp_path / "bundle.zip"
    result = export_case(vault, audit, REQUEST, out, actor=actor)
    assert result.items == 2 and result.segments >= 3
    assert {g["cause"] for g in result.gaps} == {"camera-unreachable", "no-recording"}  # stated, never hidden
    return out


def rewrite(bundle: Path, out: Path, change: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in change:
                replacement = change[info.filename]
                if replacement is None:
                    continue
                data = replacement
            target.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_a_fresh_bundle_verifies(bundle: Path, vault: Vault) -> None:
    report, manifest = verifier.verify_bundle(str(bundle))
    assert report.problems == []
    assert report.checked["segment proven in a signed checkpoint"] >= 3
    assert report.checked["recording seal"] == 1
    assert manifest["export"]["recipient"] == "Parquet de Lyon"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        audit_lines = archive.read("audit.jsonl").decode().splitlines()
        readme = archive.read("README.txt").decode()
    assert {"README.txt", "verify.py", "public_key.pem", "audit.jsonl", "manifest.json", "manifest.sig"} <= set(names)
    actions = [json.loads(line)["payload"]["action"] for line in audit_lines]
    assert "export" in actions and "case.add" in actions and "case.open" in actions
    assert "camera-unreachable" in readme and "verify.py" in readme


def test_every_tampering_fails_and_names_the_file(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        media = next(n for n in archive.namelist() if n.startswith("media/") and "seg-" in n)
        original = next(n for n in archive.namelist() if n.endswith("original.mp4"))
        contents = {n: archive.read(n) for n in (media, original, "manifest.json", "audit.jsonl")}
    cases = {
        media: flip(contents[media], len(contents[media]) // 2),
        original: flip(contents[original], 100),
        "manifest.json": contents["manifest.json"].replace(b"Parquet de Lyon", b"Parquet de Nice"),
        "audit.jsonl": contents["audit.jsonl"].replace(b"OPJ Durand", b"OPJ Dupont"),
    }
    for name, data in cases.items():
        report, _ = verifier.verify_bundle(str(rewrite(bundle, tmp_path / "t.zip", {name: data})))
        assert report.problems, name
        assert any(problem.startswith(name) for problem in report.problems), (name, report.problems)


def test_missing_extra_and_truncated(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        media = next(n for n in archive.namelist() if n.startswith("media/"))
    missing, _ = verifier.verify_bundle(str(rewrite(bundle, tmp_path / "m.zip", {media: None})))
    assert any("missing from the bundle" in p for p in missing.problems)
    extra, _ = verifier.verify_bundle(str(rewrite(bundle, tmp_path / "e.zip", {}, {"media/planted.mp4": b"x"})))
    assert extra.problems == ["media/planted.mp4: extra file, not listed in the manifest"]
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    report, _ = verifier.verify_bundle(str(truncated))
    assert report.problems and "truncated" in report.problems[0]


def test_resigned_manifest_with_another_key_is_caught_by_pinning(bundle: Path, tmp_path: Path, vault: Vault) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    public_pem = (
        forger.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    raw = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    manifest["signing_key"] = {"key_id": verifier.sha256_hex(raw)[:16], "public_key_pem": public_pem}
    body = json.dumps(manifest).encode()
    forged = rewrite(
        bundle, tmp_path / "f.zip", {"manifest.json": body, "manifest.sig": forger.sign(body).hex().encode()}
    )
    report, _ = verifier.verify_bundle(str(forged))
    assert any("checkpoint" in p for p in report.problems)  # checkpoints were signed by the real key
    pinned, _ = verifier.verify_bundle(str(bundle), vault.signer.public_pem())
    assert pinned.problems == []


def only_cryptography(tmp_path: Path) -> Path:
    """A site directory holding nothing but cryptography and what it imports (cffi, pycparser)."""
    import importlib.util
    import shutil

    site = tmp_path / "site"
    site.mkdir()
    for name in ("cryptography", "cffi", "pycparser", "_cffi_backend"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, site / name)
        else:
            shutil.copy2(origin, site / origin.name)
    return site


def run_isolated(site: Path, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python with no site-packages at all (-S -I), then only ``site`` on the path."""
    code = (
        "import runpy, sys; sys.path.insert(0, sys.argv[1]); script = sys.argv[2]; sys.argv = sys.argv[2:]; "
        "runpy.run_path(script, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-S", "-I", "-c", code, str(site), str(script), *args], capture_output=True, text=True
    )


def test_standalone_verifier_needs_only_cryptography(bundle: Path, tmp_path: Path) -> None:
    """The verify.py inside the bundle runs where only the standard library and cryptography exist."""
    site = only_cryptography(tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        (tmp_path / "verify.py").write_bytes(archive.read("verify.py"))
    probe = tmp_path / "probe.py"
    probe.write_text("import cryptography\nimport vigie\n")
    assert "No module named 'vigie'" in run_isolated(site, probe).stderr  # the verifier cannot lean on Vigie
    ok = run_isolated(site, tmp_path / "verify.py", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VERIFIED" in ok.stdout and "gap" in ok.stdout
    with zipfile.ZipFile(bundle) as archive:
        name = next(n for n in archive.namelist() if "seg-" in n)
        data = archive.read(name)
    bad = rewrite(bundle, tmp_path / "bad.zip", {name: flip(data, 50)})
    failed = run_isolated(site, tmp_path / "verify.py", str(bad))
    assert failed.returncode == 1 and f"FAIL        {name}" in failed.stdout


def test_verifier_algorithms_match_the_vault() -> None:
    payload = {"b": [1, 2], "a": "é", "c": None}
    assert verifier.canonical(payload) == vault_canonical(payload)
    leaves = [bytes([i]) * 32 for i in range(13)]
    root = merkle.root(leaves)
    for index in range(13):
        assert verifier.verify_inclusion(leaves[index], index, 13, merkle.inclusion_proof(index, leaves), root)


def test_closed_unknown_and_empty_cases_are_refused(
    vault: Vault, audit: AuditLog, actor: Actor, tmp_path: Path
) -> None:
    cases = CaseService(vault, audit)
    with pytest.raises(CaseError, match="unknown case"):
        export_case(vault, audit, REQUEST, tmp_path / "x.zip", actor=actor)
    cases.open(REQUEST.case_ref, actor=actor)
    with pytest.raises(CaseError, match="no evidence"):
        export_case(vault, audit, REQUEST, tmp_path / "x.zip", actor=actor)
    cases.close(REQUEST.case_ref, actor=actor, reason="done")
    with pytest.raises(CaseError, match="closed"):
        export_case(vault, audit, REQUEST, tmp_path / "x.zip", actor=actor)
    with pytest.raises(CaseError, match="reason"):
        export_case(vault, audit, ExportRequest("PV", " ", "a", "b"), tmp_path / "x.zip", actor=actor)
    assert not (tmp_path / "x.zip").exists()


def test_case_holds_keep_footage_until_the_case_closes(
    vault: Vault, audit: AuditLog, actor: Actor, scenes: Path
) -> None:
    from vigie.vault import retention

    camera = vault.ensure_source("cam-1", kind="camera")
    import_camera_file(vault, scenes / "walkers.mp4", camera, start=T0)
    cases = CaseService(vault, audit)
    cases.open("PV-1", actor=actor)
    cases.add_span("PV-1", "cam-1", T0, T0 + timedelta(seconds=3), actor=actor, reason="incident")
    later = T0 + timedelta(days=40)
    assert retention.purge(vault, now=later, dry_run=True).held >= 1
    cases.close("PV-1", actor=actor, reason="judgment delivered")
    assert retention.purge(vault, now=later, dry_run=True).held == 0
