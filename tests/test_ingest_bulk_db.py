"""The set-based import writer of migration 0013, attacked at the database.

``harta_ingest_begin``/``harta_ingest_finish`` write staged rows as the role ``harta_ingest``,
for which the row trigger that refuses tombstoned rows skips its per-row probe (the function
filters them with one anti-join instead).  These tests check that this opens no way around
row security or the tombstones:

* the bulk writer grants exactly what a plain ``INSERT … ON CONFLICT`` by the same role and
  account grants, for every role, with and without an account, in and out of scope, for a
  normal and a sensitive incident and for a zone (a differential test against the layer's own
  row security, the independent reference);
* a withdrawn row staged again is left out, and a plain INSERT of it is still refused;
* the staging table cannot be replaced by the caller's own table or view (which could run the
  caller's code as ``harta_ingest``), altered, dropped, or given a trigger or rule.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import lifecycle
from geo.communities.model import Community
from geo.db.security import ROLES, connect_as
from tests.factories import insert_community

pytestmark = pytest.mark.db

SQUARE_WKT = "POLYGON((23.00 42.60,23.04 42.60,23.04 42.63,23.00 42.63,23.00 42.60))"
COLUMNS = {
    "incidents": (
        "community_id, occurred_at, type_code, severity, location_precision, sensitivity,"
        " reporting_role, status, geom, source, row_hash, created_by_role, is_demo"
    ),
    "risk_zones": (
        "community_id, hazard_code, severity, time_of_day, season, geom, source, row_hash,"
        " created_by_role, is_demo"
    ),
}
VALUES = {
    "incidents": (
        ":c, '2025-06-01 22:00+03', :t, 3, 'exact', :s, 'police', 'reported',"
        " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'import', :h, 'police', false"
    ),
    "risk_zones": (
        ":c, 'flooding', 3, 'always', 'all_year', ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y),"
        " 4326), 0.0001), 'import', :h, 'community', false"
    ),
}


class _Undo(Exception):
    """Raised to roll an attempt back after it succeeded."""


@pytest.fixture
def places(loaded_engine, users):
    with loaded_engine.begin() as conn:
        other = insert_community(
            conn,
            "pernik-bulk",
            name="Pernik",
            wkt=SQUARE_WKT,
            country="BG",
            timezone="Europe/Sofia",
        )
        pata = Community.load(conn, "pata-rat").id
        x, y = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE community_id = :c LIMIT 1"),
            {"c": pata},
        ).one()
    return {"pata": (pata, x, y), "other": (other, 23.02, 42.61)}


def _params(place, kind: str, row_hash: str) -> dict:
    community, x, y = place
    type_code, sensitivity = {
        "normal": ("theft", "normal"),
        "sensitive": ("domestic_violence", "sensitive"),
    }[kind]
    return {"c": community, "x": x, "y": y, "t": type_code, "s": sensitivity, "h": row_hash}


def _plain(conn, layer: str, params: dict) -> int:
    return conn.execute(
        text(
            f"INSERT INTO {layer} ({COLUMNS[layer]}) VALUES ({VALUES[layer]})"
            " ON CONFLICT (community_id, row_hash) DO NOTHING"
        ),
        params,
    ).rowcount


def _bulk(conn, layer: str, params: dict) -> int:
    columns = [c.strip() for c in COLUMNS[layer].split(",")]
    conn.execute(
        text("SELECT harta_ingest_begin(:l, CAST(:cols AS text[]))"), {"l": layer, "cols": columns}
    )
    conn.execute(
        text(f"INSERT INTO pg_temp._harta_import_rows ({COLUMNS[layer]}) VALUES ({VALUES[layer]})"),
        params,
    )
    return conn.execute(text("SELECT harta_ingest_finish(:l)"), {"l": layer}).scalar_one()


def _outcome(engine, role: str, uid, write, layer: str, params: dict):
    """("written", n) or ("refused", SQLSTATE); nothing is left behind either way."""
    try:
        with connect_as(engine, role, uid) as conn:
            raise _Undo(write(conn, layer, params))
    except _Undo as undo:
        return ("written", undo.args[0])
    except DBAPIError as exc:
        return ("refused", getattr(exc.orig, "sqlstate", None))


CASES = [
    (layer, kind, place)
    for layer, kinds in (("incidents", ("normal", "sensitive")), ("risk_zones", ("normal",)))
    for kind in kinds
    for place in ("pata", "other")
]


@pytest.mark.parametrize("signed", [True, False], ids=["account", "no-account"])
def test_bulk_writer_grants_exactly_what_a_plain_insert_grants(
    loaded_engine, users, places, signed
):
    engine = loaded_engine
    differences, written = [], 0
    for role in ROLES:
        uid = users[role].id if signed and role in users else None
        for layer, kind, place in CASES:
            params = _params(places[place], kind, uuid.uuid4().hex)
            plain = _outcome(engine, role, uid, _plain, layer, params)
            bulk = _outcome(engine, role, uid, _bulk, layer, params)
            # A refusal is a refusal whatever its wording; a write writes the same rows.
            same = (plain[0] == bulk[0] == "refused") or plain == bulk
            if not same:
                differences.append((role, layer, kind, place, plain, bulk))
            written += plain[0] == "written"
    assert differences == []
    # The reference is not vacuous: some roles may write, some may not.
    assert 0 < written < len(ROLES) * len(CASES)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM incidents WHERE source = 'import'")).scalar()
            == 0
        )


def test_a_withdrawn_row_staged_again_is_left_out_and_plain_sql_still_refused(
    loaded_engine, users, places
):
    engine, police = loaded_engine, users["police"]
    row_hash = uuid.uuid4().hex
    params = _params(places["pata"], "normal", row_hash)
    with connect_as(engine, "police", police.id) as conn:
        assert _bulk(conn, "incidents", params) == 1
    with engine.connect() as conn:
        row_id = conn.execute(
            text("SELECT id FROM incidents WHERE row_hash = :h"), {"h": row_hash}
        ).scalar_one()
    assert lifecycle.withdraw_contribution(engine, "incidents", row_id) is True
    with connect_as(engine, "police", police.id) as conn:
        assert _bulk(conn, "incidents", params) == 0
        assert _plain(conn, "incidents", params) == 0
    # The operator's own plain SQL goes through the row trigger too.
    with engine.begin() as conn:
        assert _plain(conn, "incidents", params) == 0
        assert (
            conn.execute(
                text("SELECT count(*) FROM incidents WHERE row_hash = :h"), {"h": row_hash}
            ).scalar()
            == 0
        )


@pytest.mark.parametrize("kind", ["table", "view"])
def test_the_callers_own_staging_table_or_view_is_refused(loaded_engine, users, places, kind):
    engine, police = loaded_engine, users["police"]
    params = _params(places["pata"], "normal", uuid.uuid4().hex)
    source = (
        f"SELECT {COLUMNS['incidents']} FROM incidents WITH NO DATA"
        if kind == "table"
        else f"SELECT {COLUMNS['incidents']} FROM incidents WHERE false"
    )
    with pytest.raises(DBAPIError, match="no import staged"):
        with connect_as(engine, "police", police.id) as conn:
            if kind == "table":
                conn.execute(text(f"CREATE TEMP TABLE _harta_import_rows AS {source}"))
                conn.execute(
                    text(
                        f"INSERT INTO pg_temp._harta_import_rows ({COLUMNS['incidents']})"
                        f" VALUES ({VALUES['incidents']})"
                    ),
                    params,
                )
            else:
                conn.execute(text(f"CREATE TEMP VIEW _harta_import_rows AS {source}"))
            conn.execute(text("SELECT harta_ingest_finish('incidents')"))


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE pg_temp._harta_import_rows",
        "ALTER TABLE pg_temp._harta_import_rows ADD COLUMN x int",
        "CREATE RULE r AS ON INSERT TO pg_temp._harta_import_rows DO INSTEAD NOTHING",
        "CREATE TRIGGER t BEFORE INSERT ON pg_temp._harta_import_rows"
        " FOR EACH ROW EXECUTE FUNCTION harta_refuse_tombstoned()",
        "SELECT * FROM pg_temp._harta_import_rows",
    ],
    ids=["drop", "alter", "rule", "trigger", "read"],
)
def test_the_staging_table_can_only_be_filled(loaded_engine, users, statement):
    engine, police = loaded_engine, users["police"]
    columns = [c.strip() for c in COLUMNS["incidents"].split(",")]
    with pytest.raises(DBAPIError, match="must be owner|permission denied"):
        with connect_as(engine, "police", police.id) as conn:
            conn.execute(
                text("SELECT harta_ingest_begin('incidents', CAST(:c AS text[]))"), {"c": columns}
            )
            conn.execute(text(statement))


def test_roles_that_may_not_import_cannot_call_the_writer(loaded_engine, users):
    for role in ("public", "planner"):
        with pytest.raises(DBAPIError, match="permission denied"):
            with connect_as(loaded_engine, role, users[role].id if role in users else None) as c:
                c.execute(text("SELECT harta_ingest_finish('incidents')"))
