"""bulk imports: one audit entry per import, metric coordinates set-based (issue 10)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:30:00

Profiled on 100,000 staged incidents (``pg_stat_user_functions`` with ``track_functions = all``
and ``auto_explain`` of ``harta_ingest_finish``'s INSERT), the statement spent about half its
time in the audit trigger -- ``to_jsonb`` of every new row, whose geometry is written out as
GeoJSON through a ``spatial_ref_sys`` lookup per row, then 100,000 ``audit_log`` rows -- and
most of the rest in per-row triggers and constraint checks.  This revision changes two things,
for the statement ``harta_ingest_finish`` runs and for no other:

* **One audit entry per import.**  The finish writes, in the same statement as its INSERT, one
  ``audit_log`` row per import, layer and community (and session, for zones): operation
  ``INSERT``, ``row_id`` NULL, ``new_row`` ``{"import_id", "community_id", ["workshop_id",]
  "rows", "ids"}`` (the ids the INSERT returned, ascending), ``app_role`` the connection's
  role exactly as 0008's ``harta_audit()`` computes it (the acting role; ``harta.role`` only for
  the operator's own connection), ``db_user`` ``harta_ingest``.  Nothing is lost: every
  imported row carries its ``import_id``; its values at insert time are the row itself until
  its first UPDATE, whose per-row entry holds the old row; a DELETE is audited per row with
  the old row; withdrawal and purge redact the per-row entries (the import entry holds no
  values, only ids and counts).
* **Metric coordinates in the same statement.**  The finish computes ``metric_srid``,
  ``metric_x``, ``metric_y`` from ``geom`` and the community's ``metric_crs`` in its own
  ``INSERT … SELECT`` (one join, no PL/pgSQL call per row), with the same rule as 0012's
  trigger; staged values of those columns are never copied.

The skip is the one 0013 uses for the tombstone probe: the per-row audit trigger
(``{layer}_audit_insert``) and the metric trigger (``incidents_metric_xy``) get the ``WHEN``
condition ``current_user <> 'harta_ingest'``.  ``current_user`` is ``harta_ingest`` only inside
the two ``SECURITY DEFINER`` functions it owns (nobody logs in as it or is given it; no
setting, ``SET ROLE`` or temporary table of a caller can produce it), and only the finish
writes to a layer.  Every other write -- a form, the demo loader, plain SQL by any role or by
the operator, every UPDATE and DELETE -- keeps its per-row audit entry and trigger-computed
coordinates.  ``harta_ingest`` may INSERT into ``audit_log`` only entries of this shape (a row
security policy), and, like everyone, never change one.

Measured (``scripts/bench_ingest.py``, ``track_functions = all``, same run, load about 1.4):
the finish of 100,000 police incidents took 5.2-5.9 s (of which ``harta_audit`` 2.7-3.3 s and
the metric trigger 0.4 s; 100,000 audit rows) and now 2.15 s (one audit row); 20,000 zones
0.85-1.0 s, now 0.35 s.  What remains is the GiST index on ``geom`` (about 1 s, measured by
dropping it in a rolled-back transaction), the two foreign-key checks per row (about 0.5 s),
the unique index and the heap: all guarantees, kept.  JIT off saved about 0.5 s of compilation.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _revision(name: str):
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"harta_revision_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_R8 = _revision("0008_role_from_connection.py")
_R13 = _revision("0013_ingest_speed.py")
WRITER, LAYERS, DEFINER_PATH = _R13.WRITER, _R13.LAYERS, _R13.DEFINER_PATH
#: The audit entry's role, exactly as 0008's ``harta_audit()`` computes it.
APP_ROLE = f"COALESCE({_R8.ACTING}, {_R8.SETTING})"
#: Columns the database computes from ``geom`` (0012); a staged value is never copied.
METRIC_COLUMNS = ("metric_srid", "metric_x", "metric_y")
#: What an import's audit entry is grouped by, per layer (zones: the workshop session too, so
#: a session's history -- geo.workshops.read -- shows the import).
ENTRY_KEYS = {
    "incidents": ("community_id", "import_id"),
    "risk_zones": ("community_id", "import_id", "workshop_id"),
}
#: Only the finish (running as WRITER) skips the per-row trigger.
NOT_WRITER = f"current_user <> '{WRITER}'"

GRANTS = f"""
-- The finish reads each community's metric CRS and writes the import's audit entry; the
-- policy admits only entries of that shape (and, like every role, the writer can never change
-- or delete one: audit_log's append-only trigger).
GRANT SELECT (id, metric_crs) ON communities TO {WRITER};
GRANT INSERT ON audit_log TO {WRITER};
GRANT USAGE ON SEQUENCE audit_log_id_seq TO {WRITER};
CREATE POLICY audit_ingest ON audit_log FOR INSERT TO {WRITER}
    WITH CHECK (operation = 'INSERT' AND row_id IS NULL AND old_row IS NULL
                AND table_name IN ({", ".join(f"'{t}'" for t in LAYERS)}));
"""

UNGRANTS = f"""
DROP POLICY IF EXISTS audit_ingest ON audit_log;
REVOKE ALL ON audit_log FROM {WRITER};
REVOKE ALL ON SEQUENCE audit_log_id_seq FROM {WRITER};
REVOKE ALL ON communities FROM {WRITER};
"""


def _entry(layer: str) -> str:
    """``jsonb_build_object`` arguments of an import entry, from the CTE ``g``."""
    keys = "".join(f"'{k}', g.{k}, " for k in ENTRY_KEYS[layer])
    return f"{keys}'rows', g.n, 'ids', to_jsonb(g.ids)"


def _statement(layer: str) -> str:
    """The finish's one statement for ``layer``, a ``format`` template: %1$s the staged
    columns, %2$s their ``s.``-qualified values, %3$L the audit entry's role."""
    keys = ", ".join(ENTRY_KEYS[layer])
    g_keys = ", ".join(f"g.{k}" for k in ENTRY_KEYS[layer])
    if layer == "incidents":
        # 0012's rule: no CRS or no point, no coordinates; else the point in metric_crs
        # (OFFSET 0: transformed once, not once for x and once for y).
        metric_columns = ", " + ", ".join(METRIC_COLUMNS)
        metric_values = ", m.srid, ST_X(m.g), ST_Y(m.g)"
        metric_join = (
            " LEFT JOIN communities AS c ON c.id = s.community_id"
            " CROSS JOIN LATERAL (SELECT CASE WHEN s.geom IS NOT NULL THEN c.metric_crs END"
            " AS srid, ST_Transform(s.geom, c.metric_crs) AS g OFFSET 0) AS m"
        )
    else:
        metric_columns = metric_values = metric_join = ""
    return (
        f"WITH ins AS ("
        f" INSERT INTO {layer} (%1$s{metric_columns})"
        f" SELECT %2$s{metric_values} FROM pg_temp._harta_import_rows AS s{metric_join}"
        f" WHERE s.row_hash IS NULL OR NOT EXISTS (SELECT 1 FROM harta_tombstones AS t"
        f"  WHERE t.layer = '{layer}' AND t.community_id = s.community_id"
        f"    AND t.row_hash = s.row_hash)"
        f" ON CONFLICT (community_id, row_hash) DO NOTHING"
        f" RETURNING id, {keys}"
        f"), g AS ("
        f" SELECT {keys}, count(*) AS n, array_agg(id ORDER BY id) AS ids"
        f" FROM ins GROUP BY {keys}"
        f"), entry AS ("
        f" INSERT INTO audit_log (table_name, operation, row_id, old_row, new_row, app_role)"
        f" SELECT '{layer}', 'INSERT', NULL, NULL, jsonb_build_object({_entry(layer)}), %3$L"
        f" FROM g ORDER BY {g_keys}"
        f")"
        f" SELECT COALESCE(sum(g.n), 0)::integer FROM g"
    )


def _quoted(sql: str) -> str:
    return "'" + sql.replace("'", "''") + "'"


FINISH = f"""
CREATE OR REPLACE FUNCTION harta_ingest_finish(p_layer text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH}
-- The staging table has no statistics: the planner's guess of the cost turns JIT on, whose
-- compilation cost more than it saved (measured).
SET jit = off AS $$
DECLARE
    v_role text := harta_acting_role();
    v_app_role text := {APP_ROLE};
    v_staging regclass := to_regclass('pg_temp._harta_import_rows');
    v_columns text;
    v_values text;
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
    -- The staged columns, bar those the database computes itself.
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('s.%I', a.attname), ', ' ORDER BY a.attnum)
      INTO v_columns, v_values
      FROM pg_attribute AS a
     WHERE a.attrelid = v_staging AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname <> ALL (ARRAY[{", ".join(f"'{c}'" for c in METRIC_COLUMNS)}]);
    -- One statement: the rows without a tombstone, their metric coordinates, the import's
    -- audit entry.  The per-row triggers for the audit, the coordinates and the tombstone
    -- probe skip this statement only (it runs as {WRITER}).
    IF p_layer = 'incidents' THEN
        EXECUTE format({_quoted(_statement("incidents"))}, v_columns, v_values, v_app_role)
            INTO v_written;
    ELSE
        EXECUTE format({_quoted(_statement("risk_zones"))}, v_columns, v_values, v_app_role)
            INTO v_written;
    END IF;
    EXECUTE 'TRUNCATE pg_temp._harta_import_rows';
    RETURN v_written;
END
$$;
"""


def _finish_of_0013() -> str:
    """0013's ``harta_ingest_finish`` (for the downgrade), as ``CREATE OR REPLACE``."""
    text = _R13.FUNCTIONS
    start = text.index("CREATE FUNCTION harta_ingest_finish")
    end = text.index("\n$$;", start) + len("\n$$;")
    return text[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _triggers(when: str) -> str:
    """The per-row audit of inserts and the metric trigger, with ``when`` (or none)."""
    condition = f" WHEN ({when})" if when else ""
    audit = "\n".join(
        f"DROP TRIGGER IF EXISTS {t}_audit_insert ON {t};\n"
        f"CREATE TRIGGER {t}_audit_insert AFTER INSERT ON {t}"
        f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT{condition}"
        " EXECUTE FUNCTION harta_audit();"
        for t in LAYERS
    )
    return (
        f"{audit}\nDROP TRIGGER IF EXISTS incidents_metric_xy ON incidents;\n"
        "CREATE TRIGGER incidents_metric_xy BEFORE INSERT OR UPDATE ON incidents"
        f" FOR EACH ROW{condition} EXECUTE FUNCTION harta_incident_metric_xy();"
    )


def upgrade() -> None:
    op.execute(GRANTS)
    op.execute(FINISH)
    op.execute(_triggers(NOT_WRITER))


def downgrade() -> None:
    op.execute(_triggers(""))
    op.execute(_finish_of_0013())
    op.execute(UNGRANTS)
