"""what the app needs when it acts as the signed-in role: workshop edits, analysis runs,
aggregated severity filter and time profiles

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00

Once the app's connection acts as the signed-in person's role (``geo.db.security.role_engine``),
three legitimate actions were refused by the grants of 0002:

* **Running a workshop as ``community``**: opening a session (INSERT on ``workshops``), saving
  (``SELECT … FOR UPDATE`` of the session row needs UPDATE), taking back the last mark (DELETE on
  ``risk_zones``) and correcting a mark (UPDATE).  Mediators could not delete marks either.  The
  new rights are narrowed by row-level security on ``risk_zones``: community members and mediators
  may change or delete only marks of an **open, non-demo** session; only admin changes anything.
* **A workshop's history** (the audit trail of its session and marks) for the facilitating roles:
  ``community`` and ``mediator`` now read the audit rows of ``risk_zones`` and
  ``workshops`` -- never those of ``incidents`` (row-level security on ``audit_log``).
* **The analysis page for ``public`` and ``community``**: every run is stored in
  ``analysis_runs``; these roles may now record and read runs (their scope is ``aggregated``, the
  app lists only runs whose scope the role covers).
* **Aggregated analysis with a severity filter and time profiles**: ``incident_hex_counts`` gets
  a trailing ``p_min_severity`` (default 1, so every earlier call keeps its meaning), and the new
  ``incident_time_profile`` returns incidents per local hour and weekday with bins below the
  threshold suppressed, with the same exclusions (sensitive types, withdrawn) and floors.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP = ", ".join(
    f"harta_{r}" for r in ("public", "community", "mediator", "police", "planner", "admin")
)
SENSITIVE_TYPES = ("domestic_violence", "sexual_violence", "child_protection")
MIN_THRESHOLD = 5
MIN_CELL_M = 100
MAX_CELL_M = 5000

OLD_HEX = (
    "incident_hex_counts(integer, double precision, integer, timestamptz, timestamptz, text[])"
)
NEW_HEX = (
    "incident_hex_counts(integer, double precision, integer, timestamptz, timestamptz, text[],"
    " integer)"
)
PROFILE = "incident_time_profile(integer, integer, timestamptz, timestamptz, text[], integer)"

# The incidents an aggregate may count: the community's and its settlements', never sensitive,
# never withdrawn, inside the community's area, within the filters.
_COUNTED = """
        SELECT i.occurred_at, ST_Transform(i.geom, v_crs) AS g FROM incidents AS i
         WHERE (i.community_id = p_community_id
                OR i.community_id IN (SELECT s.id FROM communities AS s
                                       WHERE s.parent_id = p_community_id))
           AND NOT harta_is_sensitive(i.type_code, i.sensitivity)
           AND i.status <> 'withdrawn'
           AND (p_date_from IS NULL OR i.occurred_at >= p_date_from)
           AND (p_date_to IS NULL OR i.occurred_at < p_date_to)
           AND (p_type_codes IS NULL OR i.type_code = ANY(p_type_codes))
           AND i.severity >= COALESCE(p_min_severity, 1)
           AND ST_Intersects(ST_Transform(i.geom, v_crs), v_area)
"""

FUNCTIONS = f"""
CREATE FUNCTION incident_hex_counts(
    p_community_id integer,
    p_cell_m double precision DEFAULT 300,
    p_threshold integer DEFAULT {MIN_THRESHOLD},
    p_date_from timestamptz DEFAULT NULL,
    p_date_to timestamptz DEFAULT NULL,
    p_type_codes text[] DEFAULT NULL,
    p_min_severity integer DEFAULT 1)
