"""Autogenerate an Alembic migration against a scratch SQLite catalog at the current head.

Usage: python scripts/new_migration.py "what changed" [PARENT_REVISION]
(PARENT_REVISION is needed only while several branches are open.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from vigie.catalog.db import alembic_config, make_engine, upgrade


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "schema change"
    parent = sys.argv[2] if len(sys.argv) > 2 else "head"
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.sqlite'}")
        upgrade(engine)
        command.revision(
            alembic_config(engine), message=message, autogenerate=True, head=parent, splice=parent != "head"
        )


if __name__ == "__main__":
    main()
