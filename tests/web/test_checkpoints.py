"""The server signs the register's head at start, at stop and periodically in between."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from vigie.access.audit import AuditRecord
from vigie.catalog.models import AuditCheckpoint
from vigie.web import app as app_module
from vigie.web.services import SERVER_ACTOR, Services


def checkpoints(services: Services) -> list[AuditCheckpoint]:
    with services.catalog.session() as session:
        return list(session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars())


def test_start_and_stop_are_recorded_and_signed(app: FastAPI, services: Services) -> None:
    with TestClient(app):
        started = checkpoints(services)
        assert [entry.action for entry in services.audit.entries()] == ["server.start"]
        assert len(started) == 1 and started[0].last_entry_id == 1
    actions = [entry.action for entry in services.audit.entries()]
    assert actions == ["server.start", "server.stop"]
    signed = checkpoints(services)
    assert len(signed) == 2 and signed[-1].last_entry_id == 2
    assert services.audit.verify()[0] == []


def test_the_heartbeat_signs_new_entries_and_survives_a_failure(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = 0
    real_checkpoint = services.audit.checkpoint

    async def fast_sleep(_seconds: float) -> None:
        nonlocal ticks
        ticks += 1
        if ticks > 3:
            raise asyncio.CancelledError
        services.audit.append(SERVER_ACTOR, AuditRecord(action="tick"))

    failures = iter([True, False, False])

    def flaky_checkpoint() -> AuditCheckpoint | None:
        if next(failures):
            raise RuntimeError("disk full")
        return real_checkpoint()

    monkeypatch.setattr(app_module.asyncio, "sleep", fast_sleep)
    monkeypatch.setattr(services.audit, "checkpoint", flaky_checkpoint)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(app_module._checkpoint_periodically(services, 1))
    signed = checkpoints(services)
    assert [checkpoint.last_entry_id for checkpoint in signed] == [2, 3]