RETURNS TABLE (cell_id text, geom geometry(Polygon, 4326), count integer, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_crs integer;
    v_area geometry;
    v_threshold integer := GREATEST(COALESCE(p_threshold, {MIN_THRESHOLD}), {MIN_THRESHOLD});
BEGIN
    IF p_cell_m IS NULL OR p_cell_m < {MIN_CELL_M} OR p_cell_m > {MAX_CELL_M} THEN
        RAISE EXCEPTION 'cell size must be between {MIN_CELL_M} and {MAX_CELL_M} metres'
            USING ERRCODE = '22023';
    END IF;
    SELECT c.metric_crs, ST_Transform(c.geom, c.metric_crs) INTO v_crs, v_area
      FROM communities c WHERE c.id = p_community_id;
    IF v_crs IS NULL THEN
        RAISE EXCEPTION 'unknown community' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH cells AS (
        SELECT h.i, h.j, h.geom AS g FROM ST_HexagonGrid(p_cell_m, v_area) AS h
         WHERE ST_Intersects(h.geom, v_area)
    ), pts AS ({_COUNTED}
    ), placed AS (
        -- Each point in exactly one cell, even on a shared edge.
        SELECT (SELECT c.i || ':' || c.j FROM cells AS c WHERE ST_Intersects(c.g, p.g)
                 ORDER BY c.i, c.j LIMIT 1) AS k
          FROM pts AS p
    ), counted AS (
        SELECT c.i, c.j, c.g, (SELECT count(*) FROM placed AS q WHERE q.k = c.i || ':' || c.j)::integer AS n
          FROM cells AS c
    )
    SELECT x.i || ':' || x.j,
           ST_Transform(x.g, 4326)::geometry(Polygon, 4326),
           CASE WHEN x.n >= v_threshold THEN x.n END,
           x.n < v_threshold
      FROM counted AS x ORDER BY x.i, x.j;
END
$$;

-- Incidents per local hour (profile 'hour', bins 0-23) and weekday (profile 'weekday', 0 =
-- Monday .. 6) in the community's time zone; bins below the threshold have a NULL count.
CREATE FUNCTION incident_time_profile(
    p_community_id integer,
    p_threshold integer DEFAULT {MIN_THRESHOLD},
    p_date_from timestamptz DEFAULT NULL,
    p_date_to timestamptz DEFAULT NULL,
    p_type_codes text[] DEFAULT NULL,
    p_min_severity integer DEFAULT 1)
RETURNS TABLE (profile text, bin integer, count integer, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_crs integer;
    v_area geometry;
    v_tz text;
    v_threshold integer := GREATEST(COALESCE(p_threshold, {MIN_THRESHOLD}), {MIN_THRESHOLD});
BEGIN
    SELECT c.metric_crs, ST_Transform(c.geom, c.metric_crs), c.timezone INTO v_crs, v_area, v_tz
      FROM communities c WHERE c.id = p_community_id;
    IF v_crs IS NULL THEN
        RAISE EXCEPTION 'unknown community' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH pts AS ({_COUNTED}
    ), local AS (
        SELECT (p.occurred_at AT TIME ZONE v_tz) AS t FROM pts AS p
    ), bins AS (
        SELECT 'hour'::text AS pr, h AS b FROM generate_series(0, 23) AS h
        UNION ALL
        SELECT 'weekday'::text, d FROM generate_series(0, 6) AS d
    ), counted AS (
        SELECT b.pr, b.b, (SELECT count(*) FROM local AS l
                            WHERE CASE WHEN b.pr = 'hour' THEN extract(hour FROM l.t)
                                       ELSE extract(isodow FROM l.t) - 1 END = b.b)::integer AS n
          FROM bins AS b
    )
    SELECT x.pr, x.b, CASE WHEN x.n >= v_threshold THEN x.n END, x.n < v_threshold
      FROM counted AS x ORDER BY x.pr, x.b;
END
$$;
"""

# Marks of a session that is still open (and not demo data) are the only ones community members
# and mediators may change or take back.
OPEN_SESSION = (
    "workshop_id IN (SELECT w.id FROM workshops AS w WHERE w.status = 'open' AND NOT w.is_demo)"
)

POLICIES = f"""
ALTER TABLE risk_zones ENABLE ROW LEVEL SECURITY;
CREATE POLICY risk_zones_read ON risk_zones FOR SELECT TO {APP} USING (true);
CREATE POLICY risk_zones_add ON risk_zones FOR INSERT
    TO harta_community, harta_mediator, harta_admin WITH CHECK (true);
CREATE POLICY risk_zones_admin ON risk_zones TO harta_admin USING (true) WITH CHECK (true);
CREATE POLICY risk_zones_mediator_update ON risk_zones FOR UPDATE TO harta_mediator
    USING (true) WITH CHECK (true);
CREATE POLICY risk_zones_session_update ON risk_zones FOR UPDATE TO harta_community
    USING ({OPEN_SESSION}) WITH CHECK ({OPEN_SESSION});
CREATE POLICY risk_zones_session_delete ON risk_zones FOR DELETE
    TO harta_community, harta_mediator USING ({OPEN_SESSION});
CREATE POLICY audit_workshops ON audit_log FOR SELECT TO harta_community, harta_mediator
    USING (table_name IN ('risk_zones', 'workshops'));
"""

GRANTS = f"""
REVOKE ALL ON FUNCTION {NEW_HEX} FROM PUBLIC;
REVOKE ALL ON FUNCTION {PROFILE} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {NEW_HEX} TO {APP};
GRANT EXECUTE ON FUNCTION {PROFILE} TO {APP};
GRANT INSERT, UPDATE ON workshops TO harta_community;
GRANT USAGE ON SEQUENCE workshops_id_seq TO harta_community;
GRANT UPDATE, DELETE ON risk_zones TO harta_community, harta_mediator;
GRANT SELECT, INSERT, UPDATE ON analysis_runs TO harta_public, harta_community;
GRANT SELECT ON audit_log TO harta_community, harta_mediator;
GRANT USAGE ON SEQUENCE analysis_runs_id_seq TO harta_public, harta_community;
"""

REVOKES = """
REVOKE INSERT, UPDATE ON workshops FROM harta_community;
REVOKE USAGE ON SEQUENCE workshops_id_seq FROM harta_community;
REVOKE UPDATE, DELETE ON risk_zones FROM harta_community;
REVOKE DELETE ON risk_zones FROM harta_mediator;
REVOKE SELECT, INSERT, UPDATE ON analysis_runs FROM harta_public, harta_community;
REVOKE SELECT ON audit_log FROM harta_community, harta_mediator;
DROP POLICY IF EXISTS audit_workshops ON audit_log;
REVOKE USAGE ON SEQUENCE analysis_runs_id_seq FROM harta_public, harta_community;
"""

POLICY_NAMES = (
    "risk_zones_read",
    "risk_zones_add",
    "risk_zones_admin",
    "risk_zones_mediator_update",
    "risk_zones_session_update",
    "risk_zones_session_delete",
)


def _revision_0002():
    path = Path(__file__).with_name("0002_roles_rls_accounts.py")
    spec = importlib.util.spec_from_file_location("harta_revision_0002", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {OLD_HEX}")
    op.execute(FUNCTIONS)
    op.execute(POLICIES)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(REVOKES)
    for name in POLICY_NAMES:
        op.execute(f"DROP POLICY IF EXISTS {name} ON risk_zones")
    op.execute("ALTER TABLE risk_zones DISABLE ROW LEVEL SECURITY")
    op.execute(f"DROP FUNCTION IF EXISTS {PROFILE}")
    op.execute(f"DROP FUNCTION IF EXISTS {NEW_HEX}")
    # Back to 0002's function (its FUNCTIONS block is idempotent: CREATE OR REPLACE).
    op.execute(_revision_0002().FUNCTIONS)
    op.execute(f"REVOKE ALL ON FUNCTION {OLD_HEX} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {OLD_HEX} TO {APP}")
