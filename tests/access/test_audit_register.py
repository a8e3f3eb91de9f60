"""The access register: who/what/why in every entry, filters and paging, exports, and tamper evidence."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import update

from vigie.access.audit import Actor, AuditLog, AuditQuery, AuditRecord
from vigie.access.register import COLUMNS, write_csv, write_json
from vigie.catalog.db import Catalog
from vigie.catalog.models import AuditEntry
from vigie.catalog.types import utcnow

OFFICER = Actor(name="agent1", role="officer", unit="ville-a", client="10.0.0.7", matricule="AG-001")
CHIEF_B = Actor(name="chef2", role="supervisor", unit="metropole/ville-b", client="10.0.0.8", matricule="CS-002")


def fill(audit: AuditLog) -> None:
    audit.append(
        OFFICER,
        AuditRecord(
            action="footage.view",
            object_type="recording",
            object_ids=["rec-1", "cam_1"],
            reason="rédaction du compte rendu",
            details={"purpose": "accurate-report"},
        ),
    )
    audit.append(
        CHIEF_B,
        AuditRecord(
            action="footage.export",
            object_type="recording",
            object_ids=["rec-2"],
            reason="réquisition",
            procedure="PV-2026-7",
            requester="OPJ Martin",
            recipient="parquet",
        ),
    )
    audit.append(CHIEF_B, AuditRecord(action="footage.view", object_ids=["rec-1x"], outcome="refused", reason=None))
    audit.append(OFFICER, AuditRecord(action="auth.login", object_type="user", object_ids=["agent1"]))


def test_entries_name_the_person_by_matricule_and_unit(audit: AuditLog) -> None:
    fill(audit)
    entry = audit.entries()[0]
    assert (entry.actor, entry.role, entry.unit, entry.client) == ("agent1", "officer", "ville-a", "10.0.0.7")
    assert entry.details == {"purpose": "accurate-report", "matricule": "AG-001"}
    problems, count = audit.verify()
    assert problems == [] and count == 4


def test_search_filters_and_pages(audit: AuditLog) -> None:
    fill(audit)
    rows, total = audit.search(AuditQuery(action="footage"), limit=2)
    assert total == 3 and [row.id for row in rows] == [3, 2]  # newest first
    rows, total = audit.search(AuditQuery(action="footage"), offset=2, limit=2)
    assert [row.id for row in rows] == [1]
    assert audit.search(AuditQuery(action="footage.view"))[1] == 2
    assert audit.search(AuditQuery(actor="chef2"))[1] == 2
    assert audit.search(AuditQuery(outcome="refused"))[1] == 1
    # Object ids match whole ids, not parts of them ("rec-1" is not "rec-1x"), and LIKE wildcards are literal.
    assert [row.id for row in audit.search(AuditQuery(object_id="rec-1"))[0]] == [1]
    assert audit.search(AuditQuery(object_id="cam_1"))[1] == 1
    assert audit.search(AuditQuery(object_id="cam%"))[1] == 0
    # A unit sees its own entries and those of the units under it.
    assert audit.search(AuditQuery(units="metropole"))[1] == 2
    assert audit.search(AuditQuery(units="ville-a"))[1] == 2
    assert audit.search(AuditQuery(start=utcnow() + timedelta(minutes=1)))[1] == 0
    assert audit.search(AuditQuery(end=utcnow() + timedelta(minutes=1)))[1] == 4


def test_exports_carry_every_register_field(audit: AuditLog) -> None:
    fill(audit)
    buffer = io.StringIO()
    assert write_csv(audit.iter_matching(AuditQuery()), buffer) == 4
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    export = rows[1]
    assert (export["actor"], export["matricule"], export["procedure"], export["requester"], export["recipient"]) == (
        "chef2", "CS-002", "PV-2026-7", "OPJ Martin", "parquet"
    )
    assert rows[0]["object_ids"] == "rec-1 cam_1"
    buffer = io.StringIO()
    assert write_json(audit.iter_matching(AuditQuery(actor="agent1")), buffer) == 2
    parsed = json.loads(buffer.getvalue())
    assert [row["action"] for row in parsed] == ["footage.view", "auth.login"]
    assert parsed[0]["entry_hash"] == audit.entries()[0].entry_hash
    empty = io.StringIO()
    write_json(iter(()), empty)
    assert json.loads(empty.getvalue()) == []


def test_editing_any_audit_row_is_detected(audit: AuditLog, catalog: Catalog) -> None:
    fill(audit)
    audit.checkpoint()
    for column, value in (("reason", "consultation de routine"), ("actor", "someone-else"), ("outcome", "allowed")):
        with catalog.session() as session:
            original = session.get(AuditEntry, 3)
            assert original is not None
            before = getattr(original, column)
            session.execute(update(AuditEntry).where(AuditEntry.id == 3).values({column: value}))
        problems, _ = audit.verify()
        assert [p.kind for p in problems] and all(p.kind == "audit-tampered" for p in problems), column
        assert any("#3" in p.object for p in problems)
        with catalog.session() as session:
            session.execute(update(AuditEntry).where(AuditEntry.id == 3).values({column: before}))
        assert audit.verify()[0] == []


def test_removing_the_tail_after_a_checkpoint_is_detected(audit: AuditLog, catalog: Catalog) -> None:
    fill(audit)
    audit.checkpoint()
    with catalog.session() as session:
        session.query(AuditEntry).filter(AuditEntry.id == 4).delete()
    problems, _ = audit.verify()
    assert any(p.kind == "audit-tampered" and "checkpoint" in p.object for p in problems)
