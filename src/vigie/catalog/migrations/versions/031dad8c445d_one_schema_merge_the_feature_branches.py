"""one schema: merge the feature branches

Revision ID: 031dad8c445d
Revises: 07563febaa48, 1622060a2723, 505d88e8202f, 65551ea60103, bfbfa8e43c4d, d66e6254061e, f9bed4b31eb3
Create Date: 2026-11-22 01:26:27.201778
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigie.catalog.types


revision = '031dad8c445d'
down_revision = ('07563febaa48', '1622060a2723', '505d88e8202f', '65551ea60103', 'bfbfa8e43c4d', 'd66e6254061e', 'f9bed4b31eb3')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
