"""published counts say whether demo incidents are among them (issue 11)

Slot reserved by the lead for a helper (filled in this session).
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
