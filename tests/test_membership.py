"""The membership rule (migration 0007), tested from both sides: what police see on a page and
what everyone else's published counts contain are the same rows.

Before 0007 the Python views took every row of the parent into a settlement's page while
``incident_hex_counts`` left the parent's rows out, so a Pata Rât-level incident inside Dallas was
on Dallas's police page and missing from Dallas's counts, and a Pata Rât-level incident far from
Dallas was on Dallas's page too.  Each test below fails on that code.
"""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import crs, views
from geo.communities import AREA_TOLERANCE_M, Community
from geo.db.security import connect_as, role_engine

pytestmark = pytest.mark.db

#: The demo layers hold no flooding incident: the counts below are ours alone.
TYPE = "flooding"
#: A complete month long past: the aggregates publish it.
WHEN = "2025-03-10 12:00+02"
INSERT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, geom, source, created_by_role, is_demo)"
    " VALUES (:c, :at, 'flooding', 3, 'exact', 'normal', 'police', 'reported',"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false) RETURNING id"
)


@pytest.fixture
def family(loaded_engine):
    """Pata Rât, Dallas, a point inside Dallas and one inside Pata Rât far from Dallas."""
    pata = Community.load(loaded_engine, "pata-rat")
    dallas = Community.load(loaded_engine, "dallas")
    inside = dallas.geometry.representative_point()
    assert pata.contains(inside, tol_m=0)
    # A point of Pata Rât at least 200 m from Dallas.
    far = next(
        Community.load(loaded_engine, slug).geometry.representative_point()
        for slug in ("cantonului", "rampa", "colina-verde")
        if pata.contains(Community.load(loaded_engine, slug).geometry.representative_point(), 0)
        and dallas.distance_m(Community.load(loaded_engine, slug).geometry.representative_point())
        > 200
    )
    return pata, dallas, inside, far


def _add(engine, community: Community, point: Point, n: int = 5) -> set[int]:
    with engine.begin() as conn:
        return {
            conn.execute(
                text(INSERT), {"c": community.id, "at": WHEN, "x": point.x, "y": point.y}
            ).scalar_one()
            for _ in range(n)
        }


def _police_ids(url: str, user_id: int, community: Community) -> set[int]:
    police = role_engine(url, "police", user_id)
    try:
        return set(views.incident_points(police, community)["id"])
    finally:
        police.dispose()


def _published(url: str, community: Community) -> tuple[float, float]:
    """Total of the published hexagon counts and of the hour profile, as the public reads them."""
    public = role_engine(url, "public")
    try:
        cells = views.incident_hex_counts(public, community, types=[TYPE])
        hours, _ = views.incident_time_profile(public, community, types=[TYPE])
    finally:
        public.dispose()
    return float(cells["count"].fillna(0).sum()), float(hours.fillna(0).sum())


def test_a_parent_row_inside_a_settlement_is_on_its_page_and_in_its_counts(
    loaded_engine, loaded_db_url, users, family
):
    pata, dallas, inside, _ = family
    ids = _add(loaded_engine, pata, inside)
    assert ids <= _police_ids(loaded_db_url, users["police"].id, dallas)
    assert _published(loaded_db_url, dallas) == (5.0, 5.0)
    # ... and it stays the parent's own.
    assert ids <= _police_ids(loaded_db_url, users["police"].id, pata)
    assert _published(loaded_db_url, pata) == (5.0, 5.0)


def test_a_settlement_row_is_on_the_parents_page_and_in_its_counts(
    loaded_engine, loaded_db_url, users, family
):
    pata, dallas, inside, _ = family
    ids = _add(loaded_engine, dallas, inside)
    assert ids <= _police_ids(loaded_db_url, users["police"].id, pata)
    assert _published(loaded_db_url, pata) == (5.0, 5.0)
    assert _published(loaded_db_url, dallas) == (5.0, 5.0)


def test_a_parent_row_outside_a_settlement_is_not_in_it(
    loaded_engine, loaded_db_url, users, family
):
    pata, dallas, _, far = family
    ids = _add(loaded_engine, pata, far)
    assert not ids & _police_ids(loaded_db_url, users["police"].id, dallas)
    assert _published(loaded_db_url, dallas) == (0.0, 0.0)
    assert ids <= _police_ids(loaded_db_url, users["police"].id, pata)
    assert _published(loaded_db_url, pata) == (5.0, 5.0)


