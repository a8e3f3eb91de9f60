"""Alembic environment: the engine comes from Vigie's settings, never from an ini file."""

from __future__ import annotations

from alembic import context

from vigie.catalog import (
    access_models,  # noqa: F401  (registers the access tables on Base.metadata)
    analytics_models,  # noqa: F401  (registers per-camera analytics settings: zones)
    bodycam_models,  # registers the body-cam tables (and names its raw-SQL index)
    camera_models,  # noqa: F401  (registers the camera registry and health tables)
    case_models,  # noqa: F401  (registers cases and evidence items)
    event_models,  # noqa: F401  (registers analytic events and legal bases)
    privacy_models,  # noqa: F401  (registers privacy masks and redactions)
)
from vigie.catalog.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=bodycam_models.include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()
