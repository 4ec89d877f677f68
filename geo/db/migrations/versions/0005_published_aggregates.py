"""published grids and periods for aggregates, area edits apart (issue 8 differencing, issue 15 aggregation; owner: helper aggregates)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:00:00

Placeholder: reserved so the revision chain 0004 -> 0005 -> 0006 exists while these are written.
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
