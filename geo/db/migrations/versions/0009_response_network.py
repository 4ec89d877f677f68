"""the response network: responders, their hours and capabilities (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 06:00:00

**Why a table of its own, not more rows in ``facilities``.**  Every role reads ``facilities``
exactly (0002 grants SELECT to all), the Map draws it, and a bus stop or a school is public.  A
*community focal point* is a trained resident's **home**: its exact point must never reach the
public or community roles.  Row security on ``facilities`` would change what every page that
reads it sees; a separate ``responders`` table starts closed instead.  Responders also carry what
facilities do not: weekly availability hours and capabilities.

**Who sees what.**

* The table itself: SELECT for ``harta_mediator`` and ``harta_police`` only, through row
  security limited to the account's communities (``harta_in_scope``), and the schema owner.
  Every other role is refused outright (no grant).
* :func:`harta_responders` (``SECURITY DEFINER``) is the one way everyone else reads them.  A row
  that is not a home (a hospital, a fire station) comes back as stored.  A home
  (``at_home``; every focal point is one) comes back exactly only to the operator and to
  mediators and police whose account covers the row's community; to anyone else it comes back
  as the centre and square of its **published cell**: the
  :func:`harta_responder_cell_m` (250 m) grid anchored at the origin of the metric CRS of the
  row's **own** community -- never of the caller's argument, so asking through the parent, a
  settlement or another community gives the same cell -- with no name and no reference.
* Writes: the owner (imports, bootstrap) directly; app roles through
  :func:`harta_add_responder` and :func:`harta_remove_responder` (mediators, planners and
  admins with a valid account, in their scope).
* ``audit_log`` records responders like every layer, but its rows for ``responders`` hold exact
  homes: ``audit_admin`` no longer shows them (only the owner reads them).

A responder belongs to its community's **family** (the top-level community and all its
settlements): the county hospital serves every settlement of Pata Rât, wherever it stands (the
area test of 0007 would drop every responder that lies in the city).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: Frozen copy of geo.planning.response.responders.KINDS at this revision.
KINDS = (
    "police",
    "fire",
    "ambulance",
    "hospital",
    "clinic",
    "community_focal_point",
    "mediator",
)
SOURCES = ("import", "workshop", "paper", "form", "osm", "gtfs", "demo")
ROLES = ("system", "public", "community", "mediator", "police", "planner", "admin")
APP = ", ".join(f"harta_{r}" for r in ROLES[1:])
CELL_M = 250.0
DEFINER_PATH = "public, pg_temp"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


TABLE = f"""
CREATE TABLE responders (
    id serial PRIMARY KEY,
    community_id integer NOT NULL REFERENCES communities(id),
    kind varchar(32) NOT NULL,
    name text,
    capabilities jsonb NOT NULL DEFAULT '[]'::jsonb,
    hours jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    at_home boolean NOT NULL DEFAULT false,
    placement varchar(16) NOT NULL DEFAULT 'point',
    external_ref text,
    source varchar(16) NOT NULL,
    source_ref text,
    import_id integer REFERENCES imports(id) ON DELETE SET NULL,
    row_hash varchar(64),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by_role varchar(16) NOT NULL,
    is_demo boolean NOT NULL DEFAULT false,
    geom geometry(POINT, 4326) NOT NULL,
    CONSTRAINT responders_source_known CHECK ({_in("source", SOURCES)}),
    CONSTRAINT responders_role_known CHECK ({_in("created_by_role", ROLES)}),
    CONSTRAINT responders_geom_valid CHECK (ST_IsValid(geom)),
    CONSTRAINT responders_kind_known CHECK ({_in("kind", KINDS)}),
    CONSTRAINT responders_focal_point_at_home CHECK (kind <> 'community_focal_point' OR at_home),
    CONSTRAINT responders_placement_known CHECK (placement IN ('point', 'point_on_surface')),
    CONSTRAINT responders_capabilities_array CHECK (jsonb_typeof(capabilities) = 'array'),
    CONSTRAINT responders_hours_object CHECK (jsonb_typeof(hours) = 'object'),
    CONSTRAINT responders_row_once UNIQUE (community_id, row_hash)
);
CREATE INDEX idx_responders_geom ON responders USING gist (geom);
CREATE INDEX responders_community_idx ON responders (community_id);
"""

TRIGGERS = """
CREATE TRIGGER responders_audit_insert AFTER INSERT ON responders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION harta_audit();
CREATE TRIGGER responders_audit_update AFTER UPDATE ON responders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION harta_audit();
CREATE TRIGGER responders_audit_delete AFTER DELETE ON responders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION harta_audit();
CREATE TRIGGER responders_stamp_role BEFORE INSERT ON responders FOR EACH ROW
    WHEN (current_setting('role') <> 'none'
          AND NEW.created_by_role IS DISTINCT FROM substr(current_setting('role'), 7))
    EXECUTE FUNCTION harta_stamp_role();
