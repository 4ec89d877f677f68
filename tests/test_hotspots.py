"""Gi*: equality with esda, planted clusters, noise, and the too-few rule."""

import geopandas as gpd
import libpysal
import numpy as np
import pytest
from esda.getisord import G_Local
from shapely.geometry import box

from geo.analysis.grid import hex_grid
from geo.analysis.hotspots import (
    HotspotAnalysis,
    distance_band_weights,
    gi_star_z,
    hex_neighbour_weights,
    label_text,
)

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
