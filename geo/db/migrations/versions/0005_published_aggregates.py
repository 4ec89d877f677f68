"""published grids and periods for aggregates, area edits apart (issue 8 differencing, issue 15 aggregation; owner: helper aggregates)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:00:00

The aggregates of 0003 (``incident_hex_counts``, ``incident_time_profile``) accepted any cell
size from 100 to 5000 m and any instant as a date bound, and returned exact counts.  Calling them
many times with slightly different arguments located incidents to the minute and to metres
(issue 8, route 7).  They also matched every point against every cell (issue 15, item 4).

Privacy model of every aggregate from this revision on (for every caller, whatever its role):

* **Published grids.**  Each community has a row in ``published_grids``: two hexagon sides,
  ``analysis_cell_m`` (about 50 cells over its area, at least 100 m -- what aggregated hotspot
  runs use) and ``map_cell_m`` (300 m, the Map's).  The grid is ``ST_HexagonGrid``'s, anchored
  at the origin of the community's metric CRS.  Any other size is refused.  The row is written
  when the community is created and only the schema owner changes it.
* **Published periods.**  Date bounds must be the start of a calendar month in the community's
  time zone (months nest into quarters and years); any other instant is refused.  The end is
  capped at the start of the current month: only complete months are published, so counts do
  not move while a month is under way.
* **Rounding and suppression.**  A count below the threshold (never below 5) is NULL and marked
  suppressed, exactly like an empty cell or bin; every other count is rounded to the nearest
  multiple of 5.  Differencing any two published answers therefore gives multiples of 5.
* **Filters.**  At most one incident type per call (all types, or one), severity floor 1-5;
  sensitive types are never counted (0002).
* **No reading after writing.**  The functions refuse to run in a transaction that has written
  anything (``pg_current_xact_id_if_assigned() IS NOT NULL``): decoys inserted and an area
  rewritten inside a transaction that is then rolled back cannot be combined with counts.
* **Area edits apart.**  ``harta_admin`` may no longer update a community's ``geom``,
  ``metric_crs``, ``timezone`` or ``parent_id`` (these decide what the aggregates count and
  where the grid and months fall); ``harta_change_community_frame`` does it, with a reason, and
  writes an append-only ``community_frame_log`` row (who, when, old and new values).

Speed: each incident's cell is computed once from its metric coordinates (hexagon index
arithmetic equal to ``ST_HexagonGrid``'s indices) and grouped; the cells touching the area are
joined to the groups.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP = ", ".join(
    f"harta_{r}" for r in ("public", "community", "mediator", "police", "planner", "admin")
)
MIN_THRESHOLD = 5
ROUND_BASE = 5
MAP_CELL_M = 300

HEX = (
    "incident_hex_counts(integer, double precision, integer, timestamptz, timestamptz, text[],"
    " integer)"
)
PROFILE = "incident_time_profile(integer, integer, timestamptz, timestamptz, text[], integer)"
FRAME = "harta_change_community_frame(integer, text, geometry, integer, text, integer, boolean)"

# Columns of communities that admin may still update directly.
FREE_COLUMNS = (
    "slug, name, county, country, kind, description, source_dir, attribution, source,"
    " source_ref, import_id, row_hash, created_by_role, is_demo"
)

TABLES = f"""
CREATE TABLE published_grids (
    community_id integer PRIMARY KEY REFERENCES communities(id) ON DELETE CASCADE,
    analysis_cell_m double precision NOT NULL CHECK (analysis_cell_m BETWEEN 100 AND 5000),
    map_cell_m double precision NOT NULL CHECK (map_cell_m BETWEEN 100 AND 5000)
);

CREATE TABLE community_frame_log (
    id bigserial PRIMARY KEY,
    community_id integer NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    db_user text NOT NULL DEFAULT session_user,
    app_role text,
    app_user text,
    reason text NOT NULL CHECK (length(btrim(reason)) >= 5),
    old_geom geometry(MultiPolygon, 4326),
    new_geom geometry(MultiPolygon, 4326),
    old_metric_crs integer, new_metric_crs integer,
    old_timezone text, new_timezone text,
    old_parent_id integer, new_parent_id integer
);

CREATE FUNCTION harta_frame_log_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'community_frame_log is append-only';
END
$$;
CREATE TRIGGER community_frame_log_append_only BEFORE UPDATE OR DELETE ON community_frame_log
    FOR EACH ROW EXECUTE FUNCTION harta_frame_log_immutable();
CREATE TRIGGER community_frame_log_no_truncate BEFORE TRUNCATE ON community_frame_log
    FOR EACH STATEMENT EXECUTE FUNCTION harta_frame_log_immutable();

