"""Attacks on the database itself (issue 8, routes 5, 6, 8, 9, 10), each through a real role
connection (geo.db.security), with and without a valid account.

Every test here failed on migration 0003: the database did not know who was connected, so
scope, deactivation and demotion were the app's business; analysis_runs had no row security;
harta_audit resolved ``audit_log`` through a search_path an attacker could shadow; anyone
could INSERT a forged access record; withdrawn rows came back on re-import; a purge took any
cutoff.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from geo import accounts, lifecycle
from geo.communities.model import Community
from geo.db.security import ROLES, connect_as, role_engine
from tests.factories import insert_community

SQUARE_WKT = "POLYGON((23.00 42.60,23.04 42.60,23.04 42.63,23.00 42.63,23.00 42.60))"
INSERT_INCIDENT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, narrative, geom, source, created_by_role, is_demo)"
    " VALUES (:c, '2025-06-01 22:00+03', :t, 4, 'exact', 'sensitive', 'police', 'reported',"
    " 'what she said', ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false)"
    " RETURNING id"
)


def _slug_id(engine, slug: str) -> int:
    return Community.load(engine, slug).id


@pytest.fixture
def world(loaded_engine, users):
    """Pata Rât (accounts of every role scoped to it) and another community with one
    domestic-violence point, both written by the owner."""
    with loaded_engine.begin() as conn:
        other = insert_community(
            conn,
            "pernik-test",
            name="Pernik",
            wkt=SQUARE_WKT,
            country="BG",
            timezone="Europe/Sofia",
        )
        dv = conn.execute(
            text(INSERT_INCIDENT),
            {"c": other, "t": "domestic_violence", "x": 23.02, "y": 42.61},
        ).scalar_one()
    return {
        "engine": loaded_engine,
        "users": users,
        "pata_rat": _slug_id(loaded_engine, "pata-rat"),
        "dallas": _slug_id(loaded_engine, "dallas"),
        "other": other,
        "dv": dv,
    }


def _count(conn, sql: str = "SELECT count(*) FROM incidents", **params) -> int:
    return conn.execute(text(sql), params).scalar_one()


# --- route 10: community scope in the database ------------------------------------------------
def test_police_scoped_to_pata_rat_cannot_read_another_communitys_point(world):
    engine, police = world["engine"], world["users"]["police"]
    with connect_as(engine, "police", police.id) as conn:
        assert _count(conn, "SELECT count(*) FROM incidents WHERE id = :i", i=world["dv"]) == 0
        assert (
            _count(conn, "SELECT count(*) FROM incidents WHERE community_id = :c", c=world["other"])
            == 0
        )
        # Its own community stays visible, sensitive points included.
        assert (
            _count(
                conn, "SELECT count(*) FROM incidents WHERE community_id = :c", c=world["pata_rat"]
            )
            > 0
        )
        assert (
            _count(
                conn,
                "SELECT count(*) FROM incidents WHERE harta_is_sensitive(type_code, sensitivity)",
            )
            > 0
        )
        # Nor through the audit trail (new_row carries the point).
        assert (
            _count(
                conn,
                "SELECT count(*) FROM audit_log WHERE table_name = 'incidents' AND row_id = :i",
                i=world["dv"],
            )
            == 0
        )
    # The owner still sees it: the row is there, the policy hides it.
    with engine.connect() as conn:
        assert _count(conn, "SELECT count(*) FROM incidents WHERE id = :i", i=world["dv"]) == 1


def test_scoped_roles_cannot_write_into_another_community(world):
    engine = world["engine"]
    for role in ("police", "mediator"):
        with pytest.raises(ProgrammingError, match="row-level security"):
            with connect_as(engine, role, world["users"][role].id) as conn:
                conn.execute(
                    text(
                        INSERT_INCIDENT.replace(" RETURNING id", "").replace(
                            "'sensitive'", "'normal'"
                        )
                    ),
                    {"c": world["other"], "t": "theft", "x": 23.02, "y": 42.61},
                )


@pytest.mark.parametrize("role", ["police", "mediator"])
def test_no_valid_account_means_no_incident_rows(world, role):
    engine = world["engine"]
    with connect_as(engine, role) as conn:
        assert _count(conn) == 0
    # Someone else's id, or garbage, is no account either.
    other_role = "mediator" if role == "police" else "police"
    for claimed in (str(world["users"][other_role].id), "1; SELECT 1", "-1", "99999"):
        with connect_as(engine, role) as conn:
            conn.execute(text("SELECT set_config('harta.user_id', :u, true)"), {"u": claimed})
            assert _count(conn) == 0
            assert conn.execute(text("SELECT harta_current_user()")).scalar_one() is None


def test_public_claiming_a_police_account_gets_nothing(world):
    police = world["users"]["police"]
    with connect_as(world["engine"], "public", police.id) as conn:
        assert conn.execute(text("SELECT harta_current_user()")).scalar_one() is None
        assert conn.execute(text("SELECT harta_scope_ids()")).scalar_one() == []
        with pytest.raises(ProgrammingError, match="permission denied"):
            with conn.begin_nested():
                _count(conn)


# --- route 5: demoted, deactivated, locked accounts lose their rights at once -------------------
@pytest.mark.parametrize("change", ["deactivate", "demote", "lock", "unscope"])
def test_open_connection_loses_rights_when_the_account_changes(world, loaded_db_url, change):
    engine, police = world["engine"], world["users"]["police"]
    live = role_engine(loaded_db_url, "police", police.id, pool_size=1, max_overflow=0)
    try:
        with live.connect() as conn:
            assert _count(conn) > 0
            conn.rollback()
        if change == "deactivate":
            accounts.deactivate(engine, police.username)
        elif change == "demote":
            accounts.set_role(engine, police.username, "planner")
        elif change == "lock":
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE users SET locked_until = now() + interval '1 hour' WHERE id = :i"),
                    {"i": police.id},
                )
        else:
            accounts.set_communities(engine, police.username, [world["other"]])
        # The same pooled connection, never reconnected.
        with live.connect() as conn:
            seen = _count(conn)
            other = _count(
                conn, "SELECT count(*) FROM incidents WHERE community_id <> :c", c=world["other"]
            )
    finally:
        live.dispose()
    if change == "unscope":
        assert seen == 1 and other == 0  # only the new community's row
    else:
        assert seen == 0


# --- route 6: analysis runs and other tables aggregated roles read ----------------------------
def _run(conn, community_id: int, scope: str, counts: dict) -> None:
    conn.execute(
        text(
            "INSERT INTO analysis_runs (kind, community_id, params, input_counts, outputs,"
            " started_at, finished_at, created_by_role) VALUES ('hotspots', :c,"
            " CAST(:p AS jsonb), CAST(:n AS jsonb), '{}'::jsonb, now(), now(), 'police')"
        ),
        {
            "c": community_id,
            "p": json.dumps({"scope": scope, "filters": {"types": ["domestic_violence"]}}),
            "n": json.dumps(counts),
        },
    )


def test_runs_are_visible_only_to_roles_and_accounts_that_cover_their_scope(world):
    engine, u = world["engine"], world["users"]
    with engine.begin() as conn:
        _run(conn, world["pata_rat"], "all", {"used": 4})
        _run(conn, world["pata_rat"], "exact", {"used": 9})
        _run(conn, world["pata_rat"], "aggregated", {"cells": 12})
        _run(conn, world["other"], "all", {"used": 1})
    sql = "SELECT params->>'scope' FROM analysis_runs ORDER BY id"
    expected = {
        "public": ["aggregated"],
        "community": ["aggregated"],
        "planner": ["aggregated"],
        "admin": ["aggregated"],
        "mediator": ["exact", "aggregated"],
        "police": ["all", "exact", "aggregated"],
    }
    for role in ROLES:
        uid = u[role].id if role != "public" else None
        with connect_as(engine, role, uid) as conn:
            assert list(conn.execute(text(sql)).scalars()) == expected[role], role
            # Nothing to learn from counting or filtering either.
            assert _count(
                conn, "SELECT count(*) FROM analysis_runs WHERE input_counts ? 'used'"
            ) == (2 if role == "police" else 1 if role == "mediator" else 0)
    # Police without a valid account see only what the public sees.
    with connect_as(engine, "police") as conn:
        assert list(conn.execute(text(sql)).scalars()) == ["aggregated"]


def test_aggregated_roles_cannot_store_or_rewrite_exact_runs(world):
    engine = world["engine"]
    with engine.begin() as conn:
        _run(conn, world["pata_rat"], "all", {"used": 4})
    with connect_as(engine, "public") as conn:
        assert (
            conn.execute(text("UPDATE analysis_runs SET input_counts = '{}'::jsonb")).rowcount == 0
        )
    with pytest.raises(ProgrammingError, match="row-level security"):
        with connect_as(engine, "community", world["users"]["community"].id) as conn:
            _run(conn, world["pata_rat"], "exact", {"used": 1})


def test_incident_import_reports_are_hidden_from_aggregated_roles(world):
    engine, u = world["engine"], world["users"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO imports (layer, filename, file_sha256, file_format, community_id,"
                " rows_read, rows_written, rows_skipped, report, created_by_role) VALUES"
                " ('incidents', 'dv-june.csv', repeat('0', 64), 'csv', :c, 4, 4, 0,"
                ' \'{"problems": [{"row": 2, "params": {"type": "domestic_violence"}}]}\','
                " 'police')"
            ),
            {"c": world["pata_rat"]},
        )
    for role in ("public", "community", "admin"):
        uid = u[role].id if role != "public" else None
        with connect_as(engine, role, uid) as conn:
            try:
                assert _count(conn, "SELECT count(*) FROM imports WHERE layer = 'incidents'") == 0
            except ProgrammingError as exc:  # no grant at all is as good
                assert "permission denied" in str(exc)
    with connect_as(engine, "police", u["police"].id) as conn:
        assert _count(conn, "SELECT count(*) FROM imports WHERE layer = 'incidents'") == 1


# --- route 8: logs cannot be dodged or forged ----------------------------------------------------
def test_every_security_definer_function_ends_its_search_path_with_pg_temp(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.oid::regprocedure::text AS name, p.proconfig FROM pg_proc AS p"
                " JOIN pg_namespace AS n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'public' AND p.prosecdef AND NOT EXISTS ("
                "   SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_proc'::regclass"
                "   AND d.objid = p.oid AND d.deptype = 'e')"
            )
        ).all()
    names = {r.name for r in rows}
    assert "harta_audit()" in names and "harta_log_access(text,jsonb)" in names
    for row in rows:
        paths = [c for c in row.proconfig or [] if c.startswith("search_path=")]
        assert paths, f"{row.name} has no search_path"
        parts = [p.strip().strip('"') for p in paths[0].split("=", 1)[1].split(",")]
        assert parts[-1] == "pg_temp" and parts[0] == "public", (row.name, parts)


def test_a_temporary_audit_log_does_not_swallow_the_audit_rows(world):
    engine, u = world["engine"], world["users"]
    with engine.connect() as conn:
        before = _count(conn, "SELECT count(*) FROM audit_log WHERE table_name = 'incidents'")
    with connect_as(engine, "police", u["police"].id) as conn:
        conn.execute(text("CREATE TEMP TABLE audit_log (LIKE public.audit_log) ON COMMIT DROP"))
        conn.execute(
            text(INSERT_INCIDENT.replace(" RETURNING id", "")),
            {"c": world["pata_rat"], "t": "assault", "x": 23.6447, "y": 46.7612},
        )
        conn.execute(
            text("UPDATE incidents SET severity = 2 WHERE id = (SELECT max(id) FROM incidents)")
        )
        assert _count(conn, "SELECT count(*) FROM pg_temp.audit_log") == 0
    with engine.connect() as conn:
        after = _count(conn, "SELECT count(*) FROM audit_log WHERE table_name = 'incidents'")
    assert after == before + 2


@pytest.mark.parametrize("role", ROLES)
def test_no_role_can_insert_access_records_directly(world, role):
    uid = world["users"][role].id if role != "public" else None
    with pytest.raises(ProgrammingError, match="permission denied"):
        with connect_as(world["engine"], role, uid) as conn:
            conn.execute(
                text(
                    "INSERT INTO access_log (at, username, role, action)"
                    " VALUES ('2020-01-01', 'test-police', 'police', 'export')"
                )
            )


def test_access_records_carry_the_real_account_and_time(world):
    engine, u = world["engine"], world["users"]
    # The anonymous public claims to be the police account; the mediator claims police.
    with connect_as(engine, "public", u["police"].id) as conn:
        lifecycle.record_access(conn, "view_exact", {"rows": 1})
    with connect_as(engine, "mediator", u["mediator"].id) as conn:
        conn.execute(text("SELECT set_config('harta.role', 'police', true)"))
        conn.execute(text("SELECT harta_log_access('export', '{\"rows\": 2}'::jsonb)"))
    # There is no parameter through which a name or a time could be given.
    with pytest.raises(ProgrammingError):
        with connect_as(engine, "public") as conn:
            conn.execute(
                text("SELECT harta_log_access('export', '{}'::jsonb, 'test-police', '2020-01-01')")
            )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT username, role, at > now() - interval '1 hour' FROM access_log ORDER BY id"
            )
        ).all()
    assert rows == [(None, "public", True), ("test-mediator", "mediator", True)]


def test_a_direct_login_without_set_role_cannot_write_as_the_system(world, loaded_db_url):
    """A per-role LOGIN that skips SET ROLE is neither a role nor the operator."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = world["engine"]
    login = f"harta_test_admin_{make_url(loaded_db_url).database}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{login}\" LOGIN PASSWORD 'pw-1' IN ROLE harta_admin"))
    direct = create_engine(make_url(loaded_db_url).set(username=login, password="pw-1"))
    try:
        with pytest.raises(ProgrammingError, match="act as a Harta role"):
            with direct.begin() as conn:
                conn.execute(text("SELECT harta_log_access('backup', '{}'::jsonb)"))
        with pytest.raises(ProgrammingError, match="may not"):
            with direct.begin() as conn:
                conn.execute(text("SELECT harta_purge_incidents(1)"))
    finally:
        direct.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))


