"""The vault: sources, recordings and their encrypted, hash-chained segments.

Writes go blob first, catalog row second: a blob without a row is an orphan that ``verify``
reports and a crash sweep removes, never a row without its blob. Each segment row is chained to
the previous one of its source, and a signed checkpoint closes every recording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update

from vigie.catalog import chains
from vigie.catalog.db import Catalog
from vigie.catalog.models import Checkpoint, Meta, Recording, Segment, Source, new_uid
from vigie.catalog.types import UTCDateTime, utcnow
from vigie.config import RetentionPeriod, RetentionProfile, Settings, check_under_cap
from vigie.vault import merkle
from vigie.vault.blobstore import BlobPart, BlobStore, LocalBlobStore, put_buffer
from vigie.vault.chain import (
    GENESIS,
    canonical,
    checkpoint_hash,
    checkpoint_payload,
    recording_payload,
    segment_entry_hash,
    sha256_hex,
)
from vigie.vault.envelope import open_sealed, seal_into, seal_parts
from vigie.vault.keys import InstallationKey, SigningKey


class VaultError(RuntimeError):
    """A vault operation was refused; the message says why in one line."""


class UnknownSource(VaultError):
    pass


# Keys of sealed objects derived from footage (snapshots, redactions); originals never live here.
DERIVED_PREFIX = "derived/"


def open_blob_store(settings: Settings) -> BlobStore:
    if settings.vault.store == "s3":
        from vigie.vault.s3store import S3BlobStore  # boto3 only where S3 is used

        s3 = settings.vault.s3
        assert s3 is not None  # checked by the settings
        return S3BlobStore(
            s3.bucket,
            prefix=s3.prefix,
            endpoint_url=s3.endpoint_url,
            region=s3.region,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            create_bucket=s3.create_bucket,
        )
    return LocalBlobStore(settings.vault_dir, fsync=settings.vault.fsync)


def chain_name(source: Source) -> str:
    return f"source:{source.uid}"


def _blob_key(source: Source, recording_id: str) -> str:
    return f"{source.uid}/{recording_id}/{new_uid()}"


@dataclass(frozen=True)
class PreparedBlob:
    """A segment's plaintext hash and sealed bytes, computed off the catalog path (e.g. in threads)."""

    sha256: str
    size: int
    sealed: tuple[bytes, ...]  # parts written one after the other


@dataclass(frozen=True)
class StagedBlob:
    """A blob written to the store but not yet chained into the catalog."""

    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class SegmentPlacement:
    """Where a staged blob goes in its recording: its time span, kind and offset in the original."""

    staged: StagedBlob
    start: datetime
    end: datetime
    kind: str
    byte_offset: int = 0


# Core statements of :meth:`Vault.chain`, built once (compiling them per segment cost more than running them).
_INSERT_SEGMENTS = insert(Segment)
_LAST_END = bindparam("last_end", type_=UTCDateTime())
_BUMP_RECORDING = (
    update(Recording)
    .where(Recording.id == bindparam("recording"))
    .values(
        segment_count=Recording.segment_count + bindparam("added"),
        size=Recording.size + bindparam("bytes"),
        end=case((or_(Recording.end.is_(None), Recording.end < _LAST_END), _LAST_END), else_=Recording.end),
    )
    .returning(Recording.segment_count, Recording.size, Recording.end)
)


@dataclass(frozen=True)
class SegmentAppend:
    """A staged blob to chain at the end of its source's chain (:meth:`Vault.chain`)."""

    source: Source
    recording: Recording
    placement: SegmentPlacement


