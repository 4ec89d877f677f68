"""bulk imports: one audit entry per import (issue 10)

Slot reserved by the lead for a helper (filled in this session).
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
