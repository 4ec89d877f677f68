"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:37:54.621015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


AUDITED_TABLES = ("communities", "workshops", "risk_zones", "incidents", "facilities")

# The narrative of an incident is restricted; the audit trail records that it changed, not
# what it says.  Statement-level triggers with transition tables write one INSERT ... SELECT per
# statement instead of one per row, which keeps bulk imports fast (100k rows: one statement).
AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION harta_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    app_role text := NULLIF(current_setting('harta.role', true), '');
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
"""

AUDIT_TRIGGERS = (
    ("insert", "INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
)

AUDIT_IMMUTABLE = """
CREATE OR REPLACE FUNCTION harta_audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION harta_audit_immutable();
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=True),
        sa.Column("old_row", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_row", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("db_user", sa.Text(), server_default=sa.text("CURRENT_USER"), nullable=False),
        sa.Column("app_role", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("audit_log_table_row_idx", "audit_log", ["table_name", "row_id"], unique=False)
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("county", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("metric_crs", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source_dir", sa.Text(), nullable=True),
        sa.Column("attribution", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="communities_country_iso"),
        sa.CheckConstraint(
            "created_by_role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')",
            name="communities_role_known",
        ),
        sa.CheckConstraint("kind IN ('community', 'settlement')", name="communities_kind_known"),
        sa.CheckConstraint(
            "source IN ('import', 'workshop', 'paper', 'form', 'osm', 'gtfs', 'demo')",
            name="communities_source_known",
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="communities_geom_valid"),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["communities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_geospatial_index(
        "idx_communities_geom",
        "communities",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "analysis_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("input_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_table(
        "facilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("routes", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "created_by_role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')",
            name="facilities_role_known",
        ),
        sa.CheckConstraint(
            "kind IN ('police', 'fire', 'ambulance', 'hospital', 'clinic', 'school', 'kindergarten', 'social_services', 'community_focal_point', 'bus_stop')",
            name="facilities_kind_known",
        ),
        sa.CheckConstraint(
            "source IN ('import', 'workshop', 'paper', 'form', 'osm', 'gtfs', 'demo')",
            name="facilities_source_known",
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="facilities_geom_valid"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
        ),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "row_hash", name="facilities_row_once"),
    )
    op.create_geospatial_index(
        "idx_facilities_geom",
        "facilities",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("location_precision", sa.String(length=8), nullable=False),
        sa.Column("sensitivity", sa.String(length=12), nullable=False),
        sa.Column("reporting_role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "created_by_role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')",
            name="incidents_role_known",
        ),
        sa.CheckConstraint(
            "location_precision IN ('exact', 'street', 'area')", name="incidents_precision_known"
        ),
        sa.CheckConstraint(
            "reporting_role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')",
            name="incidents_reporting_role_known",
        ),
        sa.CheckConstraint(
            "sensitivity IN ('normal', 'sensitive', 'restricted')",
            name="incidents_sensitivity_known",
        ),
        sa.CheckConstraint(
            "source IN ('import', 'workshop', 'paper', 'form', 'osm', 'gtfs', 'demo')",
            name="incidents_source_known",
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'verified', 'closed', 'withdrawn')",
            name="incidents_status_known",
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="incidents_geom_valid"),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="incidents_severity_range"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
        ),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "row_hash", name="incidents_row_once"),
    )
    op.create_geospatial_index(
        "idx_incidents_geom",
        "incidents",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("incidents_occurred_at_idx", "incidents", ["occurred_at"], unique=False)
    op.create_geospatial_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("osm_type", sa.String(length=10), nullable=True),
        sa.Column("osm_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("place", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_places_geom",
        "places",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "streets",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("u", sa.BigInteger(), nullable=False),
        sa.Column("v", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("osm_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("highway", sa.String(length=32), nullable=True),
        sa.Column("oneway", sa.Boolean(), nullable=True),
        sa.Column("maxspeed_kph", sa.Float(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("drive_time_s", sa.Float(), nullable=True),
        sa.Column("walk_time_s", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_streets_geom",
        "streets",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("streets_community_idx", "streets", ["community_id"], unique=False)
    op.create_table(
        "workshops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("facilitator_role", sa.String(length=16), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "created_by_role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')",
            name="workshops_role_known",
        ),
        sa.CheckConstraint(
            "source IN ('import', 'workshop', 'paper', 'form', 'osm', 'gtfs', 'demo')",
            name="workshops_source_known",
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name="workshops_status_known"),
        sa.CheckConstraint("participants BETWEEN 1 AND 1000", name="workshops_participants_range"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
        ),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_table(
        "risk_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=True),
        sa.Column("hazard_code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("time_of_day", sa.String(length=8), nullable=False),
        sa.Column("season", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("grid_ref", sa.String(length=8), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "GeometryType(geom) IN ('POLYGON','MULTIPOLYGON','LINESTRING','MULTILINESTRING','POINT','MULTIPOINT')",
            name="risk_zones_geom_kind",
        ),
        sa.CheckConstraint(
            "created_by_role IN ('system', 'public', 'community', 'mediator', 'police', 'planner', 'admin')",
            name="risk_zones_role_known",
        ),
        sa.CheckConstraint(
            "season IN ('all_year', 'spring', 'summer', 'autumn', 'winter')",
            name="risk_zones_season_known",
        ),
        sa.CheckConstraint(
            "source IN ('import', 'workshop', 'paper', 'form', 'osm', 'gtfs', 'demo')",
            name="risk_zones_source_known",
        ),
        sa.CheckConstraint(
            "time_of_day IN ('day', 'night', 'always')", name="risk_zones_time_known"
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="risk_zones_geom_valid"),
        sa.CheckConstraint("char_length(note) <= 500", name="risk_zones_note_length"),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="risk_zones_severity_range"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
        ),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "row_hash", name="risk_zones_row_once"),
    )
    op.create_geospatial_index(
        "idx_risk_zones_geom",
        "risk_zones",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_foreign_key(
        "imports_community_id_fkey", "imports", "communities", ["community_id"], ["id"]
    )
    op.execute(AUDIT_FUNCTION)
    for table in AUDITED_TABLES:
        for name, event, transition in AUDIT_TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {table}_audit_{name} AFTER {event} ON {table} {transition} "
                "FOR EACH STATEMENT EXECUTE FUNCTION harta_audit()"
            )
    op.execute(AUDIT_IMMUTABLE)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    for table in AUDITED_TABLES:
        for name, _, _ in AUDIT_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_{name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS harta_audit()")
    op.execute("DROP FUNCTION IF EXISTS harta_audit_immutable()")
    op.drop_constraint("imports_community_id_fkey", "imports", type_="foreignkey")
    op.drop_geospatial_index(
        "idx_risk_zones_geom", table_name="risk_zones", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("risk_zones")
    op.drop_table("workshops")
    op.drop_index("streets_community_idx", table_name="streets")
    op.drop_geospatial_index(
        "idx_streets_geom", table_name="streets", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("streets")
    op.drop_geospatial_index(
        "idx_places_geom", table_name="places", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("places")
    op.drop_index("incidents_occurred_at_idx", table_name="incidents")
    op.drop_geospatial_index(
        "idx_incidents_geom", table_name="incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("incidents")
    op.drop_geospatial_index(
        "idx_facilities_geom", table_name="facilities", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("facilities")
    op.drop_table("analysis_runs")
    op.drop_geospatial_index(
        "idx_communities_geom",
        table_name="communities",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("communities")
    op.drop_table("imports")
    op.drop_index("audit_log_table_row_idx", table_name="audit_log")
    op.drop_table("audit_log")
