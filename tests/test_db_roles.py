"""What each role can read and write, proven against PostGIS itself (migration 0002).

Every check switches a real connection to the role's group role (``SET LOCAL ROLE harta_x``),
so these tests prove the grants and row-level security, not the app's filtering.
"""

from __future__ import annotations

import re

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, InternalError, ProgrammingError

from geo import roles
from geo.communities.model import Community
from geo.db.migrate import alembic_config, upgrade
from geo.db.security import (
    AUTH_ROLE,
    INGEST_ROLE,
    ROLES,
    acting_role,
    connect_as,
    current_role,
    db_role,
    role_engine,
)
from tests.factories import account_engine, acting, insert_community

NOT_INCIDENT_READERS = ("public", "community", "planner", "admin")


def _community(conn, slug: str = "t") -> int:
    return insert_community(conn, slug)


INSERT_INCIDENT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, narrative, geom, source, created_by_role, is_demo)"
    " VALUES (:c, :at, :t, 3, 'exact', :sens, 'police', 'reported', :n,"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false)"
)


def _incident(conn, cid: int, type_code: str, x: float, y: float, at: str = "2025-06-01"):
    sens = "sensitive" if type_code in {"domestic_violence", "child_protection"} else "normal"
    conn.execute(
        text(INSERT_INCIDENT),
        {
            "c": cid,
            "at": at,
            "t": type_code,
            "sens": sens,
            "n": f"words {type_code}",
            "x": x,
            "y": y,
        },
    )


@pytest.fixture
def seeded(engine):
    """A community with 7 assaults in one spot, 3 thefts in another, 6 domestic violence."""
    with engine.begin() as conn:
        cid = _community(conn)
        for k in range(7):
            _incident(conn, cid, "assault", 23.610 + k * 1e-5, 46.710)
        for k in range(3):
            _incident(conn, cid, "theft", 23.630 + k * 1e-5, 46.720)
        for k in range(6):
            _incident(conn, cid, "domestic_violence", 23.620 + k * 1e-5, 46.715)
    return engine, cid


def _denied(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "42501"


def test_group_roles_exist_and_cannot_log_in(engine):
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                text("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'harta\\_%'")
            ).all()
        )
    for role in (*ROLES, "auth"):
        assert rows[db_role(role)] is False


def test_unknown_role_never_reaches_sql():
    with pytest.raises(ValueError):
        db_role("police; DROP TABLE incidents")


def _check_values(conn, name: str) -> set[str]:
    """The string literals a CHECK constraint ``name`` allows (``col IN ('a', 'b')``)."""
    definition = conn.execute(
        text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n"), {"n": name}
    ).scalar_one()
    return set(re.findall(r"'([a-z_]+)'::", definition))


def test_the_migrations_speak_the_vocabulary_of_geo_roles(engine):
    """The database's role names -- group roles, the roles an account or a log row may hold, the
    role a connection is recognised as acting in -- are exactly :data:`geo.roles.ROLES`."""
    with engine.connect() as conn:
        groups = set(
            conn.execute(
                text("SELECT rolname FROM pg_roles WHERE rolname LIKE 'harta\\_%'")
            ).scalars()
        )
        assert groups == {f"harta_{r}" for r in roles.ROLES} | {
            db_role(AUTH_ROLE),
            db_role(INGEST_ROLE),
        }
        assert _check_values(conn, "users_role_known") == set(roles.ROLES)
        assert _check_values(conn, "access_log_role_known") == {roles.SYSTEM, *roles.ROLES}
        assert _check_values(conn, "incidents_role_known") == {roles.SYSTEM, *roles.ROLES}
    for role in roles.ROLES:
        with connect_as(engine, role) as conn:
            assert conn.execute(text("SELECT harta_acting_role()")).scalar_one() == role


def test_acting_role_is_read_from_the_connection_and_cannot_be_forged(engine, db_url):
    """A write learns its role from the connection.  Overwriting ``harta.role`` (the audit
    setting any caller can change) does not make a police connection an admin one."""
    assert acting_role(engine) == roles.SYSTEM
    for role in roles.ROLES:
        with connect_as(engine, role) as conn:
            conn.execute(text("SELECT set_config('harta.role', 'admin', true)"))
            assert acting_role(conn) == role
    police = role_engine(db_url, "police")
    try:
        assert acting_role(police) == "police"
    finally:
        police.dispose()


