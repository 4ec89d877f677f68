"""bulk imports: set-based tombstone filtering (issue 10)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from alembic import op  # noqa: F401

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
