"""identity, community scope in policies, logs written by definer functions, tombstones (issue 8)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:00:00

Until 0003 the database knew only *which role* a connection acted as; who the person was, and
which communities they may see, lived in the app's session.  This revision makes the database
hold even when the app forgets (see ``docs/security.md``):

* **Identity.**  ``harta_current_user()`` returns the ``users.id`` named by the connection's
  ``harta.user_id`` setting only when that account is active, not locked, and its ``users.role``
  is the role the connection acts as (``SET ROLE harta_<role>``).  Deactivating, locking or
  demoting an account therefore takes its rights away from connections that are already open.
* **Community scope.**  ``harta_scope_ids()`` is the account's communities and their
  settlements (every community for admin, none without a valid account).  The incident policies
  of police and mediators (read, update, insert) require it: a connection without a valid
  account sees no incident at all.  The same scope limits the police's reading of the incidents'
  audit trail and of incident import reports.
* **Analysis runs** get row security: a run is visible only when the run's scope
  (``params->>'scope'``: aggregated < exact < all) is covered by the role's, and runs of exact
  scopes only to an account whose scope includes the run's community.
* **Logs.**  Every SECURITY DEFINER function gets ``search_path = public, pg_temp`` (``pg_temp``
  last, so a temporary table cannot stand in for ``audit_log``).  ``access_log`` is written only
  by ``harta_log_access(action, detail)``, which stamps the time, the account and the role from
  the connection itself; app roles lose INSERT on the table.
* **Tombstones.**  Withdrawn and purged rows leave ``(layer, community_id, row_hash)`` in
  ``harta_tombstones`` (readable by nobody but the owner); a trigger refuses to insert a
  tombstoned row again, and ``harta_withdrawn_hashes`` lets the importer report such rows.
* **Withdrawal and purge.**  ``harta_withdraw(table, id)`` is open to admin, and to police and
  mediators for incidents in their scope (a mediator only for non-sensitive ones); what is out of
  scope is answered exactly like a row that does not exist.  ``harta_purge_incidents(days)``
  derives the cutoff from the days itself (the two-argument version is dropped).  Both require a
  valid account, or the operator (the schema owner's own connection, no ``SET ROLE``).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APP_ROLES = ("public", "community", "mediator", "police", "planner", "admin")
APP = ", ".join(f"harta_{r}" for r in APP_ROLES)
#: Roles whose account sees every community (as ``UNSCOPED_ROLES`` in app/harta_ui.py).
UNSCOPED = ("admin",)
DEFINER_PATH = "public, pg_temp"

IDENTITY = f"""
-- The application role the connection acts as ('police' for SET ROLE harta_police), or NULL.
-- current_setting('role') is the SET ROLE value even inside a SECURITY DEFINER function, where
-- current_user is the function's owner.
CREATE FUNCTION harta_acting_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT CASE WHEN current_setting('role') IN ({", ".join(f"'harta_{r}'" for r in APP_ROLES)})
                THEN substr(current_setting('role'), 7) END
$$;

-- The schema owner's own connection (no SET ROLE): migrations, cron purges, the operator CLI.
CREATE FUNCTION harta_is_operator() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT current_setting('role') = 'none'
       AND (session_user = current_user
            OR COALESCE((SELECT r.rolsuper FROM pg_roles AS r WHERE r.rolname = session_user),
                        false))
$$;

-- The account the connection acts for, only if it is active, not locked, and holds the role the
-- connection acts as; otherwise NULL.  Re-read on every statement: no cache to go stale.
CREATE FUNCTION harta_current_user() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT u.id FROM users AS u
     WHERE u.id = (SELECT CASE WHEN s ~ '^[0-9]{{1,9}}$' THEN s::integer END
                     FROM COALESCE(current_setting('harta.user_id', true), '') AS s)
       AND u.active
       AND (u.locked_until IS NULL OR u.locked_until <= now())
       AND 'harta_' || u.role = current_setting('role')
$$;

