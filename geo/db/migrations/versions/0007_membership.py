"""membership of a row in a community decided once; one near-duplicate rule (issue 9; owner: communities)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00

Which rows belong to a community was written six times: the Python views included the parent's
rows, ``incident_hex_counts`` did not, so police on Dallas's page saw a Pata Rât-level incident
inside Dallas that Dallas's public counts left out.  From this revision the database decides it,
once, and everything reads the decision:

**The membership rule.**  A row of a table with ``community_id`` and ``geom`` belongs to
community *C* when both hold:

1. *Kin*: its ``community_id`` is *C*, one of *C*'s settlements, or *C*'s parent
   (:func:`harta_kin_ids`).  A sibling settlement's rows never belong to *C*.
2. *Place*: its geometry lies within the area tolerance (:func:`harta_area_tolerance_m`, 25 m:
   the digitising error of a hand-drawn boundary plus a phone's GPS error) of *C*'s area,
   measured in *C*'s metric CRS (:func:`harta_near_area`).

So a settlement's rows belong to it and to its parent (where they lie in the parent's area); a
parent-level row belongs to a settlement exactly when it lies inside the settlement (within
25 m); a row that a redrawn area left outside belongs to no community until it is moved.
:func:`harta_member_rows` (``SECURITY INVOKER``: row-level security and grants of the caller
apply) returns the member rows of any such table with their metric geometry; the views, the
incident form, the near-duplicate search and both aggregates read it.  Row security (0004's
``community_id`` scope) is unchanged and applies on top.

**Aggregates.**  ``incident_hex_counts`` and ``incident_time_profile`` are 0005's (same guards,
published grids and months, rounding and suppression; the SQL text is 0005's) with the member
rows as their input.  The hexagon cells listed are those touching the area grown by the tolerance
plus 1 m (the buffer's chords lie inside the true 25 m), a set that depends on the area only, so
every member incident falls in a listed cell and no cell's presence depends on the data.

**Near duplicates.**  Incidents of the same type within :func:`harta_duplicate_distance_m`
(25 m, in the community's metric CRS) and :func:`harta_duplicate_minutes` (30 min):
:func:`harta_near_duplicates` compares new rows with each other and with the stored member
incidents the caller may read.  The form and the file import both call it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AREA_TOLERANCE_M = 25.0
DUPLICATE_DISTANCE_M = 25.0
DUPLICATE_MINUTES = 30.0
DEFINER_PATH = "public, pg_temp"


def _revision(name: str):
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"harta_revision_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_R5 = _revision("0005_published_aggregates.py")
HEX, PROFILE, APP = _R5.HEX, _R5.PROFILE, _R5.APP
MEMBERS = "harta_member_rows(integer, regclass)"
NEAR = (
    "harta_near_duplicates(integer, text[], timestamptz[], double precision[], double precision[])"
)

RULE = f"""
-- The one area tolerance of Harta, metres (geo.communities.AREA_TOLERANCE_M mirrors it; a test
-- checks they agree).
CREATE FUNCTION harta_area_tolerance_m() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {AREA_TOLERANCE_M}::double precision $$;

-- Place: a metric geometry within the tolerance of a metric area.  No SET clause, so that the
-- planner inlines it into the queries that call it once per row.
CREATE FUNCTION harta_near_area(p_metric geometry, p_metric_area geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT public.ST_DWithin(p_metric, p_metric_area, public.harta_area_tolerance_m())
$$;

-- Kin: the communities whose rows may belong to p_community_id -- itself, its settlements, its
-- parent.  Empty for an unknown community.
CREATE FUNCTION harta_kin_ids(p_community_id integer) RETURNS integer[]
LANGUAGE sql STABLE SET search_path = {DEFINER_PATH} AS $$
    SELECT COALESCE(array_agg(k.id ORDER BY k.id), '{{}}'::integer[])
      FROM communities AS k, communities AS c
     WHERE c.id = p_community_id
       AND (k.id = c.id OR k.parent_id = c.id OR k.id = c.parent_id)
$$;

-- The membership rule (module docstring of migration 0007): the rows of p_table that belong to
-- p_community_id, with their geometry in its metric CRS.  Runs with the caller's rights.
CREATE FUNCTION harta_member_rows(p_community_id integer, p_table regclass)
RETURNS TABLE (id bigint, metric geometry)
LANGUAGE plpgsql STABLE SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_crs integer;
    v_area geometry;
BEGIN
    SELECT c.metric_crs, ST_Transform(c.geom, c.metric_crs) INTO v_crs, v_area
      FROM communities AS c WHERE c.id = p_community_id;
    IF v_crs IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT t.id::bigint, m.g FROM %s AS t'
        ' CROSS JOIN LATERAL (SELECT ST_Transform(t.geom, $1) AS g) AS m'
        ' WHERE t.community_id = ANY ($3) AND harta_near_area(m.g, $2)', p_table)
    USING v_crs, v_area, harta_kin_ids(p_community_id);
