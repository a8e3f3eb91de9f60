"""The access register: append-only, hash-chained, with signed heads (R241-5, CNIL 2021 logging advice).

Each entry commits to every field and to the previous entry's hash. A signed audit checkpoint
records the head from time to time, so rewriting the log, or cutting off its tail, after a
checkpoint is detectable even by someone who can write the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_, select
from sqlalchemy.orm import Session

from vigie.catalog import chains
from vigie.catalog.db import Catalog
from vigie.catalog.models import AuditCheckpoint, AuditEntry
from vigie.catalog.types import iso, utcnow
from vigie.vault.chain import canonical, sha256_hex
from vigie.vault.keys import SigningKey
from vigie.vault.verify import Problem

AUDIT_CHAIN = "audit"


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (CLI operator or web user) with role, unit and where from."""

    name: str
    role: str
    unit: str | None = None
    client: str | None = None
    matricule: str | None = None  # sworn staff's officer ID, named by the register (R241-5)


@dataclass
class AuditRecord:
    """What to write. ``object_ids`` name recordings, cameras, devices, users, cases…"""

    action: str
    object_type: str | None = None
    object_ids: Sequence[str] = ()
    reason: str | None = None
    procedure: str | None = None
    requester: str | None = None
    recipient: str | None = None
    outcome: str = "allowed"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the register; ``units`` limits it to a person's scope (None: everything)."""

    start: datetime | None = None
    end: datetime | None = None
    actor: str | None = None
    action: str | None = None
    object_id: str | None = None
    outcome: str | None = None
    units: str | None = None  # a unit path: entries of that unit and the units under it

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(AuditEntry.at >= self.start)
        if self.end is not None:
            conditions.append(AuditEntry.at < self.end)
        if self.actor:
            conditions.append(AuditEntry.actor == self.actor)
        if self.action:
            # "footage" matches footage.view and footage.export; "footage.view" matches itself.
            family = AuditEntry.action.startswith(self.action + ".", autoescape=True)
            conditions.append(or_(AuditEntry.action == self.action, family))
        if self.outcome:
            conditions.append(AuditEntry.outcome == self.outcome)
        if self.object_id:
            # object_ids is a JSON list of strings: match the quoted element in its text form (SQLite and PostgreSQL).
            needle = json.dumps(str(self.object_id))
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(cast(AuditEntry.object_ids, String).like(f"%{escaped}%", escape="\\"))
        if self.units is not None:
            unit = self.units.strip("/")
            conditions.append(or_(AuditEntry.unit == unit, AuditEntry.unit.startswith(unit + "/", autoescape=True)))
        return conditions


def entry_payload(entry: AuditEntry) -> dict[str, Any]:
    return {
        "v": 1,
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "role": entry.role,
        "unit": entry.unit,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_ids": list(entry.object_ids),
        "reason": entry.reason,
        "procedure": entry.procedure,
        "requester": entry.requester,
        "recipient": entry.recipient,
        "client": entry.client,
        "outcome": entry.outcome,
        "details": entry.details,
        "prev": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry) -> str:
    return sha256_hex(canonical(entry_payload(entry)))


def checkpoint_payload(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "audit-checkpoint",
        "last_entry_id": checkpoint.last_entry_id,
        "last_entry_hash": checkpoint.last_entry_hash,
        "created_at": iso(checkpoint.created_at),
        "key_id": checkpoint.key_id,
    }


