"""Hexagon grids: coverage, stable ids, and vectorised point assignment."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo.crs import transformer
from geo.hexgrid.grid import (
    INTERPOLATE_MIN_POINTS,
    AxialLookup,
    area_in_crs,
    assign_points_to_hex,
    clear_grid_cache,
    count_points_per_cell,
    default_hex_size,
    hex_area_m2,
    hex_cells,
    hex_corners,
    hex_grid,
    hex_polygons,
    points_to_axial,
    projected_xy,
    xy_to_axial,
)
from geo.hexgrid.projection import interpolated_projection

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


def near_edge_points(crs, cell, orientation, n_per_kind=4000, seed=3):
    """Uniform points plus points 0.05 mm to 5 cm from hexagon edges and corners (EPSG:4326)."""
    rng = np.random.default_rng(seed)
    region = area_in_crs(PATA_RAT, crs)
    xmin, ymin, xmax, ymax = region.bounds
    x = rng.uniform(xmin, xmax, 3 * n_per_kind)
    y = rng.uniform(ymin, ymax, 3 * n_per_kind)
    q, r = xy_to_axial(x, y, cell, orientation)
    corner_x, corner_y, _ = hex_corners(q, r, cell, orientation)
    k = rng.integers(0, 6, len(q))
    t = rng.uniform(0, 1, len(q))
    rows = np.arange(len(q))
    # A point on an edge (or a corner when t is 0), nudged by +-0.05 mm .. 5 cm across it.
    ex = corner_x[rows, k] + t * (corner_x[rows, k + 1] - corner_x[rows, k])
    ey = corner_y[rows, k] + t * (corner_y[rows, k + 1] - corner_y[rows, k])
    ex[:n_per_kind] = corner_x[rows[:n_per_kind], k[:n_per_kind]]
    nudge = rng.choice([-1, 1], len(q)) * 10 ** rng.uniform(-4.3, -1.3, len(q))
    angle = rng.uniform(0, 2 * np.pi, len(q))
    ex, ey = ex + nudge * np.cos(angle), ey + nudge * np.sin(angle)
    lon, lat = transformer(crs, "EPSG:4326").transform(np.r_[x, ex], np.r_[y, ey])
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


@pytest.mark.parametrize("crs", ["EPSG:32634", "EPSG:3844"])
@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_interpolated_placement_gives_the_cells_of_the_exact_projection(crs, orientation):
    # Attack on the interpolation shortcut: points within millimetres of cell edges, where an
    # interpolation error of a few millimetres would put them in the neighbouring cell.
    cell = 25.0
    points = near_edge_points(crs, cell, orientation)
    assert len(points) >= INTERPOLATE_MIN_POINTS  # the shortcut is taken
    x, y = projected_xy(points, crs)
    exact_q, exact_r = xy_to_axial(x, y, cell, orientation)
    q, r = points_to_axial(points, cell, crs, orientation)
    assert (q == exact_q).all() and (r == exact_r).all()
    # The attack has teeth: interpolation alone, without re-projecting the points near an
    # edge, puts some of them in the wrong cell.
    coords = shapely.get_coordinates(points.geometry.values)
    forward = transformer("EPSG:4326", crs)
    ix, iy, error = interpolated_projection(coords[:, 0], coords[:, 1], forward)
    assert 0 < error < 0.05
    naive_q, naive_r = xy_to_axial(ix, iy, cell, orientation)
    assert ((naive_q != exact_q) | (naive_r != exact_r)).sum() > 0


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_shared_corners_are_equal_so_queen_contiguity_finds_every_neighbour(orientation):
    # Corners computed per cell differed in the last bits, so libpysal's vertex matching lost
    # neighbours (about a quarter of the cells in scripts/bench_hotspots.py): the cause of the
    # benchmark's z-score disagreement (max |dz| 1.3-4.0).
    from libpysal.graph import Graph

    from geo.analysis.hotspots import hex_neighbour_weights

    grid = hex_grid(PATA_RAT, 170, CRS, orientation)
    polygons = hex_polygons(grid["q"].to_numpy(), grid["r"].to_numpy(), 170, orientation)
    graph = Graph.build_contiguity(gpd.GeoDataFrame(geometry=polygons, crs=CRS), rook=False)
    ours = hex_neighbour_weights(grid["q"], grid["r"], include_self=False)
    reference = graph.sparse.tocsr()
    assert (ours != reference).nnz == 0
    assert np.allclose(shapely.area(polygons), hex_area_m2(170), rtol=1e-9)


def test_cached_grid_is_not_changed_by_what_callers_do_with_it():
    clear_grid_cache()
    first = hex_grid(PATA_RAT, 260, CRS)
    expected = first.copy()
    first["area_share"] = 0.0
    first["q"] += 1
    first.loc[first.index[0], "geometry"] = first.geometry.iloc[1]
    first.loc[first.index[1], "cell_id"] = "changed"
    first.geometry = first.geometry.translate(1, 1)
    again = hex_grid(PATA_RAT, 260, CRS)
    assert again.equals(expected)
    cells = hex_cells(area_in_crs(PATA_RAT, CRS), 260)
    with pytest.raises(ValueError):
        cells.area_share[0] = 0.5  # read-only
    # Another area or size is another grid, not a cache hit.
    smaller = hex_grid(box(23.64, 46.77, 23.66, 46.78), 260, CRS)
    assert len(smaller) < len(again)
    assert len(hex_grid(PATA_RAT, 300, CRS)) < len(again)


def test_axial_lookup_dense_and_sorted_agree_on_scattered_cells():
    rng = np.random.default_rng(9)
    grid_q = rng.integers(-30, 30, 400)
    grid_r = rng.integers(-30, 30, 400)
    keys = np.unique(grid_q * 1000 + grid_r)
    grid_q, grid_r = keys // 1000, keys % 1000
    grid_r = np.where(grid_r > 500, grid_r - 1000, grid_r)
    q, r = rng.integers(-40, 40, 5000), rng.integers(-40, 40, 5000)
    dense = AxialLookup(grid_q, grid_r)
    sparse = AxialLookup(grid_q * 10_000, grid_r * 10_000)  # same cells spread out
    assert dense.table is not None and sparse.table is None
    rows = dense.rows(q, r)
    assert (rows == sparse.rows(q * 10_000, r * 10_000)).all()
    found = rows >= 0
    assert found.any() and (~found).any()
    assert (grid_q[rows[found]] == q[found]).all() and (grid_r[rows[found]] == r[found]).all()


@pytest.mark.parametrize("crs", ["EPSG:32634", "EPSG:3844"])
def test_cells_place_points_like_the_exact_projection_inside_and_outside_their_box(crs):
    # The grid's own lattice (built once per grid) must give the exact cells near edges, and
    # points beyond the grid's box must count as outside without being projected wrongly.
    cell = 25.0
    inner = box(23.64, 46.77, 23.66, 46.78)
    cells = hex_cells(area_in_crs(inner, crs), cell)
    points = near_edge_points(crs, cell, "pointy", n_per_kind=3000, seed=4)
    x, y = projected_xy(points, crs)
    exact = cells.lookup().rows(*xy_to_axial(x, y, cell))
    rows = cells.rows_of_points(points, crs)
    assert (rows == exact).all()
    assert (rows >= 0).sum() > 500 and (rows < 0).sum() > 5000  # both kinds present
    frame = hex_grid(inner, cell, crs)
    counts, outside = count_points_per_cell(frame, points, cell, crs)
    counts_cells, outside_cells = count_points_per_cell(cells, points, cell, crs)
    assert (counts == counts_cells).all() and outside == outside_cells
