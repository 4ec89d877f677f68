"""roles, row-level security, accounts, access and purge logs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00

What this revision enforces in the database itself (see ``docs/security.md``):

* NOLOGIN group roles ``harta_public``, ``harta_community``, ``harta_mediator``,
  ``harta_police``, ``harta_planner``, ``harta_admin`` and the internal ``harta_auth`` (used only
  while checking a password).  Roles are cluster-wide and shared by every database of the
  cluster, so they are created only when missing and never dropped by ``downgrade``.
* Least-privilege grants per table.  Nobody but police and mediators may read ``incidents`` at
  all (so ``narrative`` is unreadable for everyone else); row-level security hides sensitive
  incident types from mediators.
* ``users``, ``user_communities``, ``access_log`` (append-only) and ``purge_log`` (append-only).
* ``incident_hex_counts(...)``: SECURITY DEFINER aggregation with small counts suppressed, the
  only way public, community, planner and admin sessions learn anything about incidents.
  Sensitive types are *excluded* from it (not merely hidden among the totals): counting them in
  totals while allowing a type filter would let anyone recover them by subtraction.
* ``harta_withdraw`` and ``harta_purge_incidents``: the consent-withdrawal and retention paths.
  Both redact the audit trail of the removed rows; the append-only trigger of ``audit_log`` now
  allows exactly one kind of UPDATE, the redaction, and nothing else.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APP_ROLES = ("public", "community", "mediator", "police", "planner", "admin")
DB_ROLES = tuple(f"harta_{r}" for r in APP_ROLES) + ("harta_auth",)
ALL_APP = ", ".join(f"harta_{r}" for r in APP_ROLES)

# Frozen copy of geo.privacy.SENSITIVE_TYPES at the time of this revision; a test checks that the
# database and the Python rules agree.  Changing the set needs a new revision.
SENSITIVE_TYPES = ("domestic_violence", "sexual_violence", "child_protection")
#: Floors the aggregation enforces whatever the caller asks for.
MIN_THRESHOLD = 5
MIN_CELL_M = 100
MAX_CELL_M = 5000

CREATE_ROLES = """
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[{names}] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database in this cluster
            END;
        END IF;
        -- The migrating user (the owner of the schema) may assume every group role.
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           AND NOT pg_has_role(current_user, r, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', r, current_user);
        END IF;
    END LOOP;
END
$roles$;
""".format(names=", ".join(f"'{r}'" for r in DB_ROLES))

NEW_TABLES = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    username varchar(64) NOT NULL,
    password_hash text NOT NULL,
    role varchar(16) NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_username_form CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    CONSTRAINT users_role_known CHECK (role IN ('public', 'community', 'mediator', 'police', 'planner', 'admin')),
    CONSTRAINT users_hash_argon2 CHECK (password_hash LIKE '$argon2id$%'),
    CONSTRAINT users_failed_logins_positive CHECK (failed_logins >= 0)
);
CREATE TABLE user_communities (
    user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    community_id integer NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, community_id)
);
CREATE TABLE access_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    username text,
    role varchar(16) NOT NULL,
    action varchar(32) NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    db_user text NOT NULL DEFAULT session_user,
    CONSTRAINT access_log_role_known CHECK (role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')),
    CONSTRAINT access_log_action_known CHECK (action IN ('view_exact', 'view_narrative', 'export', 'withdraw', 'purge', 'backup', 'restore'))
);
CREATE INDEX access_log_at_idx ON access_log (at);
CREATE TABLE purge_log (
    id serial PRIMARY KEY,
    purged_at timestamptz NOT NULL DEFAULT now(),
    older_than_days integer NOT NULL,
    cutoff timestamptz NOT NULL,
    rows_deleted integer NOT NULL,
    by_community jsonb NOT NULL DEFAULT '{}'::jsonb,
    app_role text,
    db_user text NOT NULL DEFAULT session_user
);
"""

FUNCTIONS = """
CREATE OR REPLACE FUNCTION harta_is_sensitive(p_type_code text, p_sensitivity text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_type_code IN ({sensitive}) OR COALESCE(p_sensitivity, 'normal') <> 'normal'
$$;

-- What remains of a row in the audit trail once it was withdrawn or purged.
CREATE OR REPLACE FUNCTION harta_redacted(j jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN j IS NULL THEN NULL
           ELSE jsonb_build_object('id', j -> 'id', 'community_id', j -> 'community_id',
                                   'redacted', true) END
$$;

-- audit_log stays append-only; the one UPDATE allowed is replacing old_row/new_row by their
-- redaction, and only inside harta_redact_audit (which sets harta.audit_redaction).
CREATE OR REPLACE FUNCTION harta_audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('harta.audit_redaction', true) = 'on'
       AND NEW.id = OLD.id AND NEW.table_name = OLD.table_name
       AND NEW.operation = OLD.operation AND NEW.row_id IS NOT DISTINCT FROM OLD.row_id
       AND NEW.changed_at = OLD.changed_at AND NEW.db_user = OLD.db_user
       AND NEW.app_role IS NOT DISTINCT FROM OLD.app_role
       AND NEW.old_row IS NOT DISTINCT FROM harta_redacted(OLD.old_row)
       AND NEW.new_row IS NOT DISTINCT FROM harta_redacted(OLD.new_row) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE OR REPLACE FUNCTION harta_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE OR REPLACE FUNCTION harta_redact_audit(p_table text, p_ids bigint[])
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    IF p_table NOT IN ('risk_zones', 'incidents') THEN
        RAISE EXCEPTION 'cannot redact %', p_table USING ERRCODE = '22023';
    END IF;
    -- Only rows that no longer exist may have their history redacted.
    IF p_table = 'risk_zones' AND EXISTS (SELECT 1 FROM risk_zones WHERE id = ANY(p_ids))
       OR p_table = 'incidents' AND EXISTS (SELECT 1 FROM incidents WHERE id = ANY(p_ids)) THEN
        RAISE EXCEPTION 'only removed rows can be redacted' USING ERRCODE = '22023';
    END IF;
    PERFORM set_config('harta.audit_redaction', 'on', true);
    UPDATE audit_log SET old_row = harta_redacted(old_row), new_row = harta_redacted(new_row)
     WHERE table_name = p_table AND row_id = ANY(p_ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('harta.audit_redaction', 'off', true);
    RETURN n;
END
$$;

-- Consent withdrawal: delete the contribution, redact its history.  Returns false when the row
-- does not exist (already withdrawn or purged).
CREATE OR REPLACE FUNCTION harta_withdraw(p_table text, p_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    IF p_table = 'risk_zones' THEN
        DELETE FROM risk_zones WHERE id = p_id;
    ELSIF p_table = 'incidents' THEN
        DELETE FROM incidents WHERE id = p_id;
    ELSE
        RAISE EXCEPTION 'cannot withdraw from %', p_table USING ERRCODE = '22023';
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM harta_redact_audit(p_table, ARRAY[p_id]);
    RETURN n > 0;
END
$$;

-- Retention: delete incidents that occurred before p_cutoff, redact their history and record
-- how many went in purge_log.  Returns the purge_log id.
CREATE OR REPLACE FUNCTION harta_purge_incidents(p_cutoff timestamptz, p_older_than_days integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_ids bigint[];
    v_by jsonb;
    v_log integer;
BEGIN
    WITH gone AS (
        DELETE FROM incidents WHERE occurred_at < p_cutoff RETURNING id, community_id
    )
    SELECT COALESCE(array_agg(id), '{{}}'), COALESCE(
               (SELECT jsonb_object_agg(community_id::text, n)
                  FROM (SELECT community_id, count(*) AS n FROM gone GROUP BY community_id) g),
               '{{}}'::jsonb)
      INTO v_ids, v_by FROM gone;
    PERFORM harta_redact_audit('incidents', v_ids);
    INSERT INTO purge_log (older_than_days, cutoff, rows_deleted, by_community, app_role)
    VALUES (p_older_than_days, p_cutoff, cardinality(v_ids), v_by,
            NULLIF(current_setting('harta.role', true), ''))
    RETURNING id INTO v_log;
    RETURN v_log;
END
$$;

-- Hexagon counts of incidents for roles that may not see points.  Cells cover the community's
-- area (ST_HexagonGrid in its metric CRS, anchored at the CRS origin so cells are stable between
-- calls); a cell with fewer than the threshold incidents, including none, has a NULL count and
-- suppressed = true, so a suppressed cell cannot be told apart from an empty one.  Sensitive
-- types are never counted.  The threshold and the cell size cannot be lowered below the floors.
CREATE OR REPLACE FUNCTION incident_hex_counts(
    p_community_id integer,
    p_cell_m double precision DEFAULT 300,
    p_threshold integer DEFAULT {min_threshold},
    p_date_from timestamptz DEFAULT NULL,
    p_date_to timestamptz DEFAULT NULL,
    p_type_codes text[] DEFAULT NULL)
RETURNS TABLE (cell_id text, geom geometry(Polygon, 4326), count integer, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_crs integer;
    v_area geometry;
    v_threshold integer := GREATEST(COALESCE(p_threshold, {min_threshold}), {min_threshold});
BEGIN
    IF p_cell_m IS NULL OR p_cell_m < {min_cell} OR p_cell_m > {max_cell} THEN
        RAISE EXCEPTION 'cell size must be between {min_cell} and {max_cell} metres'
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
    ), pts AS (
        SELECT ST_Transform(i.geom, v_crs) AS g FROM incidents AS i
         WHERE (i.community_id = p_community_id
                OR i.community_id IN (SELECT s.id FROM communities AS s
                                       WHERE s.parent_id = p_community_id))
           AND NOT harta_is_sensitive(i.type_code, i.sensitivity)
           AND i.status <> 'withdrawn'
           AND (p_date_from IS NULL OR i.occurred_at >= p_date_from)
           AND (p_date_to IS NULL OR i.occurred_at < p_date_to)
           AND (p_type_codes IS NULL OR i.type_code = ANY(p_type_codes))
    ), placed AS (
        -- Each point in exactly one cell, even on a shared edge.
        SELECT (SELECT c.i || ':' || c.j FROM cells AS c WHERE ST_Intersects(c.g, p.g)
                 ORDER BY c.i, c.j LIMIT 1) AS k
          FROM pts AS p WHERE ST_Intersects(p.g, v_area)
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
""".format(
    sensitive=", ".join(f"'{t}'" for t in SENSITIVE_TYPES),
    min_threshold=MIN_THRESHOLD,
    min_cell=MIN_CELL_M,
    max_cell=MAX_CELL_M,
)

TRIGGERS = """
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION harta_append_only();
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION harta_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION harta_append_only();
CREATE TRIGGER purge_log_append_only BEFORE UPDATE OR DELETE ON purge_log
    FOR EACH ROW EXECUTE FUNCTION harta_append_only();
CREATE TRIGGER purge_log_no_truncate BEFORE TRUNCATE ON purge_log
    FOR EACH STATEMENT EXECUTE FUNCTION harta_append_only();
"""

# Row-level security.  FORCE makes the table owner subject to the policies too; its access is
# then an explicit, visible policy (needed by migrations, the CLI and the SECURITY DEFINER
# functions above) instead of a silent bypass.  Superusers bypass RLS regardless.
POLICIES = """
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY incidents_owner ON incidents TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY incidents_police ON incidents TO harta_police USING (true) WITH CHECK (true);
CREATE POLICY incidents_mediator_read ON incidents FOR SELECT TO harta_mediator
    USING (NOT harta_is_sensitive(type_code, sensitivity));
CREATE POLICY incidents_mediator_update ON incidents FOR UPDATE TO harta_mediator
    USING (NOT harta_is_sensitive(type_code, sensitivity)) WITH CHECK (true);
CREATE POLICY incidents_record ON incidents FOR INSERT TO harta_mediator, harta_admin
    WITH CHECK (true);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_admin ON audit_log FOR SELECT TO harta_admin
    USING (table_name <> 'incidents');
CREATE POLICY audit_police ON audit_log FOR SELECT TO harta_police
    USING (table_name = 'incidents');
"""

USER_COLUMNS_VISIBLE = (
    "id, username, role, active, created_at, last_login_at, failed_logins, locked_until,"
    " password_changed_at"
)

GRANTS = f"""
REVOKE ALL ON FUNCTION harta_redact_audit(text, bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_withdraw(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_purge_incidents(timestamptz, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION incident_hex_counts(integer, double precision, integer, timestamptz, timestamptz, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_audit() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION incident_hex_counts(integer, double precision, integer, timestamptz, timestamptz, text[]) TO {ALL_APP};
GRANT EXECUTE ON FUNCTION harta_withdraw(text, bigint) TO harta_admin;
GRANT EXECUTE ON FUNCTION harta_purge_incidents(timestamptz, integer) TO harta_admin;

GRANT SELECT ON communities, workshops, risk_zones, facilities, streets, places TO {ALL_APP};
GRANT INSERT, UPDATE, DELETE ON communities, workshops, risk_zones, facilities, streets, places, imports, analysis_runs TO harta_admin;
GRANT INSERT, UPDATE ON workshops TO harta_mediator;
GRANT INSERT ON risk_zones TO harta_community, harta_mediator;
GRANT UPDATE ON risk_zones TO harta_mediator;

GRANT SELECT, INSERT, UPDATE ON incidents TO harta_police, harta_mediator;
GRANT INSERT ON incidents TO harta_admin;

GRANT SELECT, INSERT, UPDATE ON imports TO harta_community, harta_mediator, harta_police, harta_admin;
GRANT SELECT, INSERT, UPDATE ON analysis_runs TO harta_mediator, harta_police, harta_planner, harta_admin;

GRANT SELECT ON audit_log TO harta_admin, harta_police;
GRANT INSERT ON access_log TO {ALL_APP};
GRANT SELECT ON access_log, purge_log TO harta_admin;

GRANT SELECT ({USER_COLUMNS_VISIBLE}) ON users TO harta_admin;
GRANT INSERT, UPDATE, DELETE ON users TO harta_admin;
GRANT SELECT, INSERT, DELETE ON user_communities TO harta_admin;
GRANT SELECT (id, username, password_hash, role, active, failed_logins, locked_until) ON users TO harta_auth;
GRANT UPDATE (failed_logins, locked_until, last_login_at, password_hash) ON users TO harta_auth;
GRANT SELECT ON user_communities TO harta_auth;

GRANT USAGE ON SEQUENCE communities_id_seq, workshops_id_seq, risk_zones_id_seq, facilities_id_seq, streets_id_seq, places_id_seq, imports_id_seq, analysis_runs_id_seq, users_id_seq TO harta_admin;
GRANT USAGE ON SEQUENCE workshops_id_seq TO harta_mediator;
GRANT USAGE ON SEQUENCE risk_zones_id_seq TO harta_community, harta_mediator;
GRANT USAGE ON SEQUENCE incidents_id_seq TO harta_police, harta_mediator, harta_admin;
GRANT USAGE ON SEQUENCE imports_id_seq TO harta_community, harta_mediator, harta_police;
GRANT USAGE ON SEQUENCE analysis_runs_id_seq TO harta_mediator, harta_police, harta_planner;
GRANT USAGE ON SEQUENCE access_log_id_seq TO {ALL_APP};
"""

NEW_FUNCTIONS = (
    "incident_hex_counts(integer, double precision, integer, timestamptz, timestamptz, text[])",
    "harta_purge_incidents(timestamptz, integer)",
    "harta_withdraw(text, bigint)",
    "harta_redact_audit(text, bigint[])",
    "harta_append_only()",
    "harta_redacted(jsonb)",
    "harta_is_sensitive(text, text)",
)

GRANTED_TABLES = (
    "communities",
    "workshops",
    "risk_zones",
    "facilities",
    "streets",
    "places",
    "imports",
    "analysis_runs",
    "incidents",
    "audit_log",
)

ORIGINAL_AUDIT_IMMUTABLE = """
CREATE OR REPLACE FUNCTION harta_audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
"""


def upgrade() -> None:
    op.execute(CREATE_ROLES)
    op.execute(NEW_TABLES)
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    op.execute(POLICIES)
    op.execute(GRANTS)


def downgrade() -> None:
    # Roles are cluster-wide and may serve other databases: they stay.
    roles = ", ".join(DB_ROLES)
    for table in GRANTED_TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {roles}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {roles}")
    for policy, table in (
        ("incidents_owner", "incidents"),
        ("incidents_police", "incidents"),
        ("incidents_mediator_read", "incidents"),
        ("incidents_mediator_update", "incidents"),
        ("incidents_record", "incidents"),
        ("audit_admin", "audit_log"),
        ("audit_police", "audit_log"),
    ):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
    op.execute("ALTER TABLE incidents NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE incidents DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TABLE IF EXISTS purge_log, access_log, user_communities, users")
    op.execute(ORIGINAL_AUDIT_IMMUTABLE)
    for function in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
