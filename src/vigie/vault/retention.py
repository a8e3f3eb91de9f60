"""Retention by law, legal holds, and purge with signed tombstones.

A segment expires when its end plus its source's retention period (never beyond the legal cap of
its profile) has passed. An active hold covering its source and time keeps it. Purge first writes
the signed tombstone and marks the row, then deletes the blob: a crash in between leaves a blob
that the next purge removes, never a deletion without its receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from vigie.catalog.models import Hold, Segment, Source, Tombstone
from vigie.catalog.types import utcnow
from vigie.config import RetentionPeriod, RetentionProfile, expiry_within_cap
from vigie.vault.chain import canonical, tombstone_payload
from vigie.vault.store import Vault, VaultError


@dataclass(frozen=True)
class PurgeItem:
    source: str
    seq: int
    segment_id: str
    start: datetime
    end: datetime
    size: int
    expired_at: datetime


@dataclass(frozen=True)
class PurgeResult:
    purged: list[PurgeItem]
    held: int  # expired segments kept because of a legal hold


def retention_of(vault: Vault, source: Source) -> tuple[RetentionProfile, RetentionPeriod]:
    profile = RetentionProfile(source.retention_profile)
    period = RetentionPeriod.parse(source.retention) if source.retention else vault.settings.retention_for(profile)
    return profile, period


def add_hold(
    vault: Vault, *, case_ref: str, source_name: str | None, start: datetime, end: datetime, reason: str, by: str
) -> Hold:
    if not case_ref.strip():
        raise VaultError("a legal hold needs a case or procedure reference")
    if end <= start:
        raise VaultError("a hold's span must end after it starts")
    source = vault.source(source_name) if source_name else None
    with vault.catalog.session() as session:
        hold = Hold(
            case_ref=case_ref.strip(),
            source_id=source.id if source else None,
            span_start=start,
            span_end=end,
            reason=reason,
            created_by=by,
        )
        session.add(hold)
    return hold


def release_hold(vault: Vault, hold_id: int, *, by: str) -> Hold:
    with vault.catalog.session() as session:
        hold = session.get(Hold, hold_id)
        if hold is None:
            raise VaultError(f"unknown hold {hold_id}")
        if hold.released_at is not None:
            raise VaultError(f"hold {hold_id} was already released")
        hold.released_at, hold.released_by = utcnow(), by
        return hold


def holds(vault: Vault, *, active_only: bool = False) -> list[Hold]:
    with vault.catalog.session() as session:
        query = select(Hold).order_by(Hold.id)
        if active_only:
            query = query.where(Hold.released_at.is_(None))
        return list(session.execute(query).scalars())


def _is_held(segment: Segment, active: list[Hold]) -> bool:
    return any(
        (hold.source_id is None or hold.source_id == segment.source_id)
        and hold.span_start < segment.end
        and segment.start < hold.span_end
        for hold in active
    )


def purge(
    vault: Vault, *, now: datetime | None = None, dry_run: bool = False, reason: str = "retention"
) -> PurgeResult:
    now = now or utcnow()
    active = holds(vault, active_only=True)
    purged: list[PurgeItem] = []
    held = 0
    for source in vault.sources():
        profile, period = retention_of(vault, source)
        with vault.catalog.session() as session:
            candidates = list(
                session.execute(
                    select(Segment)
                    .where(Segment.source_id == source.id, or_(Segment.purged_at.is_(None)))
                    .order_by(Segment.seq)
                ).scalars()
            )
        for segment in candidates:
            expired_at = expiry_within_cap(profile, period, segment.end)
            if expired_at > now:
                continue
            if _is_held(segment, active):
                held += 1
                continue
            item = PurgeItem(source.name, segment.seq, segment.id, segment.start, segment.end, segment.size, expired_at)
            purged.append(item)
            if not dry_run:
                _purge_segment(vault, source, segment, reason, now)
    if not dry_run:
        _sweep_purged_blobs(vault)
    return PurgeResult(purged=purged, held=held)


def _purge_segment(vault: Vault, source: Source, segment: Segment, reason: str, now: datetime) -> None:
    with vault.catalog.session() as session:
        stored = session.get(Segment, segment.id)
        assert stored is not None
        tombstone = Tombstone(
            segment_id=stored.id,
            source_id=source.id,
            seq=stored.seq,
            sha256=stored.sha256,
            size=stored.size,
            start=stored.start,
            end=stored.end,
            reason=reason,
            deleted_at=now,
            key_id=vault.signer.id,
            signature="",
        )
        tombstone.signature = vault.signer.sign(canonical(tombstone_payload(source, tombstone)))
        session.add(tombstone)
        stored.purged_at = now
    vault.blobs.delete(segment.blob_key)


def _sweep_purged_blobs(vault: Vault) -> None:
    with vault.catalog.session() as session:
        keys = list(session.execute(select(Segment.blob_key).where(Segment.purged_at.is_not(None))).scalars())
    for key in keys:
        if vault.blobs.exists(key):
            vault.blobs.delete(key)
