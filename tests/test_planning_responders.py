"""Responders (issue 12, item 3): hours, OSM import, placing by hand, and the focal point's home.

The privacy tests ATTACK the database through real role connections: a focal point is a
resident's home, so the public and community roles (and planners and admins, whose analyses are
aggregated) must never learn its point -- not by reading the table, not through
``harta_responders`` however it is called, not through the audit trail.  The expected cell is
computed here independently (pyproj, floor arithmetic), never by the code under test.
"""

from __future__ import annotations

import json
import math

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import crs as crs_
from geo.communities.model import Community
from geo.db.security import role_engine
from geo.planning.response import responders as r
from geo.settings import DATA_SOURCES_DIR

HEALTHCARE = DATA_SOURCES_DIR / "osm" / "cluj-napoca_healthcare_2024-05-23.geojson"
CELL = 250.0
#: Offset of the test home inside its 250 m cell (metres from the cell's south-west corner).
INSIDE = (40.0, 205.0)


# -- hours (no database) ---------------------------------------------------------------------


def test_mediator_works_weekdays_8_to_16_and_the_hospital_always():
    mediator, hospital = r.default_hours("mediator"), r.default_hours("hospital")
    assert r.available(mediator, r.parse_when("Mon 08:00"))
    assert r.available(mediator, r.parse_when("Fri 15:59"))
    assert not r.available(mediator, r.parse_when("Fri 16:00"))
    assert not r.available(mediator, r.parse_when("Sat 10:00"))
    assert not r.available(mediator, r.parse_when("Tue 07:59"))
    for when in ("Sat 22:00", "Sun 03:00", "Wed 12:00"):
        assert r.available(hospital, r.parse_when(when))


def test_an_interval_past_midnight_runs_into_the_next_day():
    night = {"sat": [["22:00", "06:00"]]}
    assert r.available(night, r.When(5, 23 * 60))  # Sat 23:00
    assert r.available(night, r.When(6, 5 * 60 + 59))  # Sun 05:59
    assert not r.available(night, r.When(6, 6 * 60))  # Sun 06:00
    assert not r.available(night, r.When(5, 21 * 60))  # Sat 21:00


def test_when_is_parsed_or_refused():
    assert r.parse_when("Sat 22:00") == r.When(5, 22 * 60)
    assert r.parse_when("7 06:30") == r.When(6, 6 * 60 + 30)
    assert r.parse_when(None) is None
    for bad in ("Sat", "Funday 10:00", "Mon 25:00", "Mon 10:61"):
        with pytest.raises(r.ResponderError):
            r.parse_when(bad)
    with pytest.raises(r.ResponderError):
        r.check_hours({"mon": [["08:00"]]})


def test_every_kind_has_defaults_and_a_label_in_every_language():
    from geo.i18n import catalogue

    for kind in r.KINDS:
        r.default_hours(kind)
        assert r.default_capabilities(kind)
        for lang in ("ro", "hu", "en"):
            assert f"response.responders.kind.{kind}" in catalogue(lang)
            for capability in r.default_capabilities(kind):
                assert f"response.responders.capability.{capability}" in catalogue(lang)


def test_osm_polygons_stand_for_a_point_on_their_surface():
    raw = json.loads(HEALTHCARE.read_text(encoding="utf-8"))["features"]
    wanted = [f for f in raw if f["properties"].get("amenity") in ("hospital", "clinic")]
    polygons = {
        f"{f['properties']['osm_type']}/{f['properties']['osm_id']}": shape(f["geometry"])
        for f in wanted
        if f["geometry"]["type"] != "Point"
    }
    found = r.osm_responders(HEALTHCARE)
    assert len(found) == len(wanted) == 105  # the dentist is not a responder
    assert set(found["kind"]) == {"hospital", "clinic"}
    surface = found[found["placement"] == "point_on_surface"]
    assert set(surface["external_ref"]) == set(polygons)
    for ref, point in zip(surface["external_ref"], surface.geometry, strict=True):
        assert point.geom_type == "Point" and polygons[ref].intersects(point)
    assert (found[found["placement"] == "point"].geometry.geom_type == "Point").all()


# -- the database ----------------------------------------------------------------------------


def _cell_centre(lon: float, lat: float, epsg: int = 32634) -> tuple[float, float, float, float]:
    """Independent reference: the 250 m cell centre (lon, lat) and the cell corner (metres)."""
    forward = crs_.transformer(crs_.STORAGE, crs_.to_crs(epsg))
    back = crs_.transformer(crs_.to_crs(epsg), crs_.STORAGE)
    x, y = forward.transform(lon, lat)
    x0, y0 = math.floor(x / CELL) * CELL, math.floor(y / CELL) * CELL
    clon, clat = back.transform(x0 + CELL / 2, y0 + CELL / 2)
    return clon, clat, x0, y0


