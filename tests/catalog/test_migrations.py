"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vigie.catalog.db import Catalog, alembic_config, check_current
from vigie.catalog.schema import include_in_autogenerate, metadata


def test_one_head_and_no_drift(catalog: Catalog) -> None:
    assert len(ScriptDirectory.from_config(alembic_config(catalog.engine)).get_heads()) == 1
    check_current(catalog.engine)
    with catalog.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_in_autogenerate}
        )
        assert compare_metadata(context, metadata) == []
