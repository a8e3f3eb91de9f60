"""Canonical byte forms of everything the vault hashes or signs.

One place decides what a segment's chain entry, a checkpoint, a tombstone and a recording seal
contain. Changing a field here changes every hash: bump the version tag when doing so.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vigie.catalog.chains import GENESIS
from vigie.catalog.models import Checkpoint, Recording, Segment, Source, Tombstone
from vigie.catalog.types import iso

__all__ = ["CHUNK", "GENESIS", "canonical", "sha256_hex"]

# The segment kind of a byte-exact original's chunks (their entries carry a running sha256).
CHUNK = "chunk"


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def segment_entry(source: Source, segment: Segment) -> dict[str, Any]:
    """What a segment's chain entry commits to. Its position (seq) is committed by the chain and
    the checkpoint's leaf order, not by the entry itself, so a moved entry is recognised as moved.

    Version 1 (segments): ``sha256`` is the digest of the segment's own plaintext. Version 2
    (chunks of a byte-exact original): ``sha256`` is the running digest of the original from its
    first byte to this chunk's end (``offset + size``), so the last chunk's entry is the whole
    file's sha256, the one the device reports, and an import reads and hashes the file once.
    """
    return {
        "v": 2 if segment.kind == CHUNK else 1,
        "source": source.uid,
        "recording": segment.recording_id,
        "segment": segment.id,
        "kind": segment.kind,
        "start": iso(segment.start),
        "end": iso(segment.end),
        "offset": segment.byte_offset,
        "size": segment.size,
        "sha256": segment.sha256,
        "prev": segment.prev_hash,
    }


def segment_entry_hash(source: Source, segment: Segment) -> str:
    return sha256_hex(canonical(segment_entry(source, segment)))


def checkpoint_payload(source: Source, checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "segment-checkpoint",
        "source": source.uid,
        "source_name": source.name,
        "first_seq": checkpoint.first_seq,
        "last_seq": checkpoint.last_seq,
        "count": checkpoint.last_seq - checkpoint.first_seq + 1,
        "root": checkpoint.merkle_root,
        "prev": checkpoint.prev_checkpoint_hash,
        "period_start": iso(checkpoint.period_start),
        "period_end": iso(checkpoint.period_end),
        "created_at": iso(checkpoint.created_at),
        "key_id": checkpoint.key_id,
    }


def checkpoint_hash(source: Source, checkpoint: Checkpoint) -> str:
    """Links checkpoints of a source together (covers the signature too)."""
    return sha256_hex(canonical(checkpoint_payload(source, checkpoint)) + checkpoint.signature.encode())


def tombstone_payload(source: Source, tombstone: Tombstone) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "tombstone",
        "source": source.uid,
        "segment": tombstone.segment_id,
        "seq": tombstone.seq,
        "sha256": tombstone.sha256,
        "size": tombstone.size,
        "start": iso(tombstone.start),
        "end": iso(tombstone.end),
        "reason": tombstone.reason,
        "deleted_at": iso(tombstone.deleted_at),
        "key_id": tombstone.key_id,
    }


def recording_payload(source: Source, recording: Recording) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "recording-seal",
        "source": source.uid,
        "recording": recording.id,
        "kind": recording.kind,
        "start": iso(recording.start),
        "end": iso(recording.end) if recording.end else None,
        "status": recording.status,
        "segments": recording.segment_count,
        "size": recording.size,
        "sha256": recording.sha256,
        "anomalies": recording.anomalies,
    }