-- The hexagon side of about 50 cells over an area (geo.analysis.grid.default_hex_size with no
-- incidents), at least 100 m: what aggregated hotspot runs use.
CREATE FUNCTION harta_default_analysis_cell_m(p_area geometry, p_crs integer)
RETURNS double precision LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
    WITH s AS (SELECT sqrt(ST_Area(ST_Transform(p_area, p_crs)) / 50 / (1.5 * sqrt(3.0))) AS side)
    SELECT GREATEST(100.0, LEAST(2000.0,
        CASE WHEN side < 1000 THEN round(side / 10) * 10 ELSE round(side / 50) * 50 END))
      FROM s
$$;

CREATE FUNCTION harta_publish_grid() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO published_grids (community_id, analysis_cell_m, map_cell_m)
    VALUES (NEW.id, harta_default_analysis_cell_m(NEW.geom, NEW.metric_crs), {MAP_CELL_M})
    ON CONFLICT (community_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER communities_publish_grid AFTER INSERT ON communities
    FOR EACH ROW EXECUTE FUNCTION harta_publish_grid();

INSERT INTO published_grids (community_id, analysis_cell_m, map_cell_m)
SELECT id, harta_default_analysis_cell_m(geom, metric_crs), {MAP_CELL_M} FROM communities;
"""

# The checks every aggregate makes before counting anything.
_GUARDS = """
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'aggregates cannot be read in a transaction that has written'
            USING ERRCODE = '25006';
    END IF;
    SELECT c.metric_crs, ST_Transform(c.geom, c.metric_crs), c.timezone
      INTO v_crs, v_area, v_tz FROM communities c WHERE c.id = p_community_id;
    IF v_crs IS NULL THEN
        RAISE EXCEPTION 'unknown community' USING ERRCODE = '22023';
    END IF;
    IF cardinality(p_type_codes) > 1 THEN
        RAISE EXCEPTION 'aggregates take at most one incident type' USING ERRCODE = '22023';
    END IF;
    IF p_min_severity IS NOT NULL AND p_min_severity NOT BETWEEN 1 AND 5 THEN
        RAISE EXCEPTION 'severity floor must be 1 to 5' USING ERRCODE = '22023';
    END IF;
    IF NOT harta_is_month_start(p_date_from, v_tz) OR NOT harta_is_month_start(p_date_to, v_tz)
    THEN
        RAISE EXCEPTION 'date bounds must be the start of a month in %', v_tz
            USING ERRCODE = '22023';
    END IF;
    -- Only complete months are published.
    v_to := LEAST(COALESCE(p_date_to, 'infinity'::timestamptz),
                  date_trunc('month', now() AT TIME ZONE v_tz) AT TIME ZONE v_tz);
    v_from := COALESCE(p_date_from, '-infinity'::timestamptz);
"""

# The incidents an aggregate may count, as metric x, y and time: the community's and its
# settlements', never sensitive, never withdrawn, inside the area, within the filters.
_FILTERED = """
        SELECT i.occurred_at, ST_X(m.g) AS x, ST_Y(m.g) AS y
          FROM incidents AS i
         CROSS JOIN LATERAL (SELECT ST_Transform(i.geom, v_crs) AS g) AS m
         WHERE (i.community_id = p_community_id
                OR i.community_id IN (SELECT s.id FROM communities AS s
                                       WHERE s.parent_id = p_community_id))
           AND NOT harta_is_sensitive(i.type_code, i.sensitivity)
           AND i.status <> 'withdrawn'
           AND i.occurred_at >= v_from AND i.occurred_at < v_to
           AND (p_type_codes IS NULL OR i.type_code = ANY(p_type_codes))
           AND i.severity >= COALESCE(p_min_severity, 1)
"""
_COUNTED = (
    _FILTERED
    + """           AND ST_Intersects(m.g, v_area)
"""
)

# Cell (i, j) of ST_HexagonGrid(v_cell) of each metric point (x, y): flat-topped hexagons,
# column i at x = 1.5 * size * i, odd columns shifted up by half a row.  Axial coordinates
# rounded in cube space, then PostGIS's offset indices; float8 throughout (numeric is slow).
# The same formula as harta_hex_cell (a test checks that one against ST_HexagonGrid; the
# benchmark checks the counts against 0003's cell-by-cell matching).
_PLACED = """
    ), a AS (
        SELECT p.x, p.y, p.x * (2.0::float8 / 3.0) / v_cell AS q,
               (p.x * (-1.0::float8 / 3.0) + p.y * (sqrt(3.0::float8) / 3.0)) / v_cell AS r
          FROM pts AS p
    ), c AS (
        SELECT a.x, a.y, a.q, a.r, round(a.q) AS rq, round(a.r) AS rr, round(-a.q - a.r) AS rs
          FROM a
    ), f AS (
        SELECT c.x, c.y,
               CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r)
                    THEN -rr - rs ELSE rq END AS qi,
               CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r) THEN rr
                    WHEN abs(rr - r) > abs(rs + q + r) THEN -rq - rs ELSE rr END AS ri
          FROM c
    ), placed AS (
        SELECT f.x, f.y, f.qi::integer AS i, (f.ri + floor(f.qi / 2))::integer AS j FROM f
"""

_PUBLISHED = f"""CASE WHEN x.n >= v_threshold THEN ({ROUND_BASE} * round(x.n / {ROUND_BASE}.0))::integer END,
           x.n < v_threshold"""

FUNCTIONS = f"""
CREATE FUNCTION harta_is_month_start(p_at timestamptz, p_tz text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT p_at IS NULL
        OR (p_at AT TIME ZONE p_tz) = date_trunc('month', p_at AT TIME ZONE p_tz)
$$;

-- Cell (i, j) of ST_HexagonGrid(p_size) holding the metric point (p_x, p_y): flat-topped
-- hexagons, column i at x = 1.5 * size * i, odd columns shifted up by half a row.  Axial
-- coordinates, rounded in cube space, then converted to PostGIS's offset indices.
CREATE FUNCTION harta_hex_cell(p_x double precision, p_y double precision,
                               p_size double precision)
RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
    WITH a AS (
        SELECT (2.0 / 3.0) * p_x / p_size AS q,
               ((-1.0 / 3.0) * p_x + (sqrt(3.0) / 3.0) * p_y) / p_size AS r
    ), c AS (
        SELECT q, r, round(q) AS rq, round(r) AS rr, round(-q - r) AS rs FROM a
    ), f AS (
        SELECT CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r)
                    THEN -rr - rs ELSE rq END AS qi,
               CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r) THEN rr
                    WHEN abs(rr - r) > abs(rs + q + r) THEN -rq - rs ELSE rr END AS ri
          FROM c
    )
    SELECT ARRAY[qi::integer, (ri + floor(qi / 2.0))::integer] FROM f
