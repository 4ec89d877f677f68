"""Migration 0014's one audit entry per import, attacked at the database.

``harta_ingest_finish`` writes one ``audit_log`` entry per import (ids and counts) instead of
one per row, and computes each row's metric coordinates in its own INSERT; the per-row audit
and metric triggers skip statements run as ``harta_ingest`` and nothing else.  These tests
check that the skip cannot be switched on by anyone else and that nothing is lost:

* plain INSERTs by police, mediators and the operator (even dressed as an import, even in the
  transaction of a finished import, even with every plausible setting changed) are audited
  per row with their values;
* a per-role LOGIN (the deployment that holds against arbitrary SQL) cannot become the writer
  (``SET ROLE``, ``SET SESSION AUTHORIZATION``, ``set_config('role', …)``), the writer owns
  only its two functions and is nobody's role, the trigger functions cannot be called, a
  temporary ``audit_log`` does not swallow the entry;
* the entry lists exactly the ids ``SELECT id FROM incidents WHERE import_id = …`` returns
  (the real importer, as a police account and as the operator), names the connection's role
  even after ``harta.role`` is set to ``admin``, and leaves out rows the database skipped;
* staged metric coordinates are never copied: the stored ones are pyproj's projection of the
  point (independent reference) and equal what the trigger computes for a plain INSERT;
* UPDATE and DELETE of imported rows are audited per row with the old values; the entry is
  append-only and readable only where the row would be (police in scope).

The tests counting entries per import failed on migration 0013 (one entry per row).
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from geo import crs, lifecycle
from geo.communities.model import Community
from geo.db.security import connect_as, role_engine
from tests.factories import insert_community

pytestmark = pytest.mark.db

SQUARE_WKT = "POLYGON((23.00 42.60,23.04 42.60,23.04 42.63,23.00 42.63,23.00 42.60))"
STAGED = [
    "community_id",
    "occurred_at",
    "type_code",
    "severity",
    "location_precision",
    "sensitivity",
    "reporting_role",
    "status",
    "geom",
    "source",
    "import_id",
    "row_hash",
    "created_by_role",
    "is_demo",
]
VALUES = (
    ":c, '2025-06-01 22:00+03', 'theft', :sev, 'exact', 'normal', 'police', 'reported',"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'import', :imp, :h, 'police', false"
)
ENTRY_KEYS = {"import_id", "community_id", "rows", "ids"}


@pytest.fixture
def world(loaded_engine, users):
    with loaded_engine.begin() as conn:
        other = insert_community(
            conn,
            "pernik-audit",
            name="Pernik",
            wkt=SQUARE_WKT,
            country="BG",
            timezone="Europe/Sofia",
        )
        pata = Community.load(conn, "pata-rat")
        x, y = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE community_id = :c LIMIT 1"),
            {"c": pata.id},
        ).one()
    return {"engine": loaded_engine, "users": users, "pata": pata, "xy": (x, y), "other": other}


def _import_row(conn, community_id: int) -> int:
    return conn.execute(
        text(
            "INSERT INTO imports (layer, filename, file_sha256, file_format, community_id,"
            " rows_read, rows_written, rows_skipped, created_by_role)"
            " VALUES ('incidents', 'audit.csv', repeat('0', 64), 'csv', :c, 0, 0, 0, 'police')"
            " RETURNING id"
        ),
        {"c": community_id},
    ).scalar_one()


def _rows(community_id: int, xy, import_id: int | None, n: int) -> list[dict]:
    x, y = xy
    return [
        {"c": community_id, "x": x + k * 1e-5, "y": y, "imp": import_id, "sev": 1 + k % 5,
         "h": uuid.uuid4().hex}
        for k in range(n)
    ]  # fmt: skip


def _bulk(conn, rows: list[dict], extra: dict[str, str] | None = None) -> int:
    """Stage ``rows`` (plus ``extra`` column → SQL value) and finish; rows written."""
    extra = extra or {}
    columns = STAGED + list(extra)
    conn.execute(
        text("SELECT harta_ingest_begin('incidents', CAST(:cols AS text[]))"), {"cols": columns}
    )
    values = VALUES + "".join(f", {v}" for v in extra.values())
    for row in rows:
        conn.execute(
            text(
                f"INSERT INTO pg_temp._harta_import_rows ({', '.join(columns)}) VALUES ({values})"
            ),
            row,
        )
    return conn.execute(text("SELECT harta_ingest_finish('incidents')")).scalar_one()


def _plain(conn, rows: list[dict]) -> list[int]:
    """One multi-row INSERT of ``rows`` straight into the layer; their ids."""
    values = ", ".join(
        "(" + re.sub(r":(?=[a-z])", f":r{k}_", VALUES) + ")" for k in range(len(rows))
    )
    params = {f"r{k}_{name}": v for k, row in enumerate(rows) for name, v in row.items()}
    return list(
        conn.execute(
            text(f"INSERT INTO incidents ({', '.join(STAGED)}) VALUES {values} RETURNING id"),
            params,
        ).scalars()
    )


def _entries(conn, import_id: int) -> list:
    return conn.execute(
        text(
            "SELECT operation, row_id, old_row, new_row, app_role, db_user FROM audit_log"
            " WHERE table_name = 'incidents' AND row_id IS NULL"
            " AND new_row ->> 'import_id' = :i ORDER BY id"
        ),
        {"i": str(import_id)},
    ).all()


def _per_row(conn, ids: list[int], operation: str = "INSERT") -> list:
    return conn.execute(
        text(
            "SELECT row_id, old_row, new_row, app_role FROM audit_log"
            " WHERE table_name = 'incidents' AND operation = :op AND row_id = ANY(:ids)"
            " ORDER BY row_id"
        ),
        {"op": operation, "ids": ids},
    ).all()


def _ids_of_import(conn, import_id: int) -> list[int]:
    return list(
        conn.execute(
            text("SELECT id FROM incidents WHERE import_id = :i ORDER BY id"), {"i": import_id}
        ).scalars()
    )


# --- the entry ---------------------------------------------------------------------------------


def _police_csv(path, xy, n: int) -> None:
    x, y = xy
    lines = ["type,severity,occurred_at,lat,lon"]
    for k in range(n):
        lines.append(f"theft,{1 + k % 5},2024-03-{k + 1:02d} 03:15,{y:.7f},{x + k * 1e-5:.7f}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("who", ["police", "operator"])
def test_an_import_writes_one_entry_listing_exactly_its_rows(world, loaded_db_url, tmp_path, who):
    from geo.ingest import import_file

    engine = world["engine"]
    path = tmp_path / "politie.csv"
    _police_csv(path, world["xy"], 7)
    acting = (
        engine
        if who == "operator"
        else role_engine(loaded_db_url, "police", world["users"]["police"].id)
    )
    try:
        report = import_file(acting, "incidents", path, community=world["pata"], role="police")
    finally:
        if acting is not engine:
            acting.dispose()
    assert report.rows_written == 7
    with engine.connect() as conn:
        ids = _ids_of_import(conn, report.import_id)
        entries = _entries(conn, report.import_id)
        per_row = _per_row(conn, ids)
    assert len(ids) == 7
    assert per_row == []
    [(operation, row_id, old_row, new_row, app_role, db_user)] = entries
    assert (operation, row_id, old_row, app_role, db_user) == (
        "INSERT", None, None, "police", "harta_ingest"
    )  # fmt: skip
    assert set(new_row) == ENTRY_KEYS
    assert new_row["ids"] == ids
    assert new_row["rows"] == 7
    assert new_row["community_id"] == world["pata"].id


def test_the_entry_names_the_connections_role_even_when_harta_role_says_admin(world):
    engine, police = world["engine"], world["users"]["police"]
    with connect_as(engine, "police", police.id) as conn:
        conn.execute(text("SELECT set_config('harta.role', 'admin', true)"))
        import_id = _import_row(conn, world["pata"].id)
        assert _bulk(conn, _rows(world["pata"].id, world["xy"], import_id, 3)) == 3
    with engine.connect() as conn:
        [entry] = _entries(conn, import_id)
        stamped = set(
            conn.execute(
                text("SELECT created_by_role FROM incidents WHERE import_id = :i"),
                {"i": import_id},
            ).scalars()
        )
    assert entry.app_role == "police"
    assert stamped == {"police"}


def test_rows_the_database_skipped_are_not_listed(world):
    """A row already stored (same hash) and a withdrawn one are staged again: the entry lists
    only the one row written."""
    engine, police = world["engine"], world["users"]["police"]
    cid = world["pata"].id
    stored, withdrawn, new = _rows(cid, world["xy"], None, 3)
    with connect_as(engine, "police", police.id) as conn:
        assert _bulk(conn, [stored, withdrawn]) == 2
    with engine.connect() as conn:
        gone = conn.execute(
            text("SELECT id FROM incidents WHERE row_hash = :h"), {"h": withdrawn["h"]}
        ).scalar_one()
    assert lifecycle.withdraw_contribution(engine, "incidents", gone) is True
    with connect_as(engine, "police", police.id) as conn:
        import_id = _import_row(conn, cid)
        again = [dict(r, imp=import_id) for r in (stored, withdrawn, new)]
        assert _bulk(conn, again) == 1
    with engine.connect() as conn:
        [entry] = _entries(conn, import_id)
        ids = _ids_of_import(conn, import_id)
    assert len(ids) == 1
    assert entry.new_row["ids"] == ids and entry.new_row["rows"] == 1


# --- every other write keeps its per-row audit -------------------------------------------------

SETTINGS = (
    "harta.role",
    "harta.ingest",
    "harta.skip_audit",
    "harta.audit",
    "harta.audit_redaction",
    "harta.bulk",
)


@pytest.mark.parametrize("who", ["police", "mediator", "operator"])
def test_plain_inserts_dressed_as_an_import_are_audited_per_row(world, who):
    """Rows with an import id and row hashes, inserted after a finished import in the same
    transaction, with every plausible setting switched on: one entry per row, with values."""
    engine, users = world["engine"], world["users"]
    cid = world["pata"].id

    def attempt(conn):
        for name in SETTINGS:
            conn.execute(text("SELECT set_config(:n, 'on', true)"), {"n": name})
        import_id = _import_row(conn, cid)
        _bulk(conn, _rows(cid, world["xy"], import_id, 2))
        return _plain(conn, _rows(cid, world["xy"], import_id, 3))

    if who == "operator":
        with engine.begin() as conn:
            ids = attempt(conn)
    else:
        with connect_as(engine, who, users[who].id) as conn:
            ids = attempt(conn)
    with engine.connect() as conn:
        rows = _per_row(conn, ids)
    assert [r.row_id for r in rows] == sorted(ids)
    assert all(r.new_row["severity"] in (1, 2, 3) and r.new_row["id"] == r.row_id for r in rows)
    assert {r.app_role for r in rows} == {"on" if who == "operator" else who}


@pytest.fixture
def police_login(world, loaded_db_url):
    """A per-role LOGIN (the deployment that holds against arbitrary SQL), acting as police."""
    engine = world["engine"]
    login = f"harta_test_police_{make_url(loaded_db_url).database}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{login}\" LOGIN PASSWORD 'pw-1' IN ROLE harta_police"))
    url = make_url(loaded_db_url).set(username=login, password="pw-1")
    acting = role_engine(
        url.render_as_string(hide_password=False), "police", world["users"]["police"].id
    )
    try:
        yield acting
    finally:
        acting.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))


@pytest.mark.parametrize(
    "statement",
    [
        "SET ROLE harta_ingest",
        "SET LOCAL ROLE harta_ingest",
        "SELECT set_config('role', 'harta_ingest', true)",
        "SET SESSION AUTHORIZATION harta_ingest",
        "SET LOCAL SESSION AUTHORIZATION harta_ingest",
    ],
)
def test_a_police_login_cannot_become_the_writer(police_login, statement):
    with pytest.raises(DBAPIError, match="permission denied"):
        with police_login.begin() as conn:
            conn.execute(text(statement))


def test_the_police_login_writes_audited_rows_and_its_import_one_entry(world, police_login):
    cid = world["pata"].id
    with police_login.begin() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "harta_police"
        import_id = _import_row(conn, cid)
        assert _bulk(conn, _rows(cid, world["xy"], import_id, 2)) == 2
        ids = _plain(conn, _rows(cid, world["xy"], import_id, 2))
    with world["engine"].connect() as conn:
        assert [r.row_id for r in _per_row(conn, ids)] == sorted(ids)
        [entry] = _entries(conn, import_id)
        assert entry.new_row["rows"] == 2 and not set(ids) & set(entry.new_row["ids"])


def test_the_writer_is_nobodys_role_and_owns_only_its_two_functions(world):
    with world["engine"].connect() as conn:
        login = conn.execute(
            text("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'harta_ingest'")
        ).scalar_one()
        functions = set(
            conn.execute(
                text(
                    "SELECT oid::regprocedure::text FROM pg_proc"
                    " WHERE proowner = 'harta_ingest'::regrole"
                )
            ).scalars()
        )
        relations = conn.execute(
            text(
                "SELECT count(*) FROM pg_class WHERE relowner = 'harta_ingest'::regrole"
                " AND relnamespace::regnamespace::text NOT LIKE 'pg_temp%'"
            )
        ).scalar_one()
        members = set(
            conn.execute(
                text(
                    "SELECT r.rolname FROM pg_roles AS r WHERE r.rolname LIKE 'harta\\_%'"
                    " AND r.rolname <> 'harta_ingest'"
                    " AND pg_has_role(r.oid, 'harta_ingest'::regrole, 'MEMBER')"
                )
            ).scalars()
        )
    assert login is False
    assert functions == {"harta_ingest_begin(text,text[])", "harta_ingest_finish(text)"}
    assert relations == 0
    assert members == set()


@pytest.mark.parametrize("function", ["harta_audit", "harta_incident_metric_xy"])
def test_the_trigger_functions_cannot_be_called(world, function):
    with pytest.raises(DBAPIError, match="permission denied|only be called as triggers"):
        with connect_as(world["engine"], "police", world["users"]["police"].id) as conn:
            conn.execute(text(f"SELECT {function}()"))


def test_a_temporary_audit_log_does_not_swallow_the_entry(world):
    engine, police = world["engine"], world["users"]["police"]
    cid = world["pata"].id
    with connect_as(engine, "police", police.id) as conn:
        conn.execute(text("CREATE TEMP TABLE audit_log (LIKE public.audit_log) ON COMMIT DROP"))
        conn.execute(text("GRANT ALL ON pg_temp.audit_log TO PUBLIC"))
        import_id = _import_row(conn, cid)
        assert _bulk(conn, _rows(cid, world["xy"], import_id, 2)) == 2
        assert conn.execute(text("SELECT count(*) FROM pg_temp.audit_log")).scalar_one() == 0
    with engine.connect() as conn:
        assert len(_entries(conn, import_id)) == 1


def test_the_callers_own_staging_table_writes_nothing(world):
    """A temporary table of the caller's named like the staging table (filled with rows the
    caller would like written unaudited) is refused; nothing is written, nothing audited."""
    engine, police = world["engine"], world["users"]["police"]
    cid = world["pata"].id
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(id) FROM audit_log")).one()
    with pytest.raises(DBAPIError, match="no import staged"):
        with connect_as(engine, "police", police.id) as conn:
            conn.execute(
                text(
                    f"CREATE TEMP TABLE _harta_import_rows AS SELECT {', '.join(STAGED)}"
                    " FROM incidents WITH NO DATA"
                )
            )
            for row in _rows(cid, world["xy"], None, 2):
                conn.execute(
                    text(
                        f"INSERT INTO pg_temp._harta_import_rows ({', '.join(STAGED)})"
                        f" VALUES ({VALUES})"
                    ),
                    row,
                )
            conn.execute(text("SELECT harta_ingest_finish('incidents')"))
    with pytest.raises(DBAPIError, match="already exists"):
        with connect_as(engine, "police", police.id) as conn:
            conn.execute(
                text("SELECT harta_ingest_begin('incidents', CAST(:c AS text[]))"), {"c": STAGED}
            )
            conn.execute(text("CREATE TEMP TABLE _harta_import_rows (x int)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(id) FROM audit_log")).one() == before


# --- metric coordinates --------------------------------------------------------------------


def test_staged_metric_coordinates_are_never_copied(world):
    engine, police = world["engine"], world["users"]["police"]
    pata = world["pata"]
    [row] = _rows(pata.id, world["xy"], None, 1)
    forged = {"metric_srid": "4326", "metric_x": "0", "metric_y": "0"}
    with connect_as(engine, "police", police.id) as conn:
        assert _bulk(conn, [row], forged) == 1
        [plain_id] = _plain(conn, [dict(row, h=uuid.uuid4().hex)])
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT metric_srid, metric_x, metric_y FROM incidents WHERE row_hash = :h"),
            {"h": row["h"]},
        ).one()
        by_trigger = conn.execute(
            text("SELECT metric_srid, metric_x, metric_y FROM incidents WHERE id = :i"),
            {"i": plain_id},
        ).one()
    x, y = crs.transformer(4326, pata.crs).transform(row["x"], row["y"])
    assert stored.metric_srid == crs.epsg(pata.crs)
    assert stored.metric_x == pytest.approx(x, abs=1e-3)
    assert stored.metric_y == pytest.approx(y, abs=1e-3)
    assert tuple(stored) == tuple(by_trigger)


# --- later changes, append-only, readers ---------------------------------------------------


def test_update_and_delete_of_imported_rows_are_audited_per_row_with_old_values(world):
    engine, police = world["engine"], world["users"]["police"]
    cid = world["pata"].id
    with connect_as(engine, "police", police.id) as conn:
        import_id = _import_row(conn, cid)
        assert _bulk(conn, _rows(cid, world["xy"], import_id, 3)) == 3
    with engine.connect() as conn:
        first, second, third = _ids_of_import(conn, import_id)
        [entry] = _entries(conn, import_id)
    with connect_as(engine, "police", police.id) as conn:
        conn.execute(
            text("UPDATE incidents SET severity = 5, metric_x = 0 WHERE id = :i"), {"i": first}
        )
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": second})
    assert lifecycle.withdraw_contribution(engine, "incidents", third) is True
    with engine.connect() as conn:
        [updated] = _per_row(conn, [first], "UPDATE")
        [deleted] = _per_row(conn, [second], "DELETE")
        [withdrawn] = _per_row(conn, [third], "DELETE")
        recomputed = conn.execute(
            text("SELECT metric_x FROM incidents WHERE id = :i"), {"i": first}
        ).scalar_one()
        assert _entries(conn, import_id) == [entry]
    assert updated.app_role == "police"
    assert (updated.old_row["severity"], updated.new_row["severity"]) == (1, 5)
    assert updated.old_row["import_id"] == import_id
    assert recomputed == updated.old_row["metric_x"] != 0
    assert deleted.old_row["severity"] == 2 and deleted.old_row["type_code"] == "theft"
    assert deleted.new_row is None
    assert withdrawn.old_row.get("redacted") is True


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET new_row = '{}'::jsonb WHERE id = :e",
        "UPDATE audit_log SET app_role = 'admin' WHERE id = :e",
        "DELETE FROM audit_log WHERE id = :e",
    ],
)
def test_the_entry_is_append_only(world, statement):
    engine, police = world["engine"], world["users"]["police"]
    cid = world["pata"].id
    with connect_as(engine, "police", police.id) as conn:
        import_id = _import_row(conn, cid)
        _bulk(conn, _rows(cid, world["xy"], import_id, 2))
    with engine.connect() as conn:
        entry_id = conn.execute(
            text("SELECT id FROM audit_log WHERE new_row ->> 'import_id' = :i"),
            {"i": str(import_id)},
        ).scalar_one()
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement), {"e": entry_id})
    with pytest.raises(DBAPIError, match="permission denied"):
        with connect_as(engine, "police", police.id) as conn:
            conn.execute(text(statement), {"e": entry_id})


def test_the_writer_cannot_forge_other_entries_in_the_audit_log(world):
    """The policy that lets harta_ingest write its entry admits nothing else (checked as the
    operator acting as the writer, the only one who can)."""
    with pytest.raises(DBAPIError, match="row-level security"):
        with world["engine"].begin() as conn:
            conn.execute(text("SET LOCAL ROLE harta_ingest"))
            conn.execute(
                text(
                    "INSERT INTO audit_log (table_name, operation, row_id, new_row)"
                    " VALUES ('incidents', 'DELETE', 1, '{}'::jsonb)"
                )
            )


def test_the_entry_is_read_where_the_rows_are_read(world, users):
    """Police of the community read it; mediators, admins and police of another scope do not."""
    engine = world["engine"]
    cid, other = world["pata"].id, world["other"]
    with connect_as(engine, "police", users["police"].id) as conn:
        mine = _import_row(conn, cid)
        _bulk(conn, _rows(cid, world["xy"], mine, 2))
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('harta.role', 'system', true)"))
        theirs = _import_row(conn, other)
        _bulk(conn, _rows(other, (23.02, 42.61), theirs, 2))
    seen = {}
    for role in ("police", "mediator", "admin"):
        with connect_as(engine, role, users[role].id) as conn:
            seen[role] = {
                int(i)
                for i in conn.execute(
                    text(
                        "SELECT new_row ->> 'import_id' FROM audit_log"
                        " WHERE new_row ->> 'import_id' IN (:a, :b)"
                    ),
                    {"a": str(mine), "b": str(theirs)},
                ).scalars()
            }
    assert seen == {"police": {mine}, "mediator": set(), "admin": set()}
    with engine.connect() as conn:
        assert len(_entries(conn, theirs)) == 1
