"""pages and aggregates at 100,000 incidents (issues 11, 15)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 06:00:00

At 100,000 incidents the published aggregates (0005's rules over 0007's member rows) spent
their time projecting every point into the community's metric CRS and measuring its distance to
the area, on every call; an aggregated hot spot run makes 26 such calls (the window, each of 24
months, the time profile).  This revision changes where the work is done, not what is
published:

* **Metric coordinates stored at insert.**  ``incidents.metric_x``/``metric_y`` hold the point in
  the metric CRS ``metric_srid`` of its own community, written by a ``BEFORE INSERT OR UPDATE``
  trigger on every write (so no writer can set them apart from ``geom``), and cleared for
  recomputation when a community's metric CRS changes.  Readers use them only when
  ``metric_srid`` is the CRS they measure in, and project ``geom`` otherwise (a settlement
  with another CRS than its parent), so a stale or foreign value is never counted.
* **The membership place test on a fine grid.**  0007's rule is unchanged (kin rows within
  the area tolerance, 25 m, of the area); points whose fine hexagon (side about 1/40 of the
  area's square root, at least 25 m) lies inside the area pass without a distance test, points
  whose fine hexagon misses the area grown by the tolerance fail without one, and only the
  points near the edge are measured.  A test checks the members equal
  ``harta_member_rows``.
* **Months in one call.**  ``incident_hex_counts_monthly`` returns, for each calendar month of
  a window, what ``incident_hex_counts`` returns for that month alone (same guards, grid,
  rounding, suppression, one type, complete months only), from one pass over the rows.  Both
  bounds are required and the window holds at most 120 months.

Every privacy property of 0005 holds for all three functions: published grids only, month
bounds only, counts below the threshold (never below 5) suppressed and the others rounded to
5, one type at most, sensitive rows never counted, no reading after writing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def _revision(name: str):
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"harta_revision_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_R5 = _revision("0005_published_aggregates.py")
HEX, PROFILE, APP = _R5.HEX, _R5.PROFILE, _R5.APP
MIN_THRESHOLD, ROUND_BASE = _R5.MIN_THRESHOLD, _R5.ROUND_BASE
MONTHLY = (
    "incident_hex_counts_monthly(integer, double precision, integer, timestamptz, timestamptz,"
    " text[], integer)"
)
#: Longest window of ``incident_hex_counts_monthly``, months.
MAX_MONTHS = 120
DEFINER_PATH = "public, pg_temp"

COLUMNS = """
ALTER TABLE incidents
    ADD COLUMN metric_srid integer,
    ADD COLUMN metric_x double precision,
    ADD COLUMN metric_y double precision;

-- The point in its community's metric CRS, on every write: a writer cannot set it apart
-- from geom (an UPDATE of metric_x alone is recomputed too).
CREATE FUNCTION harta_incident_metric_xy() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_crs integer;
    v_g geometry;
BEGIN
    SELECT c.metric_crs INTO v_crs FROM communities AS c WHERE c.id = NEW.community_id;
    IF v_crs IS NULL OR NEW.geom IS NULL THEN
        NEW.metric_srid := NULL;
        NEW.metric_x := NULL;
        NEW.metric_y := NULL;
    ELSE
        v_g := ST_Transform(NEW.geom, v_crs);
        NEW.metric_srid := v_crs;
        NEW.metric_x := ST_X(v_g);
        NEW.metric_y := ST_Y(v_g);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER incidents_metric_xy BEFORE INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION harta_incident_metric_xy();

-- A community measured in another CRS: its incidents' coordinates are recomputed (the
-- update fires the trigger above).
CREATE FUNCTION harta_community_metric_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE incidents SET metric_srid = NULL WHERE community_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER communities_metric_changed AFTER UPDATE OF metric_crs ON communities
    FOR EACH ROW WHEN (OLD.metric_crs IS DISTINCT FROM NEW.metric_crs)
    EXECUTE FUNCTION harta_community_metric_changed();

UPDATE incidents SET metric_srid = NULL;
"""


def _hex_index(x: str, y: str, size: str, prefix: str) -> tuple[str, str]:
    """LATERAL joins placing metric point (x, y) in cell (i, j) of ``ST_HexagonGrid(size)``,
    and the two index expressions: 0005's arithmetic (flat-topped hexagons, axial coordinates
    rounded in cube space, then PostGIS's offset indices), float8 throughout."""
    a, c, f = f"{prefix}a", f"{prefix}c", f"{prefix}f"
    joins = f"""
          CROSS JOIN LATERAL (SELECT {x} * (2.0::float8 / 3.0) / {size} AS q,
                (({x}) * (-1.0::float8 / 3.0) + ({y}) * (sqrt(3.0::float8) / 3.0)) / {size} AS r
          ) AS {a}
          CROSS JOIN LATERAL (SELECT round({a}.q) AS rq, round({a}.r) AS rr,
                round(-{a}.q - {a}.r) AS rs) AS {c}
          CROSS JOIN LATERAL (SELECT
                CASE WHEN abs({c}.rq - {a}.q) > abs({c}.rr - {a}.r)
                      AND abs({c}.rq - {a}.q) > abs({c}.rs + {a}.q + {a}.r)
                     THEN -{c}.rr - {c}.rs ELSE {c}.rq END AS qi,
                CASE WHEN abs({c}.rq - {a}.q) > abs({c}.rr - {a}.r)
                      AND abs({c}.rq - {a}.q) > abs({c}.rs + {a}.q + {a}.r) THEN {c}.rr
                     WHEN abs({c}.rr - {a}.r) > abs({c}.rs + {a}.q + {a}.r)
                     THEN -{c}.rq - {c}.rs ELSE {c}.rr END AS ri) AS {f}"""
    return joins, f"{f}.qi::integer", f"({f}.ri + floor({f}.qi / 2))::integer"


