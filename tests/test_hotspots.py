"""Gi*: equality with esda and statsmodels, exact p-values, edges, planted clusters, too-few."""

import geopandas as gpd
import libpysal
import numpy as np
import pytest
from esda.getisord import G_Local
from scipy import stats
from shapely.geometry import box
from statsmodels.stats.multitest import multipletests

from geo.analysis.hotspots import (
    HotspotAnalysis,
    binomial_two_sided_p,
    distance_band_weights,
    fdr_adjust,
    gi_star_test,
    gi_star_z,
    hex_neighbour_weights,
    label_text,
    method_text,
)
from geo.hexgrid.grid import hex_grid, hex_polygons

CRS = "EPSG:32634"
PATA_RAT = box(23.60, 46.76, 23.72, 46.80)


def to_libpysal(matrix):
    return libpysal.weights.WSP(matrix).to_W(silence_warnings=True)


@pytest.fixture(scope="module")
def fixed_dataset():
    grid = hex_grid(PATA_RAT, 200, CRS)
    rng = np.random.default_rng(20240601)
    counts = rng.negative_binomial(2, 0.4, len(grid)).astype(float)
    counts[100:120] += 9  # some structure, so z-scores span a wide range
    return grid, counts


@pytest.mark.parametrize("self_in_matrix", [False, True])
def test_z_scores_equal_esda_on_hex_weights(fixed_dataset, self_in_matrix):
    grid, counts = fixed_dataset
    ours = gi_star_z(counts, hex_neighbour_weights(grid["q"], grid["r"]))
    w = to_libpysal(hex_neighbour_weights(grid["q"], grid["r"], include_self=self_in_matrix))
    reference = G_Local(counts, w, transform="B", star=True, permutations=0).Zs
    assert np.abs(ours - reference).max() < 1e-9
    assert np.abs(ours).max() > 3


def test_z_scores_equal_esda_on_distance_band(fixed_dataset):
    grid, counts = fixed_dataset
    centres = grid.to_crs(CRS).centroid
    weights = distance_band_weights(centres.x.to_numpy(), centres.y.to_numpy(), 750)
    reference = G_Local(counts, to_libpysal(weights), transform="B", star=True, permutations=0)
    assert np.abs(gi_star_z(counts, weights) - reference.Zs).max() < 1e-9


def test_hex_weights_are_symmetric_with_seven_cells_inside():
    grid = hex_grid(PATA_RAT, 300, CRS)
    weights = hex_neighbour_weights(grid["q"], grid["r"])
    assert (weights != weights.T).nnz == 0
    assert weights.diagonal().min() == 1
    cardinality = np.asarray(weights.sum(axis=1)).ravel()
    assert cardinality.max() == 7 and cardinality.min() >= 2


def uniform(n, seed):
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(23.60, 23.72, n), rng.uniform(46.76, 46.80, n)
    return lon, lat


def as_points(lon, lat):
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def test_planted_cluster_is_hot_at_99_percent():
    lon, lat = uniform(1000, seed=5)
    rng = np.random.default_rng(6)
    lon = np.r_[lon, rng.normal(23.66, 0.0015, 150)]
    lat = np.r_[lat, rng.normal(46.78, 0.001, 150)]
    result = HotspotAnalysis(as_points(lon, lat), PATA_RAT, CRS, cell_size_m=250).solve()
    assert not result.too_few and result.n_points == 1150
    cells = result.cells
    centre = gpd.GeoSeries.from_xy([23.66], [46.78], crs=4326).iloc[0]
    at_cluster = cells[cells.contains(centre)].iloc[0]
    assert at_cluster["gi_bin"] == 3 and at_cluster["label"] == "hot_99"
    assert at_cluster["p_fdr"] < 0.01 and at_cluster["hot"]
    # Every 99 % hot cell lies near the cluster, not scattered over the background.
    hot = result.hot_cells(0.99).to_crs(CRS).centroid
    centre_m = gpd.GeoSeries([centre], crs=4326).to_crs(CRS).iloc[0]
    assert hot.distance(centre_m).max() < 1000
    assert (cells["p_fdr"] >= cells["p"] - 1e-15).all()


