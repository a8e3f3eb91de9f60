"""Appending to a hash chain without forking it under concurrent writers."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select, update
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


# Core statements of the recorder's hot path, built once (compiling them per call costs more than running them).
_CLAIM = (
    update(ChainHead)
    .where(ChainHead.name == bindparam("chain"))
    .values(seq=ChainHead.seq + bindparam("claimed"))
    .returning(ChainHead.seq, ChainHead.head_hash)
)
# One statement for many heads (executemany): {"chain": name, "head": hash} per row.
SET_HEADS = update(ChainHead).where(ChainHead.name == bindparam("chain")).values(head_hash=bindparam("head"))


def claim_range(connection: Connection, name: str, count: int) -> tuple[int, str]:
    """Core twin of :func:`claim_next` for ``count`` positions at once: (first position, previous head hash).

    For hot paths that write through a plain connection (no ORM unit of work); the same rule holds:
    the UPDATE comes first and locks the head until the transaction ends.
    """
    parameters = {"chain": name, "claimed": count}
    row = connection.execute(_CLAIM, parameters).one_or_none()
    if row is None:
        try:
            with connection.begin_nested():
                connection.execute(insert(ChainHead).values(name=name, seq=0, head_hash=GENESIS))
        except IntegrityError:
            pass  # created concurrently: fine
        row = connection.execute(_CLAIM, parameters).one()
    return int(row[0]) - count + 1, str(row[1])


def set_head(session: Session, name: str, head_hash: str) -> None:
    session.execute(update(ChainHead).where(ChainHead.name == name).values(head_hash=head_hash))


def rewind(session: Session, name: str, seq: int, head_hash: str) -> None:
    """Move a head back (only to undo entries that were never checkpointed nor seen by anyone)."""
    session.execute(update(ChainHead).where(ChainHead.name == name).values(seq=seq, head_hash=head_hash))


def head(session: Session, name: str) -> ChainHead | None:
    return session.execute(select(ChainHead).where(ChainHead.name == name)).scalar_one_or_none()
