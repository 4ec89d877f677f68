"""what the app's users meet: run reuse, demo labels (issue 11)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from alembic import op  # noqa: F401

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