$$;

CREATE FUNCTION incident_hex_counts(
    p_community_id integer,
    p_cell_m double precision DEFAULT NULL,
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
    v_tz text;
    v_from timestamptz;
    v_to timestamptz;
    v_cell double precision;
    v_threshold integer := GREATEST(COALESCE(p_threshold, {MIN_THRESHOLD}), {MIN_THRESHOLD});
BEGIN
{_GUARDS}
    SELECT CASE WHEN p_cell_m IS NULL THEN g.map_cell_m
                WHEN p_cell_m IN (g.analysis_cell_m, g.map_cell_m) THEN p_cell_m END
      INTO v_cell FROM published_grids g WHERE g.community_id = p_community_id;
    IF v_cell IS NULL THEN
        RAISE EXCEPTION 'cell size % is not a published grid of this community', p_cell_m
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH cells AS MATERIALIZED (
        -- Cells wholly inside the area need no point-in-area test for their points.
        SELECT h.i, h.j, h.geom AS g, ST_Within(h.geom, v_area) AS inner
          FROM ST_HexagonGrid(v_cell, v_area) AS h
         WHERE ST_Intersects(h.geom, v_area)
    ), pts AS MATERIALIZED ({_FILTERED}{_PLACED}
    ), x AS (
        SELECT c.i, c.j, c.g, count(p.x)::integer AS n
          FROM cells AS c
          LEFT JOIN placed AS p ON p.i = c.i AND p.j = c.j
               AND (c.inner OR ST_Intersects(ST_SetSRID(ST_MakePoint(p.x, p.y), v_crs), v_area))
         GROUP BY c.i, c.j, c.g
    )
    SELECT x.i || ':' || x.j,
           ST_Transform(x.g, 4326)::geometry(Polygon, 4326),
           {_PUBLISHED}
      FROM x ORDER BY x.i, x.j;
END
$$;

-- Incidents per local hour (profile 'hour', bins 0-23) and weekday (profile 'weekday', 0 =
-- Monday .. 6) in the community's time zone, published like the hexagon counts.
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
    v_from timestamptz;
    v_to timestamptz;
    v_threshold integer := GREATEST(COALESCE(p_threshold, {MIN_THRESHOLD}), {MIN_THRESHOLD});
BEGIN
{_GUARDS}
    RETURN QUERY
    WITH local AS (
        SELECT (p.occurred_at AT TIME ZONE v_tz) AS t FROM ({_COUNTED}) AS p
    ), grouped AS (
        SELECT 'hour'::text AS pr, extract(hour FROM l.t)::integer AS b, count(*) AS n
          FROM local AS l GROUP BY 2
        UNION ALL
        SELECT 'weekday'::text, (extract(isodow FROM l.t) - 1)::integer, count(*)
          FROM local AS l GROUP BY 2
    ), bins AS (
        SELECT 'hour'::text AS pr, h AS b FROM generate_series(0, 23) AS h
        UNION ALL
        SELECT 'weekday'::text, d FROM generate_series(0, 6) AS d
    ), x AS (
        SELECT b.pr, b.b, COALESCE(g.n, 0)::integer AS n
          FROM bins AS b LEFT JOIN grouped AS g ON g.pr = b.pr AND g.b = b.b
    )
    SELECT x.pr, x.b, {_PUBLISHED}
      FROM x ORDER BY x.pr, x.b;
END
$$;

-- The one way to change what a community's aggregates count and where their grid and months
-- fall: area, metric CRS, time zone, parent.  NULL keeps a value (p_set_parent says whether
-- p_parent_id is meant, since NULL is also a valid parent).  Every call is logged.
CREATE FUNCTION harta_change_community_frame(
    p_community_id integer,
    p_reason text,
    p_geom geometry DEFAULT NULL,
    p_metric_crs integer DEFAULT NULL,
    p_timezone text DEFAULT NULL,
    p_parent_id integer DEFAULT NULL,
    p_set_parent boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old communities%ROWTYPE;
    v_geom geometry;
BEGIN
    IF p_reason IS NULL OR length(btrim(p_reason)) < 5 THEN
        RAISE EXCEPTION 'a reason is required to change a community''s area'
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_old FROM communities WHERE id = p_community_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown community' USING ERRCODE = '22023';
    END IF;
    v_geom := COALESCE(ST_Multi(ST_SetSRID(p_geom, 4326)), v_old.geom);
    UPDATE communities SET
        geom = v_geom,
        metric_crs = COALESCE(p_metric_crs, v_old.metric_crs),
        timezone = COALESCE(p_timezone, v_old.timezone),
        parent_id = CASE WHEN p_set_parent THEN p_parent_id ELSE v_old.parent_id END
     WHERE id = p_community_id;
    INSERT INTO community_frame_log (community_id, app_role, app_user, reason,
        old_geom, new_geom, old_metric_crs, new_metric_crs, old_timezone, new_timezone,
        old_parent_id, new_parent_id)
    VALUES (p_community_id, NULLIF(current_setting('harta.role', true), ''),
        NULLIF(current_setting('harta.user_id', true), ''), p_reason,
        v_old.geom, v_geom, v_old.metric_crs, COALESCE(p_metric_crs, v_old.metric_crs),
        v_old.timezone, COALESCE(p_timezone, v_old.timezone), v_old.parent_id,
        CASE WHEN p_set_parent THEN p_parent_id ELSE v_old.parent_id END);
END
$$;
"""

GRANTS = f"""
REVOKE ALL ON FUNCTION {HEX} FROM PUBLIC;
REVOKE ALL ON FUNCTION {PROFILE} FROM PUBLIC;
REVOKE ALL ON FUNCTION {FRAME} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {HEX} TO {APP};
GRANT EXECUTE ON FUNCTION {PROFILE} TO {APP};
GRANT EXECUTE ON FUNCTION {FRAME} TO harta_admin;
GRANT SELECT ON published_grids TO {APP};
GRANT SELECT ON community_frame_log TO harta_admin;
REVOKE UPDATE ON communities FROM harta_admin;
GRANT UPDATE ({FREE_COLUMNS}) ON communities TO harta_admin;
"""


def _revision_0003():
    path = Path(__file__).with_name("0003_app_roles_workshops_profiles.py")
    spec = importlib.util.spec_from_file_location("harta_revision_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {HEX}")
    op.execute(f"DROP FUNCTION {PROFILE}")
    op.execute(TABLES)
    op.execute(FUNCTIONS)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE ({FREE_COLUMNS}) ON communities FROM harta_admin")
    op.execute("GRANT UPDATE ON communities TO harta_admin")
    op.execute(f"DROP FUNCTION IF EXISTS {FRAME}")
    op.execute(f"DROP FUNCTION IF EXISTS {HEX}")
    op.execute(f"DROP FUNCTION IF EXISTS {PROFILE}")
    op.execute(
        "DROP FUNCTION IF EXISTS harta_hex_cell(double precision, double precision,"
        " double precision)"
    )
    op.execute("DROP FUNCTION IF EXISTS harta_is_month_start(timestamptz, text)")
    op.execute("DROP TRIGGER IF EXISTS communities_publish_grid ON communities")
    op.execute("DROP FUNCTION IF EXISTS harta_publish_grid()")
    op.execute("DROP FUNCTION IF EXISTS harta_default_analysis_cell_m(geometry, integer)")
    op.execute("DROP TABLE IF EXISTS community_frame_log, published_grids")
    op.execute("DROP FUNCTION IF EXISTS harta_frame_log_immutable()")
    module = _revision_0003()
    op.execute(module.FUNCTIONS)
    op.execute(module.GRANTS.split("GRANT INSERT")[0])