def _home_in_dallas(engine) -> tuple[float, float]:
    """A point of Dallas at INSIDE metres from its cell's corner (not the cell centre)."""
    dallas = Community.load(engine, "dallas")
    inner = dallas.geometry.representative_point()
    _, _, x0, y0 = _cell_centre(inner.x, inner.y)
    back = crs_.transformer(crs_.to_crs(32634), crs_.STORAGE)
    return back.transform(x0 + INSIDE[0], y0 + INSIDE[1])


def _no_responders(engine) -> None:
    """Start from no responder (the bootstrap may one day load the bundled ones)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM responders"))


@pytest.fixture
def home(loaded_engine, loaded_db_url, users):
    """A focal point placed by the operator in Dallas, named after the resident."""
    pata_rat = Community.load(loaded_engine, "pata-rat")
    lon, lat = _home_in_dallas(loaded_engine)
    rid = r.place_responder(
        loaded_engine, pata_rat, "community_focal_point", (lon, lat), name="Casa doamnei Maria"
    )
    return {"id": rid, "lon": lon, "lat": lat, "url": loaded_db_url, "users": users}


def _engine(home, role, account=True):
    uid = home["users"][role].id if account and role != "public" else None
    return role_engine(home["url"], role, uid)


WITHOUT_THE_RIGHT = ["public", "community", "planner", "admin"]


@pytest.mark.db
def test_roles_without_the_right_cannot_read_the_table(home):
    for role in WITHOUT_THE_RIGHT:
        eng = _engine(home, role)
        try:
            with pytest.raises(DBAPIError, match="permission denied"):
                with eng.connect() as conn:
                    conn.execute(text("SELECT geom FROM responders")).all()
        finally:
            eng.dispose()


@pytest.mark.db
def test_a_home_is_only_its_published_cell_however_it_is_asked(home, loaded_engine):
    """Asked through the parent, each settlement, another community and twice, by every role
    without the right: always the same cell centre, never the house, never the resident's name."""
    for role in WITHOUT_THE_RIGHT:
        _only_the_cell(home, loaded_engine, role)


def _only_the_cell(home, loaded_engine, role):
    clon, clat, x0, y0 = _cell_centre(home["lon"], home["lat"])
    with loaded_engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM communities ORDER BY id")).scalars().all()
    eng = _engine(home, role)
    seen = []
    try:
        with eng.connect() as conn:
            for community_id in [*ids, *ids, 999999]:
                rows = conn.execute(
                    text(
                        "SELECT name, exact, ST_X(geom) AS x, ST_Y(geom) AS y,"
                        " ST_AsText(area) AS area FROM harta_responders(:c) WHERE id = :i"
                    ),
                    {"c": community_id, "i": home["id"]},
                ).all()
                seen.extend(rows)
    finally:
        eng.dispose()
    assert len(seen) == 2 * len(ids)  # every Pata Rât community, twice; nothing for 999999
    true_point = shapely.Point(home["lon"], home["lat"])
    for name, exact, x, y, area in seen:
        assert name is None and exact is False
        assert (x, y) == pytest.approx((clon, clat), abs=1e-9)
        cell = shapely.from_wkt(area)
        assert cell.contains(true_point)
        assert shapely.Point(x, y).distance(true_point) > 1e-4  # ~100 m away in degrees
    # The metric distance from the house to what was shown is the designed offset's.
    expected = math.hypot(CELL / 2 - INSIDE[0], CELL / 2 - INSIDE[1])
    forward = crs_.transformer(crs_.STORAGE, crs_.to_crs(32634))
    hx, hy = forward.transform(home["lon"], home["lat"])
    sx, sy = forward.transform(seen[0][2], seen[0][3])
    assert math.hypot(hx - sx, hy - sy) == pytest.approx(expected, abs=0.01)
    assert expected > 100


@pytest.mark.db
def test_load_responders_gives_a_public_reader_the_cell_and_police_the_house(home, loaded_engine):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    clon, clat, _, _ = _cell_centre(home["lon"], home["lat"])
    public = _engine(home, "public")
    police = _engine(home, "police")
    unsigned = _engine(home, "mediator", account=False)
    try:
        seen_public = r.load_responders(public, pata_rat)
        seen_police = r.load_responders(police, pata_rat)
        seen_unsigned = r.load_responders(unsigned, pata_rat)
    finally:
        for eng in (public, police, unsigned):
            eng.dispose()
    mine = seen_public[seen_public["id"] == home["id"]].iloc[0]
    assert (mine.geometry.x, mine.geometry.y) == pytest.approx((clon, clat), abs=1e-9)
    assert not mine["exact"] and mine["name"] is None
    assert seen_unsigned[seen_unsigned["id"] == home["id"]].iloc[0]["exact"] == False  # noqa: E712
    exact = seen_police[seen_police["id"] == home["id"]].iloc[0]
    assert exact["exact"] and exact["name"] == "Casa doamnei Maria"
    assert (exact.geometry.x, exact.geometry.y) == pytest.approx((home["lon"], home["lat"]))


