"""Re-derive every integrity claim of the vault and report what does not hold.

Problem kinds (the CLI prints them; scripts rely on the words):
``modified`` content or metadata changed; ``missing`` something that was recorded is gone;
``inserted`` something that was never recorded appeared; ``reordered`` genuine items in the
wrong place; ``bad-signature`` a signature or signed root does not check; ``audit-tampered`` the
access register's chain is broken (reported by ``vigie.access.audit``).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from vigie.catalog import chains
from vigie.catalog.models import Checkpoint, Recording, Segment, Source, Tombstone
from vigie.vault import merkle
from vigie.vault.blobstore import BUFFERS, BlobMissing, BlobStoreError, get_buffer
from vigie.vault.chain import (
    CHUNK,
    GENESIS,
    canonical,
    checkpoint_hash,
    checkpoint_payload,
    recording_payload,
    segment_entry_hash,
    sha256_hex,
    tombstone_payload,
)
from vigie.vault.envelope import EnvelopeError, open_sealed_into, sealed_size
from vigie.vault.store import DERIVED_PREFIX, Vault, chain_name

ProblemKind = Literal["modified", "missing", "inserted", "reordered", "bad-signature", "audit-tampered"]


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    object: str  # e.g. "segment cam1#12", "checkpoint cam1#3", "blob <key>"
    detail: str

    def line(self) -> str:
        return f"{self.kind}\t{self.object}\t{self.detail}"


@dataclass
class VerifyReport:
    problems: list[Problem]
    segments: int = 0
    bytes_checked: int = 0
    checkpoints: int = 0
    audit_entries: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems


Progress = Callable[[int], None]
_READERS = 3  # threads reading and decrypting blobs ahead of the hashing
_READ_AHEAD = 6  # blobs in flight (6 × 8 MiB for body-cam chunks)


def verify_vault(vault: Vault, source_name: str | None = None, progress: Progress | None = None) -> VerifyReport:
    report = VerifyReport(problems=[])
    sources = [vault.source(source_name)] if source_name else vault.sources()
    for source in sources:
        _verify_source(vault, source, report, progress)
    if source_name is None:
        _find_orphan_blobs(vault, report)
    return report


def _verify_source(vault: Vault, source: Source, report: VerifyReport, progress: Progress | None) -> None:
    problems = report.problems
    label = source.name
    with vault.catalog.session() as session:
        segments = list(
            session.execute(select(Segment).where(Segment.source_id == source.id).order_by(Segment.seq)).scalars()
        )
        checkpoints = list(
            session.execute(
                select(Checkpoint).where(Checkpoint.source_id == source.id).order_by(Checkpoint.first_seq)
            ).scalars()
        )
        tombstones = {
            t.segment_id: t
            for t in session.execute(select(Tombstone).where(Tombstone.source_id == source.id)).scalars()
        }
        recordings = list(session.execute(select(Recording).where(Recording.source_id == source.id)).scalars())
        head = chains.head(session, chain_name(source))

    # 1. Checkpoints: signatures, signed roots, their own chain.
    expected: dict[int, str] = {}  # seq -> entry hash as signed
    previous: Checkpoint | None = None
    for checkpoint in checkpoints:
        report.checkpoints += 1
        name = f"checkpoint {label}#{checkpoint.first_seq}-{checkpoint.last_seq}"
        payload = canonical(checkpoint_payload(source, checkpoint))
        if not vault.signer.verify(payload, checkpoint.signature):
            problems.append(Problem("bad-signature", name, "checkpoint signature does not verify"))
            previous = checkpoint
            continue
        leaves = list(checkpoint.leaves)
        root = merkle.root([bytes.fromhex(leaf) for leaf in leaves]).hex()
        if root != checkpoint.merkle_root or len(leaves) != checkpoint.last_seq - checkpoint.first_seq + 1:
            problems.append(Problem("bad-signature", name, "stored leaves do not give the signed Merkle root"))
            previous = checkpoint
            continue
        prev_hash = checkpoint_hash(source, previous) if previous else GENESIS
        if checkpoint.prev_checkpoint_hash != prev_hash:
            problems.append(Problem("missing", name, "the checkpoint before this one was removed or altered"))
        if previous and checkpoint.first_seq != previous.last_seq + 1:
            problems.append(
                Problem("missing", name, f"checkpoints skip from #{previous.last_seq} to #{checkpoint.first_seq}")
            )
        for offset, leaf in enumerate(leaves):
            expected[checkpoint.first_seq + offset] = leaf
        previous = checkpoint

    # 2. Segment rows against the signed leaves (or, past the last checkpoint, against the chain).
    position_of = {leaf: seq for seq, leaf in expected.items()}
    matched: set[int] = set()
    unmatched_rows: list[Segment] = []
    last_checkpointed = max(expected) if expected else 0
    previous_hash = expected.get(last_checkpointed, GENESIS)
    for segment in segments:
        recomputed = segment_entry_hash(source, segment)
        name = f"segment {label}#{segment.seq}"
        if segment.seq <= last_checkpointed:
            if recomputed in position_of:
                seq = position_of[recomputed]
                matched.add(seq)
                if seq != segment.seq:
                    problems.append(Problem("reordered", name, f"this entry was signed at position #{seq}"))
            else:
                unmatched_rows.append(segment)
        else:
            if segment.prev_hash != previous_hash:
                problems.append(Problem("modified", name, "does not link to the previous entry of the chain"))
            previous_hash = recomputed
    for segment in unmatched_rows:
        name = f"segment {label}#{segment.seq}"
        if segment.seq in expected and segment.seq not in matched:
            problems.append(Problem("modified", name, "catalog entry differs from the signed checkpoint"))
            matched.add(segment.seq)
        else:
            problems.append(Problem("inserted", name, "entry is in no signed checkpoint"))
    present = {segment.seq for segment in segments}
    for seq in sorted(set(expected) - matched - present):
        problems.append(Problem("missing", f"segment {label}#{seq}", "signed in a checkpoint, gone from the catalog"))
    if head is not None and segments:
        if head.seq != segments[-1].seq or head.head_hash != segment_entry_hash(source, segments[-1]):
            problems.append(
                Problem("missing", f"chain {label}", f"chain head is at #{head.seq}, last entry is #{segments[-1].seq}")
            )
    elif head is not None and head.seq > 0:
        problems.append(Problem("missing", f"chain {label}", f"chain head is at #{head.seq} but no entry remains"))

    # 3. Recording seals.
    for recording in recordings:
        if recording.seal_signature and not vault.signer.verify(
            canonical(recording_payload(source, recording)), recording.seal_signature
        ):
            problems.append(
                Problem("modified", f"recording {recording.id}", "recording metadata differs from its seal")
            )

    # 4. Blobs: decrypt and re-hash; purged ones must have a valid tombstone.
    by_hash = {segment.sha256: segment.seq for segment in segments}
    reported_rows = {segment.seq for segment in unmatched_rows}
    originals: dict[str, _RunningOriginal] = {}  # recording id -> running sha256 of its chunks
    for segment, opened in _read_ahead(vault, segments):
        name = f"segment {label}#{segment.seq}"
        report.segments += 1
        original = originals.setdefault(segment.recording_id, _RunningOriginal()) if segment.kind == CHUNK else None
        if opened is None:  # purged
            _check_tombstone(vault, source, segment, tombstones.get(segment.id), problems)
            if original:
                original.broken = True
            continue
        if isinstance(opened, Exception):
            kind: ProblemKind = "modified" if isinstance(opened, EnvelopeError) else "missing"
            detail = f"blob {segment.blob_key} is gone" if isinstance(opened, BlobMissing) else str(opened)
            problems.append(Problem(kind, name, detail))
            if original:
                original.broken = True
            continue
        plaintext = opened
        report.bytes_checked += len(plaintext)
        if progress:
            progress(len(plaintext))
        if original is not None:
            _check_chunk(original, segment, plaintext, name, segment.seq in reported_rows, problems)
            continue
        digest = sha256_hex(plaintext)
        if digest != segment.sha256 or len(plaintext) != segment.size:
            other = by_hash.get(digest)
            if other is not None and other != segment.seq:
                problems.append(Problem("reordered", name, f"blob holds the content of segment #{other}"))
            else:
                problems.append(Problem("modified", name, "blob content does not match its sha256"))


def _read_ahead(vault: Vault, segments: list[Segment]) -> Iterator[tuple[Segment, memoryview | Exception | None]]:
    """Each segment with its opened blob (or why it cannot be opened), in order, read ahead in threads.

    Reading and decrypting the next blobs overlaps hashing this one (file and network I/O release
    the GIL; an S3 store answers several requests at once). Purged segments come with ``None``.
    """

    # One read buffer and one plaintext buffer per blob in flight and for the blob being hashed: a
    # pair is reused only once the caller has moved past the plaintext in it (the caller must not
    # keep a plaintext beyond its turn).
    largest = max((segment.size for segment in segments), default=0)
    slots = _READ_AHEAD + 1 if segments else 0
    buffers = [BUFFERS.take(sealed_size(largest)) for _ in range(slots)]
    plaintexts = [BUFFERS.take(largest) for _ in range(slots)]

    def open_blob(segment: Segment, buffer: memoryview, plaintext: memoryview) -> memoryview | Exception:
        try:
            return open_sealed_into(get_buffer(vault.blobs, segment.blob_key, buffer), vault.kek, plaintext)
        except (BlobStoreError, EnvelopeError) as error:
            return error

    try:
        with ThreadPoolExecutor(max_workers=_READERS) as readers:
            ahead: deque[tuple[Segment, Future[memoryview | Exception] | None]] = deque()
            for index, segment in enumerate(segments):
                slot = index % slots
                future = (
                    readers.submit(open_blob, segment, buffers[slot], plaintexts[slot])
                    if segment.purged_at is None
                    else None
                )
                ahead.append((segment, future))
                if len(ahead) > _READ_AHEAD:
                    done, ready = ahead.popleft()
                    yield done, ready.result() if ready else None
            while ahead:
                done, ready = ahead.popleft()
                yield done, ready.result() if ready else None
    finally:  # the readers have shut down
        for buffer in buffers + plaintexts:
            BUFFERS.give(buffer)


@dataclass
class _RunningOriginal:
    """A byte-exact original re-hashed chunk after chunk, as it was imported (one pass)."""

    hasher: Any = field(default_factory=hashlib.sha256)
    position: int = 0
    broken: bool = False  # a chunk could not be read: the running hash cannot go past it


def _check_chunk(
    original: _RunningOriginal,
    segment: Segment,
    plaintext: memoryview,
    name: str,
    row_reported: bool,
    problems: list[Problem],
) -> None:
    """A chunk's entry holds the sha256 of the original up to the chunk's end (entry version 2).

    Its blob decrypted, so it is a genuine vault blob: bytes that do not continue the original
    are a genuine blob in the wrong place. Past a chunk that cannot be read or does not continue
    the file, later chunks of the original cannot be checked against their running hash.
    """
    if original.broken:
        return
    if segment.byte_offset != original.position:  # a chunk before it is gone (reported as missing)
        original.broken = True
        return
    original.hasher.update(plaintext)
    original.position += len(plaintext)
    if original.hasher.copy().hexdigest() == segment.sha256 and len(plaintext) == segment.size:
        return
    original.broken = True
    if not row_reported:  # an edited row was reported against its signed checkpoint already
        problems.append(
            Problem(
                "reordered",
                name,
                f"an authentic blob, but not the bytes of recording {segment.recording_id} at offset "
                f"{segment.byte_offset} (running sha256 differs); later chunks of it cannot be checked",
            )
        )


def _check_tombstone(
    vault: Vault, source: Source, segment: Segment, tombstone: Tombstone | None, problems: list[Problem]
) -> None:
    name = f"segment {source.name}#{segment.seq}"
    if tombstone is None:
        problems.append(Problem("missing", name, "marked purged but no signed tombstone accounts for it"))
        return
    if not vault.signer.verify(canonical(tombstone_payload(source, tombstone)), tombstone.signature):
        problems.append(
            Problem("bad-signature", f"tombstone {source.name}#{segment.seq}", "tombstone signature does not verify")
        )
    elif (tombstone.sha256, tombstone.size, tombstone.seq) != (segment.sha256, segment.size, segment.seq):
        problems.append(Problem("modified", name, "tombstone does not match the purged segment"))


def _find_orphan_blobs(vault: Vault, report: VerifyReport) -> None:
    with vault.catalog.session() as session:
        known = set(session.execute(select(Segment.blob_key)).scalars())
    for key in vault.blobs.iter_keys():
        if key not in known and not key.startswith(DERIVED_PREFIX):
            report.problems.append(Problem("inserted", f"blob {key}", "blob belongs to no catalog entry"))
