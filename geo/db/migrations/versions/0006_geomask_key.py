"""per-incident geomask key held in the database (issue 8; owner: helper cli-export)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:00:00

Placeholder: reserved so the revision chain 0004 -> 0005 -> 0006 exists while these are written.
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
