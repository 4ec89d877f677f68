"""Migration 0012 against independent references: the stored metric x/y equal pyproj's
transformation (``geo.crs``) within 1 mm whoever writes them; the published aggregates, now
computed from those coordinates on a fine membership grid, equal a pandas/shapely recomputation
of 0005/0007's rules (members within 25 m of the area, filters, rounding to 5, suppression
below 5) over a non-convex area with a settlement, edges, outsiders, sensitive and withdrawn
rows; the monthly function equals one call per month.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import wkb
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import crs as geocrs
from geo.db.security import connect_as
from tests.factories import insert_community

pytestmark = pytest.mark.db

TZ = ZoneInfo("Europe/Bucharest")
#: An L-shaped (non-convex) area south of Cluj, about 2.3 km x 2.2 km.
L_WKT = (
    "POLYGON((23.600 46.700, 23.630 46.700, 23.630 46.710, 23.612 46.710, 23.612 46.720,"
    " 23.600 46.720, 23.600 46.700))"
)
#: A settlement of it (same CRS), in the corner of the L.
SETTLEMENT_WKT = (
    "POLYGON((23.601 46.701, 23.606 46.701, 23.606 46.706, 23.601 46.706, 23.601 46.701))"
)
MONTHS = [dt.datetime(2025, m, 1, tzinfo=TZ) for m in (3, 4, 5, 6, 7)]
INSERT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, geom, source, created_by_role, is_demo)"
    " VALUES (:c, :at, :t, :sev, 'exact', :sens, 'police', :status,"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false)"
)


def _incidents(rng: np.random.Generator, n: int, cids: list[int]) -> pd.DataFrame:
    """Clustered and scattered points over (and beyond) the L, four months, mixed rows."""
    centres = np.array([[23.604, 46.703], [23.620, 46.705], [23.606, 46.715], [23.6125, 46.7105]])
    k = rng.integers(0, len(centres), n)
    xy = centres[k] + rng.normal(0, 0.0012, (n, 2))
    scatter = rng.random(n) < 0.3
    xy[scatter] = rng.uniform([23.598, 46.698], [23.632, 46.722], (int(scatter.sum()), 2))
    span = (MONTHS[-1] - MONTHS[0]).total_seconds()
    return pd.DataFrame(
        {
            "c": rng.choice(cids, n, p=[0.8, 0.2]),
            "at": [MONTHS[0] + dt.timedelta(seconds=float(s)) for s in rng.uniform(0, span, n)],
            "t": rng.choice(["theft", "assault", "domestic_violence"], n, p=[0.5, 0.4, 0.1]),
            "sev": rng.integers(1, 6, n),
            "sens": rng.choice(["normal", "sensitive"], n, p=[0.95, 0.05]),
            "status": rng.choice(["reported", "withdrawn"], n, p=[0.95, 0.05]),
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )


@pytest.fixture
def area(engine):
    """The L with its settlement and 1,500 incidents; returns (engine, id, frame)."""
    rng = np.random.default_rng(20261201)
    with engine.begin() as conn:
        cid = insert_community(conn, "l", wkt=L_WKT)
        sid = insert_community(conn, "l-s", wkt=SETTLEMENT_WKT, kind="settlement", parent_id=cid)
        frame = _incidents(rng, 1500, [cid, sid])
        conn.execute(text(INSERT), frame.to_dict("records"))
    return engine, cid, frame


def _members(frame: pd.DataFrame, frm: dt.datetime, to: dt.datetime, **filters) -> pd.DataFrame:
    """0007's members and 0005's filters, recomputed with shapely in the metric CRS."""
    forward = geocrs.transformer(4326, 32634)
    x, y = forward.transform(frame["x"].to_numpy(), frame["y"].to_numpy())
    area = geocrs.project(shapely.from_wkt(L_WKT), 4326, 32634)
    near = shapely.distance(area, shapely.points(x, y)) <= 25.0
    at = pd.to_datetime(frame["at"], utc=True)
    keep = (
        near
        & (frame["t"] != "domestic_violence").to_numpy()
        & (frame["sens"] == "normal").to_numpy()
        & (frame["status"] != "withdrawn").to_numpy()
        & (at >= pd.Timestamp(frm)).to_numpy()
        & (at < pd.Timestamp(to)).to_numpy()
        & (frame["sev"] >= filters.get("min_severity", 1)).to_numpy()
    )
    if filters.get("type"):
        keep &= (frame["t"] == filters["type"]).to_numpy()
    return pd.DataFrame({"x": x[keep], "y": y[keep], "at": at[keep].to_numpy()})


def _published(n: int) -> int | None:
    # PostgreSQL rounds numeric halves away from zero; Python's round() would not.
    return None if n < 5 else int(5 * np.floor(n / 5 + 0.5))


def _cells(conn, cid: int, size: float, frm, to, types=None, severity=1) -> pd.DataFrame:
    rows = conn.execute(
        text(
            "SELECT cell_id, ST_AsBinary(geom) AS g, count, suppressed FROM incident_hex_counts("
            ":c, :s, 5, :f, :t, CAST(:ty AS text[]), :sev)"
        ),
        {"c": cid, "s": size, "f": frm, "t": to, "ty": types, "sev": severity},
    ).all()
    return pd.DataFrame(rows, columns=["cell_id", "g", "count", "suppressed"])


def _expected(cells: pd.DataFrame, members: pd.DataFrame) -> list[int | None]:
    polygons = [geocrs.project(wkb.loads(bytes(g)), 4326, 32634) for g in cells["g"]]
    return [
        _published(int(shapely.contains_xy(p, members["x"], members["y"]).sum())) for p in polygons
    ]


def _grid(conn, cid: int) -> tuple[float, float]:
    return tuple(
        conn.execute(
            text("SELECT analysis_cell_m, map_cell_m FROM published_grids WHERE community_id = :c"),
            {"c": cid},
        ).one()
    )


def test_metric_xy_equal_pyproj_within_a_millimetre_whoever_writes_them(engine):
    rng = np.random.default_rng(7)
    with engine.begin() as conn:
        utm = insert_community(conn, "u", metric_crs=32634)
        stereo = insert_community(conn, "s", metric_crs=3844)
        lon, lat = rng.uniform(23.60, 23.64, 40), rng.uniform(46.70, 46.73, 40)
        for k in range(40):
            conn.execute(
                text(
                    "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
                    " location_precision, sensitivity, reporting_role, status, geom, source,"
                    " created_by_role, is_demo, metric_x, metric_y) VALUES (:c, now(), 'theft',"
                    " 2, 'exact', 'normal', 'police', 'reported',"
                    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false, 0, 0)"
                ),
                {"c": (utm, stereo)[k % 2], "x": lon[k], "y": lat[k]},
            )
    # A writer tries to move incidents in the aggregates without moving them on the map.
    with engine.begin() as conn:
        moved = conn.execute(text("UPDATE incidents SET metric_x = 1, metric_y = 1")).rowcount
    assert moved == 40
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), metric_srid, metric_x, metric_y FROM incidents"
                " ORDER BY id"
            )
        ).all()
    for lon_k, lat_k, srid, mx, my in rows:
        ex, ey = geocrs.transformer(4326, srid).transform(lon_k, lat_k)
        assert abs(mx - ex) < 1e-3 and abs(my - ey) < 1e-3
    assert {r.metric_srid for r in rows} == {32634, 3844}


def test_metric_xy_follow_a_new_metric_crs(engine):
    with engine.begin() as conn:
        cid = insert_community(conn, "u", metric_crs=32634)
        conn.execute(
            text(INSERT),
            {
                "c": cid,
                "at": "2025-03-03 10:00+02",
                "t": "theft",
                "sev": 2,
                "sens": "normal",
                "status": "reported",
                "x": 23.61,
                "y": 46.71,
            },
        )
        conn.execute(
            text("SELECT harta_change_community_frame(:c, 'survey in Stereo70', NULL, 3844)"),
            {"c": cid},
        )
        srid, mx, my = conn.execute(
            text("SELECT metric_srid, metric_x, metric_y FROM incidents")
        ).one()
    ex, ey = geocrs.transformer(4326, 3844).transform(23.61, 46.71)
    assert srid == 3844 and abs(mx - ex) < 1e-3 and abs(my - ey) < 1e-3


def test_hex_counts_equal_a_shapely_recomputation(area):
    engine, cid, frame = area
    with connect_as(engine, "public") as conn:
        sizes = _grid(conn, cid)
        cases = [
            (size, frm, to, ty, sev)
            for size in sizes
            for frm, to, ty, sev in [
                (MONTHS[0], MONTHS[-1], None, 1),
                (MONTHS[1], MONTHS[3], "theft", 1),
                (MONTHS[0], MONTHS[-1], "assault", 3),
            ]
        ]
        for size, frm, to, ty, sev in cases:
            cells = _cells(conn, cid, size, frm, to, [ty] if ty else None, sev)
            members = _members(frame, frm, to, type=ty, min_severity=sev)
            expected = _expected(cells, members)
            assert [None if pd.isna(v) else int(v) for v in cells["count"]] == expected
            assert list(cells["suppressed"]) == [v is None for v in expected]
    # The data were rich enough to say something: published and suppressed cells both occur.
    assert any(v is not None for v in expected) and any(v is None for v in expected)


def test_monthly_counts_equal_one_call_per_month_and_the_recomputation(area):
    engine, cid, frame = area
    with connect_as(engine, "public") as conn:
        size = _grid(conn, cid)[0]
        monthly = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT month_start, cell_id, count, suppressed FROM"
                    " incident_hex_counts_monthly(:c, :s, 5, :f, :t)"
                ),
                {"c": cid, "s": size, "f": MONTHS[0], "t": MONTHS[-1]},
            ).all(),
            columns=["month_start", "cell_id", "count", "suppressed"],
        )
        assert len(monthly["month_start"].unique()) == len(MONTHS) - 1
        for lo, hi in zip(MONTHS[:-1], MONTHS[1:], strict=True):
            one = _cells(conn, cid, size, lo, hi)
            got = monthly[monthly["month_start"] == pd.Timestamp(lo)]
            assert list(got["cell_id"]) == list(one["cell_id"])
            assert list(got["count"].fillna(-1)) == list(one["count"].fillna(-1))
            assert list(got["suppressed"]) == list(one["suppressed"])
            expected = _expected(one, _members(frame, lo, hi))
            assert [None if pd.isna(v) else int(v) for v in got["count"]] == expected


def test_time_profile_equals_the_recomputation(area):
    engine, cid, frame = area
    with connect_as(engine, "public") as conn:
        rows = conn.execute(
            text("SELECT profile, bin, count FROM incident_time_profile(:c, 5, :f, :t)"),
            {"c": cid, "f": MONTHS[0], "t": MONTHS[-1]},
        ).all()
    local = pd.to_datetime(_members(frame, MONTHS[0], MONTHS[-1])["at"], utc=True).dt.tz_convert(TZ)
    hours = local.dt.hour.value_counts()
    days = local.dt.day_of_week.value_counts()
    for profile, b, count in rows:
        n = int((hours if profile == "hour" else days).get(b, 0))
        assert count == _published(n), (profile, b)


@pytest.mark.parametrize(
    "bounds, message",
    [
        ((None, MONTHS[-1]), "both date bounds"),
        ((MONTHS[0], None), "both date bounds"),
        ((dt.datetime(2010, 1, 1, tzinfo=TZ), MONTHS[-1]), "at most 120 months"),
        ((dt.datetime(2025, 3, 2, tzinfo=TZ), MONTHS[-1]), "start of a month"),
    ],
)
def test_monthly_counts_keep_the_published_periods(area, bounds, message):
    engine, cid, _ = area
    with pytest.raises(DBAPIError, match=message):
        with connect_as(engine, "public") as conn:
            conn.execute(
                text("SELECT * FROM incident_hex_counts_monthly(:c, NULL, 5, :f, :t)"),
                {"c": cid, "f": bounds[0], "t": bounds[1]},
            ).all()


def test_monthly_counts_refuse_other_grids_two_types_and_reading_after_writing(area):
    engine, cid, _ = area
    args = {"c": cid, "f": MONTHS[0], "t": MONTHS[-1]}
    with pytest.raises(DBAPIError, match="not a published grid"):
        with connect_as(engine, "public") as conn:
            conn.execute(
                text("SELECT * FROM incident_hex_counts_monthly(:c, 123, 5, :f, :t)"), args
            ).all()
    with pytest.raises(DBAPIError, match="at most one incident type"):
        with connect_as(engine, "public") as conn:
            conn.execute(
                text(
                    "SELECT * FROM incident_hex_counts_monthly(:c, NULL, 5, :f, :t,"
                    " ARRAY['theft', 'assault'])"
                ),
                args,
            ).all()
    with pytest.raises(DBAPIError, match="transaction that has written"):
        with engine.begin() as conn:  # the owner: decoys written, then counted
            conn.execute(
                text(INSERT),
                {
                    "c": cid,
                    "at": "2025-03-03 10:00+02",
                    "t": "theft",
                    "sev": 2,
                    "sens": "normal",
                    "status": "reported",
                    "x": 23.605,
                    "y": 46.705,
                },
            )
            conn.execute(
                text("SELECT * FROM incident_hex_counts_monthly(:c, NULL, 5, :f, :t)"), args
            ).all()


def test_an_aggregated_run_reads_its_months_in_one_call_with_the_same_result(area):
    """The months of an aggregated run from incident_hex_counts_monthly equal the frames of
    one incident_hex_counts call per month (the path before 0012)."""
    from geo.analysis import inputs
    from geo.communities.model import Community

    engine, _, _ = area
    community = Community.load(engine, "l")
    filters = inputs.RunFilters(date_from=MONTHS[0].date(), date_to=MONTHS[-2].date())
    window = inputs.published_window(filters, community.timezone)
    cell = _grid_of(engine, community.id)
    keyed = inputs._published_with_keys(engine, community, cell, 5, filters, window)
    monthly = inputs._monthly_counts(engine, community, cell, 5, filters, window)
    one_call = inputs._published_months(community, window, keyed, monthly)
    per_month = inputs._published_over_time(engine, community, cell, 5, filters, window, "month")
    assert len(one_call) > 0 and one_call.equals(per_month)


def _grid_of(engine, cid: int) -> float:
    with engine.connect() as conn:
        return float(_grid(conn, cid)[0])