def test_a_row_records_the_role_of_its_connection_not_what_the_statement_claims(seeded):
    """Attack (fails before migration 0008): a police connection inserts an incident claiming
    ``created_by_role = 'system'`` and sets ``harta.role`` to ``admin``; a mediator then tries
    to rewrite the provenance.  The row and the audit trail say police, and keep saying it."""
    engine, cid = seeded
    marker = "forged provenance"
    with acting(engine, "police") as conn:
        conn.execute(text("SELECT set_config('harta.role', 'admin', true)"))
        _incident(conn, cid, "theft", 23.612, 46.712)
        conn.execute(
            text(
                "UPDATE incidents SET created_by_role = 'system', narrative = :m"
                " WHERE id = (SELECT max(id) FROM incidents)"
            ),
            {"m": marker},
        )
    with acting(engine, "mediator") as conn:
        conn.execute(
            text("UPDATE incidents SET created_by_role = 'admin' WHERE narrative = :m"),
            {"m": marker},
        )
    with engine.connect() as conn:
        row_id, stamped = conn.execute(
            text("SELECT id, created_by_role FROM incidents WHERE narrative = :m"), {"m": marker}
        ).one()
        audit_roles = set(
            conn.execute(
                text(
                    "SELECT app_role FROM audit_log WHERE table_name = 'incidents'"
                    " AND row_id = :r AND operation IN ('INSERT', 'UPDATE')"
                ),
                {"r": row_id},
            ).scalars()
        )
    assert stamped == "police"
    assert audit_roles == {"police", "mediator"}


def test_the_operator_keeps_the_provenance_it_writes(engine):
    """The owner's connection (no SET ROLE: bootstrap, demo, CLI maintenance) is trusted."""
    cid = insert_community(engine, "t")
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('harta.role', 'admin', true)"))
        conn.execute(text("UPDATE communities SET name = 'U' WHERE id = :c"), {"c": cid})
        audit = conn.execute(
            text(
                "SELECT app_role FROM audit_log WHERE table_name = 'communities'"
                " AND operation = 'UPDATE'"
            )
        ).scalar_one()
        stamped = conn.execute(
            text("SELECT created_by_role FROM communities WHERE id = :c"), {"c": cid}
        ).scalar_one()
    assert (audit, stamped) == ("admin", "system")


def test_the_database_scopes_exactly_the_scoped_roles(seeded):
    """An account of a role in :data:`geo.roles.SCOPED_ROLES`, given no community, has an empty
    scope in the database; an account of any other role sees every community."""
    engine, cid = seeded
    for role in roles.ACCOUNT_ROLES:
        with acting(engine, role, communities=[], username=f"nobody-{role}") as conn:
            scope = conn.execute(text("SELECT harta_scope_ids()")).scalar_one() or []
        assert (cid in scope) == (role not in roles.SCOPED_ROLES), role


def test_rules_agree_with_geo_privacy(engine):
    from geo import privacy

    assert set(ROLES) == set(privacy.ROLES)
    with engine.connect() as conn:
        for code in ("domestic_violence", "sexual_violence", "child_protection", "assault", "fire"):
            in_db = conn.execute(
                text("SELECT harta_is_sensitive(:t, 'normal')"), {"t": code}
            ).scalar_one()
            assert in_db == (code in privacy.SENSITIVE_TYPES), code


@pytest.mark.parametrize("role", NOT_INCIDENT_READERS)
def test_roles_without_points_cannot_select_incidents_at_all(seeded, role):
    engine, _ = seeded
    for sql in (
        "SELECT count(*) FROM incidents",
        "SELECT narrative FROM incidents",
        "SELECT ST_AsText(geom) FROM incidents",
    ):
        with pytest.raises(ProgrammingError, match="permission denied") as err:
            with acting(engine, role) as conn:
                conn.execute(text(sql))
        assert _denied(err.value)