-- Communities the current account may see: its own and their settlements; every community for
-- unscoped roles; none without a valid account.
CREATE FUNCTION harta_scope_ids() RETURNS integer[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    WITH me AS (
        SELECT u.id, u.role FROM users AS u WHERE u.id = harta_current_user()
    )
    SELECT COALESCE(array_agg(c.id ORDER BY c.id), '{{}}'::integer[])
      FROM communities AS c
     WHERE EXISTS (SELECT 1 FROM me WHERE me.role IN ({", ".join(f"'{r}'" for r in UNSCOPED)}))
        OR EXISTS (SELECT 1 FROM me JOIN user_communities AS uc ON uc.user_id = me.id
                    WHERE uc.community_id = c.id OR uc.community_id = c.parent_id)
$$;

CREATE FUNCTION harta_in_scope(p_community_id integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT p_community_id IS NOT NULL AND p_community_id = ANY(harta_scope_ids())
$$;

-- Analysis runs: aggregated runs are for everyone; runs of exact scopes only for a valid
-- account of a role covering the scope, in the account's communities.
CREATE FUNCTION harta_run_visible(p_scope text, p_community_id integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT CASE COALESCE(p_scope, 'all')
             WHEN 'aggregated' THEN true
             WHEN 'exact' THEN harta_acting_role() IN ('mediator', 'police')
                               AND harta_in_scope(p_community_id)
             WHEN 'all' THEN harta_acting_role() = 'police' AND harta_in_scope(p_community_id)
             ELSE false
           END
$$;
"""

SCOPE = "community_id = ANY ((SELECT harta_scope_ids())::integer[])"
HAS_ACCOUNT = "(SELECT harta_current_user()) IS NOT NULL"
AUDIT_COMMUNITY = "(COALESCE(new_row, old_row) ->> 'community_id')::integer"
INCIDENT_IMPORTS = (
    f"layer <> 'incidents'"
    f" OR (harta_acting_role() IN ('police', 'mediator') AND {SCOPE})"
    f" OR (harta_acting_role() = 'admin' AND created_by_role = 'admin' AND {HAS_ACCOUNT})"
)
RUN_VISIBLE = "harta_run_visible(params ->> 'scope', community_id)"

POLICIES = f"""
DROP POLICY incidents_police ON incidents;
DROP POLICY incidents_mediator_read ON incidents;
DROP POLICY incidents_mediator_update ON incidents;
DROP POLICY incidents_record ON incidents;
CREATE POLICY incidents_police ON incidents TO harta_police
    USING ({SCOPE}) WITH CHECK ({SCOPE});
CREATE POLICY incidents_mediator_read ON incidents FOR SELECT TO harta_mediator
    USING (NOT harta_is_sensitive(type_code, sensitivity) AND {SCOPE});
CREATE POLICY incidents_mediator_update ON incidents FOR UPDATE TO harta_mediator
    USING (NOT harta_is_sensitive(type_code, sensitivity) AND {SCOPE}) WITH CHECK ({SCOPE});
CREATE POLICY incidents_mediator_record ON incidents FOR INSERT TO harta_mediator
    WITH CHECK ({SCOPE});
CREATE POLICY incidents_admin_record ON incidents FOR INSERT TO harta_admin
    WITH CHECK ({HAS_ACCOUNT});

DROP POLICY audit_police ON audit_log;
CREATE POLICY audit_police ON audit_log FOR SELECT TO harta_police
    USING (table_name = 'incidents' AND {AUDIT_COMMUNITY} = ANY ((SELECT harta_scope_ids())::integer[]));

ALTER TABLE analysis_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE analysis_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY analysis_runs_owner ON analysis_runs TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY analysis_runs_roles ON analysis_runs TO {APP}
    USING ({RUN_VISIBLE}) WITH CHECK ({RUN_VISIBLE});

ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY imports_owner ON imports TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY imports_roles ON imports TO {APP}
    USING ({INCIDENT_IMPORTS}) WITH CHECK ({INCIDENT_IMPORTS});
"""

ACCESS_LOG = f"""
-- The only way an app role writes access_log: time, account and role come from the connection,
-- never from the caller.  Anonymous (public) records have no username; the operator's are
-- recorded as 'system' with the database login in db_user.
CREATE FUNCTION harta_log_access(p_action text, p_detail jsonb DEFAULT '{{}}'::jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_role text := harta_acting_role();
BEGIN
    IF v_role IS NULL THEN
        IF NOT harta_is_operator() THEN
            RAISE EXCEPTION 'act as a Harta role to write access records'
                USING ERRCODE = '42501';
        END IF;
        v_role := 'system';
    END IF;
    IF p_detail IS NULL OR jsonb_typeof(p_detail) <> 'object' THEN
        RAISE EXCEPTION 'access detail must be a JSON object' USING ERRCODE = '22023';
    END IF;
    INSERT INTO access_log (at, username, role, action, detail)
    VALUES (now(), (SELECT u.username FROM users AS u WHERE u.id = harta_current_user()),
            v_role, p_action, p_detail);
END
$$;
"""

TOMBSTONES = f"""
CREATE TABLE harta_tombstones (
    layer varchar(32) NOT NULL,
    community_id integer NOT NULL,
    row_hash varchar(64) NOT NULL,
    reason varchar(16) NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer, community_id, row_hash),
    CONSTRAINT harta_tombstones_layer_known CHECK (layer IN ('risk_zones', 'incidents')),
    CONSTRAINT harta_tombstones_reason_known CHECK (reason IN ('withdrawn', 'purged'))
);
-- Nobody reads tombstones directly: a row hash of low-entropy content could be guessed.
REVOKE ALL ON harta_tombstones FROM PUBLIC;
ALTER TABLE harta_tombstones ENABLE ROW LEVEL SECURITY;

-- A withdrawn or purged row cannot come back, whoever inserts it (import, form, plain SQL).
CREATE FUNCTION harta_refuse_tombstoned() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
BEGIN
    IF NEW.row_hash IS NOT NULL AND EXISTS (
        SELECT 1 FROM harta_tombstones AS t
         WHERE t.layer = TG_TABLE_NAME AND t.community_id = NEW.community_id
           AND t.row_hash = NEW.row_hash) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER incidents_refuse_tombstoned BEFORE INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION harta_refuse_tombstoned();
CREATE TRIGGER risk_zones_refuse_tombstoned BEFORE INSERT ON risk_zones
    FOR EACH ROW EXECUTE FUNCTION harta_refuse_tombstoned();

-- Which of p_hashes were withdrawn or purged from the layer in the community (for the import
-- report).  Only roles that may import into the layer may ask.
CREATE FUNCTION harta_withdrawn_hashes(p_layer text, p_community_id integer, p_hashes text[])
RETURNS text[] LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_role text := harta_acting_role();
BEGIN
    IF NOT harta_is_operator() AND NOT (
        (p_layer = 'incidents' AND v_role IN ('police', 'mediator', 'admin')
             AND harta_current_user() IS NOT NULL)
        OR (p_layer = 'risk_zones' AND v_role IN ('community', 'mediator', 'admin'))) THEN
        RAISE EXCEPTION 'this role may not import into %', p_layer USING ERRCODE = '42501';
    END IF;
    RETURN (SELECT COALESCE(array_agg(t.row_hash), '{{}}'::text[]) FROM harta_tombstones AS t
             WHERE t.layer = p_layer AND t.community_id = p_community_id
               AND t.row_hash = ANY(p_hashes));
END
$$;
"""

LIFECYCLE = f"""
-- Consent withdrawal: delete the contribution, tombstone it, redact its history and record the
-- withdrawal.  Returns false when no row was removed: it does not exist, or it is outside what
-- the caller may see (the two answers are the same, so ids cannot be probed).
CREATE OR REPLACE FUNCTION harta_withdraw(p_table text, p_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_role text := harta_acting_role();
    v_all boolean;
    v_community integer;
    v_hash text;
    n integer;
BEGIN
    IF p_table NOT IN ('risk_zones', 'incidents') THEN
        RAISE EXCEPTION 'cannot withdraw from %', p_table USING ERRCODE = '22023';
    END IF;
    v_all := harta_is_operator() OR (v_role = 'admin' AND harta_current_user() IS NOT NULL);
    IF NOT v_all AND NOT (p_table = 'incidents' AND v_role IN ('police', 'mediator')
                          AND harta_current_user() IS NOT NULL) THEN
        RAISE EXCEPTION 'this role may not withdraw contributions' USING ERRCODE = '42501';
    END IF;
    IF p_table = 'risk_zones' THEN
        DELETE FROM risk_zones WHERE id = p_id RETURNING community_id, row_hash
          INTO v_community, v_hash;
    ELSE
        DELETE FROM incidents AS i WHERE i.id = p_id
           AND (v_all OR (harta_in_scope(i.community_id)
                          AND (v_role = 'police'
                               OR NOT harta_is_sensitive(i.type_code, i.sensitivity))))
        RETURNING i.community_id, i.row_hash INTO v_community, v_hash;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        IF v_hash IS NOT NULL THEN
            INSERT INTO harta_tombstones (layer, community_id, row_hash, reason)
            VALUES (p_table, v_community, v_hash, 'withdrawn') ON CONFLICT DO NOTHING;
        END IF;
        PERFORM harta_redact_audit(p_table, ARRAY[p_id]);
        PERFORM harta_log_access('withdraw', jsonb_build_object('table', p_table, 'row_id', p_id));
    ELSIF v_all THEN
        -- Only callers who may see every row learn that nothing was there.
        PERFORM harta_redact_audit(p_table, ARRAY[p_id]);
    END IF;
    RETURN n > 0;
END
$$;

DROP FUNCTION harta_purge_incidents(timestamptz, integer);

-- Retention: delete incidents that occurred more than p_older_than_days days ago (the cutoff is
-- derived here, so the record cannot disagree with what was deleted), tombstone and redact
-- them, and record the purge.  Returns the purge_log id.
CREATE FUNCTION harta_purge_incidents(p_older_than_days integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_cutoff timestamptz;
    v_ids bigint[];
    v_by jsonb;
    v_log integer;
    v_role text := harta_acting_role();
BEGIN
    IF NOT harta_is_operator() AND NOT (v_role = 'admin' AND harta_current_user() IS NOT NULL) THEN
        RAISE EXCEPTION 'this role may not purge incidents' USING ERRCODE = '42501';
    END IF;
    IF p_older_than_days IS NULL OR p_older_than_days < 1 THEN
        RAISE EXCEPTION 'retention must be at least one day' USING ERRCODE = '22023';
    END IF;
    v_cutoff := now() - make_interval(days => p_older_than_days);
    WITH gone AS (
        DELETE FROM incidents WHERE occurred_at < v_cutoff
        RETURNING id, community_id, row_hash
    ), stones AS (
        INSERT INTO harta_tombstones (layer, community_id, row_hash, reason)
        SELECT DISTINCT 'incidents', g.community_id, g.row_hash, 'purged' FROM gone AS g
         WHERE g.row_hash IS NOT NULL
        ON CONFLICT DO NOTHING
    )
    SELECT COALESCE(array_agg(id), '{{}}'), COALESCE(
               (SELECT jsonb_object_agg(community_id::text, n)
                  FROM (SELECT community_id, count(*) AS n FROM gone GROUP BY community_id) g),
               '{{}}'::jsonb)
      INTO v_ids, v_by FROM gone;
    PERFORM harta_redact_audit('incidents', v_ids);
    INSERT INTO purge_log (older_than_days, cutoff, rows_deleted, by_community, app_role)
    VALUES (p_older_than_days, v_cutoff, cardinality(v_ids), v_by, COALESCE(v_role, 'system'))
    RETURNING id INTO v_log;
    RETURN v_log;
END
$$;
"""

# Every SECURITY DEFINER function of the schema (not those of extensions) resolves names in
# public first and in pg_temp last, so a temporary object can never stand in for a real one.
DEFINER_SEARCH_PATH = f"""
DO $fix$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc AS p
          JOIN pg_namespace AS n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prosecdef
           AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = {DEFINER_PATH}', f);
    END LOOP;
END
$fix$;
"""

GRANTS = f"""
REVOKE ALL ON FUNCTION harta_acting_role(), harta_is_operator(), harta_current_user(),
    harta_scope_ids(), harta_in_scope(integer), harta_run_visible(text, integer),
    harta_log_access(text, jsonb), harta_withdrawn_hashes(text, integer, text[]),
    harta_refuse_tombstoned(), harta_purge_incidents(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION harta_acting_role(), harta_current_user(), harta_scope_ids(),
    harta_in_scope(integer), harta_run_visible(text, integer), harta_log_access(text, jsonb)
    TO {APP};
GRANT EXECUTE ON FUNCTION harta_withdrawn_hashes(text, integer, text[])
    TO harta_community, harta_mediator, harta_police, harta_admin;
GRANT EXECUTE ON FUNCTION harta_withdraw(text, bigint) TO harta_police, harta_mediator;
GRANT EXECUTE ON FUNCTION harta_purge_incidents(integer) TO harta_admin;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON access_log FROM PUBLIC, {APP};
REVOKE ALL ON SEQUENCE access_log_id_seq FROM PUBLIC, {APP};
"""


def upgrade() -> None:
    op.execute(IDENTITY)
    op.execute(POLICIES)
    op.execute(ACCESS_LOG)
    op.execute(TOMBSTONES)
    op.execute(LIFECYCLE)
    op.execute(DEFINER_SEARCH_PATH)
    op.execute(GRANTS)


# What 0002 had, for downgrade (the identity-free policies and the two-argument purge).
OLD_POLICIES = """
DROP POLICY IF EXISTS incidents_police ON incidents;
DROP POLICY IF EXISTS incidents_mediator_read ON incidents;
DROP POLICY IF EXISTS incidents_mediator_update ON incidents;
DROP POLICY IF EXISTS incidents_mediator_record ON incidents;
DROP POLICY IF EXISTS incidents_admin_record ON incidents;
CREATE POLICY incidents_police ON incidents TO harta_police USING (true) WITH CHECK (true);
CREATE POLICY incidents_mediator_read ON incidents FOR SELECT TO harta_mediator
    USING (NOT harta_is_sensitive(type_code, sensitivity));
CREATE POLICY incidents_mediator_update ON incidents FOR UPDATE TO harta_mediator
    USING (NOT harta_is_sensitive(type_code, sensitivity)) WITH CHECK (true);
CREATE POLICY incidents_record ON incidents FOR INSERT TO harta_mediator, harta_admin
    WITH CHECK (true);
DROP POLICY IF EXISTS audit_police ON audit_log;
CREATE POLICY audit_police ON audit_log FOR SELECT TO harta_police
    USING (table_name = 'incidents');
DROP POLICY IF EXISTS analysis_runs_owner ON analysis_runs;
DROP POLICY IF EXISTS analysis_runs_roles ON analysis_runs;
ALTER TABLE analysis_runs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE analysis_runs DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS imports_owner ON imports;
DROP POLICY IF EXISTS imports_roles ON imports;
ALTER TABLE imports NO FORCE ROW LEVEL SECURITY;
ALTER TABLE imports DISABLE ROW LEVEL SECURITY;
"""

OLD_LIFECYCLE = f"""
DROP TRIGGER IF EXISTS incidents_refuse_tombstoned ON incidents;
DROP TRIGGER IF EXISTS risk_zones_refuse_tombstoned ON risk_zones;
DROP FUNCTION IF EXISTS harta_refuse_tombstoned();
DROP FUNCTION IF EXISTS harta_withdrawn_hashes(text, integer, text[]);
DROP TABLE IF EXISTS harta_tombstones;
DROP FUNCTION IF EXISTS harta_purge_incidents(integer);
CREATE FUNCTION harta_purge_incidents(p_cutoff timestamptz, p_older_than_days integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
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
REVOKE ALL ON FUNCTION harta_purge_incidents(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION harta_purge_incidents(timestamptz, integer) TO harta_admin;
CREATE OR REPLACE FUNCTION harta_withdraw(p_table text, p_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
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
REVOKE EXECUTE ON FUNCTION harta_withdraw(text, bigint) FROM harta_police, harta_mediator;
GRANT INSERT ON access_log TO {APP};
GRANT USAGE ON SEQUENCE access_log_id_seq TO {APP};
DROP FUNCTION IF EXISTS harta_log_access(text, jsonb);
DROP FUNCTION IF EXISTS harta_run_visible(text, integer);
DROP FUNCTION IF EXISTS harta_in_scope(integer);
DROP FUNCTION IF EXISTS harta_scope_ids();
DROP FUNCTION IF EXISTS harta_current_user();
DROP FUNCTION IF EXISTS harta_is_operator();
DROP FUNCTION IF EXISTS harta_acting_role();
"""


def downgrade() -> None:
    # search_path stays "public, pg_temp" on the older definer functions: never worth undoing.
    op.execute(OLD_POLICIES)
    op.execute(OLD_LIFECYCLE)
