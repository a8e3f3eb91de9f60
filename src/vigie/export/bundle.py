"""Evidence bundles: the media, a signed manifest of proofs, the audit extract, a README and the verifier.

What leaves is provably the original (each segment's chain entry, with a Merkle inclusion proof
against a checkpoint the installation signed when it recorded) or a declared derivative of it
(privacy-masked or face-redacted, with its own hash and a pointer to its parent). Gaps in the
exported span are stated, never hidden. ``vigie/export/verify.py`` checks all of it offline.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigie.access.audit import Actor, AuditLog, AuditRecord, entry_payload
from vigie.catalog.models import Checkpoint, Gap, Recording, Segment, Source
from vigie.catalog.types import iso, utcnow
from vigie.export import verify as standalone_verifier
from vigie.export.cases import CaseError, CaseService, ItemView
from vigie.vault import merkle
from vigie.vault.chain import checkpoint_payload, recording_payload, segment_entry, sha256_hex
from vigie.vault.store import Vault

FORMAT = standalone_verifier.FORMAT
ByteProgress = Callable[[int], None]
# A hook that turns original media into what may leave (privacy masks, face redaction):
# (source, segment bytes) -> (bytes to ship, derivative description) or None to ship the original.
DerivativeHook = Callable[[Source, bytes], tuple[bytes, dict[str, Any]] | None]
# Face redaction: the approved redacted copy of a whole recording (raises when there is none).
RedactionHook = Callable[[Recording], tuple[bytes, dict[str, Any]]]


@dataclass(frozen=True)
class ExportRequest:
    case_ref: str
    reason: str
    requester: str
    recipient: str
    procedure: str | None = None


@dataclass
class ExportResult:
    path: Path
    sha256: str
    size: int
    items: int
    segments: int
    gaps: list[dict[str, Any]] = field(default_factory=list)
    withheld: int = 0


class _BundleWriter:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: dict[str, dict[str, Any]] = {}

    def open_stream(self, name: str) -> _StreamedFile:
        """A large member written piece by piece (no whole copy in memory); listed when closed."""
        return _StreamedFile(self, name)

    def add(self, name: str, data: bytes, *, compress: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.archive.writestr(info, data)
        self.files[name] = {"sha256": sha256_hex(data), "size": len(data)}


class _StreamedFile:
    def __init__(self, writer: _BundleWriter, name: str) -> None:
        info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        self.writer, self.name = writer, name
        self.handle = writer.archive.open(info, "w", force_zip64=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> dict[str, Any]:
        self.handle.close()
        listed = {"sha256": self.digest.hexdigest(), "size": self.size}
        self.writer.files[self.name] = listed
        return listed


def _spans_gaps(item: ItemView, segments: list[Segment], recorded_gaps: list[Gap]) -> list[dict[str, Any]]:
    """Recorded gaps plus any part of the span no segment covers (tolerance: one frame)."""
    start, end = item.item.span_start, item.item.span_end
    gaps = [
        {"start": iso(max(g.start, start)), "end": iso(min(g.end or end, end)), "cause": g.cause} for g in recorded_gaps
    ]
    tolerance = timedelta(milliseconds=200)
    cursor = start
    for segment in segments:
        if segment.start - cursor > tolerance:
            gaps.append({"start": iso(cursor), "end": iso(segment.start), "cause": "no-recording"})
        cursor = max(cursor, segment.end)
    if end - cursor > tolerance:
        gaps.append({"start": iso(cursor), "end": iso(end), "cause": "no-recording"})
    return sorted(gaps, key=lambda gap: str(gap["start"]))


def export_case(
    vault: Vault,
    audit: AuditLog,
    request: ExportRequest,
    out: Path,
    *,
    actor: Actor,
    derivative: DerivativeHook | None = None,
    redaction: RedactionHook | None = None,
    progress: ByteProgress | None = None,
) -> ExportResult:
    for what, value in (("reason", request.reason), ("requester", request.requester), ("recipient", request.recipient)):
        if not value.strip():
            raise CaseError(f"an export needs a {what} (R241-2)")
    cases = CaseService(vault, audit)
    case = cases.get(request.case_ref)
    if case.status != "open":
        raise CaseError(f"case {case.ref} is closed: nothing is exported from a closed case")
    items = cases.items(case.ref)
    if not items:
        raise CaseError(f"case {case.ref} holds no evidence item")
    if out.exists():
        raise CaseError(f"{out} exists already: refusing to overwrite")
    if redaction is not None:
        for view in items:
            if view.recording is None:
                raise CaseError(
                    f"face redaction works on recordings: add the recordings of {view.source.name} to the case "
                    "instead of a time span"
                )
            redaction(view.recording)  # every item must have an approved redaction before anything is written
    for source in {view.source.id: view.source for view in items}.values():
        vault.checkpoint(source)  # segments still recording get a signed checkpoint before they leave

    # The export is registered before anything is written, so the extract includes it (R241-2, R241-5).
    audit.append(
        actor,
        AuditRecord(
            action="export",
            object_type="case",
            object_ids=[
                case.ref,
                *{view.source.name for view in items},
                *(v.recording.id for v in items if v.recording),
            ],
            reason=request.reason,
            procedure=request.procedure or case.ref,
            requester=request.requester,
            recipient=request.recipient,
            details={"file": out.name},
        ),
    )
    partial = out.with_name(out.name + ".partial")
    result = ExportResult(path=out, sha256="", size=0, items=len(items), segments=0)
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            writer = _BundleWriter(archive)
            checkpoints: list[dict[str, Any]] = []
            checkpoint_index: dict[int, int] = {}
            manifest_items = []
            for number, view in enumerate(items, start=1):
                manifest_items.append(
                    _export_item(
                        vault,
                        number,
                        view,
                        writer,
                        checkpoints,
                        checkpoint_index,
                        derivative,
                        redaction,
                        result,
                        progress,
                    )
                )
            object_ids = {case.ref} | {v.source.name for v in items} | {v.recording.id for v in items if v.recording}
            extract = [
                json.dumps({"payload": entry_payload(e), "entry_hash": e.entry_hash}, ensure_ascii=False)
                for e in audit.iter_all()
                if object_ids & set(e.object_ids)
            ]
            writer.add("audit.jsonl", ("\n".join(extract) + "\n").encode(), compress=True)
            writer.add("public_key.pem", vault.signer.public_pem())
            writer.add("verify.py", Path(standalone_verifier.__file__).read_bytes(), compress=True)
            writer.add("README.txt", _readme(case.ref, request, result).encode(), compress=True)
            manifest = {
                "format": FORMAT,
                "created_at": iso(utcnow()),
                "case": {"ref": case.ref, "title": case.title},
                "export": {
                    "reason": request.reason,
                    "requester": request.requester,
                    "recipient": request.recipient,
                    "procedure": request.procedure or case.ref,
                    "exported_by": actor.name,
                    "role": actor.role,
                    "unit": actor.unit,
                },
                "signing_key": {"key_id": vault.signer.id, "public_key_pem": vault.signer.public_pem().decode()},
                "checkpoints": checkpoints,
                "items": manifest_items,
                "audit": {"path": "audit.jsonl", "entries": len(extract)},
                "files": writer.files,
            }
            manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()
            archive.writestr("manifest.json", manifest_bytes, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("manifest.sig", vault.signer.sign(manifest_bytes) + "\n")
        partial.replace(out)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        audit.append(
            actor,
            AuditRecord(
                action="export",
                object_type="case",
                object_ids=[case.ref],
                outcome="failed",
                reason=request.reason,
                details={"error": str(error)[:300]},
            ),
        )
        raise
    data_hash, size = _file_digest(out)
    result.sha256, result.size = data_hash, size
    return result


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _export_item(
    vault: Vault,
    number: int,
    view: ItemView,
    writer: _BundleWriter,
    checkpoints: list[dict[str, Any]],
    checkpoint_index: dict[int, int],
    derivative: DerivativeHook | None,
    redaction: RedactionHook | None,
    result: ExportResult,
    progress: ByteProgress | None,
) -> dict[str, Any]:
    source, item = view.source, view.item
    redacted = redaction(view.recording) if redaction is not None and view.recording is not None else None
    with vault.catalog.session() as session:
        query = select(Segment).where(Segment.source_id == source.id).order_by(Segment.seq)
        if view.recording is not None:
            query = query.where(Segment.recording_id == view.recording.id)
        else:
            query = query.where(Segment.end > item.span_start, Segment.start < item.span_end)
        segments = list(session.execute(query).scalars())
        recorded_gaps = list(
            session.execute(
                select(Gap).where(
                    Gap.source_id == source.id,
                    Gap.start < item.span_end,
                    (Gap.end.is_(None)) | (Gap.end > item.span_start),
                )
            ).scalars()
        )
        covering = {
            c.id: c
            for c in session.execute(
                select(Checkpoint).where(
                    Checkpoint.source_id == source.id,
                    Checkpoint.last_seq >= (segments[0].seq if segments else 0),
                    Checkpoint.first_seq <= (segments[-1].seq if segments else -1),
                )
            ).scalars()
        }
        recordings = {
            r.id: r
            for r in session.execute(
                select(Recording).where(Recording.id.in_({s.recording_id for s in segments}))
            ).scalars()
        }
    folder = f"media/{number:03d}-{_safe(source.name)}"
    entries: list[dict[str, Any]] = []
    derivatives: list[dict[str, Any]] = []
    byte_exact = view.recording is not None and view.recording.kind == "bodycam"
    original: _StreamedFile | None = None
    original_path = ""
    if byte_exact and view.recording is not None:
        suffix = Path(view.recording.original_name or "original.mp4").suffix or ".mp4"
        original_path = f"{folder}/original{suffix}"
    for segment in segments:
        checkpoint = next((c for c in covering.values() if c.first_seq <= segment.seq <= c.last_seq), None)
        assert checkpoint is not None, "every exported segment was checkpointed just before"
        if checkpoint.id not in checkpoint_index:
            checkpoint_index[checkpoint.id] = len(checkpoints)
            checkpoints.append({"payload": checkpoint_payload(source, checkpoint), "signature": checkpoint.signature})
        leaves = [bytes.fromhex(leaf) for leaf in checkpoint.leaves]
        leaf_index = segment.seq - checkpoint.first_seq
        record: dict[str, Any] = {
            "seq": segment.seq,
            "start": iso(segment.start),
            "end": iso(segment.end),
            "entry": segment_entry(source, segment),
            "entry_hash": segment.entry_hash,
            "checkpoint": checkpoint_index[checkpoint.id],
            "leaf_index": leaf_index,
            "proof": [p.hex() for p in merkle.inclusion_proof(leaf_index, leaves)],
            "path": None,
            "withheld": None,
        }
        if segment.purged_at is not None:
            record["withheld"] = "purged by retention (signed tombstone in the vault)"
            result.withheld += 1
        elif redacted is not None:
            record["withheld"] = "original withheld: face-redacted derivative shipped"
            result.withheld += 1
        else:
            data = vault.read(segment)
            if progress:
                progress(len(data))
            if byte_exact:
                original = original or writer.open_stream(original_path)
                original.write(data)
            else:
                shipped = derivative(source, data) if derivative else None
                if shipped is None:
                    record["path"] = f"{folder}/seg-{segment.seq:08d}.mp4"
                    writer.add(record["path"], data)
                else:
                    derived_bytes, description = shipped
                    path = f"{folder}/seg-{segment.seq:08d}.{description.get('kind', 'derived')}.mp4"
                    writer.add(path, derived_bytes)
                    record["withheld"] = description.get("withheld", "original withheld: declared derivative shipped")
                    derivatives.append(
                        {
                            "path": path,
                            "sha256": sha256_hex(derived_bytes),
                            "parent_seq": segment.seq,
                            "parent_sha256": segment.sha256,
                            **description,
                        }
                    )
                    result.withheld += 1
        entries.append(record)
        result.segments += 1
    manifest_item: dict[str, Any] = {
        "kind": "bodycam-recording" if byte_exact else ("recording" if view.recording else "camera-span"),
        "source": source.name,
        "source_uid": source.uid,
        "recording": view.recording.id if view.recording else None,
        "span": {"start": iso(item.span_start), "end": iso(item.span_end)},
        "original": None,
        "seal": None,
        "segments": entries,
        "gaps": _spans_gaps(view, segments, recorded_gaps) if not byte_exact else [],
        "derivatives": derivatives,
    }
    if redacted is not None and view.recording is not None:
        redacted_bytes, description = redacted
        path = f"{folder}/redacted-{view.recording.id}.mp4"
        writer.add(path, redacted_bytes)
        derivatives.append(
            {
                "path": path,
                "sha256": sha256_hex(redacted_bytes),
                "parent_recording": view.recording.id,
                "parent_sha256_whole": view.recording.sha256,
                **description,
            }
        )
    if original is not None:
        manifest_item["original"] = {"path": original_path, **original.close()}
    sealed = recordings.get(view.recording.id) if view.recording is not None else None
    if sealed is not None and sealed.seal_signature:
        manifest_item["seal"] = {"payload": recording_payload(source, sealed), "signature": sealed.seal_signature}
    result.gaps.extend({"source": source.name, **gap} for gap in manifest_item["gaps"])
    return manifest_item


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _readme(ref: str, request: ExportRequest, result: ExportResult) -> str:
    gap_lines = "\n".join(f"  - {g['source']}: {g['start']} -> {g['end']} ({g['cause']})" for g in result.gaps)
    return f"""VIGIE — EVIDENCE BUNDLE / SCELLÉ NUMÉRIQUE