# --- route 9: withdrawal, tombstones, purge ---------------------------------------------------
def _csv(engine, path, community_id: int) -> None:
    """Three incidents at places of demo incidents of Pata Rât, at new times."""
    with engine.connect() as conn:
        points = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE community_id = :c"
                " ORDER BY id LIMIT 3"
            ),
            {"c": community_id},
        ).all()
    lines = ["type,severity,occurred_at,lat,lon"]
    for k, (x, y) in enumerate(points):
        lines.append(f"theft,2,2024-0{k + 1}-11 03:1{k},{y:.7f},{x:.7f}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("who", ["operator", "police"])
def test_a_withdrawn_incident_never_comes_back_on_reimport(world, loaded_db_url, tmp_path, who):
    from geo.ingest import import_file

    engine, police = world["engine"], world["users"]["police"]
    path = tmp_path / "june.csv"
    _csv(engine, path, world["pata_rat"])
    acting = engine if who == "operator" else role_engine(loaded_db_url, "police", police.id)
    try:
        first = import_file(acting, "incidents", path, community="pata-rat", role="police")
        assert first.rows_written == 3
        with engine.connect() as conn:
            ids = list(
                conn.execute(
                    text("SELECT id FROM incidents WHERE import_id = :i ORDER BY id"),
                    {"i": first.import_id},
                ).scalars()
            )
        assert lifecycle.withdraw_contribution(acting, "incidents", ids[1]) is True
        again = import_file(acting, "incidents", path, community="pata-rat", role="police")
    finally:
        if acting is not engine:
            acting.dispose()
    assert again.rows_written == 0
    keys = [p.key for p in again.problems]
    assert keys.count("security.import.withdrawn") == 1
    assert keys.count("ingest.problem.duplicate_stored") == 2
    assert "withdrawn" in again.render("en")
    with engine.connect() as conn:
        assert _count(conn, "SELECT count(*) FROM incidents WHERE id = :i", i=ids[1]) == 0
        assert (
            _count(conn, "SELECT count(*) FROM incidents WHERE source_ref LIKE 'june.csv#%'") == 2
        )


def test_tombstoned_rows_are_refused_even_by_plain_sql_and_unreadable(world):
    engine, u = world["engine"], world["users"]
    with engine.begin() as conn:
        row = (
            conn.execute(
                text("SELECT * FROM incidents WHERE row_hash IS NOT NULL ORDER BY id LIMIT 1")
            )
            .mappings()
            .one()
        )
    lifecycle.withdraw_contribution(engine, "incidents", row["id"])
    columns = [c for c in row.keys() if c not in ("id", "created_at")]
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO incidents ({', '.join(columns)})"
                f" VALUES ({', '.join(':' + c for c in columns)})"
            ),
            dict(row),
        )
        assert (
            _count(conn, "SELECT count(*) FROM incidents WHERE row_hash = :h", h=row["row_hash"])
            == 0
        )
    for role in ROLES:
        uid = u[role].id if role != "public" else None
        with pytest.raises(ProgrammingError, match="permission denied"):
            with connect_as(engine, role, uid) as conn:
                conn.execute(text("SELECT * FROM harta_tombstones"))


