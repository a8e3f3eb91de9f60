"""Which sources and recordings a person may see: the catalog side of the policy's scope rules."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from vigie.access.policy import Person, Role, unit_in_scope
from vigie.catalog.models import Recording, Source


def recording_officer(recording: Recording) -> str | None:
    """The officer who wore the camera (matricule or username), as body-cam ingest records it.

    Ingest writes it in ``media_info["officer"]`` (R241-2 2°: the officer wearing the camera).
    This function is the one place that knows where it lives.
    """
    value = (recording.media_info or {}).get("officer")
    return str(value) if value else None


def scope_sources(query: Select[Recording, Source], user: Person) -> Select[Recording, Source]:
    """Narrow a recordings-with-sources query to the user's scope (unit, and own recordings for officers)."""
    if user.unit is not None:
        unit = user.unit.strip("/")
        query = query.where(or_(Source.unit == unit, Source.unit.startswith(unit + "/", autoescape=True)))
    if user.role == Role.OFFICER:
        query = query.where(Source.kind == "bodycam")
    return query


def recordings_in_scope(
    session: Session, user: Person, *, source_name: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[tuple[Recording, Source]], int]:
    """One page of the recordings the user may list, newest first, and how many there are in all."""
    query = scope_sources(
        select(Recording, Source).join(Source, Recording.source_id == Source.id), user
    ).order_by(Recording.start.desc(), Recording.id)
    if source_name:
        query = query.where(Source.name == source_name)
    if user.role != Role.OFFICER:
        total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
        page = session.execute(query.offset(offset).limit(limit)).all()
        return [(recording, source) for recording, source in page], int(total)
    # The officer filter reads JSON metadata: done here, portable across SQLite and PostgreSQL.
    mine = {user.matricule, user.username} - {None}
    rows = [(recording, source) for recording, source in session.execute(query).all()]
    rows = [(recording, source) for recording, source in rows if recording_officer(recording) in mine]
    return rows[offset : offset + limit], len(rows)


def sources_in_scope(session: Session, user: Person) -> list[Source]:
    sources = session.execute(select(Source).order_by(Source.name)).scalars()
    return [source for source in sources if unit_in_scope(user.unit, source.unit)]