@pytest.mark.parametrize("role", ROLES)
def test_hex_counts_never_show_a_count_below_five(seeded, role):
    engine, cid = seeded
    with acting(engine, role) as conn:
        rows = conn.execute(
            text(
                "SELECT cell_id, count, suppressed, ST_GeometryType(geom), ST_SRID(geom)"
                " FROM incident_hex_counts(:c, 300)"
            ),
            {"c": cid},
        ).all()
    assert rows, "cells cover the whole community"
    shown = [r for r in rows if not r.suppressed]
    assert all(r.count is None for r in rows if r.suppressed)
    assert all(r.count >= 5 for r in shown)
    assert {(r[3], r[4]) for r in rows} == {("ST_Polygon", 4326)}
    # The 7 assaults form one visible cell; the 3 thefts are suppressed; the 6 domestic
    # violence incidents are sensitive and never counted, so no other cell is visible.
    # Published counts are rounded to 5 (migration 0005): 7 is shown as 5.
    assert [r.count for r in shown] == [5]


def test_hex_counts_floors_cannot_be_lowered(seeded):
    engine, cid = seeded
    with acting(engine, "public") as conn:
        counts = conn.execute(
            text("SELECT count FROM incident_hex_counts(:c, 300, 1) WHERE NOT suppressed"),
            {"c": cid},
        ).scalars()
        assert sorted(counts) == [5]
    with pytest.raises(DataError, match="cell size"):
        with acting(engine, "public") as conn:
            conn.execute(text("SELECT * FROM incident_hex_counts(:c, 5)"), {"c": cid})


def test_hex_counts_cannot_be_asked_for_sensitive_types(seeded):
    engine, cid = seeded
    with acting(engine, "planner") as conn:
        shown = conn.execute(
            text(
                "SELECT count(*) FROM incident_hex_counts(:c, 300, 5, NULL, NULL,"
                " ARRAY['domestic_violence']) WHERE NOT suppressed"
            ),
            {"c": cid},
        ).scalar_one()
    assert shown == 0


def test_hex_counts_filters_by_date(seeded):
    engine, cid = seeded
    with acting(engine, "community") as conn:
        shown = conn.execute(
            text(
                "SELECT count(*) FROM incident_hex_counts(:c, 300, 5, '2025-07-01 00:00+03', NULL)"
                " WHERE NOT suppressed"
            ),
            {"c": cid},
        ).scalar_one()
    assert shown == 0


def test_mediator_sees_non_sensitive_incidents_and_their_narrative(seeded):
    engine, _ = seeded
    with acting(engine, "mediator") as conn:
        rows = conn.execute(text("SELECT type_code, narrative FROM incidents")).all()
    types = {r.type_code for r in rows}
    assert types == {"assault", "theft"}
    assert len(rows) == 10
    assert all(r.narrative.startswith("words") for r in rows)


def test_mediator_cannot_reach_sensitive_rows_by_any_query(seeded):
    engine, _ = seeded
    with acting(engine, "mediator") as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM incidents WHERE type_code = 'domestic_violence'")
            ).scalar_one()
            == 0
        )
        changed = conn.execute(
            text("UPDATE incidents SET severity = 1 WHERE type_code = 'domestic_violence'")
        ).rowcount
        assert changed == 0


def test_mediator_may_record_a_sensitive_incident_but_not_read_it_back(seeded):
    engine, cid = seeded
    with acting(engine, "mediator") as conn:
        _incident(conn, cid, "domestic_violence", 23.62, 46.72)
    with acting(engine, "police") as conn:
        n = conn.execute(
            text("SELECT count(*) FROM incidents WHERE type_code = 'domestic_violence'")
        ).scalar_one()
    assert n == 7


def test_police_see_every_incident_with_narrative(seeded):
    engine, _ = seeded
    with acting(engine, "police") as conn:
        rows = conn.execute(text("SELECT type_code, narrative FROM incidents")).all()
    assert len(rows) == 16
    assert {r.type_code for r in rows} == {"assault", "theft", "domestic_violence"}
    assert all(r.narrative for r in rows)