Case / affaire: {ref}
Reason / motif: {request.reason}
Requested by / demandeur: {request.requester}
Recipient / destinataire: {request.recipient}
Procedure / procédure: {request.procedure or ref}

FRANÇAIS
Ce fichier contient des enregistrements vidéo extraits de Vigie, avec la preuve de leur intégrité.
- media/ : les vidéos. Les originaux sont identiques, octet pour octet, à ce qui a été enregistré ;
  les fichiers dérivés (masquage des zones privées, floutage des visages) sont déclarés comme tels
  dans manifest.json, avec un lien vers l'original dont ils proviennent.
- manifest.json : l'empreinte (SHA-256) de chaque fichier et, pour chaque segment, sa place dans la
  chaîne d'enregistrement et une preuve d'inclusion dans un point de contrôle signé au moment de
  l'enregistrement. manifest.sig : la signature de ce manifeste.
- audit.jsonl : l'extrait du registre des accès concernant ces enregistrements (R241-5).
- verify.py : le vérificateur. Sur tout ordinateur avec Python 3 et le paquet « cryptography » :
      python3 verify.py CE_FICHIER.zip
  Il affiche VERIFIED si tout est intact, sinon il indique quel fichier a été modifié.
- Comparez l'empreinte de la clé affichée avec celle publiée par le service.

ENGLISH
This file holds video recordings exported from Vigie with the proof of their integrity.
Originals are byte-identical to what was recorded; derivatives (privacy masks, face redaction)
are declared in manifest.json with a pointer to their original. Every segment carries its chain
entry and a Merkle inclusion proof against a checkpoint signed when it was recorded.
Check it anywhere with Python 3 and the 'cryptography' package:
      python3 verify.py THIS_FILE.zip

Gaps in the exported spans (time with no recording) / Périodes sans enregistrement :
{gap_lines or "  none / aucune"}
Segments withheld (purged by law, or replaced by a declared derivative): {result.withheld}
"""
