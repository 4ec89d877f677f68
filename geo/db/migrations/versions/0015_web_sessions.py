"""web sessions: a reload keeps the sign-in (issue 11)

Slot reserved by the lead for a helper (filled in this session).
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
