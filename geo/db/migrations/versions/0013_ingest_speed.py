"""bulk imports: set-based tombstone filtering (issue 10)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 06:00:00

Until now every row of an import went through 0004's ``BEFORE INSERT`` trigger
``harta_refuse_tombstoned`` (a PL/pgSQL call and an index probe per row).  This revision lets
the importer filter withdrawn and purged rows *set-based*, in one ``INSERT … SELECT`` from its
staging table, without opening a way around the tombstones:

* **A dedicated writer.**  ``harta_ingest`` is a group role nobody logs in as and nobody is
  given (bar the migrating owner, as for every group role).  It owns two ``SECURITY DEFINER``
  functions and nothing else runs as it.
* ``harta_ingest_begin(layer, columns)`` creates the session's staging table
  ``pg_temp._harta_import_rows`` (the layer's own column types, owned by ``harta_ingest``) and
  lets the caller fill it (``INSERT``/``COPY`` only), after checking the caller may insert each
  of those columns.  The caller cannot alter it, put a trigger or rule on it, or swap it for a
  view: the staged values are plain data of the layer's types.
* ``harta_ingest_finish(layer)`` checks the caller may write every staged row exactly as the
  layer's row security lets a plain ``INSERT … ON CONFLICT`` (0002/0004: incidents by police
  in their scope and by mediators in their scope and not sensitive -- the conflict check
  needs the row readable --; zones by community members, mediators and admin; the operator),
  then inserts the staged rows that have no tombstone (an
  anti-join on ``harta_tombstones``), ``ON CONFLICT (community_id, row_hash) DO NOTHING``, and
  returns how many were written.
* The row trigger is kept for **every other writer**: its ``WHEN`` condition skips the
  PL/pgSQL call only when the statement runs as ``harta_ingest`` -- that is, inside
  ``harta_ingest_finish``, which has just filtered the same rows.  A form, the demo loader or
  plain SQL (the operator included) still cannot bring a withdrawn row back.

Row security, stamping of ``created_by_role`` and the audit trail are unchanged: the audit
records the acting role as before (its ``db_user`` is ``harta_ingest`` for bulk rows).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WRITER = "harta_ingest"
LAYERS = ("incidents", "risk_zones")
DEFINER_PATH = "public, pg_temp"

ROLE = f"""
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WRITER}') THEN
        BEGIN
            CREATE ROLE {WRITER} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a migration of another database in this cluster
        END;
    END IF;
    -- The migrating user (the schema owner) must be able to hand functions to the role.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{WRITER}', 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', '{WRITER}', current_user);
    END IF;
END
$roles$;
"""

GRANTS = f"""
GRANT SELECT, INSERT ON incidents, risk_zones TO {WRITER};
GRANT USAGE ON SEQUENCE incidents_id_seq, risk_zones_id_seq TO {WRITER};
GRANT SELECT ON harta_tombstones TO {WRITER};
-- Row security: the writer inserts and reads tombstones (the caller's rights are checked by
-- the function first).  ON CONFLICT needs the new row to pass a SELECT policy too; nothing
-- read is ever returned (the function returns a count, for rows the caller may read).
CREATE POLICY incidents_ingest ON incidents TO {WRITER} USING (true) WITH CHECK (true);
CREATE POLICY risk_zones_ingest ON risk_zones TO {WRITER} USING (true) WITH CHECK (true);
CREATE POLICY harta_tombstones_ingest ON harta_tombstones FOR SELECT TO {WRITER} USING (true);
"""

FUNCTIONS = f"""
-- Who fills the staging table: the acting role, or the login role of the operator.
CREATE FUNCTION harta_ingest_caller() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN current_setting('role') = 'none' THEN session_user::text
                ELSE current_setting('role') END
$$;