def test_uniform_noise_has_no_significant_cell_after_fdr():
    # 3000 incidents on ~85 cells: ~35 per cell, where the normal approximation holds.
    result = HotspotAnalysis(as_points(*uniform(3000, seed=0)), PATA_RAT, CRS, 500).solve()
    assert not result.too_few
    assert (result.cells["gi_bin"] == 0).all()
    assert set(result.cells["label"]) == {"not_significant"}
    # Without FDR some raw p-values do dip below 10 %: the correction is what removes them.
    assert (result.cells["p"] < 0.10).any()


def test_too_few_incidents_gives_a_translated_message_and_no_classes():
    result = HotspotAnalysis(as_points(*uniform(12, seed=2)), PATA_RAT, CRS, 250).solve()
    assert result.too_few
    assert result.message_key == "analysis.hotspots.too_few_points"
    assert (result.cells["gi_bin"] == 0).all() and not result.cells["hot"].any()
    assert set(result.cells["label"]) == {"not_computed"}
    english, romanian = result.message("en"), result.message("ro")
    assert "12" in english and "30" in english
    assert romanian != english and "12" in romanian
    assert label_text("hot_99", "hu") != label_text("hot_99", "en")


def test_too_concentrated_incidents_are_not_analysed():
    lon = np.full(40, 23.65) + np.tile([0, 1e-5], 20)
    lat = np.full(40, 46.78)
    result = HotspotAnalysis(as_points(lon, lat), PATA_RAT, CRS, 250).solve()
    assert result.too_few and result.message_key == "analysis.hotspots.too_concentrated"


def test_area_weighted_z_equals_esda_when_every_cell_is_whole(fixed_dataset):
    grid, counts = fixed_dataset
    weights = hex_neighbour_weights(grid["q"], grid["r"])
    test = gi_star_test(counts, weights, np.ones(len(grid)))
    reference = G_Local(counts, to_libpysal(weights), transform="B", star=True, permutations=0)
    assert np.abs(test.z - reference.Zs).max() < 1e-9


def test_fdr_equals_statsmodels(fixed_dataset):
    grid, counts = fixed_dataset
    p = gi_star_test(counts, hex_neighbour_weights(grid["q"], grid["r"])).p
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
    assert np.allclose(fdr_adjust(p), adjusted, rtol=1e-12, atol=0)
    assert ((fdr_adjust(p) <= 0.05) == reject).all()


def test_exact_p_values_are_scipy_binomial_tails():
    rng = np.random.default_rng(4)
    total = rng.integers(1, 400, 500)
    pi = rng.uniform(0.001, 0.2, 500)
    observed = rng.binomial(total, np.clip(pi * rng.uniform(0.2, 3, 500), 0, 1))
    tails = np.minimum(
        stats.binom.sf(observed - 1, total, pi), stats.binom.cdf(observed, total, pi)
    )
    expected = np.minimum(1.0, 2 * tails)
    assert np.allclose(binomial_two_sided_p(observed, total, pi), expected, rtol=1e-9, atol=1e-300)


def test_method_is_chosen_by_expected_count_and_named():
    grid = hex_grid(PATA_RAT, 400, CRS)
    weights = hex_neighbour_weights(grid["q"], grid["r"])
    rng = np.random.default_rng(8)
    few = rng.poisson(3, len(grid))
    many = rng.poisson(400, len(grid))  # >= 1,000 expected in every neighbourhood of >= 3 cells
    assert gi_star_test(few, weights).method == "exact"
    assert gi_star_test(many, weights, grid["area_share"]).method in ("exact", "normal")
    assert gi_star_test(many, weights).method == "normal"
    assert method_text("exact", "ro") != method_text("exact", "en")
    assert method_text(None, "hu") != method_text(None, "en")


def test_edge_cells_of_uniform_points_are_not_cold_spots():
    # Issue 15: 100,000 uniform points in the box; cells cut by its edges were counted as
    # whole cells and about 120 of them came out as cold spots.
    lon, lat = uniform(100_000, seed=0)
    points = as_points(lon, lat)
    old = HotspotAnalysis(points, PATA_RAT, CRS, inference="normal", area_weighted=False)
    assert old.solve().cells["cold"].sum() > 50  # the attack works on the old behaviour
    result = HotspotAnalysis(points, PATA_RAT, CRS).solve()
    assert result.params["area_weighted"] and result.method in ("exact", "normal")
    edge = result.cells["area_share"] < 1
    assert edge.sum() > 100
    assert not result.cells["cold"].any() and not result.cells["hot"].any()


