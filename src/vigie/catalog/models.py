"""The catalog's records (see DESIGN.md "Core records").

Integrity fields (``sha256``, ``prev_hash``, signatures) are written once; the vault recomputes
them on ``verify``, so an edited row is detected even though the database itself is mutable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vigie.catalog.types import UTCDateTime, utcnow


def new_uid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    """Installation facts, e.g. which keys this catalog's vault was sealed and signed with."""

    __tablename__ = "meta"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ChainHead(Base):
    """The head of one hash chain ("audit", or "source:<uid>").

    Appending starts with an UPDATE of this row, which serialises writers to the same chain on
    SQLite (write lock) and PostgreSQL (row lock) alike, so two writers never fork a chain.
    """

    __tablename__ = "chain_heads"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)  # last position used (0: empty chain)
    head_hash: Mapped[str] = mapped_column(String(64))


class Source(Base):
    """A fixed camera or a body-worn camera device: the unit of one hash chain."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # camera | bodycam
    retention_profile: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(120), default=None)
    retention: Mapped[str | None] = mapped_column(String(16), default=None)  # ISO period under the profile's cap
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recordings: Mapped[list[Recording]] = relationship(back_populates="source")


class Recording(Base):
    """One continuous run of a source: a camera connection or a body-cam activation."""

    __tablename__ = "recordings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uid)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # camera | bodycam
    start: Mapped[datetime]
    end: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="recording")  # recording | complete | truncated
    segment_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # whole file, byte-exact kinds
    original_name: Mapped[str | None] = mapped_column(String(400), default=None)
    media_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    keyframe_index: Mapped[list[Any]] = mapped_column(default=list)  # [[seconds, byte offset], ...]
    anomalies: Mapped[list[Any]] = mapped_column(default=list)
    seal_signature: Mapped[str | None] = mapped_column(Text, default=None)  # signed when the recording ends
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    source: Mapped[Source] = relationship(back_populates="recordings")


class Segment(Base):
    """An immutable, encrypted blob: a few seconds of fMP4, or one chunk of a byte-exact file."""

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("source_id", "seq", name="uq_segment_source_seq"),
        Index("ix_segment_source_start", "source_id", "start"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uid)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # fmp4 | chunk
    start: Mapped[datetime]
    end: Mapped[datetime]
    byte_offset: Mapped[int] = mapped_column(BigInteger, default=0)  # in the original file (chunks)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(200), unique=True)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Checkpoint(Base):
    """A signed Merkle root over a contiguous run of one source's segments."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    leaves: Mapped[list[Any]] = mapped_column()  # entry hashes, in seq order (checked against the root)
    merkle_root: Mapped[str] = mapped_column(String(64))
    prev_checkpoint_hash: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(Text)


class Tombstone(Base):
    """What remains, signed, of a purged segment: enough to keep its chain verifiable."""

    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.id"), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(Text)


class Hold(Base):
    """A legal hold: footage of a source (or all sources) in a span is kept whatever its retention."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(120), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), default=None)
    span_start: Mapped[datetime]
    span_end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    released_by: Mapped[str | None] = mapped_column(String(120), default=None)


class Gap(Base):
    """Time a source should have recorded and did not. Never silent: shown, counted, exported."""

    __tablename__ = "gaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), default=None)
    start: Mapped[datetime]
    end: Mapped[datetime | None] = mapped_column(default=None)
    cause: Mapped[str] = mapped_column(String(60))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One line of the access register (R241-5): append-only, hash-chained."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # chain position
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(120), default=None)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40), default=None)
    object_ids: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    procedure: Mapped[str | None] = mapped_column(String(120), default=None)
    requester: Mapped[str | None] = mapped_column(String(200), default=None)
    recipient: Mapped[str | None] = mapped_column(String(200), default=None)
    client: Mapped[str | None] = mapped_column(String(120), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="allowed")  # allowed | refused | failed
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed head of the audit chain: truncating or rewriting the log after it is detectable."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_entry_id: Mapped[int] = mapped_column(BigInteger)
    last_entry_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(Text)
