"""The schema as the database enforces it: constraints, indexes and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from geo.db.migrate import current_revision
from tests.factories import insert_community

pytestmark = pytest.mark.db

SQUARE_WKT = "POLYGON((23.6 46.7,23.7 46.7,23.7 46.8,23.6 46.8,23.6 46.7))"
BOWTIE = "ST_GeomFromText('POLYGON((23.6 46.7,23.7 46.8,23.7 46.7,23.6 46.8,23.6 46.7))',4326)"


def _community(conn) -> int:
    return insert_community(conn, "t", wkt=SQUARE_WKT)


def _zone_sql(geom: str, severity: int = 3) -> str:
    return (
        "INSERT INTO risk_zones (community_id, hazard_code, severity, time_of_day, season, geom,"
        " source, created_by_role, is_demo)"
        f" VALUES (:c, 'flooding', {severity}, 'always', 'all_year', {geom}, 'import',"
        " 'community', false) RETURNING id"
    )


def test_migrated_to_head(engine):
    from alembic.script import ScriptDirectory

    from geo.db.migrate import MIGRATIONS_DIR

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    assert current_revision(engine) == head


def test_spatial_indexes_are_gist(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")
        ).scalars()
        indexed = set(rows)
    assert {"communities", "risk_zones", "incidents", "facilities", "streets"} <= indexed


def test_invalid_geometry_is_refused(engine):
    with pytest.raises(IntegrityError, match="risk_zones_geom_valid"):
        with engine.begin() as conn:
            cid = _community(conn)
            conn.execute(text(_zone_sql(BOWTIE)), {"c": cid})


def test_severity_out_of_range_is_refused(engine):
    point = "ST_SetSRID(ST_MakePoint(23.65, 46.75), 4326)"
    with pytest.raises(IntegrityError, match="risk_zones_severity_range"):
        with engine.begin() as conn:
            cid = _community(conn)
            conn.execute(text(_zone_sql(point, severity=6)), {"c": cid})


def test_audit_log_records_insert_update_delete_with_role(engine):
    point = "ST_SetSRID(ST_MakePoint(23.65, 46.75), 4326)"
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('harta.role', 'mediator', true)"))
        cid = _community(conn)
        zid = conn.execute(text(_zone_sql(point)), {"c": cid}).scalar_one()
        conn.execute(text("UPDATE risk_zones SET severity = 5 WHERE id = :z"), {"z": zid})
        conn.execute(text("DELETE FROM risk_zones WHERE id = :z"), {"z": zid})
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT operation, app_role, old_row->>'severity', new_row->>'severity'"
                " FROM audit_log WHERE table_name = 'risk_zones' AND row_id = :z ORDER BY id"
            ),
            {"z": zid},
        ).all()
    assert rows == [
        ("INSERT", "mediator", None, "3"),
        ("UPDATE", "mediator", "3", "5"),
        ("DELETE", "mediator", "5", None),
    ]


def test_audit_log_is_append_only(engine):
    with engine.begin() as conn:
        _community(conn)
    with pytest.raises(ProgrammingError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))


def test_incident_narrative_never_reaches_the_audit_log(engine):
    with engine.begin() as conn:
        cid = _community(conn)
        conn.execute(
            text(
                "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
                " location_precision, sensitivity, reporting_role, status, narrative, geom,"
                " source, created_by_role, is_demo) VALUES (:c, now(), 'assault', 3, 'exact',"
                " 'normal', 'police', 'reported', 'secret words', "
                " ST_SetSRID(ST_MakePoint(23.65, 46.75), 4326), 'form', 'police', false)"
            ),
            {"c": cid},
        )
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT new_row::text FROM audit_log WHERE table_name = 'incidents'")
        ).scalar_one()
    assert "secret words" not in logged
    assert "assault" in logged
