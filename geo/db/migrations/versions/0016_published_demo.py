"""published counts say whether demo incidents are among them (issue 11 item 6; owner: helper D)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 10:30:00

The published aggregates (``incident_hex_counts``, ``incident_hex_counts_monthly``,
``incident_time_profile``: 0005's rules over 0007's members, 0012's speed) do not say which
incidents are synthetic demo rows, so the roles that read only them (public, community, planner,
admin) saw "may include demo" on Home, and every aggregated hot spot run of a community with any
demo layer was labelled DEMO, even for months holding only real incidents.

``harta_published_demo(community, threshold, from, to, types, min_severity)`` returns how many
**demo** incidents the published counts of that window include, published exactly like them:

* the same member rows (0007's rule, 0012's fine-grid test), the same filters (at most one
  type, severity floor 1-5, sensitive types and rows never counted, withdrawn rows never
  counted), the same window rules (month starts in the community's time zone only, the end
  capped at the start of the current month: complete months only; NULL bound = open);
* one number for the whole window and area, below the threshold (never below 5) NULL and
  ``suppressed``, otherwise rounded to the nearest multiple of 5;
* the same guards: unknown community refused, no reading in a transaction that has written
  (decoys marked demo and rolled back cannot be counted), one community per call;
* ``SECURITY DEFINER`` with ``search_path = public, pg_temp``, executable by the six app roles
  (like the other aggregates), never by PUBLIC.

Real incidents are never counted (``is_demo`` filter inside the definer function), so the answer
is a rounded, suppressed count of synthetic rows: nothing about a real person.  The SQL text is
0012's with the ``is_demo`` filter added (checked at upgrade: 0012's text changing breaks
this migration loudly rather than silently).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _revision(name: str):
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"harta_revision_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_R12 = _revision("0012_scale.py")
APP = _R12.APP
MIN_THRESHOLD = _R12.MIN_THRESHOLD
DEMO = "harta_published_demo(integer, integer, timestamptz, timestamptz, text[], integer)"

# 0012's member rows with one more filter: only demo incidents.
_FILTER_OLD = """           AND i.severity >= COALESCE(p_min_severity, 1)
    ), members AS MATERIALIZED ("""
_FILTER_NEW = """           AND i.severity >= COALESCE(p_min_severity, 1)
           AND i.is_demo
    ), members AS MATERIALIZED ("""


def _demo_members() -> str:
    """0012's member-rows CTE text restricted to demo incidents."""
    if _FILTER_OLD not in _R12._MEMBERS:
        raise RuntimeError("0012's member SQL changed: update migration 0016")
    return _R12._MEMBERS.replace(_FILTER_OLD, _FILTER_NEW)


def _function() -> str:
    return f"""
CREATE FUNCTION harta_published_demo(
    p_community_id integer,
    p_threshold integer DEFAULT {MIN_THRESHOLD},
    p_date_from timestamptz DEFAULT NULL,
    p_date_to timestamptz DEFAULT NULL,
    p_type_codes text[] DEFAULT NULL,
    p_min_severity integer DEFAULT 1)
RETURNS TABLE (count integer, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {_R12.DEFINER_PATH} AS $$
#variable_conflict use_column
DECLARE{_R12._DECLARE}
BEGIN
{_R12._GUARDS}
    RETURN QUERY
    WITH {_demo_members()}, x AS (
        SELECT count(*)::integer AS n FROM members
    )
    SELECT {_R12._PUBLISHED}
      FROM x;
END
$$;
REVOKE ALL ON FUNCTION {DEMO} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {DEMO} TO {APP};
"""


def upgrade() -> None:
    op.execute(_function())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {DEMO}")