class AuditLog:
    def __init__(self, catalog: Catalog, signer: SigningKey) -> None:
        self.catalog = catalog
        self.signer = signer

    def append(self, actor: Actor, record: AuditRecord, *, session: Session | None = None) -> AuditEntry:
        """Write one entry. Pass ``session`` to make the entry part of the caller's transaction."""
        if session is not None:
            return self._append(session, actor, record)
        with self.catalog.session() as own:
            return self._append(own, actor, record)

    def _append(self, session: Session, actor: Actor, record: AuditRecord) -> AuditEntry:
        position, prev_hash = chains.claim_next(session, AUDIT_CHAIN)
        entry = AuditEntry(
            id=position,
            at=utcnow(),
            actor=actor.name,
            role=actor.role,
            unit=actor.unit,
            action=record.action,
            object_type=record.object_type,
            object_ids=[str(item) for item in record.object_ids],
            reason=record.reason,
            procedure=record.procedure,
            requester=record.requester,
            recipient=record.recipient,
            client=actor.client,
            outcome=record.outcome,
            # The matricule rides in the hashed details: the entry format (and every past hash) stays as it was.
            details={**record.details, "matricule": actor.matricule} if actor.matricule else record.details,
            prev_hash=prev_hash,
            entry_hash="",
        )
        entry.entry_hash = entry_hash(entry)
        session.add(entry)
        chains.set_head(session, AUDIT_CHAIN, entry.entry_hash)
        return entry

    def checkpoint(self) -> AuditCheckpoint | None:
        """Sign the current head (no-op when nothing was appended since the last checkpoint)."""
        with self.catalog.session() as session:
            last = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
            if last is None:
                return None
            previous = session.execute(
                select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
            ).scalar_one_or_none()
            if previous is not None and previous.last_entry_id == last.id:
                return previous
            checkpoint = AuditCheckpoint(
                last_entry_id=last.id,
                last_entry_hash=last.entry_hash,
                created_at=utcnow(),
                key_id=self.signer.id,
                signature="",
            )
            checkpoint.signature = self.signer.sign(canonical(checkpoint_payload(checkpoint)))
            session.add(checkpoint)
            return checkpoint

    def entries(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        object_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        with self.catalog.session() as session:
            query = select(AuditEntry)
            if start is not None:
                query = query.where(AuditEntry.at >= start)
            if end is not None:
                query = query.where(AuditEntry.at < end)
            query = query.order_by(AuditEntry.id.desc() if newest_first else AuditEntry.id)
            if limit is not None and object_id is None:
                query = query.limit(limit)
            rows = list(session.execute(query).scalars())
        if object_id is not None:
            rows = [row for row in rows if object_id in row.object_ids][:limit]
        return rows

    def search(self, query: AuditQuery, *, offset: int = 0, limit: int = 100) -> tuple[list[AuditEntry], int]:
        """One page of the register matching ``query``, newest first, and how many entries match in all."""
        conditions = query.conditions()
        with self.catalog.session() as session:
            total = session.execute(select(func.count()).select_from(AuditEntry).where(*conditions)).scalar_one()
            rows = list(
                session.execute(
                    select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
                ).scalars()
            )
        return rows, int(total)

    def iter_matching(self, query: AuditQuery, batch: int = 5000) -> Iterator[AuditEntry]:
        """Every entry matching ``query``, oldest first, in batches (a three-year export stays flat in memory)."""
        after = 0
        conditions = query.conditions()
        while True:
            with self.catalog.session() as session:
                rows = list(
                    session.execute(
                        select(AuditEntry)
                        .where(AuditEntry.id > after, *conditions)
                        .order_by(AuditEntry.id)
                        .limit(batch)
                    ).scalars()
                )
            if not rows:
                return
            yield from rows
            after = rows[-1].id

    def iter_all(self, batch: int = 5000) -> Iterator[AuditEntry]:
        after = 0
        while True:
            with self.catalog.session() as session:
                rows = list(
                    session.execute(
                        select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
                    ).scalars()
                )
            if not rows:
                return
            yield from rows
            after = rows[-1].id

    def verify(self) -> tuple[list[Problem], int]:
        """Check the chain and every signed head. Returns (problems, entries checked)."""
        problems: list[Problem] = []
        hashes: dict[int, str] = {}
        previous_hash, expected_id, count = chains.GENESIS, 1, 0
        for entry in self.iter_all():
            count += 1
            name = f"audit #{entry.id}"
            recomputed = entry_hash(entry)
            if entry.id != expected_id:
                problems.append(Problem("audit-tampered", name, f"entries #{expected_id}..#{entry.id - 1} are gone"))
            if entry.prev_hash != previous_hash:
                problems.append(Problem("audit-tampered", name, "does not link to the previous entry"))
            if recomputed != entry.entry_hash:
                problems.append(Problem("audit-tampered", name, "entry content was edited"))
            hashes[entry.id] = recomputed
            # Link on the stored hash: an edit is reported once, where it was made.
            previous_hash, expected_id = entry.entry_hash, entry.id + 1
        with self.catalog.session() as session:
            checkpoints = list(session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars())
            head = chains.head(session, AUDIT_CHAIN)
        for checkpoint in checkpoints:
            name = f"audit checkpoint {checkpoint.id}"
            if not self.signer.verify(canonical(checkpoint_payload(checkpoint)), checkpoint.signature):
                problems.append(Problem("audit-tampered", name, "signature does not verify"))
            elif hashes.get(checkpoint.last_entry_id) != checkpoint.last_entry_hash:
                problems.append(
                    Problem("audit-tampered", name, f"signed entry #{checkpoint.last_entry_id} is gone or rewritten")
                )
        if head is not None and (head.seq != expected_id - 1 or head.head_hash != previous_hash):
            problems.append(
                Problem("audit-tampered", "audit chain", f"head says #{head.seq}, log ends at #{expected_id - 1}")
            )
        return problems, count
