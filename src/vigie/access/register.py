"""The access register as people and other systems read it: rows for the API, CSV and JSON files.

Retention: the register is kept three years (R241-5, R241-14) and Vigie never purges it; no
command deletes audit entries. Each exported row carries its ``entry_hash`` and ``prev_hash``,
so an extract can be checked against the chain and the signed checkpoints later.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from vigie.catalog.models import AuditEntry
from vigie.catalog.types import iso

RETENTION_YEARS = 3  # R241-5: "conservées pendant trois ans"

COLUMNS = (
    "id",
    "at",
    "actor",
    "matricule",
    "role",
    "unit",
    "action",
    "outcome",
    "object_type",
    "object_ids",
    "reason",
    "procedure",
    "requester",
    "recipient",
    "client",
    "details",
    "prev_hash",
    "entry_hash",
)


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    details = dict(entry.details or {})
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "matricule": details.get("matricule"),
        "role": entry.role,
        "unit": entry.unit,
        "action": entry.action,
        "outcome": entry.outcome,
        "object_type": entry.object_type,
        "object_ids": list(entry.object_ids),
        "reason": entry.reason,
        "procedure": entry.procedure,
        "requester": entry.requester,
        "recipient": entry.recipient,
        "client": entry.client,
        "details": details,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def write_csv(entries: Iterable[AuditEntry], out: TextIO) -> int:
    """One row per entry; lists and details as JSON in their cell. Returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for entry in entries:
        row = entry_row(entry)
        row["object_ids"] = " ".join(row["object_ids"])
        row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
        count += 1
    return count


def write_json(entries: Iterable[AuditEntry], out: TextIO) -> int:
    """A JSON array written entry by entry (the register may be large)."""
    count = 0
    out.write("[")
    for entry in entries:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(entry_row(entry), ensure_ascii=False, sort_keys=True))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