def test_risk_zones_and_facilities_follow_the_same_rule(loaded_engine, family):
    pata, dallas, inside, far = family
    with loaded_engine.begin() as conn:
        near, away = (
            conn.execute(
                text(
                    "INSERT INTO facilities (community_id, kind, name, source, created_by_role,"
                    " is_demo, geom) VALUES (:c, 'clinic', :n, 'import', 'admin', false,"
                    " ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
                ),
                {"c": pata.id, "n": name, "x": p.x, "y": p.y},
            ).scalar_one()
            for name, p in (("near", inside), ("away", far))
        )
    in_dallas = set(views.facilities(loaded_engine, dallas)["id"])
    assert near in in_dallas and away not in in_dallas
    assert {near, away} <= set(views.facilities(loaded_engine, pata)["id"])
    counts = views.layer_counts(loaded_engine, dallas)
    assert counts["facilities"] == len(in_dallas) - int(
        views.facilities(loaded_engine, dallas)["is_demo"].sum()
    )


def test_the_area_tolerance_is_the_same_number_and_the_same_test_in_python_and_sql(
    loaded_engine, family
):
    """Points 0-50 m outside Dallas's boundary: Community.contains and the database agree."""
    _, dallas, _, _ = family
    area = dallas.metric_geometry
    centre = area.centroid
    with loaded_engine.connect() as conn:
        tolerance = conn.execute(text("SELECT harta_area_tolerance_m()")).scalar_one()
        assert tolerance == AREA_TOLERANCE_M
        checked = 0
        for k in range(24):
            ring = (
                area.exterior
                if area.geom_type == "Polygon"
                else max(area.geoms, key=lambda g: g.area).exterior
            )
            edge = ring.interpolate(k / 24, normalized=True)
            dx, dy = edge.x - centre.x, edge.y - centre.y
            norm = (dx * dx + dy * dy) ** 0.5
            for metres in (0.0, 10.0, 24.0, 26.0, 40.0):
                probe = Point(edge.x + dx / norm * metres, edge.y + dy / norm * metres)
                lonlat = crs.project(probe, dallas.crs, crs.STORAGE)
                in_db = conn.execute(
                    text("SELECT harta_within_area(:c, ST_GeomFromText(:w, 4326))"),
                    {"c": dallas.id, "w": lonlat.wkt},
                ).scalar_one()
                assert in_db is dallas.contains(lonlat), (k, metres)
                checked += 1
    assert checked == 120


def test_roles_that_may_not_read_incidents_get_no_membership_answer(loaded_engine, family):
    """The membership and near-duplicate functions run with the caller's rights: no oracle."""
    pata, dallas, inside, _ = family
    _add(loaded_engine, pata, inside, n=1)
    for role in ("public", "community", "planner", "admin"):
        for sql in (
            "SELECT count(*) FROM harta_member_rows(:c, 'incidents')",
            "SELECT count(*) FROM harta_near_duplicates(:c, ARRAY['flooding'],"
            " ARRAY[CAST(:at AS timestamptz)], ARRAY[CAST(:x AS float8)],"
            " ARRAY[CAST(:y AS float8)])",
        ):
            with pytest.raises(DBAPIError, match="permission denied"):
                with connect_as(loaded_engine, role) as conn:
                    conn.execute(
                        text(sql), {"c": dallas.id, "at": WHEN, "x": inside.x, "y": inside.y}
                    ).scalar_one()


def test_near_duplicates_pair_new_rows_and_stored_members(loaded_engine, users, family):
    """One rule for the form and the import: same type, 25 m, 30 minutes, member incidents."""
    pata, dallas, inside, _ = family
    (stored,) = _add(loaded_engine, pata, inside, n=1)
    metric = dallas.to_metric_geometry(inside)
    east = lambda m: crs.project(  # noqa: E731
        shapely.affinity.translate(metric, m, 0), dallas.crs, crs.STORAGE
    )
    rows = [
        (TYPE, "2025-03-10 12:20+02", east(20)),  # near the stored one
        (TYPE, "2025-03-10 12:45+02", east(20)),  # 45 min from it, 25 min from row 1
        ("other", "2025-03-10 12:00+02", inside),  # another type
        (TYPE, "2025-03-10 12:00+02", east(30)),  # 30 m away
    ]
    with connect_as(loaded_engine, "police", users["police"].id) as conn:
        found = conn.execute(
            text(
                "SELECT row_no, other_row, other_id, round(metres) AS m, minutes"
                " FROM harta_near_duplicates(:c, :t, CAST(:at AS timestamptz[]), :x, :y)"
            ),
            {
                "c": dallas.id,
                "t": [r[0] for r in rows],
                "at": [r[1] for r in rows],
                "x": [r[2].x for r in rows],
                "y": [r[2].y for r in rows],
            },
        ).all()
    pairs = {(r.row_no, r.other_row, r.other_id) for r in found}
    assert (1, None, stored) in pairs and (2, 1, None) in pairs
    assert (4, 1, None) in pairs  # 10 m from row 1, 20 minutes apart
    assert not any(r.row_no == 3 for r in found)
    assert not any(r.row_no == 4 and r.other_id == stored for r in found)  # 30 m
    assert not any(r.row_no == 2 and r.other_id == stored for r in found)  # 45 minutes