_FINE_JOINS, _FINE_I, _FINE_J = _hex_index("p.x", "p.y", "v_fine", "n")
_CELL_JOINS, _CELL_I, _CELL_J = _hex_index("m.x", "m.y", "v_cell", "k")

# The member incidents an aggregate may count, with metric x, y and time (0007's membership
# rule: kin rows within the area tolerance of the area; 0005's filters).  Ends an open WITH.
_MEMBERS = f"""
    reach AS MATERIALIZED (
        SELECT ST_Buffer(v_area, harta_area_tolerance_m() + 1.0) AS g
    ), fine AS MATERIALIZED (
        -- Fine cells touching the grown area; inside: wholly in the area (no distance test).
        SELECT h.i, h.j, ST_Within(h.geom, v_area) AS inside
          FROM reach AS r, ST_HexagonGrid(v_fine, r.g) AS h
         WHERE ST_Intersects(h.geom, r.g)
    ), pts AS MATERIALIZED (
        SELECT i.occurred_at,
               CASE WHEN i.metric_srid = v_crs THEN i.metric_x
                    ELSE ST_X(ST_Transform(i.geom, v_crs)) END AS x,
               CASE WHEN i.metric_srid = v_crs THEN i.metric_y
                    ELSE ST_Y(ST_Transform(i.geom, v_crs)) END AS y
          FROM incidents AS i
         WHERE i.community_id = ANY (v_kin)
           AND NOT harta_is_sensitive(i.type_code, i.sensitivity)
           AND i.status <> 'withdrawn'
           AND i.occurred_at >= v_from AND i.occurred_at < v_to
           AND (p_type_codes IS NULL OR i.type_code = ANY(p_type_codes))
           AND i.severity >= COALESCE(p_min_severity, 1)
    ), members AS MATERIALIZED (
        SELECT p.occurred_at, p.x, p.y
          FROM pts AS p{_FINE_JOINS}
          JOIN fine AS fc ON fc.i = {_FINE_I} AND fc.j = {_FINE_J}
         WHERE fc.inside
            OR ST_DWithin(ST_SetSRID(ST_MakePoint(p.x, p.y), v_crs), v_area,
                          harta_area_tolerance_m())
    )"""

_DECLARE = f"""
    v_crs integer;
    v_area geometry;
    v_tz text;
    v_from timestamptz;
    v_to timestamptz;
    v_kin integer[];
    v_fine double precision;
    v_threshold integer := GREATEST(COALESCE(p_threshold, {MIN_THRESHOLD}), {MIN_THRESHOLD});"""

# 0005's guards, then the kin and the fine grid of the membership test.
_GUARDS = (
    _R5._GUARDS
    + """    v_kin := harta_kin_ids(p_community_id);
    v_fine := GREATEST(25.0, sqrt(ST_Area(v_area)) / 40.0);
"""
)

_CELL_SIZE = """
    SELECT CASE WHEN p_cell_m IS NULL THEN g.map_cell_m
                WHEN p_cell_m IN (g.analysis_cell_m, g.map_cell_m) THEN p_cell_m END
      INTO v_cell FROM published_grids g WHERE g.community_id = p_community_id;
    IF v_cell IS NULL THEN
        RAISE EXCEPTION 'cell size % is not a published grid of this community', p_cell_m
            USING ERRCODE = '22023';
    END IF;
"""

# Cells listed: those touching the grown area (0007), a set that depends on the area only.
_CELLS = f""", cells AS MATERIALIZED (
        SELECT h.i, h.j, h.geom AS g
          FROM reach AS r, ST_HexagonGrid(v_cell, r.g) AS h
         WHERE ST_Intersects(h.geom, r.g)
    ), placed AS (
        SELECT m.occurred_at, {_CELL_I} AS i, {_CELL_J} AS j
          FROM members AS m{_CELL_JOINS}
"""

_PUBLISHED = _R5._PUBLISHED

_ARGS = f"""
    p_community_id integer,
    p_cell_m double precision DEFAULT NULL,
    p_threshold integer DEFAULT {MIN_THRESHOLD},
    p_date_from timestamptz DEFAULT NULL,
    p_date_to timestamptz DEFAULT NULL,
    p_type_codes text[] DEFAULT NULL,
    p_min_severity integer DEFAULT 1)"""