END
$$;

-- Place, for one geometry: whether it lies within the tolerance of the community's area, and
-- how far outside the area it lies (metres, 0 inside).
CREATE FUNCTION harta_within_area(p_community_id integer, p_geom geometry) RETURNS boolean
LANGUAGE sql STABLE SET search_path = {DEFINER_PATH} AS $$
    SELECT harta_near_area(ST_Transform(ST_SetSRID(p_geom, 4326), c.metric_crs),
                           ST_Transform(c.geom, c.metric_crs))
      FROM communities AS c WHERE c.id = p_community_id
$$;
CREATE FUNCTION harta_distance_outside_m(p_community_id integer, p_geom geometry)
RETURNS double precision
LANGUAGE sql STABLE SET search_path = {DEFINER_PATH} AS $$
    SELECT ST_Distance(ST_Transform(ST_SetSRID(p_geom, 4326), c.metric_crs),
                       ST_Transform(c.geom, c.metric_crs))
      FROM communities AS c WHERE c.id = p_community_id
$$;
"""

DUPLICATES = f"""
CREATE FUNCTION harta_duplicate_distance_m() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {DUPLICATE_DISTANCE_M}::double precision $$;
CREATE FUNCTION harta_duplicate_minutes() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {DUPLICATE_MINUTES}::double precision $$;

-- The near-duplicate rule: same type, within harta_duplicate_distance_m() metres (community's
-- metric CRS) and harta_duplicate_minutes() minutes.  New row n (1-based, in array order) is
-- paired with every earlier new row (other_row) and every stored member incident the caller may
-- read (other_id).  Runs with the caller's rights: roles that may not read incidents get an
-- error, never a count.
CREATE FUNCTION harta_near_duplicates(p_community_id integer, p_types text[],
    p_times timestamptz[], p_lons double precision[], p_lats double precision[])
RETURNS TABLE (row_no integer, other_row integer, other_id bigint,
               metres double precision, minutes double precision)
LANGUAGE sql STABLE SET search_path = {DEFINER_PATH} AS $$
    WITH fresh AS MATERIALIZED (
        SELECT n.o::integer AS row_no, n.t AS type_code, n.at,
               ST_Transform(ST_SetSRID(ST_MakePoint(n.x, n.y), 4326), c.metric_crs) AS g
          FROM communities AS c,
               unnest(p_types, p_times, p_lons, p_lats) WITH ORDINALITY AS n(t, at, x, y, o)
         WHERE c.id = p_community_id
    ), span AS (
        SELECT min(at) - make_interval(mins => harta_duplicate_minutes()::integer) AS lo,
               max(at) + make_interval(mins => harta_duplicate_minutes()::integer) AS hi
          FROM fresh
    ), stored AS MATERIALIZED (
        SELECT i.id, i.type_code, i.occurred_at AS at, m.metric AS g
          FROM harta_member_rows(p_community_id, 'incidents') AS m
          JOIN incidents AS i ON i.id = m.id, span
         WHERE i.occurred_at BETWEEN span.lo AND span.hi
    ), pairs AS (
        SELECT a.row_no, b.row_no AS other_row, NULL::bigint AS other_id, a.g AS ga, b.g AS gb,
               a.at AS ta, b.at AS tb
          FROM fresh AS a JOIN fresh AS b ON b.row_no < a.row_no AND b.type_code = a.type_code
        UNION ALL
        SELECT a.row_no, NULL, s.id, a.g, s.g, a.at, s.at
          FROM fresh AS a JOIN stored AS s ON s.type_code = a.type_code
    )
    SELECT p.row_no, p.other_row, p.other_id, ST_Distance(p.ga, p.gb),
           abs(extract(epoch FROM p.ta - p.tb)) / 60.0
      FROM pairs AS p
     WHERE ST_DWithin(p.ga, p.gb, harta_duplicate_distance_m())
       AND abs(extract(epoch FROM p.ta - p.tb)) <= 60.0 * harta_duplicate_minutes()
     ORDER BY 1, 4, 5, 3, 2
