"""Alembic environment: the engine comes from Vigie's settings, never from an ini file."""

from __future__ import annotations

from alembic import context

from vigie.catalog.schema import include_in_autogenerate, metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_in_autogenerate,  # raw-SQL spatial indexes are not models
    )
    with context.begin_transaction():
        context.run_migrations()
