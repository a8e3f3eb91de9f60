"""The whole schema: every model module registered on ``Base.metadata``, for migrations and checks."""

from __future__ import annotations

from vigie.catalog import (  # noqa: F401  (imported for their tables)
    access_models,
    analytics_models,
    bodycam_models,
    camera_models,
    case_models,
    event_models,
    privacy_models,
)
from vigie.catalog.bodycam_models import include_in_autogenerate
from vigie.catalog.models import Base

metadata = Base.metadata
__all__ = ["include_in_autogenerate", "metadata"]
