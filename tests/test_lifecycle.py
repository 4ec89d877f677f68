"""Access records, consent withdrawal, retention purge, backup and restore."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, ProgrammingError

from geo import lifecycle
from geo.db.security import connect_as
from tests.factories import account_engine, acting, insert_community

SQUARE = (
    "ST_Multi(ST_GeomFromText('POLYGON((23.60 46.70,23.64 46.70,23.64 46.73,23.60 46.73,"
    "23.60 46.70))',4326))"
)


def _community(conn) -> int:
    return insert_community(conn, "t")


def _zone(conn, cid: int, note: str = "behind the third house") -> int:
    return conn.execute(
        text(
            "INSERT INTO risk_zones (community_id, hazard_code, severity, time_of_day, season,"
            " note, geom, source, created_by_role, is_demo) VALUES (:c, 'flooding', 3, 'always',"
            " 'all_year', :n, ST_SetSRID(ST_MakePoint(23.611, 46.712), 4326), 'workshop',"
            " 'community', false) RETURNING id"
        ),
        {"c": cid, "n": note},
    ).scalar_one()


def _incident(conn, cid: int, occurred_at: str, type_code: str = "assault") -> int:
    return conn.execute(
        text(
            "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
            " location_precision, sensitivity, reporting_role, status, narrative, geom, source,"
            " created_by_role, is_demo) VALUES (:c, :o, :t, 3, 'exact', 'normal', 'police',"
            " 'reported', 'private words', ST_SetSRID(ST_MakePoint(23.612, 46.713), 4326),"
            " 'form', 'police', false) RETURNING id"
        ),
        {"c": cid, "o": occurred_at, "t": type_code},
    ).scalar_one()


def _audit(engine, table: str, row_id: int) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT operation, old_row, new_row, app_role FROM audit_log"
                " WHERE table_name = :t AND row_id = :i ORDER BY id"
            ),
            {"t": table, "i": row_id},
        ).all()


def _assert_redacted(rows, cid: int, row_id: int) -> None:
    redacted = {"id": row_id, "community_id": cid, "redacted": True}
    for _, old_row, new_row, _ in rows:
        assert old_row in (None, redacted)
        assert new_row in (None, redacted)
    text_of_trail = json.dumps([list(r) for r in rows], default=str)
    for leaked in ("geom", "note", "third house", "hazard_code", "type_code", "occurred_at"):
        assert leaked not in text_of_trail


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@contextmanager
def _as(engine, role: str):
    """A role engine acting as ``role`` and its valid test account."""
    eng = account_engine(_url(engine), role)
    try:
        yield eng
    finally:
        eng.dispose()


def test_record_access_appends_ids_and_counts_only(engine):
    with engine.begin() as conn:
        _community(conn)
    with _as(engine, "police") as police, _as(engine, "mediator") as mediator:
        lifecycle.record_access(police, "view_exact", {"community": "pata-rat", "rows": 12})
        lifecycle.record_access(
            mediator, "export", {"file": "/home/ion/secret/out.geojson", "rows": 3}
        )
    lifecycle.record_access(engine, "backup", {"file": "b.dump"})
    with acting(engine, "admin") as conn:
        rows = conn.execute(
            text("SELECT username, role, action, detail FROM access_log ORDER BY id")
        ).all()
    # Who and which role come from the connection: the account's name, the operator as system.
    assert [(r.username, r.role, r.action) for r in rows] == [
        ("db-police", "police", "view_exact"),
        ("db-mediator", "mediator", "export"),
        (None, "system", "backup"),
    ]
    assert rows[1].detail == {"file": "out.geojson", "rows": 3}


@pytest.mark.parametrize(
    "detail",
    [
        {"narrative": "what happened"},
        {"password": "x"},
        {"lon": 23.6, "lat": 46.7},
        {"reason": "x" * 1000},
        {"rows": object()},
    ],
)
def test_record_access_refuses_content_in_detail(engine, detail):
    with pytest.raises(ValueError):
        lifecycle.record_access(engine, "view_exact", detail)


def test_record_access_refuses_unknown_actions(engine):
    with pytest.raises(ValueError):
        lifecycle.record_access(engine, "delete_everything")


def test_withdrawn_risk_zone_disappears_and_leaves_a_redacted_record(engine):
    from geo import views
    from geo.communities import Community

    with engine.begin() as conn:
        cid = _community(conn)
        zid = _zone(conn, cid)
        kept = _zone(conn, cid, note="kept")
        conn.execute(text("UPDATE risk_zones SET severity = 5 WHERE id = :z"), {"z": zid})
    community = Community.load(engine, "t")
    assert set(views.risk_zones(engine, community)["id"]) == {zid, kept}

    with _as(engine, "admin") as admin:
        assert lifecycle.withdraw_contribution(admin, "risk_zones", zid) is True

    assert set(views.risk_zones(engine, community)["id"]) == {kept}
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM risk_zones WHERE id = :z"), {"z": zid}
            ).scalar_one()
            == 0
        )
    trail = _audit(engine, "risk_zones", zid)
    assert [r.operation for r in trail] == ["INSERT", "UPDATE", "DELETE"]
    assert trail[-1].app_role == "admin"
    _assert_redacted(trail, cid, zid)
    # The other zone's history is untouched.
    assert _audit(engine, "risk_zones", kept)[0].new_row["note"] == "kept"
    with acting(engine, "admin") as conn:
        logged = conn.execute(
            text("SELECT username, action, detail FROM access_log WHERE action = 'withdraw'")
        ).one()
    assert logged == ("db-admin", "withdraw", {"table": "risk_zones", "row_id": zid})
    # Withdrawing again is harmless.
    assert lifecycle.withdraw_contribution(engine, "risk_zones", zid) is False


def test_withdrawn_incident_is_gone_for_police_too(engine):
    with engine.begin() as conn:
        cid = _community(conn)
        iid = _incident(conn, cid, "2025-06-01")
    assert lifecycle.withdraw_contribution(engine, "incidents", iid) is True  # the operator
    with acting(engine, "police") as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0
    _assert_redacted(_audit(engine, "incidents", iid), cid, iid)


@pytest.mark.parametrize("role", ["public", "community", "mediator", "police", "planner"])
def test_only_admin_withdraws_risk_zones(engine, role):
    with engine.begin() as conn:
        cid = _community(conn)
        zid = _zone(conn, cid)
    with _as(engine, role) as eng, pytest.raises(PermissionError):
        lifecycle.withdraw_contribution(eng, "risk_zones", zid)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM risk_zones")).scalar_one() == 1


def test_police_and_mediators_withdraw_incidents_they_may_see(engine):
    with engine.begin() as conn:
        cid = _community(conn)
        normal = _incident(conn, cid, "2025-06-01")
        sensitive = _incident(conn, cid, "2025-06-02", "domestic_violence")
        other = _incident(conn, cid, "2025-06-03")
    with _as(engine, "mediator") as mediator:
        # A sensitive incident is as invisible to a mediator as one that does not exist.
        assert lifecycle.withdraw_contribution(mediator, "incidents", sensitive) is False
        assert lifecycle.withdraw_contribution(mediator, "incidents", normal) is True
    with _as(engine, "police") as police:
        assert lifecycle.withdraw_contribution(police, "incidents", sensitive) is True
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT id FROM incidents")).scalars()) == {other}


def test_withdraw_refuses_other_tables(engine):
    with pytest.raises(ValueError):
        lifecycle.withdraw_contribution(engine, "communities", 1)


def test_redaction_refuses_rows_that_still_exist(engine):
    with engine.begin() as conn:
        cid = _community(conn)
        zid = _zone(conn, cid)
    with pytest.raises(DataError, match="only removed rows"):
        with engine.begin() as conn:
            conn.execute(
                text("SELECT harta_redact_audit('risk_zones', ARRAY[:z]::bigint[])"), {"z": zid}
            )


def _days_ago(days: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


def test_purge_removes_only_old_incidents_and_writes_purge_log(engine):
    with engine.begin() as conn:
        cid = _community(conn)
        old = [_incident(conn, cid, _days_ago(1000)), _incident(conn, cid, _days_ago(366))]
        recent = [_incident(conn, cid, _days_ago(364)), _incident(conn, cid, _days_ago(1))]
    with _as(engine, "admin") as admin:
        result = lifecycle.purge_incidents(admin, 365)
    assert result.rows_deleted == 2
    # The database derived the cutoff from the days (no clock of the caller's involved).
    expected = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    assert abs((result.cutoff - expected).total_seconds()) < 3600
    with acting(engine, "police") as conn:
        left = set(conn.execute(text("SELECT id FROM incidents")).scalars())
    assert left == set(recent)
    with acting(engine, "admin") as conn:
        log = conn.execute(
            text("SELECT older_than_days, rows_deleted, by_community, app_role FROM purge_log")
        ).one()
    assert log == (365, 2, {str(cid): 2}, "admin")
    for iid in old:
        trail = _audit(engine, "incidents", iid)
        assert [r.operation for r in trail] == ["INSERT", "DELETE"]
        _assert_redacted(trail, cid, iid)
    assert _audit(engine, "incidents", recent[0])[0].new_row["type_code"] == "assault"
    # Nothing more to purge: a second run (the operator's, e.g. cron) records zero.
    assert lifecycle.purge_incidents(engine, 365).rows_deleted == 0


def test_purge_log_is_append_only_and_purge_is_admin_only(engine):
    lifecycle.purge_incidents(engine, 30)
    with pytest.raises(ProgrammingError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM purge_log"))
    for role in ("police", "planner", "public"):
        with _as(engine, role) as eng, pytest.raises(PermissionError):
            lifecycle.purge_incidents(eng, 30)
    with pytest.raises(ValueError):
        lifecycle.purge_incidents(engine, 0)


@pytest.fixture
def empty_db_url(pg_server_url: str, db_url: str):
    """A second, completely empty database on the same server."""
    name = f"{make_url(db_url).database}_restore"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(db_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _snapshot(engine) -> dict:
    with engine.connect() as conn:
        return {
            "zones": conn.execute(text("SELECT id, note FROM risk_zones ORDER BY id")).all(),
            "incidents": conn.execute(
                text("SELECT id, narrative, ST_AsText(geom) FROM incidents ORDER BY id")
            ).all(),
            "audit": conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one(),
        }


def test_backup_drop_restore_round_trip(engine, db_url, empty_db_url, tmp_path):
    with engine.begin() as conn:
        cid = _community(conn)
        _zone(conn, cid)
        _zone(conn, cid, note="second")
        _incident(conn, cid, "2025-03-03")
    before = _snapshot(engine)
    path = lifecycle.backup(db_url, tmp_path / "harta.dump")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM risk_zones"))
        conn.execute(text("DELETE FROM incidents"))
    assert _snapshot(engine)["zones"] == []

    # Into a second, empty database: everything back, including the security rules.
    lifecycle.restore(empty_db_url, path)
    restored = create_engine(empty_db_url)
    try:
        assert _snapshot(restored) == before
        with pytest.raises(ProgrammingError, match="permission denied"):
            with connect_as(restored, "public") as conn:
                conn.execute(text("SELECT count(*) FROM incidents"))
        with connect_as(restored, "admin") as conn:
            actions = conn.execute(text("SELECT action FROM access_log")).scalars().all()
        assert actions == ["restore"]
    finally:
        restored.dispose()

    # Over the original, replacing what is there.
    lifecycle.restore(db_url, path, clean=True)
    assert _snapshot(engine) == before


def test_failed_restore_changes_nothing(engine, db_url, tmp_path):
    with engine.begin() as conn:
        _zone(conn, _community(conn))
    before = _snapshot(engine)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP not really a dump")
    with pytest.raises(lifecycle.LifecycleError) as err:
        lifecycle.restore(db_url, broken, clean=True)
    assert err.value.key == "security.restore.failed"
    assert _snapshot(engine) == before
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.restore(db_url, tmp_path / "missing.dump")


def test_failed_backup_leaves_no_file(tmp_path, db_url):
    bad_url = make_url(db_url).set(database="no_such_database_here")
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.backup(bad_url.render_as_string(hide_password=False), tmp_path / "x.dump")
    assert list(tmp_path.iterdir()) == []