def test_nobody_deletes_incidents_directly(seeded):
    engine, _ = seeded
    for role in ROLES:
        with pytest.raises(ProgrammingError, match="permission denied"):
            with acting(engine, role) as conn:
                conn.execute(text("DELETE FROM incidents"))


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_admin_writes_users(engine, role):
    hash_ = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
    with pytest.raises(ProgrammingError, match="permission denied"):
        with acting(engine, role) as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role) VALUES ('x1x', :h, 'police')"
                ),
                {"h": hash_},
            )
    with acting(engine, "admin") as conn:
        conn.execute(
            text("INSERT INTO users (username, password_hash, role) VALUES ('x1x', :h, 'admin')"),
            {"h": hash_},
        )
    for sql in (
        "UPDATE users SET role = 'admin'",
        "DELETE FROM users",
        "SELECT username FROM users",
        "DELETE FROM user_communities",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with acting(engine, role) as conn:
                conn.execute(text(sql))


def test_admin_manages_users_but_cannot_read_password_hashes(engine):
    with pytest.raises(ProgrammingError, match="permission denied"):
        with acting(engine, "admin") as conn:
            conn.execute(text("SELECT password_hash FROM users"))


def test_users_table_refuses_plain_text_passwords(engine):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="users_hash_argon2"):
        with acting(engine, "admin") as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role)"
                    " VALUES ('someone', 'hunter2hunter2', 'police')"
                )
            )


LAYER_ROWS = (
    "INSERT INTO workshops (community_id, held_on, language, facilitator_role, participants,"
    " source, created_by_role) VALUES (:c, '2025-06-01', 'ro', 'mediator', 5, 'workshop',"
    " 'mediator')",
    "INSERT INTO risk_zones (community_id, hazard_code, severity, time_of_day, season, geom,"
    " source, created_by_role) VALUES (:c, 'flooding', 3, 'always', 'all_year',"
    " ST_SetSRID(ST_MakePoint(23.61, 46.71), 4326), 'workshop', 'community')",
    "INSERT INTO facilities (community_id, kind, name, geom, source, created_by_role)"
    " VALUES (:c, 'school', 'S', ST_SetSRID(ST_MakePoint(23.62, 46.71), 4326), 'osm', 'system')",
    "INSERT INTO streets (id, community_id, u, v, key, length_m, source, geom) VALUES (1, :c, 1,"
    " 2, 0, 10, 'osm', ST_GeomFromText('LINESTRING(23.61 46.71,23.6101 46.71)', 4326))",
    "INSERT INTO places (community_id, name, source, geom)"
    " VALUES (:c, 'P', 'osm', ST_SetSRID(ST_MakePoint(23.63, 46.72), 4326))",
)
LAYERS = ("communities", "workshops", "risk_zones", "facilities", "streets", "places")


def test_layers_are_readable_by_every_role(seeded):
    """Every role reads every row of every public layer (not merely: the query did not fail)."""
    engine, cid = seeded
    with engine.begin() as conn:
        for sql in LAYER_ROWS:
            conn.execute(text(sql), {"c": cid})
    count = "SELECT count(*) FROM {}"
    with engine.connect() as conn:
        expected = {t: conn.execute(text(count.format(t))).scalar_one() for t in LAYERS}
    assert all(n >= 1 for n in expected.values()), expected
    for role in ROLES:
        with acting(engine, role) as conn:
            seen = {t: conn.execute(text(count.format(t))).scalar_one() for t in LAYERS}
        assert seen == expected, role


ZONE = (
    "INSERT INTO risk_zones (community_id, hazard_code, severity, time_of_day, season, geom,"
    " source, created_by_role, is_demo) VALUES (:c, 'flooding', 3, 'always', 'all_year',"
    " ST_SetSRID(ST_MakePoint(23.61, 46.71), 4326), 'form', 'community', false)"
)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("public", False),
        ("community", True),
        ("mediator", True),
        ("police", False),
        ("planner", False),
        ("admin", True),
    ],
)
def test_who_may_draw_risk_zones(seeded, role, allowed):
    engine, cid = seeded
    if allowed:
        with acting(engine, role) as conn:
            conn.execute(text(ZONE), {"c": cid})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM risk_zones")).scalar_one() == 1
    else:
        with pytest.raises(ProgrammingError, match="permission denied"):
            with acting(engine, role) as conn:
                conn.execute(text(ZONE), {"c": cid})


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("public", False),
        ("community", False),
        ("mediator", True),
        ("police", True),
        ("planner", False),
        ("admin", True),
    ],
)
def test_who_may_record_incidents(seeded, role, allowed):
    engine, cid = seeded
    fires = "SELECT count(*) FROM incidents WHERE type_code = 'fire'"
    if allowed:
        with acting(engine, role) as conn:
            _incident(conn, cid, "fire", 23.61, 46.71)
        with engine.connect() as conn:
            assert conn.execute(text(fires)).scalar_one() == 1
    else:
        with pytest.raises(ProgrammingError, match="permission denied"):
            with acting(engine, role) as conn:
                _incident(conn, cid, "fire", 23.61, 46.71)