@pytest.mark.db
def test_admin_cannot_read_a_home_from_the_audit_trail(home, loaded_engine):
    with loaded_engine.connect() as conn:
        owner_sees = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE table_name = 'responders'")
        ).scalar_one()
    admin = _engine(home, "admin")
    try:
        with admin.connect() as conn:
            admin_sees = conn.execute(
                text("SELECT count(*) FROM audit_log WHERE table_name = 'responders'")
            ).scalar_one()
            other_tables = conn.execute(
                text("SELECT count(*) FROM audit_log WHERE table_name = 'risk_zones'")
            ).scalar_one()
    finally:
        admin.dispose()
    assert owner_sees >= 1 and admin_sees == 0 and other_tables > 0


@pytest.mark.db
def test_roles_that_may_not_place_responders_are_refused(home, loaded_engine):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    for role in ("public", "community", "police"):
        eng = _engine(home, role)
        try:
            with pytest.raises(DBAPIError):
                r.place_responder(eng, pata_rat, "mediator", (23.69, 46.775))
        finally:
            eng.dispose()


@pytest.mark.db
def test_a_mediator_places_a_focal_point_by_hand_and_it_is_a_home(home, loaded_engine):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    mediator = _engine(home, "mediator")
    try:
        rid = r.place_responder(mediator, pata_rat, "community_focal_point", (23.6905, 46.7745))
        seen = r.load_responders(mediator, pata_rat)
        assert r.remove_responder(mediator, home["id"] + 10_000) is False
    finally:
        mediator.dispose()
    row = seen[seen["id"] == rid].iloc[0]
    assert row["at_home"] and row["exact"] and row["kind"] == "community_focal_point"
    assert row["hours"] == r.default_hours("community_focal_point")
    with loaded_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT created_by_role, source FROM responders WHERE id = :i"), {"i": rid}
        ).one()
    assert tuple(stored) == ("mediator", "form")


@pytest.mark.db
def test_osm_import_writes_each_feature_once(loaded_engine):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    _no_responders(loaded_engine)
    with loaded_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM responders")).scalar_one()
    first = r.import_osm_responders(loaded_engine, pata_rat, HEALTHCARE)
    again = r.import_osm_responders(loaded_engine, pata_rat, HEALTHCARE)
    assert first.read == again.read == 105
    assert first.written == 105 - 0 and again.written == 0
    assert first.by_kind == {"clinic": 85, "hospital": 20}
    assert first.point_on_surface == 46  # 27 clinic and 19 hospital polygons
    with loaded_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*) FROM responders")).scalar_one()
        kinds = (
            conn.execute(text("SELECT DISTINCT placement FROM responders WHERE source = 'osm'"))
            .scalars()
            .all()
        )
    assert after - before == 105
    assert set(kinds) == {"point", "point_on_surface"}


@pytest.mark.db
def test_bootstrap_loads_the_real_responders_once_and_the_demo_ones_are_labelled(loaded_engine):
    from geo.planning.response.bundled import load_bundled_responders, seed_demo_responders

    _no_responders(loaded_engine)
    assert load_bundled_responders(loaded_engine) == {"pata-rat": 105}
    assert load_bundled_responders(loaded_engine) == {"pata-rat": 0}
    pata_rat = Community.load(loaded_engine, "pata-rat")
    assert seed_demo_responders(loaded_engine, pata_rat) == 6
    assert seed_demo_responders(loaded_engine, pata_rat) == 0
    seen = r.load_responders(loaded_engine, pata_rat)
    demo = seen[seen["is_demo"]]
    assert set(demo["kind"]) == {"community_focal_point", "mediator", "police", "fire", "ambulance"}
    assert demo["name"].str.startswith("DEMO").all()
    assert (demo.loc[demo["kind"] == "community_focal_point", "at_home"]).all()
    real = seen[~seen["is_demo"]]
    assert set(real["kind"]) == {"hospital", "clinic"} and (real["source"] == "osm").all()


@pytest.mark.db
@pytest.mark.parametrize("role", ["police", "mediator"])
def test_police_and_mediators_of_another_community_see_only_the_cell(home, loaded_engine, role):
    """Rights to the house follow the account's communities, not the role alone."""
    from geo.accounts import create_user
    from tests.factories import insert_community

    with loaded_engine.begin() as conn:
        other = insert_community(conn, "elsewhere", name="Elsewhere")
    account = create_user(loaded_engine, f"far-{role}", "Far-away-pass-2026!", role, [other])
    eng = role_engine(home["url"], role, account.id)
    try:
        with eng.connect() as conn:
            table_rows = conn.execute(
                text("SELECT count(*) FROM responders WHERE id = :i"), {"i": home["id"]}
            ).scalar_one()
            exact, name = conn.execute(
                text("SELECT exact, name FROM harta_responders(:c) WHERE id = :i"),
                {"c": Community.load(loaded_engine, "dallas").id, "i": home["id"]},
            ).one()
    finally:
        eng.dispose()
    assert table_rows == 0 and exact is False and name is None