CREATE TRIGGER responders_keep_role BEFORE UPDATE ON responders FOR EACH ROW
    WHEN (current_setting('role') <> 'none'
          AND NEW.created_by_role IS DISTINCT FROM OLD.created_by_role)
    EXECUTE FUNCTION harta_stamp_role();
"""

FUNCTIONS = f"""
-- Side of the published square cells a home is shown as (metres, >= 200).
CREATE FUNCTION harta_responder_cell_m() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {CELL_M}::double precision $$;

-- Whether the connection may see the exact point of a home of p_community_id.
CREATE FUNCTION harta_responder_exact(p_community_id integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT harta_is_operator()
        OR (harta_acting_role() IN ('mediator', 'police') AND harta_in_scope(p_community_id))
$$;

-- The responders serving p_community_id (its whole family: the top-level community and every
-- settlement), each as the caller may see it: a home outside the caller's right comes back as
-- the centre and the square of its published cell, computed from the row's own community's
-- metric CRS, with no name and no reference.
CREATE FUNCTION harta_responders(p_community_id integer)
RETURNS TABLE (id integer, community_id integer, kind text, name text, capabilities jsonb,
               hours jsonb, at_home boolean, exact boolean, placement text, source text,
               is_demo boolean, geom geometry(Point, 4326), area geometry(Polygon, 4326))
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    WITH root AS (
        SELECT COALESCE(c.parent_id, c.id) AS id FROM communities AS c WHERE c.id = p_community_id
    ), rows AS (
        SELECT r.*, o.metric_crs,
               (NOT r.at_home OR harta_responder_exact(r.community_id)) AS shown
          FROM responders AS r
          JOIN communities AS o ON o.id = r.community_id, root
         WHERE o.id = root.id OR o.parent_id = root.id
    ), cells AS (
        SELECT w.*, ST_Transform(w.geom, w.metric_crs) AS m, harta_responder_cell_m() AS s
          FROM rows AS w
    ), placed AS (
        SELECT c.*, floor(ST_X(c.m) / c.s) * c.s AS x0, floor(ST_Y(c.m) / c.s) * c.s AS y0
          FROM cells AS c
    )
    SELECT p.id, p.community_id, p.kind::text, CASE WHEN p.shown THEN p.name END,
           p.capabilities, p.hours, p.at_home, p.shown, p.placement::text, p.source::text,
           p.is_demo,
           CASE WHEN p.shown THEN p.geom
                ELSE ST_Transform(ST_SetSRID(ST_MakePoint(p.x0 + p.s / 2, p.y0 + p.s / 2),
                                             p.metric_crs), 4326)::geometry(Point, 4326) END,
           CASE WHEN p.shown THEN NULL
                ELSE ST_Transform(ST_MakeEnvelope(p.x0, p.y0, p.x0 + p.s, p.y0 + p.s,
                                                  p.metric_crs), 4326)::geometry(Polygon, 4326)
           END
      FROM placed AS p
     ORDER BY p.id
$$;

-- Place a responder by hand (mediators, planners, admins with a valid account, in scope; the
-- operator).  Returns the new id.
CREATE FUNCTION harta_add_responder(p_community_id integer, p_kind text, p_name text,
    p_at_home boolean, p_capabilities jsonb, p_hours jsonb, p_lon double precision,
    p_lat double precision, p_is_demo boolean DEFAULT false)
RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_role text := harta_acting_role();
    v_id integer;
BEGIN
    IF NOT harta_is_operator() AND NOT (
        v_role IN ('mediator', 'planner', 'admin') AND harta_current_user() IS NOT NULL
        AND (v_role = 'admin' OR harta_in_scope(p_community_id))) THEN
        RAISE EXCEPTION 'this role may not place responders here' USING ERRCODE = '42501';
    END IF;
    INSERT INTO responders (community_id, kind, name, capabilities, hours, at_home, source,
                            source_ref, created_by_role, is_demo, geom)
    VALUES (p_community_id, p_kind, p_name, COALESCE(p_capabilities, '[]'::jsonb),
            COALESCE(p_hours, '{{}}'::jsonb), COALESCE(p_at_home, false) OR p_kind = 'community_focal_point',
            CASE WHEN p_is_demo THEN 'demo' ELSE 'form' END, 'placed by hand',
            COALESCE(v_role, 'system'), COALESCE(p_is_demo, false),
            ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326))
    RETURNING responders.id INTO v_id;
    RETURN v_id;