$$;
"""

# 0005's input (the community's and its settlements' incidents, then a point-in-area test)
# replaced by the member rows; every other rule is 0005's text.
_FILTERED = """
        SELECT i.occurred_at, ST_X(m.metric) AS x, ST_Y(m.metric) AS y
          FROM harta_member_rows(p_community_id, 'incidents') AS m
          JOIN incidents AS i ON i.id = m.id
         WHERE NOT harta_is_sensitive(i.type_code, i.sensitivity)
           AND i.status <> 'withdrawn'
           AND i.occurred_at >= v_from AND i.occurred_at < v_to
           AND (p_type_codes IS NULL OR i.type_code = ANY(p_type_codes))
           AND i.severity >= COALESCE(p_min_severity, 1)
"""

_OLD_CELLS = """    WITH cells AS MATERIALIZED (
        -- Cells wholly inside the area need no point-in-area test for their points.
        SELECT h.i, h.j, h.geom AS g, ST_Within(h.geom, v_area) AS inner
          FROM ST_HexagonGrid(v_cell, v_area) AS h
         WHERE ST_Intersects(h.geom, v_area)
    ),"""
_NEW_CELLS = """    WITH reach AS MATERIALIZED (
        -- The area grown by the tolerance (+1 m for the buffer's chords): every member lies in
        -- it, so every member's cell is listed; which cells are listed depends on the area only.
        SELECT ST_Buffer(v_area, harta_area_tolerance_m() + 1.0) AS g
    ), cells AS MATERIALIZED (
        SELECT h.i, h.j, h.geom AS g
          FROM reach AS r, ST_HexagonGrid(v_cell, r.g) AS h
         WHERE ST_Intersects(h.geom, r.g)
    ),"""
_OLD_JOIN = """          LEFT JOIN placed AS p ON p.i = c.i AND p.j = c.j
               AND (c.inner OR ST_Intersects(ST_SetSRID(ST_MakePoint(p.x, p.y), v_crs), v_area))"""
_NEW_JOIN = """          LEFT JOIN placed AS p ON p.i = c.i AND p.j = c.j"""


def _aggregates() -> str:
    """0005's two aggregate functions, reading the member rows."""
    functions = _R5.FUNCTIONS
    start = functions.index("CREATE FUNCTION incident_hex_counts(")
    end = functions.index("-- The one way to change what a community's aggregates count")
    sql = functions[start:end]
    for old, new in (
        (_R5._COUNTED, _FILTERED),
        (_R5._FILTERED, _FILTERED),
        (_OLD_CELLS, _NEW_CELLS),
        (_OLD_JOIN, _NEW_JOIN),
    ):
        if old not in sql:
            raise RuntimeError("0005's aggregate SQL changed: update migration 0007")
        sql = sql.replace(old, new)
    return sql


GRANTS = f"""
REVOKE ALL ON FUNCTION {HEX} FROM PUBLIC;
REVOKE ALL ON FUNCTION {PROFILE} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {HEX} TO {APP};
GRANT EXECUTE ON FUNCTION {PROFILE} TO {APP};
"""

NEW_FUNCTIONS = (
    NEAR,
    "harta_duplicate_minutes()",
    "harta_duplicate_distance_m()",
    "harta_distance_outside_m(integer, geometry)",
    "harta_within_area(integer, geometry)",
    MEMBERS,
    "harta_kin_ids(integer)",
    "harta_near_area(geometry, geometry)",
    "harta_area_tolerance_m()",
)


def upgrade() -> None:
    op.execute(RULE)
    op.execute(DUPLICATES)
    op.execute(f"DROP FUNCTION {HEX}")
    op.execute(f"DROP FUNCTION {PROFILE}")
    op.execute(_aggregates())
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {HEX}")
    op.execute(f"DROP FUNCTION {PROFILE}")
    functions = _R5.FUNCTIONS
    start = functions.index("CREATE FUNCTION incident_hex_counts(")
    end = functions.index("-- The one way to change what a community's aggregates count")
    op.execute(functions[start:end])
    op.execute(GRANTS)
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
