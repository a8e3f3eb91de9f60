#!/usr/bin/env python3
"""Offline verifier for Vigie evidence bundles.

    python verify.py BUNDLE.zip [--public-key KEY.pem]

Needs only Python 3.9+ and the ``cryptography`` package: no Vigie, no database, no vault. It
checks every file hash, the bundle's signature, every segment's chain entry and its Merkle
inclusion proof against the installation's signed checkpoints, recording seals and the audit
extract, and prints where anything fails. Exit code 0 only when everything checks out.

The signatures prove the footage came from the Vigie installation whose public key signed them.
Compare the key fingerprint printed below with the one the installation publishes, or pin it
with ``--public-key``.

This file is deliberately self-contained (it is shipped inside every bundle): keep its imports
to the standard library and ``cryptography``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "vigie-evidence-bundle/1"
CONTROL_FILES = ("manifest.json", "manifest.sig")


def canonical(payload: Any) -> bytes:
    """The byte form Vigie hashes and signs (must match vigie.vault.chain.canonical)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2 (the same algorithm as vigie.vault.merkle)."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, _leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


class Report:
    def __init__(self, quiet: bool = False) -> None:
        self.problems: list[str] = []
        self.checked: dict[str, int] = {}
        self.quiet = quiet

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def ok(self, kind: str, count: int = 1) -> None:
        self.checked[kind] = self.checked.get(kind, 0) + count