END
$$;

-- Remove a responder (same rights as placing one).  False when nothing was removed: it does not
-- exist or lies outside the caller's scope (the same answer).
CREATE FUNCTION harta_remove_responder(p_id integer)
RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_role text := harta_acting_role();
    n integer;
BEGIN
    IF NOT harta_is_operator() AND NOT (
        v_role IN ('mediator', 'planner', 'admin') AND harta_current_user() IS NOT NULL) THEN
        RAISE EXCEPTION 'this role may not remove responders' USING ERRCODE = '42501';
    END IF;
    DELETE FROM responders AS r WHERE r.id = p_id
       AND (harta_is_operator() OR v_role = 'admin' OR harta_in_scope(r.community_id));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END
$$;
"""

POLICIES = """
ALTER TABLE responders ENABLE ROW LEVEL SECURITY;
ALTER TABLE responders FORCE ROW LEVEL SECURITY;
CREATE POLICY responders_owner ON responders TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY responders_exact ON responders FOR SELECT TO harta_mediator, harta_police
    USING (harta_in_scope(community_id));
DROP POLICY audit_admin ON audit_log;
CREATE POLICY audit_admin ON audit_log FOR SELECT TO harta_admin
    USING (table_name NOT IN ('incidents', 'responders'));
"""

SIGNATURES = (
    "harta_remove_responder(integer)",
    "harta_add_responder(integer, text, text, boolean, jsonb, jsonb, double precision,"
    " double precision, boolean)",
    "harta_responders(integer)",
    "harta_responder_exact(integer)",
    "harta_responder_cell_m()",
)

GRANTS = f"""
REVOKE ALL ON responders FROM PUBLIC;
GRANT SELECT ON responders TO harta_mediator, harta_police;
REVOKE ALL ON FUNCTION {SIGNATURES[0]}, {SIGNATURES[1]}, {SIGNATURES[2]}, {SIGNATURES[3]}
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {SIGNATURES[2]}, {SIGNATURES[3]} TO {APP};
GRANT EXECUTE ON FUNCTION {SIGNATURES[0]}, {SIGNATURES[1]}
    TO harta_mediator, harta_planner, harta_admin;
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(TRIGGERS)
    op.execute(FUNCTIONS)
    op.execute(POLICIES)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS audit_admin ON audit_log")
    op.execute(
        "CREATE POLICY audit_admin ON audit_log FOR SELECT TO harta_admin"
        " USING (table_name <> 'incidents')"
    )
    for signature in SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("DROP TABLE IF EXISTS responders")
