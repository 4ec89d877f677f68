"""The hot spot list names the street and place of each hot spot (issue 11 item 7: police could
not say which street a hot spot is on).

The reference is an independent brute-force computation: every named street's distance to the
hot spot, measured with shapely in the community's metric CRS, the smallest wins.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from geo import views
from geo.analysis.places import hotspot_places, nearest_streets
from geo.analysis.runs import run_hotspot_analysis
from geo.communities import Community
from tests.factories import account_engine

pytestmark = pytest.mark.db


def brute_force_street(point_wgs84: Point, streets: gpd.GeoDataFrame, crs) -> tuple[str, float]:
    named = streets[streets["name"].notna()]
    metric = named.to_crs(crs)
    here = gpd.GeoSeries([point_wgs84], crs=4326).to_crs(crs).iloc[0]
    distances = np.array([line.distance(here) for line in metric.geometry])
    best = int(np.argmin(distances))
    return str(named["name"].iloc[best]), float(distances[best])


def a_street_point(community: Community, streets: gpd.GeoDataFrame) -> tuple[str, Point]:
    """A point on a named street, inside the area, at least 60 m from any other named street."""
    named = streets[streets["name"].notna()].reset_index(drop=True)
    metric = named.to_crs(community.crs)
    for i in np.argsort(-metric.length.to_numpy()):
        mid_m = metric.geometry.iloc[i].interpolate(0.5, normalized=True)
        mid = gpd.GeoSeries([mid_m], crs=community.crs).to_crs(4326).iloc[0]
        if not community.contains(mid, tol_m=0):
            continue
        others = metric[named["name"] != named["name"].iloc[i]]
        if others.distance(mid_m).min() >= 60:
            return str(named["name"].iloc[i]), mid
    raise AssertionError("no isolated named street inside the area")


def test_a_hotspot_on_a_known_street_is_listed_with_that_street(loaded_db_url, loaded_engine):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    streets = views.streets(loaded_engine, pata_rat)
    street, spot = a_street_point(pata_rat, streets)
    assert brute_force_street(spot, streets, pata_rat.crs)[0] == street
    # Forty incidents within a few metres of that point, over the last weeks.
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (community_id, type_code, severity, occurred_at,"
                " location_precision, sensitivity, reporting_role, status, source, created_by_role,"
                " geom)"
                " SELECT :c, 'fire', 3, now() - make_interval(days => g), 'exact', 'normal',"
                " 'police', 'verified', 'form', 'police',"
                " ST_SetSRID(ST_MakePoint(:x + (g % 5) * 0.00003,"
                " :y + (g % 3) * 0.00002), 4326) FROM generate_series(1, 40) g"
            ),
            {"c": pata_rat.id, "x": spot.x, "y": spot.y},
        )
    police = account_engine(loaded_db_url, "police")
    today = dt.date.today()
    run = run_hotspot_analysis(
        police, pata_rat, date_from=today - dt.timedelta(days=60), date_to=today, store=False
    )
    police.dispose()
    hot = run.hotspots.hot_cells()
    here = hot[hot.contains(spot)]
    assert len(here) == 1, "the forty incidents make a hot spot"
    table = hotspot_places(loaded_engine, pata_rat, hot, run.visible.points, streets)
    assert len(table) == len(hot)
    row = table[table["cell_id"] == here["cell_id"].iloc[0]].iloc[0]
    # Independent anchor: the mean of the incident points inside the cell.
    pts = run.visible.points.to_crs(4326)
    inside = pts[pts.within(here.geometry.iloc[0])]
    anchor = Point(inside.geometry.x.mean(), inside.geometry.y.mean())
    expected, distance = brute_force_street(anchor, streets, pata_rat.crs)
    assert row["street"] == expected == street
    assert row["street_m"] == pytest.approx(distance, abs=1)
    # Located by the cell's centre (never an incident's own point), to 5 decimals.
    centre = here.to_crs(pata_rat.crs).geometry.centroid.to_crs(4326).iloc[0]
    assert (row["lon"], row["lat"]) == pytest.approx((centre.x, centre.y), abs=1e-5)
    # The place: the settlement holding the anchor when there is one, else a named place.
    settlements = views.settlements(loaded_engine, pata_rat)
    holding = settlements[
        settlements.to_crs(pata_rat.crs).distance(
            gpd.GeoSeries([anchor], crs=4326).to_crs(pata_rat.crs).iloc[0]
        )
        <= 25
    ]
    if len(holding):
        assert row["place"] in set(holding["name"])
    else:
        assert isinstance(row["place"], str) and row["place"]
    # Hottest first.
    assert list(table["gi_bin"]) == sorted(table["gi_bin"], reverse=True)


def test_every_anchor_gets_the_brute_force_nearest_street(loaded_engine):
    """Many random points: the tree search agrees with the brute force everywhere."""
    pata_rat = Community.load(loaded_engine, "pata-rat")
    streets = views.streets(loaded_engine, pata_rat)
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = pata_rat.geometry.bounds
    pts = gpd.GeoSeries(
        [Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(60)], crs=4326
    )
    found = nearest_streets(pts, streets, pata_rat)
    for i, point in enumerate(pts):
        name, distance = brute_force_street(point, streets, pata_rat.crs)
        if distance <= 400:
            assert found["street"].iloc[i] == name
            assert found["street_m"].iloc[i] == pytest.approx(distance, abs=1)
        else:
            assert found["street"].iloc[i] is None