CREATE FUNCTION harta_ingest_begin(p_layer text, p_columns text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_caller text := harta_ingest_caller();
    v_column text;
BEGIN
    IF p_layer IS NULL OR p_layer NOT IN ({", ".join(f"'{t}'" for t in LAYERS)}) THEN
        RAISE EXCEPTION 'cannot import into %', p_layer USING ERRCODE = '22023';
    END IF;
    IF NOT ('community_id' = ANY(p_columns) AND 'row_hash' = ANY(p_columns)) THEN
        RAISE EXCEPTION 'an import stages community_id and row_hash' USING ERRCODE = '22023';
    END IF;
    FOREACH v_column IN ARRAY p_columns LOOP
        IF NOT has_column_privilege(v_caller, p_layer, v_column, 'INSERT') THEN
            RAISE EXCEPTION 'permission denied for column % of %', v_column, p_layer
                USING ERRCODE = '42501';
        END IF;
    END LOOP;
    EXECUTE format(
        'CREATE TEMP TABLE _harta_import_rows ON COMMIT DROP AS SELECT %s FROM %I WITH NO DATA',
        (SELECT string_agg(format('%I', c), ', ') FROM unnest(p_columns) AS c), p_layer);
    EXECUTE format('GRANT INSERT ON pg_temp._harta_import_rows TO %I', v_caller);
END
$$;

CREATE FUNCTION harta_ingest_finish(p_layer text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_role text := harta_acting_role();
    v_staging regclass := to_regclass('pg_temp._harta_import_rows');
    v_columns text;
    v_allowed boolean;
    v_written integer;
BEGIN
    IF p_layer IS NULL OR p_layer NOT IN ({", ".join(f"'{t}'" for t in LAYERS)}) THEN
        RAISE EXCEPTION 'cannot import into %', p_layer USING ERRCODE = '22023';
    END IF;
    -- Only the table harta_ingest_begin made: a table or view of the caller's own under that
    -- name could run the caller's code with this function's rights.
    IF v_staging IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_class AS c
         WHERE c.oid = v_staging AND c.relkind = 'r'
           AND c.relowner = '{WRITER}'::regrole
           AND c.relnamespace = pg_my_temp_schema()) THEN
        RAISE EXCEPTION 'no import staged in this transaction' USING ERRCODE = '55000';
    END IF;
    -- The rights a plain INSERT … ON CONFLICT of these rows would have under the layer's row
    -- security (its INSERT policies, and its SELECT policies for the conflict check).
    IF v_role IS NULL THEN
        v_allowed := COALESCE((SELECT r.rolsuper FROM pg_roles AS r
                                WHERE r.rolname = session_user), false)
            OR pg_has_role(session_user,
                           (SELECT c.relowner FROM pg_class AS c
                             WHERE c.oid = p_layer::regclass), 'USAGE');
    ELSIF p_layer = 'incidents' AND v_role = 'police' THEN
        EXECUTE 'SELECT NOT EXISTS (SELECT 1 FROM pg_temp._harta_import_rows AS s'
                ' WHERE NOT (s.community_id = ANY (harta_scope_ids())))'
            INTO v_allowed;
    ELSIF p_layer = 'incidents' AND v_role = 'mediator' THEN
        EXECUTE 'SELECT NOT EXISTS (SELECT 1 FROM pg_temp._harta_import_rows AS s'
                ' WHERE NOT (s.community_id = ANY (harta_scope_ids()))'
                '    OR harta_is_sensitive(s.type_code::text, s.sensitivity::text))'
            INTO v_allowed;
    ELSIF p_layer = 'risk_zones' AND v_role IN ('community', 'mediator', 'admin') THEN
        v_allowed := true;
    ELSE
        v_allowed := false;
    END IF;
    IF NOT v_allowed OR NOT has_table_privilege(harta_ingest_caller(), p_layer, 'INSERT') THEN
        RAISE EXCEPTION 'new row violates row-level security policy for table "%"', p_layer
            USING ERRCODE = '42501';
    END IF;
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO v_columns
      FROM pg_attribute AS a
     WHERE a.attrelid = v_staging AND a.attnum > 0 AND NOT a.attisdropped;
    -- Rows withdrawn or purged before are left out here, all at once; the row trigger skips
    -- its own probe for this statement only (it runs as {WRITER}).
    EXECUTE format(
        'INSERT INTO %1$I (%2$s) SELECT %2$s FROM pg_temp._harta_import_rows AS s'
        ' WHERE s.row_hash IS NULL OR NOT EXISTS (SELECT 1 FROM harta_tombstones AS t'
        '  WHERE t.layer = %3$L AND t.community_id = s.community_id'
        '    AND t.row_hash = s.row_hash)'
        ' ON CONFLICT (community_id, row_hash) DO NOTHING',
        p_layer, v_columns, p_layer);
    GET DIAGNOSTICS v_written = ROW_COUNT;
    EXECUTE 'TRUNCATE pg_temp._harta_import_rows';
    RETURN v_written;
END
$$;

ALTER FUNCTION harta_ingest_begin(text, text[]) OWNER TO {WRITER};
ALTER FUNCTION harta_ingest_finish(text) OWNER TO {WRITER};
REVOKE ALL ON FUNCTION harta_ingest_caller() FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_ingest_begin(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_ingest_finish(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION harta_ingest_caller(), harta_acting_role(), harta_current_user(),
    harta_scope_ids(), harta_is_sensitive(text, text) TO {WRITER};
GRANT EXECUTE ON FUNCTION harta_ingest_begin(text, text[]), harta_ingest_finish(text)
    TO harta_community, harta_mediator, harta_police, harta_admin;
"""


def _triggers(when: str) -> str:
    return "\n".join(
        f"DROP TRIGGER IF EXISTS {t}_refuse_tombstoned ON {t};\n"
        f"CREATE TRIGGER {t}_refuse_tombstoned BEFORE INSERT ON {t} FOR EACH ROW {when}"
        " EXECUTE FUNCTION harta_refuse_tombstoned();"
        for t in LAYERS
    )


def upgrade() -> None:
    op.execute(ROLE)
    op.execute(GRANTS)
    op.execute(FUNCTIONS)
    # The WHEN condition is evaluated without calling PL/pgSQL.
    op.execute(_triggers(f"WHEN (NEW.row_hash IS NOT NULL AND current_user <> '{WRITER}')"))


def downgrade() -> None:
    op.execute(_triggers(""))
    op.execute("DROP FUNCTION IF EXISTS harta_ingest_finish(text)")
    op.execute("DROP FUNCTION IF EXISTS harta_ingest_begin(text, text[])")
    op.execute("DROP FUNCTION IF EXISTS harta_ingest_caller()")
    for table in LAYERS:
        op.execute(f"DROP POLICY IF EXISTS {table}_ingest ON {table}")
    op.execute("DROP POLICY IF EXISTS harta_tombstones_ingest ON harta_tombstones")
    op.execute(f"REVOKE ALL ON incidents, risk_zones, harta_tombstones FROM {WRITER}")
    op.execute(f"REVOKE ALL ON SEQUENCE incidents_id_seq, risk_zones_id_seq FROM {WRITER}")
    # The role itself stays: other databases of the cluster may use it.
