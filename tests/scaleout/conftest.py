"""Scale-out fixtures: a fresh PostgreSQL schema, skipped when PostgreSQL or NATS does not answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import postgres_schema_url
from scaleout.helpers import NATS_URL, POSTGRES_URL, reachable


@pytest.fixture
def scaleout_url() -> Iterator[str]:
    if not reachable(NATS_URL, 4222):
        pytest.skip(f"NATS unreachable at {NATS_URL}")
    if not reachable(POSTGRES_URL, 5432):
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    yield from postgres_schema_url(POSTGRES_URL)
