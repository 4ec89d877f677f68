"""Hexagon grids: coverage, stable ids, and vectorised point assignment."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo.analysis.grid import (
    assign_points_to_hex,
    default_hex_size,
    hex_area_m2,
    hex_grid,
    hex_polygons,
    projected_xy,
)

CRS = "EPSG:32634"
PATA_RAT = box(23.60, 46.76, 23.72, 46.80)


def random_points(n, seed=0, bounds=(23.60, 46.76, 23.72, 46.80)):
    rng = np.random.default_rng(seed)
    west, south, east, north = bounds
    lon, lat = rng.uniform(west, east, n), rng.uniform(south, north, n)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_assignment_matches_shapely_contains(orientation):
    cell = 180.0
    grid = hex_grid(PATA_RAT, cell, CRS, orientation)
    points = random_points(3000, seed=1)
    assigned = assign_points_to_hex(points, cell, CRS, orientation)

    # Reference: the metric hexagon that contains each projected point, found by shapely.
    x, y = projected_xy(points, CRS)
    polygons = hex_polygons(grid["q"].to_numpy(), grid["r"].to_numpy(), cell, orientation)
    point_idx, cell_idx = shapely.STRtree(polygons).query(shapely.points(x, y), predicate="within")
    reference = np.full(len(points), None, dtype=object)
    reference[point_idx] = grid["cell_id"].to_numpy()[cell_idx]

    assert np.bincount(point_idx, minlength=len(points)).max() == 1
    assert (reference != None).all()  # noqa: E711 -- elementwise comparison on an array
    assert (assigned["cell_id"].to_numpy() == reference).all()


def test_grid_covers_area_with_whole_cells_that_all_touch_it():
    grid = hex_grid(PATA_RAT, 250, CRS)
    metric = grid.to_crs(CRS)
    area = gpd.GeoSeries([PATA_RAT], crs="EPSG:4326").to_crs(CRS).iloc[0]
    assert metric.union_all().buffer(1e-3).covers(area)
    assert metric.intersects(area).all()
    assert np.allclose(metric.area, hex_area_m2(250), rtol=1e-6)
    assert grid["cell_id"].is_unique
    assert grid.crs.to_epsg() == 4326


def test_cell_ids_are_stable_across_areas():
    big = hex_grid(PATA_RAT, 300, CRS)
    small = hex_grid(box(23.64, 46.77, 23.66, 46.78), 300, CRS)
    merged = small.merge(big, on="cell_id", suffixes=("_small", "_big"))
    assert len(merged) == len(small)
    distance = (
        gpd.GeoSeries(merged["geometry_small"], crs=4326)
        .to_crs(CRS)
        .centroid.distance(gpd.GeoSeries(merged["geometry_big"], crs=4326).to_crs(CRS).centroid)
    )
    assert distance.max() < 1e-6


def test_default_hex_size_shrinks_with_more_points_within_bounds():
    sizes = [default_hex_size(PATA_RAT, n, CRS) for n in (10, 500, 5000, 10**6)]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > sizes[-1]
    assert all(50 <= s <= 2000 for s in sizes)
    n_cells = len(hex_grid(PATA_RAT, default_hex_size(PATA_RAT, 900, CRS), CRS))
    assert 200 <= n_cells <= 450  # about 3 incidents per cell