def test_only_admin_changes_communities(seeded):
    engine, cid = seeded
    for role in ("public", "community", "mediator", "police", "planner"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with acting(engine, role) as conn:
                conn.execute(text("UPDATE communities SET name = 'X' WHERE id = :c"), {"c": cid})
    with acting(engine, "admin") as conn:
        conn.execute(text("UPDATE communities SET name = 'X' WHERE id = :c"), {"c": cid})
    with engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM communities WHERE id = :c"), {"c": cid})
        assert name.scalar_one() == "X"


def test_audit_log_is_append_only_for_everyone(seeded):
    engine, _ = seeded
    for role in ROLES:
        for sql in ("DELETE FROM audit_log", "UPDATE audit_log SET app_role = 'x'"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                with acting(engine, role) as conn:
                    conn.execute(text(sql))
    # Even the owner is stopped by the trigger, for UPDATE, DELETE and TRUNCATE alike.
    for sql in (
        "UPDATE audit_log SET old_row = NULL",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises((ProgrammingError, InternalError), match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(sql))


def test_audit_redaction_cannot_be_abused_to_rewrite_history(seeded):
    engine, _ = seeded
    with pytest.raises((ProgrammingError, InternalError), match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('harta.audit_redaction', 'on', true)"))
            conn.execute(text("UPDATE audit_log SET new_row = '{\"id\": 1}'::jsonb"))
    with pytest.raises(ProgrammingError, match="permission denied"):
        with acting(engine, "admin") as conn:
            conn.execute(text("SELECT harta_redact_audit('incidents', ARRAY[1::bigint])"))


def test_access_log_is_append_only_and_only_admin_reads_it(engine):
    for role in ROLES:
        with acting(engine, role) as conn:
            conn.execute(text("SELECT harta_log_access('export', '{}'::jsonb)"))
    for role in ROLES:
        for sql in ("UPDATE access_log SET role = 'admin'", "DELETE FROM access_log"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                with acting(engine, role) as conn:
                    conn.execute(text(sql))
        if role != "admin":
            with pytest.raises(ProgrammingError, match="permission denied"):
                with acting(engine, role) as conn:
                    conn.execute(text("SELECT * FROM access_log"))
    with acting(engine, "admin") as conn:
        rows = conn.execute(text("SELECT role, username FROM access_log ORDER BY id")).all()
    assert [r.role for r in rows] == list(ROLES)
    assert [r.username for r in rows] == [None] + [f"db-{r}" for r in ROLES[1:]]
    for sql in (
        "UPDATE access_log SET role = 'admin'",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ):
        with pytest.raises((ProgrammingError, InternalError), match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(sql))


def test_audit_trail_of_incidents_is_hidden_from_admin(seeded):
    engine, _ = seeded
    with acting(engine, "admin") as conn:
        tables = set(conn.execute(text("SELECT DISTINCT table_name FROM audit_log")).scalars())
    assert tables == {"communities"}
    with acting(engine, "police") as conn:
        tables = set(conn.execute(text("SELECT DISTINCT table_name FROM audit_log")).scalars())
    assert tables == {"incidents"}
    with pytest.raises(ProgrammingError, match="permission denied"):
        with acting(engine, "planner") as conn:
            conn.execute(text("SELECT count(*) FROM audit_log"))


def test_role_engine_keeps_its_role_across_pooled_transactions(seeded, db_url):
    engine, _ = seeded
    police = account_engine(db_url, "police", pool_size=1, max_overflow=0)
    public = role_engine(db_url, "public", pool_size=1, max_overflow=0)
    try:
        for _ in range(3):
            with police.connect() as conn:
                assert current_role(conn) == "harta_police"
                assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 16
                conn.rollback()
            with public.begin() as conn:
                assert current_role(conn) == "harta_public"
                with pytest.raises(ProgrammingError, match="permission denied"):
                    with conn.begin_nested():
                        conn.execute(text("SELECT count(*) FROM incidents"))
    finally:
        police.dispose()
        public.dispose()


def test_connect_as_reverts_when_the_transaction_ends(engine):
    with connect_as(engine, "planner") as conn:
        assert current_role(conn) == "harta_planner"
    with engine.connect() as conn:
        assert current_role(conn) != "harta_planner"


def test_real_login_role_gets_only_what_its_group_allows(seeded, db_url):
    """A deployment may use one LOGIN per role: the grants hold without any SET ROLE."""
    engine, cid = seeded
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    login = f"harta_test_planner_{make_url(db_url).database}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{login}\" LOGIN PASSWORD 'pw-1' IN ROLE harta_planner"))
    planner = create_engine(make_url(db_url).set(username=login, password="pw-1"))
    try:
        with planner.connect() as conn:
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text("SELECT count(*) FROM incidents"))
            conn.rollback()
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text("SET ROLE harta_police"))
            conn.rollback()
            n = conn.execute(
                text("SELECT count(*) FROM incident_hex_counts(:c, 300) WHERE NOT suppressed"),
                {"c": cid},
            ).scalar_one()
            assert n == 1
    finally:
        planner.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))


