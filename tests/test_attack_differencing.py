"""Differencing attacks on the published aggregates (issue 8 route 7), run against PostGIS.

Each test replays an attack that worked on migration 0003 -- many cell sizes, bisection over
dates, differencing filters, decoys and a rewritten area inside a rolled-back admin
transaction -- as the database role that made it, and shows that nothing finer than the
published grid (``published_grids``) and period (a calendar month) comes out.  On 0003 every
one of these tests fails: any size from 100 to 5000 m and any instant were accepted, counts were
exact, and counts could be read after writes in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from geo.db.security import connect_as
from tests.factories import insert_community

INSERT_INCIDENT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, geom, source, created_by_role, is_demo)"
    " VALUES (:c, :at, :t, :sev, 'exact', 'normal', 'police', 'reported',"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false)"
)
#: Seven assaults in one spot in March 2025, and the target: one theft beside them on 2025-04-17.
CLUSTER = [("assault", f"2025-03-0{k + 1} 10:00+02", 23.6100 + k * 1e-5) for k in range(7)]
TZ = ZoneInfo("Europe/Bucharest")
TARGET = ("theft", "2025-04-17 21:13+03", 23.61003)


@pytest.fixture
def town(engine):
    """A 10 km² community with the cluster and the target incident; returns (engine, id)."""
    with engine.begin() as conn:
        cid = insert_community(conn, "t")
        for type_code, at, x in [*CLUSTER, TARGET]:
            conn.execute(
                text(INSERT_INCIDENT),
                {"c": cid, "at": at, "t": type_code, "sev": 3, "x": x, "y": 46.7100},
            )
    return engine, cid


def _counts(conn, cid: int, *args, sql: str = "incident_hex_counts") -> dict:
    params = ", ".join(f":a{i}" for i in range(len(args)))
    rows = conn.execute(
        text(f"SELECT * FROM {sql}(:c{', ' if args else ''}{params})"),
        {"c": cid, **{f"a{i}": a for i, a in enumerate(args)}},
    ).all()
    return {tuple(r[:2]) if sql != "incident_hex_counts" else r[0]: r.count for r in rows}


def _grid(conn, cid: int) -> tuple[float, float]:
    return tuple(
        conn.execute(
            text("SELECT analysis_cell_m, map_cell_m FROM published_grids WHERE community_id = :c"),
            {"c": cid},
        ).one()
    )


def test_every_cell_size_but_the_published_ones_is_refused(town):
    engine, cid = town
    with connect_as(engine, "public") as conn:
        published = _grid(conn, cid)
    assert published == (280.0, 300.0)  # about 50 cells over 10 km², and the map's 300 m
    answered = []
    for size in [100 + 7.3 * k for k in range(0, 660, 11)] + list(published):
        try:
            with connect_as(engine, "public") as conn:
                _counts(conn, cid, size)
            answered.append(size)
        except DBAPIError as err:
            assert "not a published grid" in str(err.orig)
    assert sorted(answered) == sorted(published)


@pytest.mark.parametrize(
    "bound",
    [
        "2025-04-17 00:00+03",  # a day
        "2025-04-01 00:01+03",  # a minute after the month starts
        "2025-04-01 00:00+00",  # midnight UTC, not in the community's time zone
        "2025-04-08 00:00+03",  # a week
    ],
)
@pytest.mark.parametrize("function", ["incident_hex_counts", "incident_time_profile"])
def test_date_bounds_off_a_month_start_are_refused(town, bound, function):
    engine, cid = town
    args = (300, 5, bound, None) if function == "incident_hex_counts" else (5, bound, None)
    with pytest.raises(DBAPIError, match="start of a month"):
        with connect_as(engine, "public") as conn:
            _counts(conn, cid, *args, sql=function)


def test_bisection_over_dates_pins_no_incident_finer_than_its_month(town):
    """The 0003 attack: bisect the end bound until the count changes.  Every bound the
    database accepts is a month start, so the answer changes only between months."""
    engine, cid = town
    months = [dt.datetime(2025, m, 1, tzinfo=TZ) for m in (3, 4, 5)]
    seen = {}
    start = months[0]
    with connect_as(engine, "public") as conn:
        for end in months[1:]:
            seen[end.month] = sum(v or 0 for v in _counts(conn, cid, 300, 5, start, end).values())
    # March alone: 7 assaults, published as 5; with April: 8, published as 10.  The target is
    # only known to lie somewhere in April, in a 300 m hexagon.
    assert seen == {4: 5, 5: 10}
    # Any finer bound inside April is refused, so the bisection stops at the month.
    lo, hi = dt.datetime(2025, 4, 1, tzinfo=dt.UTC), dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    for _ in range(12):
        mid = lo + (hi - lo) / 2
        with pytest.raises(DBAPIError, match="start of a month"):
            with connect_as(engine, "public") as conn:
                _counts(conn, cid, 300, 5, start, mid)
        lo = mid


def test_differencing_published_answers_gives_only_multiples_of_five(town):
    """All pairs of published periods, sizes, types and severity floors: every answer and so
    every difference is a multiple of the rounding base, never the single target."""
    engine, cid = town
    bounds = [None, *(dt.datetime(2025, m, 1, tzinfo=TZ) for m in (3, 4, 5))]
    totals = []
    with connect_as(engine, "public") as conn:
        sizes = _grid(conn, cid)
        for size, lo, hi, types, sev in itertools.product(
            sizes, bounds, bounds, [None, ["assault"], ["theft"]], [1, 3, 4]
        ):
            if lo is not None and hi is not None and lo >= hi:
                continue
            cells = _counts(conn, cid, size, 1, lo, hi, types, sev)
            assert all(v is None or (v >= 5 and v % 5 == 0) for v in cells.values())
            totals.append(sum(v or 0 for v in cells.values()))
            profile = _counts(conn, cid, 1, lo, hi, types, sev, sql="incident_time_profile")
            assert all(v is None or (v >= 5 and v % 5 == 0) for v in profile.values())
    assert {a - b for a, b in itertools.product(totals, totals)} <= set(range(-100, 101, 5))


def test_type_filters_take_one_type_at_most(town):
    engine, cid = town
    with pytest.raises(DBAPIError, match="at most one incident type"):
        with connect_as(engine, "planner") as conn:
            _counts(conn, cid, 300, 5, None, None, ["assault", "theft"])


def test_the_month_under_way_is_not_published(town):
    """Counts move only when a month is complete: watching them day by day says nothing."""
    engine, cid = town
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for k in range(12):
            conn.execute(
                text(INSERT_INCIDENT),
                {"c": cid, "at": now, "t": "fire", "sev": 3, "x": 23.63 + k * 1e-5, "y": 46.72},
            )
    with connect_as(engine, "public") as conn:
        fires = _counts(conn, cid, 300, 5, None, None, ["fire"])
    assert all(v is None for v in fires.values())


def test_rolled_back_decoys_cannot_be_combined_with_counts(town):
    """The 0003 admin attack: insert decoys, read counts, roll back -- no trace.  Counts now
    refuse to run in a transaction that has written anything -- even for the table owner."""
    engine, cid = town
    with pytest.raises(DBAPIError, match="transaction that has written"):
        with engine.begin() as conn:
            for k in range(4):
                conn.execute(
                    text(INSERT_INCIDENT),
                    {
                        "c": cid,
                        "at": "2025-04-10",
                        "t": "theft",
                        "sev": 3,
                        "x": 23.6105 + k * 1e-5,
                        "y": 46.7100,
                    },
                )
            _counts(conn, cid, 300)
    with pytest.raises(DBAPIError, match="transaction that has written"):
        with connect_as(engine, "admin") as conn:
            conn.execute(text("SAVEPOINT s"))
            conn.execute(text("UPDATE communities SET name = 'decoy' WHERE id = :c"), {"c": cid})
            conn.execute(text("ROLLBACK TO SAVEPOINT s"))
            _counts(conn, cid, 5, sql="incident_time_profile")


def test_admin_changes_an_area_only_through_the_logged_path(town):
    engine, cid = town
    tiny = "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(23.6105, 46.71), 4326), 0.0001))"
    for column, value in (
        ("geom", tiny),
        ("timezone", "'UTC'"),
        ("metric_crs", "3844"),
        ("parent_id", "NULL"),
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with connect_as(engine, "admin") as conn:
                conn.execute(text(f"UPDATE communities SET {column} = {value} WHERE id = {cid}"))
    # The logged path works, but not in the same transaction as a count.
    with pytest.raises(DBAPIError, match="transaction that has written"):
        with connect_as(engine, "admin") as conn:
            conn.execute(
                text(f"SELECT harta_change_community_frame(:c, 'boundary survey', {tiny})"),
                {"c": cid},
            )
            _counts(conn, cid, 300)
    with pytest.raises(DBAPIError, match="reason"):
        with connect_as(engine, "admin") as conn:
            conn.execute(text(f"SELECT harta_change_community_frame(:c, '', {tiny})"), {"c": cid})
    with connect_as(engine, "admin") as conn:
        conn.execute(
            text(
                "SELECT harta_change_community_frame(:c, 'boundary survey 2026', NULL, NULL,"
                " 'Europe/Bucharest')"
            ),
            {"c": cid},
        )
    with connect_as(engine, "admin") as conn:
        logged = conn.execute(
            text("SELECT reason, app_role FROM community_frame_log WHERE community_id = :c"),
            {"c": cid},
        ).all()
        assert [tuple(r) for r in logged] == [("boundary survey 2026", "admin")]
    with pytest.raises(DBAPIError, match="append-only|permission denied"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM community_frame_log"))


def test_cells_by_index_arithmetic_equal_the_postgis_grid(engine):
    """The fast path places every point in the ST_HexagonGrid cell that contains it."""
    with engine.connect() as conn:
        wrong = conn.execute(
            text(
                "WITH p AS (SELECT ST_MakePoint(random() * 8000 - 4000, random() * 8000 - 4000)"
                " AS g FROM generate_series(1, 5000)), s AS (SELECT unnest(ARRAY[110.0, 280, 300,"
                " 1234.5]) AS size), k AS (SELECT s.size, p.g,"
                " harta_hex_cell(ST_X(p.g), ST_Y(p.g), s.size) AS ij FROM p, s)"
                " SELECT count(*) FROM k WHERE NOT ST_Intersects(k.g, ST_Hexagon(k.size,"
                " k.ij[1], k.ij[2]))"
            )
        ).scalar_one()
    assert wrong == 0


def test_re_adding_a_community_with_a_new_boundary_goes_through_the_log(engine, tmp_path):
    from geo.communities import add_community

    def square(size: float):
        path = tmp_path / f"b{size}.geojson"
        ring = [[23.60, 46.70], [23.60 + size, 46.70], [23.60 + size, 46.73], [23.60, 46.73]]
        path.write_text(
            '{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",'
            f' "coordinates": [{ring + [ring[0]]}]}}}}'
        )
        return path

    add_community(engine, "Harbour", square(0.04), slug="harbour")
    add_community(engine, "Harbour", square(0.04), slug="harbour")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM community_frame_log")).scalar_one() == 0
    add_community(engine, "Harbour", square(0.05), slug="harbour")
    with engine.connect() as conn:
        reason, grown = conn.execute(
            text("SELECT reason, ST_Area(new_geom) > ST_Area(old_geom) FROM community_frame_log")
        ).one()
    assert reason.startswith("community add:") and grown
