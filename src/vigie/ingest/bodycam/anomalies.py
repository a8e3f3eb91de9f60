"""Recording what devices and docks hand in wrong: stored once per finding, counted, shown to supervisors."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigie.catalog.bodycam_models import BodycamAnomaly


def fingerprint(kind: str, detail: str, sequence: int | None, data: dict[str, Any]) -> str:
    canonical = json.dumps([kind, detail, sequence, data], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_anomaly(
    session: Session,
    device_id: int,
    kind: str,
    detail: str,
    *,
    sequence: int | None = None,
    docking_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Store a finding unless the same one is stored already (a log re-sent, a retry). True when new."""
    data = data or {}
    mark = fingerprint(kind, detail, sequence, data)
    exists = session.execute(
        select(BodycamAnomaly.id).where(BodycamAnomaly.device_id == device_id, BodycamAnomaly.fingerprint == mark)
    ).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                BodycamAnomaly(
                    device_id=device_id,
                    docking_id=docking_id,
                    sequence=sequence,
                    kind=kind[:40],
                    detail=detail,
                    fingerprint=mark,
                    data=data,
                )
            )
    except IntegrityError:
        return False  # the same finding stored concurrently
    return True


def anomaly_counts(session: Session, device_id: int | None = None) -> dict[str, int]:
    query = select(BodycamAnomaly.kind, func.count()).group_by(BodycamAnomaly.kind)
    if device_id is not None:
        query = query.where(BodycamAnomaly.device_id == device_id)
    return {str(kind): int(count) for kind, count in session.execute(query)}