FUNCTIONS = f"""
CREATE FUNCTION incident_hex_counts({_ARGS}
RETURNS TABLE (cell_id text, geom geometry(Polygon, 4326), count integer, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
#variable_conflict use_column
DECLARE{_DECLARE}
    v_cell double precision;
BEGIN
{_GUARDS}{_CELL_SIZE}
    RETURN QUERY
    WITH {_MEMBERS}{_CELLS}
    ), grouped AS (
        SELECT p.i, p.j, count(*) AS n FROM placed AS p GROUP BY p.i, p.j
    ), x AS (
        SELECT c.i, c.j, c.g, COALESCE(g.n, 0)::integer AS n
          FROM cells AS c LEFT JOIN grouped AS g ON g.i = c.i AND g.j = c.j
    )
    SELECT x.i || ':' || x.j,
           ST_Transform(x.g, 4326)::geometry(Polygon, 4326),
           {_PUBLISHED}
      FROM x ORDER BY x.i, x.j;
END
$$;

-- What incident_hex_counts(community, cell, threshold, m, m + 1 month, types, severity) returns
-- for each month m of [p_date_from, p_date_to), without the geometry, in one pass.
CREATE FUNCTION incident_hex_counts_monthly({_ARGS}
RETURNS TABLE (month_start timestamptz, cell_id text, count integer, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
#variable_conflict use_column
DECLARE{_DECLARE}
    v_cell double precision;
BEGIN
{_GUARDS}{_CELL_SIZE}
    IF p_date_from IS NULL OR p_date_to IS NULL THEN
        RAISE EXCEPTION 'monthly counts need both date bounds' USING ERRCODE = '22023';
    END IF;
    IF p_date_to > p_date_from + interval '{MAX_MONTHS} months' THEN
        RAISE EXCEPTION 'monthly counts cover at most {MAX_MONTHS} months'
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH {_MEMBERS}{_CELLS}
    ), months AS (
        SELECT (s AT TIME ZONE v_tz) AS lo
          FROM generate_series(p_date_from AT TIME ZONE v_tz,
                               v_to AT TIME ZONE v_tz - interval '1 microsecond',
                               interval '1 month') AS s
    ), grouped AS (
        SELECT (date_trunc('month', p.occurred_at AT TIME ZONE v_tz) AT TIME ZONE v_tz) AS lo,
               p.i, p.j, count(*) AS n
          FROM placed AS p GROUP BY 1, 2, 3
    ), x AS (
        SELECT mo.lo, c.i, c.j, COALESCE(g.n, 0)::integer AS n
          FROM months AS mo CROSS JOIN cells AS c
          LEFT JOIN grouped AS g ON g.lo = mo.lo AND g.i = c.i AND g.j = c.j
    )
    SELECT x.lo, x.i || ':' || x.j, {_PUBLISHED}
      FROM x ORDER BY x.lo, x.i, x.j;
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
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
#variable_conflict use_column
DECLARE{_DECLARE}
BEGIN
{_GUARDS}
    RETURN QUERY
    WITH {_MEMBERS}, local AS (
        SELECT (m.occurred_at AT TIME ZONE v_tz) AS t FROM members AS m
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
"""

GRANTS = f"""
REVOKE ALL ON FUNCTION {HEX} FROM PUBLIC;
REVOKE ALL ON FUNCTION {PROFILE} FROM PUBLIC;
REVOKE ALL ON FUNCTION {MONTHLY} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {HEX} TO {APP};
GRANT EXECUTE ON FUNCTION {PROFILE} TO {APP};
GRANT EXECUTE ON FUNCTION {MONTHLY} TO {APP};
REVOKE ALL ON FUNCTION harta_incident_metric_xy() FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_community_metric_changed() FROM PUBLIC;
"""


def upgrade() -> None:
    op.execute(COLUMNS)
    op.execute(f"DROP FUNCTION {HEX}")
    op.execute(f"DROP FUNCTION {PROFILE}")
    op.execute(FUNCTIONS)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {MONTHLY}")
    op.execute(f"DROP FUNCTION {HEX}")
    op.execute(f"DROP FUNCTION {PROFILE}")
    r7 = _revision("0007_membership.py")
    op.execute(r7._aggregates())
    op.execute(r7.GRANTS)
    op.execute("DROP TRIGGER IF EXISTS communities_metric_changed ON communities")
    op.execute("DROP TRIGGER IF EXISTS incidents_metric_xy ON incidents")
    op.execute("DROP FUNCTION IF EXISTS harta_community_metric_changed()")
    op.execute("DROP FUNCTION IF EXISTS harta_incident_metric_xy()")
    op.execute(
        "ALTER TABLE incidents DROP COLUMN metric_srid, DROP COLUMN metric_x, DROP COLUMN metric_y"
    )
