"""Housing sites: criteria values against independent computations, and hard exclusions.

Network minutes are checked against networkx's Dijkstra on the walk graph (sites and facilities
placed exactly on street nodes, so snapping adds nothing); distances against shapely in a metric
CRS reached through geopandas; raster values against the pixel read directly with rasterio.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import Point, box

from geo import crs as crs_
from geo import network
from geo.communities import read_boundary
from geo.communities.model import Community
from geo.planning.sites import inputs
from geo.planning.sites.compute import compute_criteria, raster_values
from geo.planning.sites.criteria import load_criteria
from geo.planning.sites.inputs import RasterLayer, SiteContext, normalise_sites
from geo.planning.sites.rank import SiteRanking, write_outputs

PATA_RAT = Path(__file__).resolve().parents[1] / "data" / "communities" / "pata-rat"


@pytest.fixture(scope="module")
def community() -> Community:
    """Pata Rât as Community.load makes it, without a database (its real boundary and files)."""
    return Community(
        id=1,
        slug="pata-rat",
        name="Pata Rât",
        kind="community",
        parent_id=None,
        parent_slug=None,
        settlement_ids=(),
        timezone="Europe/Bucharest",
        crs=crs_.to_crs(32634),
        geometry=read_boundary(PATA_RAT / "boundary.geojson"),
        source_dir=str(PATA_RAT),
    )


@pytest.fixture(scope="module")
def walk(community):
    return network.network_for(community, "walk"), network.graph_for(community, "walk")


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=crs_.STORAGE)


def node_points(net, rows) -> list[Point]:
    return [Point(float(net.lon[r]), float(net.lat[r])) for r in rows]


def context_for(community, **layers) -> SiteContext:
    empty = frame([], name=[])
    base = {
        "schools": empty,
        "kindergartens": empty,
        "clinics": empty,
        "stops": frame([], name=[], routes=[]),
        "settlements": empty,
    }
    return SiteContext(community=community, **{**base, **layers})


def test_walking_minutes_to_the_nearest_school_equal_networkx(community, walk):
    net, graph = walk
    rng = np.random.default_rng(7)
    # Nodes in the city centre (where the schools file is), picked at random.
    centre = np.flatnonzero(
        (net.lon > 23.57) & (net.lon < 23.64) & (net.lat > 46.76) & (net.lat < 46.79)
    )
    site_rows = rng.choice(centre, 3, replace=False)
    school_rows = rng.choice(centre, 4, replace=False)
    sites = normalise_sites(frame(node_points(net, site_rows), site_id=["a", "b", "c"]), community)
    context = context_for(community, schools=frame(node_points(net, school_rows), name=["s"] * 4))
    values = compute_criteria(sites, context, load_criteria()).values
    for site, row in zip(["a", "b", "c"], site_rows, strict=True):
        lengths = nx.single_source_dijkstra_path_length(
            graph, int(net.node_ids[row]), weight="travel_time"
        )
        best = min(lengths.get(int(net.node_ids[s]), np.inf) for s in school_rows)
        assert values.loc[site, "walk_school_min"] * 60 == pytest.approx(best, abs=1e-3)


def test_street_distance_from_settlements_is_walking_time_times_walking_speed(community, walk):
    net, graph = walk
    rows = np.flatnonzero((net.lon > 23.60) & (net.lon < 23.62) & (net.lat > 46.77))[:2]
    site, settlement = node_points(net, rows)
    sites = normalise_sites(frame([site], site_id=["a"]), community)
    context = context_for(community, settlements=frame([settlement.buffer(1e-7)], name=["x"]))
    values = compute_criteria(sites, context, load_criteria()).values
    seconds = nx.shortest_path_length(
        graph, int(net.node_ids[rows[0]]), int(net.node_ids[rows[1]]), weight="travel_time"
    )
    metres = seconds * network.WALK_SPEED_KPH / 3.6
    assert values.loc["a", "settlement_network_m"] == pytest.approx(metres, rel=1e-3, abs=0.5)


def test_distance_to_the_landfill_equals_shapely_in_utm(community):
    landfill = inputs.landfill_outline()
    parcel = box(23.62, 46.775, 23.621, 46.776)
    sites = normalise_sites(frame([parcel], site_id=["a"]), community)
    context = context_for(community, landfill=landfill)
    values = compute_criteria(sites, context, load_criteria()).values
    utm = gpd.GeoSeries([parcel, landfill], crs=4326).to_crs(32634)
    assert values.loc["a", "landfill_m"] == pytest.approx(
        utm.iloc[0].distance(utm.iloc[1]), abs=0.01
    )


def test_raster_value_equals_the_pixel_read_directly(community, tmp_path):
    # A 10x10 raster of 0.001 degree pixels holding 0..99; the site covers pixels (row 2..3,
    # column 4..5) exactly, so the zonal mean is (24 + 25 + 34 + 35) / 4.
    path = tmp_path / "hazard.tif"
    west, north, step = 23.60, 46.80, 0.001
    data = np.arange(100, dtype="float32").reshape(10, 10)
    with rasterio.open(
        path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(west, north, step, step), nodata=-1,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    parcel = box(west + 4 * step, north - 4 * step, west + 6 * step, north - 2 * step)
    point = Point(west + 7.5 * step, north - 8.5 * step)  # pixel row 8, column 7
    sites = frame([parcel.buffer(-1e-6), point], site_id=["p", "q"])
    mean = raster_values(sites.geometry, community, RasterLayer("flood", path, "mean"))
    sample = raster_values(sites.geometry, community, RasterLayer("flood", path, "sample"))
    assert mean[0] == pytest.approx((24 + 25 + 34 + 35) / 4)
    assert sample[1] == data[8, 7] == 87


def test_tree_cover_share_equals_the_mask_read_directly(community):
    site = Point(23.6010, 46.7705)
    layer = RasterLayer("treecover_share", inputs.TREECOVER_FILE, "share", 10, radius_m=300.0)
    share = raster_values(gpd.GeoSeries([site], crs=4326), community, layer)[0]
    circle = gpd.GeoSeries([site], crs=4326).to_crs(32634).buffer(300, 64).to_crs(4326).iloc[0]
    with rasterio.open(inputs.TREECOVER_FILE) as src:
        band = src.read(1)
        rows, cols = np.indices(band.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        inside = shapely.contains_xy(circle, np.asarray(xs), np.asarray(ys))
        expected = float(np.mean(band.ravel()[inside] == 10))
    assert share == pytest.approx(expected, abs=1e-9)


def test_a_site_inside_an_exclusion_is_excluded_with_its_reason(community, walk, tmp_path):
    net, _ = walk
    centre = np.flatnonzero(
        (net.lon > 23.59) & (net.lon < 23.62) & (net.lat > 46.765) & (net.lat < 46.78)
    )
    schools = frame(node_points(net, centre[:5]), name=["s"] * 5)
    landfill = inputs.landfill_outline()
    hazard = box(23.600, 46.790, 23.605, 46.793)
    zones = gpd.GeoDataFrame(
        {"hazard_code": ["flood", "flood"], "severity": [5, 2]},
        geometry=[box(23.610, 46.790, 23.612, 46.792), box(23.620, 46.790, 23.622, 46.792)],
        crs=4326,
    )
    sites = frame(
        [
            landfill.representative_point(),  # inside the landfill outline
            Point(23.6025, 46.7915),  # inside the imported hazard polygon
            Point(23.611, 46.791),  # inside a severity-5 risk zone
            Point(23.621, 46.791),  # inside a severity-2 zone: not a hard exclusion
            node_points(net, centre[5:6])[0],  # near schools, far from everything
        ],
        site_id=["landfill", "hazard", "zone5", "zone2", "ok"],
    )
    context = context_for(
        community, schools=schools, landfill=landfill, hazards=frame([hazard], name=["h"]),
        risk_zones=zones,
    )  # fmt: skip
    ranking = SiteRanking.from_data(community, sites, context=context, draws=50)
    result = ranking.solve()
    table = result.sites.set_index("site_id")
    assert "within 1000 m of the landfill" in table.loc["landfill", "exclusion_reason"]
    assert "cut_off" in {e.rule for e in ranking.exclusions[0]}  # and no school near it
    assert table.loc["hazard", "exclusion_reason"] == "touches the imported hazard layer"
    assert table.loc["zone5", "exclusion_reason"] == "touches a workshop risk zone of severity 5"
    assert not table.loc["zone2", "excluded"] and not table.loc["ok", "excluded"]
    assert list(table.loc[["landfill", "hazard", "zone5"], "rank"]) == [0, 0, 0]
    assert sorted(table.loc[["zone2", "ok"], "rank"]) == [1, 2]
    # Monte Carlo over the eligible sites: each rank is held by exactly one site per draw.
    assert result.probabilities.shape == (2, 2)
    assert np.allclose(result.probabilities.sum(axis=0), 1.0)
    ro = ranking.exclusions[2][0].message("ro")
    assert "gravitatea 5" in ro
    paths = write_outputs(result, ranking.criteria, tmp_path / "ranked.csv")
    csv = pd.read_csv(paths["csv"])
    assert set(csv.loc[csv["excluded"], "site_id"]) == {"landfill", "hazard", "zone5"}


def test_residential_street_density_equals_a_direct_clip_of_the_streets(community):
    site = Point(23.6180, 46.7790)  # Mărăști
    sites = normalise_sites(frame([site], site_id=["a"]), community)
    values = compute_criteria(sites, context_for(community), load_criteria()).values
    # Independently: each residential street once (its two directions are the same line once
    # normalised), clipped to the 500 m circle in UTM 34N, length per km².
    streets = network.streets_gdf(network.graph_for(community, "drive"))
    streets = streets[streets["highway"].isin(["residential", "living_street"])].to_crs(32634)
    unique = {shapely.normalize(g).wkb: g for g in streets.geometry}
    circle = gpd.GeoSeries([site], crs=4326).to_crs(32634).iloc[0].buffer(500, quad_segs=32)
    km = sum(g.intersection(circle).length for g in unique.values()) / 1000
    assert values.loc["a", "residential_km_per_km2"] == pytest.approx(
        km / (circle.area / 1e6), rel=1e-3
    )