def test_out_of_scope_withdrawal_is_answered_like_a_missing_row(world, loaded_db_url):
    engine, u = world["engine"], world["users"]
    police = role_engine(loaded_db_url, "police", u["police"].id)
    try:
        assert lifecycle.withdraw_contribution(police, "incidents", world["dv"]) is False
        assert lifecycle.withdraw_contribution(police, "incidents", 10**9) is False
    finally:
        police.dispose()
    with engine.connect() as conn:
        assert _count(conn, "SELECT count(*) FROM incidents WHERE id = :i", i=world["dv"]) == 1
    # Without a valid account nobody withdraws anything.
    unsigned = role_engine(loaded_db_url, "police")
    try:
        with pytest.raises(PermissionError):
            lifecycle.withdraw_contribution(unsigned, "incidents", world["dv"])
    finally:
        unsigned.dispose()


def test_purge_cutoff_cannot_disagree_with_its_record(world):
    engine, admin = world["engine"], world["users"]["admin"]
    with engine.connect() as conn:
        total = _count(conn)
    # The two-argument version (free cutoff) is gone for everyone.
    with pytest.raises(DBAPIError, match="does not exist"):
        with connect_as(engine, "admin", admin.id) as conn:
            conn.execute(text("SELECT harta_purge_incidents(now(), 1825)"))
    with connect_as(engine, "admin", admin.id) as conn:
        log_id = conn.execute(text("SELECT harta_purge_incidents(1825)")).scalar_one()
        log = conn.execute(
            text(
                "SELECT cutoff, older_than_days, rows_deleted, app_role FROM purge_log"
                " WHERE id = :i"
            ),
            {"i": log_id},
        ).one()
        age = conn.execute(text("SELECT now() - :c"), {"c": log.cutoff}).scalar_one()
    assert log.older_than_days == 1825 and age.days == 1825 and log.app_role == "admin"
    with engine.connect() as conn:
        assert _count(conn) == total - log.rows_deleted
        assert (
            _count(conn, "SELECT count(*) FROM incidents WHERE occurred_at < :c", c=log.cutoff) == 0
        )
