"""identity, community scope in policies, logs written by definer functions, tombstones (issue 8; owner: helper db-identity)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:00:00

Placeholder: reserved so the revision chain 0004 -> 0005 -> 0006 exists while these are written.
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