def _signature_ok(public: Ed25519PublicKey, payload: bytes, signature_hex: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_bundle(path: str, pinned_key_pem: bytes | None = None) -> tuple[Report, dict[str, Any]]:
    report = Report()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        report.fail(path, f"not a readable zip (truncated or damaged): {error}")
        return report, {}
    with archive:
        names = set(archive.namelist())
        for control in CONTROL_FILES:
            if control not in names:
                report.fail(control, "missing from the bundle")
        if report.problems:
            return report, {}
        try:
            manifest_bytes = archive.read("manifest.json")
            manifest = json.loads(manifest_bytes)
            signature = archive.read("manifest.sig").decode().strip()
        except (zipfile.BadZipFile, OSError, ValueError, UnicodeDecodeError) as error:
            report.fail("manifest.json", f"unreadable: {error}")
            return report, {}
        if manifest.get("format") != FORMAT:
            report.fail("manifest.json", f"unknown format {manifest.get('format')!r}")
            return report, manifest

        # 1. The key, and the bundle's own signature (it covers every file hash in the manifest).
        key_info = manifest.get("signing_key", {})
        try:
            public = serialization.load_pem_public_key(key_info["public_key_pem"].encode())
            assert isinstance(public, Ed25519PublicKey)
        except (KeyError, ValueError, AssertionError):
            report.fail("manifest.json", "no usable Ed25519 public key")
            return report, manifest
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if sha256_hex(raw)[:16] != key_info.get("key_id"):
            report.fail("manifest.json", "the key id does not match the public key")
        if pinned_key_pem is not None:
            pinned = serialization.load_pem_public_key(pinned_key_pem)
            pinned_raw = pinned.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            if pinned_raw != raw:
                report.fail("manifest.json", "signed with a different key than the one you pinned")
        if _signature_ok(public, manifest_bytes, signature):
            report.ok("bundle signature")
        else:
            report.fail("manifest.json", "altered: its signature (manifest.sig) does not verify")

        # 2. Every file: present, same size and sha256; nothing unlisted.
        files: dict[str, dict[str, Any]] = manifest.get("files", {})
        for name in sorted(names - set(files) - set(CONTROL_FILES)):
            report.fail(name, "extra file, not listed in the manifest")
        contents: dict[str, bytes] = {}
        for name, expected in sorted(files.items()):
            if name not in names:
                report.fail(name, "listed in the manifest but missing from the bundle")
                continue
            try:
                data = archive.read(name)
            except (zipfile.BadZipFile, OSError) as error:
                report.fail(name, f"unreadable (truncated or damaged): {error}")
                continue
            if len(data) != expected.get("size") or sha256_hex(data) != expected.get("sha256"):
                report.fail(name, "content does not match its sha256 in the manifest (modified)")
                continue
            contents[name] = data
            report.ok("file")

    # 3. Checkpoints signed by the installation.
    checkpoints = manifest.get("checkpoints", [])
    checkpoint_ok: list[bool] = []
    for index, checkpoint in enumerate(checkpoints):
        good = _signature_ok(public, canonical(checkpoint.get("payload")), checkpoint.get("signature", ""))
        checkpoint_ok.append(good)
        if good:
            report.ok("signed checkpoint")
        else:
            report.fail(f"checkpoint {index}", "signature does not verify")

    # 4. Items: chain entries, inclusion proofs, media bound to entries, seals, derivatives.
    for number, item in enumerate(manifest.get("items", []), start=1):
        _verify_item(number, item, checkpoints, checkpoint_ok, contents, public, report)

    # 5. Audit extract: every entry's hash recomputes.
    audit = manifest.get("audit") or {}
    audit_path = audit.get("path")
    if audit_path and audit_path in contents:
        for line_number, line in enumerate(contents[audit_path].decode().splitlines(), start=1):
            try:
                record = json.loads(line)
                good = sha256_hex(canonical(record["payload"])) == record["entry_hash"]
            except (ValueError, KeyError, TypeError):
                good = False
            if good:
                report.ok("audit entry")
            else:
                report.fail(f"{audit_path} line {line_number}", "audit entry does not match its hash")
    return report, manifest


def _verify_item(
    number: int,
    item: dict[str, Any],
    checkpoints: list[dict[str, Any]],
    checkpoint_ok: list[bool],
    contents: dict[str, bytes],
    public: Ed25519PublicKey,
    report: Report,
) -> None:
    label = f"item {number} ({item.get('source')})"
    original = item.get("original")
    original_bytes = contents.get(original["path"]) if original else None
    previous: tuple[int, str] | None = None
    # Chunks of a byte-exact original (entry v2) carry the sha256 of the file up to their end.
    running = hashlib.sha256()
    running_at: int | None = 0  # bytes of the original hashed so far; None once a chunk failed
    for segment in item.get("segments", []):
        where = f"{label} segment #{segment.get('seq')}"
        entry = segment.get("entry", {})
        entry_hash = sha256_hex(canonical(entry))
        if entry_hash != segment.get("entry_hash") or entry.get("source") != item.get("source_uid"):
            report.fail(where, "chain entry altered")
            continue
        if previous is not None and segment.get("seq") == previous[0] + 1 and entry.get("prev") != previous[1]:
            report.fail(where, "does not link to the previous segment (reordered or replaced)")
        previous = (segment.get("seq", -1), entry_hash)
        index = segment.get("checkpoint", -1)
        if not 0 <= index < len(checkpoints) or not checkpoint_ok[index]:
            report.fail(where, "refers to a missing or invalid checkpoint")
            continue
        payload = checkpoints[index]["payload"]
        try:
            proof = [bytes.fromhex(p) for p in segment.get("proof", [])]
            included = verify_inclusion(
                bytes.fromhex(entry_hash),
                segment["leaf_index"],
                payload["count"],
                proof,
                bytes.fromhex(payload["root"]),
            )
        except (KeyError, ValueError, TypeError):
            included = False
        if not included or segment.get("leaf_index") != segment.get("seq", 0) - payload.get("first_seq", 0):
            report.fail(where, "Merkle inclusion proof fails against the signed checkpoint")
            continue
        report.ok("segment proven in a signed checkpoint")
        if segment.get("withheld"):
            continue
        media = _segment_bytes(segment, entry, contents, original_bytes)
        if media is None:
            report.fail(where, "media missing from the bundle")
        elif entry.get("kind") == "chunk" and entry.get("v") == 2:
            if running_at is None or entry.get("offset") != running_at or len(media) != entry.get("size"):
                running_at = None
                report.fail(where, "chunk cannot be checked: the original's bytes before it are not all here")
                continue
            running.update(media)
            running_at += len(media)
            if running.copy().hexdigest() != entry.get("sha256"):
                running_at = None
                report.fail(where, "original's bytes up to this chunk do not match the signed chain entry")
            else:
                report.ok("original's bytes up to this chunk matching the chain")
        elif sha256_hex(media) != entry.get("sha256") or len(media) != entry.get("size"):
            report.fail(where, "media does not match the signed chain entry")
        else:
            report.ok("media bytes matching the chain")
    seal = item.get("seal")
    if seal:
        if not _signature_ok(public, canonical(seal.get("payload")), seal.get("signature", "")):
            report.fail(label, "recording seal does not verify")
        elif original and seal["payload"].get("sha256") not in (None, original.get("sha256")):
            report.fail(label, "original file differs from the sealed recording's sha256")
        else:
            report.ok("recording seal")
    for derivative in item.get("derivatives", []):
        if derivative.get("path") not in contents:
            report.fail(label, f"derivative {derivative.get('path')} missing or altered")
        else:
            report.ok("declared derivative")


def _segment_bytes(
    segment: dict[str, Any], entry: dict[str, Any], contents: dict[str, bytes], original: bytes | None
) -> bytes | None:
    if segment.get("path"):
        return contents.get(segment["path"])
    if original is not None:
        offset = int(entry.get("offset", 0))
        return original[offset : offset + int(entry.get("size", 0))]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Vigie evidence bundle offline.")
    parser.add_argument("bundle", help="the .zip bundle")
    parser.add_argument("--public-key", help="PEM public key the installation publishes (pin it)")
    args = parser.parse_args(argv)
    pinned = None
    if args.public_key:
        try:
            with open(args.public_key, "rb") as handle:
                pinned = handle.read()
        except OSError as error:
            print(f"error: cannot read {args.public_key}: {error.strerror}", file=sys.stderr)
            return 2
    report, manifest = verify_bundle(args.bundle, pinned)
    case = manifest.get("case", {}) if manifest else {}
    key = manifest.get("signing_key", {}).get("key_id") if manifest else None
    print(f"bundle      {args.bundle}")
    if case:
        print(f"case        {case.get('ref')}")
    if key:
        print(f"signed by   Vigie installation key {key}")
    for kind, count in sorted(report.checked.items()):
        print(f"ok          {count} {kind}{'s' if count > 1 and not kind.endswith('s') else ''}")
    for item in manifest.get("items", []) if manifest else []:
        for gap in item.get("gaps", []):
            print(f"gap         {item.get('source')}: {gap.get('start')} → {gap.get('end')} ({gap.get('cause')})")
    for problem in report.problems:
        print(f"FAIL        {problem}")
    if report.problems:
        print(f"NOT VERIFIED: {len(report.problems)} problem(s)")
        return 1
    print("VERIFIED: every file, hash, inclusion proof and signature checks out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
