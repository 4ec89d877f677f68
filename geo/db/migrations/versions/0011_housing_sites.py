"""candidate social-housing sites (issue 14): no schema change

The housing-site evaluation stores each run in ``analysis_runs`` (kind ``housing_sites``, scope
``aggregated``: it reads no incident) with its exports -- the candidate sites with every
criterion (``ranked_sites.geojson``), ``ranked.csv`` and ``ranked.json`` -- in the run's folder
(:func:`geo.runs.run_dir`).  Candidate sites are inputs a planner brings as a file, so they need
no table of their own; this revision keeps its place in the chain and changes nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change (see the module docstring)."""


def downgrade() -> None:
    """Nothing to undo."""
