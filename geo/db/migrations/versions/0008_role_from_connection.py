"""the role a row was written in comes from the connection (issue 9; owner: infrastructure)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:00:00

Before this revision a write carried its role twice: the connection acted as a role (``SET ROLE
harta_police``) and the statement or the ``harta.role`` setting said which role wrote it.  The
two could disagree, and the database believed the second: a police connection could insert an
incident with ``created_by_role = 'system'`` and, after ``set_config('harta.role', 'admin')``,
leave an audit entry saying an administrator wrote it.

From this revision the role a connection acts in (its ``SET ROLE``, the value
``harta_acting_role()`` reads) decides, whatever the statement says:

* **Provenance.**  A ``BEFORE INSERT OR UPDATE`` row trigger (:func:`harta_stamp_role`) on every
  table with ``created_by_role`` sets it to the acting role on insert and keeps the stored one
  on update.  The operator's own connection (no ``SET ROLE``: migrations, bootstrap, the CLI's
  maintenance) is trusted as before and keeps what it writes.
* **Audit trail.**  ``harta_audit()`` records the acting role; the ``harta.role`` setting is
  used only for the operator's connection, which has no acting role.  Its search path stays
  0004's ``public, pg_temp`` (a temporary ``audit_log`` can never stand in for the real one).

The triggers' ``WHEN`` conditions read ``current_setting('role')`` directly and call the
PL/pgSQL function only for a row that claims another role, so an honest bulk import pays almost
nothing (measured: 100,000 rows inserted as ``harta_admin``, see the report of issue 9).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Application roles as of this revision (frozen here: a migration never follows later code).
APP_ROLES = ("public", "community", "mediator", "police", "planner", "admin")
#: Tables whose rows record the role that created them.
STAMPED_TABLES = (
    "communities",
    "workshops",
    "risk_zones",
    "incidents",
    "facilities",
    "imports",
    "analysis_runs",
)
GROUP_ROLES = ", ".join(f"'harta_{r}'" for r in APP_ROLES)
# The acting application role, or NULL for a connection that assumed none (the operator).
ACTING = (
    f"CASE WHEN current_setting('role') IN ({GROUP_ROLES})"
    " THEN substr(current_setting('role'), 7) END"
)

# Trigger conditions: the connection assumed some role, and the row does not already say it.
OPERATOR_NOT = "current_setting('role') <> 'none'"
ROLE_NAME = "substr(current_setting('role'), 7)"

STAMP = f"""
CREATE FUNCTION harta_stamp_role() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_role text := {ACTING};
BEGIN
    IF v_role IS NOT NULL THEN
        IF TG_OP = 'INSERT' THEN
            NEW.created_by_role := v_role;
        ELSE
            NEW.created_by_role := OLD.created_by_role;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
"""

AUDIT = """
CREATE OR REPLACE FUNCTION harta_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    app_role text := {app_role};
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (table_name, operation, row_id, old_row, new_row, app_role)
        SELECT TG_TABLE_NAME, TG_OP, n.id, NULL, to_jsonb(n) - 'narrative', app_role
        FROM new_rows n ORDER BY n.id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_log (table_name, operation, row_id, old_row, new_row, app_role)
        SELECT TG_TABLE_NAME, TG_OP, n.id, to_jsonb(o) - 'narrative',
               to_jsonb(n) - 'narrative', app_role
        FROM new_rows n JOIN old_rows o ON o.id = n.id ORDER BY n.id;
    ELSE
        INSERT INTO audit_log (table_name, operation, row_id, old_row, new_row, app_role)
        SELECT TG_TABLE_NAME, TG_OP, o.id, to_jsonb(o) - 'narrative', NULL, app_role
        FROM old_rows o ORDER BY o.id;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION harta_audit() FROM PUBLIC;
"""
SETTING = "NULLIF(current_setting('harta.role', true), '')"


def upgrade() -> None:
    op.execute(STAMP)
    op.execute("REVOKE ALL ON FUNCTION harta_stamp_role() FROM PUBLIC")
    for table in STAMPED_TABLES:
        # The WHEN conditions are evaluated without calling PL/pgSQL: an honest write (the row
        # already says the acting role, or the operator writes) costs next to nothing.
        op.execute(
            f"CREATE TRIGGER {table}_stamp_role BEFORE INSERT ON {table} FOR EACH ROW"
            f" WHEN ({OPERATOR_NOT} AND NEW.created_by_role IS DISTINCT FROM {ROLE_NAME})"
            " EXECUTE FUNCTION harta_stamp_role()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_keep_role BEFORE UPDATE ON {table} FOR EACH ROW"
            f" WHEN ({OPERATOR_NOT} AND NEW.created_by_role IS DISTINCT FROM OLD.created_by_role)"
            " EXECUTE FUNCTION harta_stamp_role()"
        )
    op.execute(AUDIT.format(app_role=f"COALESCE({ACTING}, {SETTING})"))


def downgrade() -> None:
    op.execute(AUDIT.format(app_role=SETTING))
    for table in STAMPED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_stamp_role ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_keep_role ON {table}")
    op.execute("DROP FUNCTION IF EXISTS harta_stamp_role()")
