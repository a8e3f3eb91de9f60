"""Appending to a hash chain without forking it under concurrent writers."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigie.catalog.models import ChainHead

GENESIS = "0" * 64


def ensure_chain(session: Session, name: str) -> None:
    if session.get(ChainHead, name) is not None:
        return
    try:
        with session.begin_nested():
            session.add(ChainHead(name=name, seq=0, head_hash=GENESIS))
    except IntegrityError:
        pass  # created concurrently: fine


def claim_next(session: Session, name: str) -> tuple[int, str]:
    """Reserve the next position of chain ``name``; returns (position, previous head hash).

    The UPDATE comes first in the transaction and locks the head until commit, so the caller
    must commit (or roll back) promptly after writing its entry and calling :func:`set_head`.
    """
    statement = (
        update(ChainHead)
        .where(ChainHead.name == name)
        .values(seq=ChainHead.seq + 1)
        .returning(ChainHead.seq, ChainHead.head_hash)
    )
    # Write first: on SQLite a read before the first write could see a stale snapshot.
    row = session.execute(statement).one_or_none()
    if row is None:
        ensure_chain(session, name)
        row = session.execute(statement).one()
    return int(row[0]), str(row[1])


def set_head(session: Session, name: str, head_hash: str) -> None:
    session.execute(update(ChainHead).where(ChainHead.name == name).values(head_hash=head_hash))


def rewind(session: Session, name: str, seq: int, head_hash: str) -> None:
    """Move a head back (only to undo entries that were never checkpointed nor seen by anyone)."""
    session.execute(update(ChainHead).where(ChainHead.name == name).values(seq=seq, head_hash=head_hash))


def head(session: Session, name: str) -> ChainHead | None:
    return session.execute(select(ChainHead).where(ChainHead.name == name)).scalar_one_or_none()