def test_edge_cells_of_a_real_cluster_still_count():
    # Weighting must not hide a cluster sitting on the boundary: a cell half outside the area
    # with many incidents is a hot spot.
    lon, lat = uniform(1000, seed=12)
    rng = np.random.default_rng(13)
    lon = np.r_[lon, rng.normal(23.6005, 0.0004, 80)]
    lat = np.r_[lat, rng.normal(46.78, 0.0004, 80)]
    inside = lon > 23.60
    result = HotspotAnalysis(as_points(lon[inside], lat[inside]), PATA_RAT, CRS, 250).solve()
    hot = result.hot_cells()
    assert len(hot) and (hot["area_share"] < 1).any()


@pytest.mark.parametrize("area", [None, PATA_RAT])
def test_empty_input_gives_too_few_not_an_error(area):
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    result = HotspotAnalysis(empty, area, CRS).solve()
    assert result.too_few and result.n_points == 0 and result.method is None
    assert result.message_key == "analysis.hotspots.too_few_points"
    assert "0" in result.message("en")


def test_default_distance_band_holds_exactly_the_two_nearest_rings():
    # The default band is exactly two neighbour spacings: computed from reprojected
    # centroids, rounding noise decided which cells two steps away were neighbours.
    points = as_points(*uniform(2000, seed=21))
    analysis = HotspotAnalysis(points, PATA_RAT, CRS, cell_size_m=200, weights="distance")
    cells = analysis.build_cells()
    band = analysis.build_weights(cells)
    rings = hex_neighbour_weights(cells.q, cells.r, rings=2)
    assert (band != rings).nnz == 0
    assert (analysis.build_weights(analysis.build_grid()) != rings).nnz == 0


def test_unweighted_solve_equals_the_libpysal_graph_esda_statsmodels_pipeline():
    # Like with like (scripts/bench_hotspots.py prints the same check): the normal p-values on
    # unweighted cells against the whole reference pipeline on the same hexagons.
    from libpysal.graph import Graph

    lon, lat = uniform(4000, seed=22)
    rng = np.random.default_rng(23)
    lon = np.r_[lon, rng.normal(23.65, 0.002, 400)]
    lat = np.r_[lat, rng.normal(46.775, 0.0015, 400)]
    points = as_points(lon, lat)
    result = HotspotAnalysis(
        points, PATA_RAT, CRS, cell_size_m=220, inference="normal", area_weighted=False
    ).solve()
    cells = result.cells
    polygons = hex_polygons(cells["q"].to_numpy(), cells["r"].to_numpy(), 220)
    metric = gpd.GeoDataFrame(geometry=polygons, crs=CRS)
    joined = gpd.sjoin(points.to_crs(CRS), metric, predicate="within")
    counts = np.bincount(joined["index_right"].to_numpy(), minlength=len(cells))
    assert (counts == cells["count"].to_numpy()).all()
    graph = Graph.build_contiguity(metric, rook=False)
    reference = G_Local(counts.astype(float), graph, transform="B", star=True, permutations=0)
    assert np.abs(cells["z"].to_numpy() - reference.Zs).max() < 1e-9
    reject, adjusted, _, _ = multipletests(2 * reference.p_norm, alpha=0.05, method="fdr_bh")
    assert np.allclose(cells["p_fdr"], adjusted, rtol=1e-9)
    assert (cells["hot"] | cells["cold"]).to_numpy().tolist() == reject.tolist()
    assert reject.any()


def test_results_do_not_leak_into_the_next_run_through_the_grid_cache():
    points = as_points(*uniform(3000, seed=24))
    first = HotspotAnalysis(points, PATA_RAT, CRS, cell_size_m=240).solve()
    expected = first.cells.copy()
    first.cells["area_share"] = 1.0
    first.cells["count"] = 0
    second = HotspotAnalysis(points, PATA_RAT, CRS, cell_size_m=240).solve()
    assert second.cells.equals(expected)
