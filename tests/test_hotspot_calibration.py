"""Calibration on pure noise: Gi* at the default settings must not invent hot or cold spots.

Uniform random incidents over the real Pata Rât boundary (1.686 km², cut by many hexagon edges),
at the default cell size (about 3 incidents per cell at n = 500, about 19 at n = 5,000), BH-FDR at
95 %: at most 5 % of data sets may show any significant cell.  The normal approximation on
unweighted cells (the code before issue 15) fails this on the same data, which the test checks
too, so it attacks the old behaviour and not a strawman.  A fuller run (more replicates) is in
``scripts/bench_hotspots.py``.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.analysis.hotspots import (
    HotspotAnalysis,
    fdr_adjust,
    gi_star_test,
    hex_neighbour_weights,
)
from geo.hexgrid.grid import area_in_crs, axial_index, default_hex_size, hex_grid, xy_to_axial

CRS = "EPSG:32634"
BOUNDARY = Path(__file__).parents[1] / "data" / "communities" / "pata-rat" / "boundary.geojson"
ALPHA = 0.05


@pytest.fixture(scope="module")
def boundary():
    return gpd.read_file(BOUNDARY)


def uniform_in(region, n, rng):
    """``n`` points uniform over a metric polygon (rejection sampling from its bounds)."""
    xmin, ymin, xmax, ymax = region.bounds
    xs, ys, got = [], [], 0
    while got < n:
        x, y = rng.uniform(xmin, xmax, 4 * n), rng.uniform(ymin, ymax, 4 * n)
        inside = shapely.contains_xy(region, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def noise_counts(boundary, n, replicates, seed):
    """Counts per default-size cell of ``replicates`` uniform data sets, one per column."""
    region = area_in_crs(boundary, CRS)
    shapely.prepare(region)
    size = default_hex_size(boundary, n, CRS)
    cells = hex_grid(boundary, size, CRS)
    grid_q, grid_r = cells["q"].to_numpy(), cells["r"].to_numpy()
    rng = np.random.default_rng(seed)
    counts = np.zeros((len(cells), replicates))
    for k in range(replicates):
        x, y = uniform_in(region, n, rng)
        row = axial_index(grid_q, grid_r, *xy_to_axial(x, y, size))
        counts[:, k] = np.bincount(row[row >= 0], minlength=len(cells))
    return cells, counts


def share_with_any_significant(cells, counts, **options):
    weights = hex_neighbour_weights(cells["q"], cells["r"])
    test = gi_star_test(counts, weights, **options)
    return float((fdr_adjust(test.p, axis=0) <= ALPHA).any(axis=0).mean()), test.method


@pytest.mark.parametrize(("n", "replicates"), [(500, 400), (5000, 200)])
def test_noise_shows_significant_cells_in_at_most_5_percent_of_data_sets(boundary, n, replicates):
    cells, counts = noise_counts(boundary, n, replicates, seed=n)
    rate, method = share_with_any_significant(cells, counts, area_share=cells["area_share"])
    assert method == "exact"
    assert rate <= ALPHA, f"{rate:.1%} of noise data sets show a hot or cold spot"


def test_old_normal_unweighted_inference_fails_the_same_check(boundary):
    cells, counts = noise_counts(boundary, 500, 400, seed=500)
    rate, _ = share_with_any_significant(cells, counts, method="normal")
    assert rate > 2 * ALPHA  # the 12-19 % of issue 15


def test_solve_uses_the_exact_test_on_noise_and_finds_nothing(boundary):
    region = area_in_crs(boundary, CRS)
    shapely.prepare(region)
    rng = np.random.default_rng(11)
    for _ in range(3):
        x, y = uniform_in(region, 500, rng)
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=CRS).to_crs(4326)
        result = HotspotAnalysis(points, boundary, CRS).solve()
        assert result.method == "exact" and result.params["cell_size_m"] == 60
        assert not result.cells["hot"].any() and not result.cells["cold"].any()