def test_hex_counts_on_the_demo_data_suppress_small_cells(loaded_engine):
    cid = Community.load(loaded_engine, "pata-rat").id
    with acting(loaded_engine, "public") as conn:
        rows = conn.execute(
            text("SELECT count, suppressed FROM incident_hex_counts(:c, 300)"), {"c": cid}
        ).all()
    shown = [r.count for r in rows if not r.suppressed]
    assert shown and min(shown) >= 5
    assert any(r.suppressed for r in rows)
    with acting(loaded_engine, "police") as conn:
        sensitive = conn.execute(
            text("SELECT count(*) FROM incidents WHERE harta_is_sensitive(type_code, sensitivity)")
        ).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    assert sum(shown) <= total - sensitive


def test_downgrade_and_upgrade_again_is_clean(engine):
    """Roles are shared by the cluster: re-running the migration must not trip over them."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('users')")).scalar_one() is None
        assert (
            conn.execute(
                text("SELECT count(*) FROM pg_roles WHERE rolname = 'harta_police'")
            ).scalar_one()
            == 1
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('users')")).scalar_one() == "users"


IMPORT_CASES = [
    ("community", "risk_zones", True),
    ("mediator", "risk_zones", True),
    ("planner", "risk_zones", False),
    ("police", "incidents", True),
    ("mediator", "incidents", True),
    ("public", "incidents", False),
]


@pytest.mark.parametrize(("role", "layer", "allowed"), IMPORT_CASES)
def test_imports_through_a_role_engine_obey_the_grants(
    engine, db_url, tmp_path, role, layer, allowed
):
    """The importer works under the database's rules; a role without the grant writes nothing."""
    ingest = pytest.importorskip("geo.ingest")
    insert_community(engine, "pata-rat", name="P")
    path = tmp_path / "rows.csv"
    if layer == "risk_zones":
        path.write_text(
            "hazard,severity,lat,lon\nflooding,3,46.71,23.61\nstray_dogs,2,46.72,23.62\n"
        )
    else:
        path.write_text(
            "type,severity,occurred_at,lat,lon\nassault,3,2025-05-01 21:00,46.71,23.61\n"
            "theft,2,2025-05-02 22:00,46.72,23.62\n"
        )
    eng = account_engine(db_url, role)
    try:
        if allowed:
            report = ingest.import_file(eng, layer, path, community="pata-rat", role=role)
            assert report.rows_written == 2
        else:
            with pytest.raises(Exception) as err:
                ingest.import_file(eng, layer, path, community="pata-rat", role=role)
            assert "permission denied" in str(err.value) or "role_not_allowed" in getattr(
                err.value, "key", ""
            )
    finally:
        eng.dispose()
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {layer}")).scalar_one()
    assert n == (2 if allowed else 0)