class Vault:
    def __init__(self, settings: Settings, catalog: Catalog, blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self.catalog = catalog
        with catalog.session() as session:
            known = {row.name: row.value for row in session.execute(select(Meta)).scalars()}
        # Keys are created only for a new installation: a missing key never silently becomes a new one.
        fresh = "installation_key_id" not in known
        self.kek = InstallationKey.load_or_create(settings.installation_key_file, create=fresh)
        self.signer = SigningKey.load_or_create(settings.signing_key_file, create=fresh)
        for name, value, what in (
            ("installation_key_id", self.kek.id, f"installation key {settings.installation_key_file}"),
            ("signing_key_id", self.signer.id, f"signing key {settings.signing_key_file}"),
        ):
            if name in known and known[name] != value:
                raise VaultError(f"wrong key: {what} has id {value}, this vault was created with {known[name]}")
        if fresh:
            with catalog.session() as session:
                session.add(Meta(name="installation_key_id", value=self.kek.id))
                session.add(Meta(name="signing_key_id", value=self.signer.id))
        self.blobs: BlobStore = blobs or open_blob_store(settings)

    # -- sources ---------------------------------------------------------------------------------
    def ensure_source(
        self,
        name: str,
        *,
        kind: str,
        profile: RetentionProfile | None = None,
        unit: str | None = None,
        retention: RetentionPeriod | None = None,
    ) -> Source:
        if kind not in ("camera", "bodycam"):
            raise VaultError(f"unknown source kind {kind!r} (camera or bodycam)")
        profile = profile or (RetentionProfile.CAMERA if kind == "camera" else RetentionProfile.BODYCAM_POLICE)
        if retention is not None:
            try:
                check_under_cap(profile, retention)
            except ValueError as error:
                raise VaultError(str(error)) from error
        with self.catalog.session() as session:
            source = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
            if source is not None:
                if source.kind != kind:
                    raise VaultError(f"source {name!r} is a {source.kind}, not a {kind}")
                return source
            source = Source(
                uid=new_uid(),
                name=name,
                kind=kind,
                retention_profile=profile.value,
                unit=unit,
                retention=retention.iso() if retention else None,
            )
            session.add(source)
            session.flush()
            chains.ensure_chain(session, chain_name(source))
            return source

    def source(self, name: str) -> Source:
        with self.catalog.session() as session:
            source = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
        if source is None:
            raise UnknownSource(f"unknown source {name!r}")
        return source

    def sources(self) -> list[Source]:
        with self.catalog.session() as session:
            return list(session.execute(select(Source).order_by(Source.name)).scalars())

    # -- recordings ------------------------------------------------------------------------------
    def begin_recording(
        self,
        source: Source,
        *,
        start: datetime,
        original_name: str | None = None,
        media_info: dict[str, Any] | None = None,
        recording_id: str | None = None,
    ) -> Recording:
        """Open a recording. ``recording_id``: chosen beforehand, so blobs can be staged under it meanwhile."""
        with self.catalog.session() as session:
            recording = Recording(
                id=recording_id or new_uid(),
                source_id=source.id,
                kind=source.kind,
                start=start,
                status="recording",
                original_name=original_name,
                media_info=media_info or {},
            )
            session.add(recording)
        return recording

    def prepare(self, plaintext: bytes) -> PreparedBlob:
        return PreparedBlob(sha256=sha256_hex(plaintext), size=len(plaintext), sealed=seal_parts(plaintext, self.kek))

    def stage(self, source: Source, recording: Recording, prepared: PreparedBlob) -> StagedBlob:
        """Write a sealed blob; it counts only once :meth:`record` chains it (else it is an orphan)."""
        key = _blob_key(source, recording.id)
        self.blobs.put(key, *prepared.sealed)
        return StagedBlob(key=key, sha256=prepared.sha256, size=prepared.size)

    def stage_sealed(self, source: Source, recording_id: str, plaintext: BlobPart, buffer: memoryview) -> str:
        """Seal ``plaintext`` into a reusable ``buffer`` (:func:`aligned_buffer`) and write it; returns its key.

        For bulk imports that hash elsewhere (a running hash over the whole file): like
        :meth:`stage`, the blob counts only once :meth:`record_many` chains it. The recording may
        not be in the catalog yet (:meth:`begin_recording` with the same ``recording_id``).
        """
        key = _blob_key(source, recording_id)
        put_buffer(self.blobs, key, buffer, seal_into(plaintext, self.kek, buffer))
        return key

    def discard(self, staged: list[StagedBlob]) -> None:
        for blob in staged:
            self.blobs.delete(blob.key)

    def record(
        self,
        source: Source,
        recording: Recording,
        staged: StagedBlob,
        *,
        start: datetime,
        end: datetime,
        kind: str,
        byte_offset: int = 0,
    ) -> Segment:
        """Chain a staged blob into the catalog (one short transaction)."""
        return self.record_many(source, recording, [SegmentPlacement(staged, start, end, kind, byte_offset)])[0]

    def record_many(self, source: Source, recording: Recording, placements: list[SegmentPlacement]) -> list[Segment]:
        """Chain staged blobs, in order, in one transaction (a byte-exact file's chunks land together)."""
        return self.chain([SegmentAppend(source, recording, placement) for placement in placements])

    def append(
        self,
        source: Source,
        recording: Recording,
        prepared: PreparedBlob,
        *,
        start: datetime,
        end: datetime,
        kind: str,
        byte_offset: int = 0,
        chain_with: Callable[[SegmentAppend], Segment] | None = None,
    ) -> Segment:
        """Store one segment: blob first, then its chained catalog row.

        ``chain_with`` chains the row some other way (a group-commit writer); by default, in a
        transaction of its own. Either way a blob whose row did not land is removed.
        """
        staged = self.stage(source, recording, prepared)
        try:
            item = SegmentAppend(source, recording, SegmentPlacement(staged, start, end, kind, byte_offset))
            return chain_with(item) if chain_with else self.chain([item])[0]
        except BaseException:
            self.discard([staged])
            raise

    def chain(self, appends: Sequence[SegmentAppend]) -> list[Segment]:
        """Chain staged blobs of one or several sources in one transaction, in order within each source.

        The recorder's hot path (one call per segment, or per group commit of many cameras): plain
        SQL statements, no ORM unit of work. Per source a single head claim covers all its entries;
        the rows go in one statement; each recording's totals are bumped in SQL and copied back to
        the given ``Recording`` objects once committed.
        """
        if not appends:
            return []
        by_chain: dict[str, list[int]] = {}
        for index, item in enumerate(appends):
            by_chain.setdefault(chain_name(item.source), []).append(index)
        segments: dict[int, Segment] = {}  # by position in ``appends``
        rows: list[dict[str, Any]] = []
        heads: list[dict[str, str]] = []
        totals: dict[str, tuple[int, int, datetime]] = {}
        created = utcnow()
        with self.catalog.engine.begin() as connection:
            # Heads are claimed in one order by every batch, so two batches never wait on each other in a cycle.
            for name in sorted(by_chain):
                indexes = by_chain[name]
                seq, prev_hash = chains.claim_range(connection, name, len(indexes))
                for index in indexes:
                    item = appends[index]
                    placement = item.placement
                    staged = placement.staged
                    row = {
                        "id": staged.key.rsplit("/", 1)[-1],
                        "source_id": item.source.id,
                        "recording_id": item.recording.id,
                        "seq": seq,
                        "kind": placement.kind,
                        "start": placement.start,
                        "end": placement.end,
                        "byte_offset": placement.byte_offset,
                        "size": staged.size,
                        "sha256": staged.sha256,
                        "prev_hash": prev_hash,
                        "entry_hash": "",
                        "blob_key": staged.key,
                        "purged_at": None,
                        "created_at": created,
                    }
                    segment = Segment(**row)
                    row["entry_hash"] = prev_hash = segment.entry_hash = segment_entry_hash(item.source, segment)
                    rows.append(row)
                    segments[index] = segment
                    seq += 1
                    count, size, end = totals.get(item.recording.id, (0, 0, placement.end))
                    totals[item.recording.id] = (count + 1, size + staged.size, max(end, placement.end))
                heads.append({"chain": name, "head": prev_hash})
            connection.execute(_INSERT_SEGMENTS, rows)
            connection.execute(chains.SET_HEADS, heads)
            stored: dict[str, tuple[int, int, datetime]] = {}
            for recording_id, (count, size, end) in totals.items():
                bumped = connection.execute(
                    _BUMP_RECORDING, {"recording": recording_id, "added": count, "bytes": size, "last_end": end}
                ).one_or_none()
                if bumped is None:
                    raise VaultError(f"unknown recording {recording_id}")
                stored[recording_id] = (int(bumped[0]), int(bumped[1]), bumped[2] or end)
        for item in appends:
            item.recording.segment_count, item.recording.size, item.recording.end = stored[item.recording.id]
        return [segments[index] for index in range(len(appends))]

    def finish(
        self,
        source: Source,
        recording: Recording,
        *,
        end: datetime | None = None,
        status: str = "complete",
        sha256: str | None = None,
        keyframe_index: list[Any] | None = None,
        anomalies: list[Any] | None = None,
        media_info: dict[str, Any] | None = None,
    ) -> Checkpoint | None:
        """Close a recording: seal its metadata with a signature and checkpoint its source."""
        with self.catalog.session() as session:
            stored = session.get(Recording, recording.id)
            if stored is None:
                raise VaultError(f"unknown recording {recording.id}")
            stored.end = end or stored.end or stored.start
            stored.status = status
            if sha256 is not None:
                stored.sha256 = sha256
            if keyframe_index is not None:
                stored.keyframe_index = keyframe_index
            if anomalies:
                stored.anomalies = [*stored.anomalies, *anomalies]
            if media_info:
                stored.media_info = {**stored.media_info, **media_info}
            stored.seal_signature = self.signer.sign(canonical(recording_payload(source, stored)))
            recording.end, recording.status, recording.sha256 = stored.end, stored.status, stored.sha256
            recording.anomalies, recording.keyframe_index = stored.anomalies, stored.keyframe_index
            recording.media_info, recording.seal_signature = stored.media_info, stored.seal_signature
        return self.checkpoint(source)

    def abort(self, source: Source, recording: Recording) -> None:
        """Undo a recording that failed before anything of it was checkpointed (nothing half-written)."""
        with self.catalog.session() as session:
            segments = list(
                session.execute(
                    select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.seq)
                ).scalars()
            )
            if segments:
                first = segments[0]
                later = session.execute(
                    select(func.count())
                    .select_from(Segment)
                    .where(Segment.source_id == source.id, Segment.seq > segments[-1].seq)
                ).scalar_one()
                covered = session.execute(
                    select(func.count())
                    .select_from(Checkpoint)
                    .where(Checkpoint.source_id == source.id, Checkpoint.last_seq >= first.seq)
                ).scalar_one()
                if later or covered:
                    raise VaultError(f"recording {recording.id} is already part of the chain; it cannot be undone")
                session.execute(delete(Segment).where(Segment.recording_id == recording.id))
                chains.rewind(session, chain_name(source), first.seq - 1, first.prev_hash)
            session.execute(delete(Recording).where(Recording.id == recording.id))
        for segment in segments:
            self.blobs.delete(segment.blob_key)

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint(self, source: Source) -> Checkpoint | None:
        """Sign a Merkle root over the source's segments not yet covered by a checkpoint."""
        with self.catalog.session() as session:
            previous = (
                session.execute(
                    select(Checkpoint).where(Checkpoint.source_id == source.id).order_by(Checkpoint.last_seq.desc())
                )
                .scalars()
                .first()
            )
            after = previous.last_seq if previous else 0
            segments = list(
                session.execute(
                    select(Segment).where(Segment.source_id == source.id, Segment.seq > after).order_by(Segment.seq)
                ).scalars()
            )
            if not segments:
                return None
            leaves = [segment.entry_hash for segment in segments]
            checkpoint = Checkpoint(
                source_id=source.id,
                first_seq=segments[0].seq,
                last_seq=segments[-1].seq,
                leaves=leaves,
                merkle_root=merkle.root([bytes.fromhex(leaf) for leaf in leaves]).hex(),
                prev_checkpoint_hash=checkpoint_hash(source, previous) if previous else GENESIS,
                period_start=min(segment.start for segment in segments),
                period_end=max(segment.end for segment in segments),
                created_at=utcnow(),
                key_id=self.signer.id,
                signature="",
            )
            checkpoint.signature = self.signer.sign(canonical(checkpoint_payload(source, checkpoint)))
            session.add(checkpoint)
            return checkpoint

    # -- derived objects (event snapshots, redacted copies): sealed, not part of any chain --------
    def put_derived(self, name: str, data: bytes) -> str:
        key = f"{DERIVED_PREFIX}{name}"
        self.blobs.put(key, *seal_parts(data, self.kek))
        return key

    def get_derived(self, key: str) -> bytes:
        if not key.startswith(DERIVED_PREFIX):
            raise VaultError(f"{key} is not a derived object")
        return open_sealed(self.blobs.get(key), self.kek)

    # -- reading ---------------------------------------------------------------------------------
    def read(self, segment: Segment) -> bytes:
        return open_sealed(self.blobs.get(segment.blob_key), self.kek)

    def recording(self, recording_id: str) -> Recording:
        with self.catalog.session() as session:
            recording = session.get(Recording, recording_id)
            if recording is None:
                matches = list(
                    session.execute(select(Recording).where(Recording.id.startswith(recording_id)).limit(2)).scalars()
                )
                if len(matches) != 1:
                    raise VaultError(f"unknown recording {recording_id!r}")
                recording = matches[0]
            return recording

    def segments(self, recording: Recording) -> list[Segment]:
        with self.catalog.session() as session:
            return list(
                session.execute(
                    select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.seq)
                ).scalars()
            )

    def iter_plaintext(self, recording: Recording) -> Iterator[tuple[Segment, bytes]]:
        for segment in self.segments(recording):
            if segment.purged_at is not None:
                raise VaultError(f"segment {segment.seq} of recording {recording.id} was purged by retention")
            yield segment, self.read(segment)
