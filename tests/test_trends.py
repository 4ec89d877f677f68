"""Mann–Kendall, emerging hot spot categories and time profiles."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pymannkendall
import pytest
from scipy.stats import kendalltau
from shapely.geometry import box

from geo.analysis.trends import (
    EmergingHotspots,
    category_description,
    category_text,
    classify_emerging,
    day_of_week_profile,
    mann_kendall,
    time_of_day_profile,
    weekday_name,
)

CRS = "EPSG:32634"
PATA_RAT = box(23.60, 46.76, 23.72, 46.80)


def test_mann_kendall_hand_computed():
    # Pairs of [1, 3, 2, 4, 5]: 9 increasing, 1 decreasing (3 -> 2): S = 8.
    # Var(S) = n(n-1)(2n+5)/18 = 5*4*15/18 = 50/3;  Z = (S - 1)/sqrt(Var).
    result = mann_kendall(np.array([[1, 3, 2, 4, 5], [5, 4, 3, 2, 1]], dtype=float))
    assert result.s.tolist() == [8, -10]
    assert result.var_s[0] == pytest.approx(50 / 3)
    assert result.z[0] == pytest.approx(7 / np.sqrt(50 / 3))
    assert result.z[1] == pytest.approx(-9 / np.sqrt(50 / 3))
    assert result.tau.tolist() == [0.8, -1.0]
    assert result.p[0] == pytest.approx(0.08641, abs=1e-5)


def test_mann_kendall_ties_correction():
    # [1, 2, 2, 3]: S = 5; one tie group of 2: Var = (4*3*13 - 2*1*9)/18 = 23/3.
    result = mann_kendall(np.array([1, 2, 2, 3], dtype=float))
    assert result.s[0] == 5
    assert result.var_s[0] == pytest.approx(23 / 3)
    assert mann_kendall(np.ones(6)).z[0] == 0


def test_mann_kendall_tau_equals_kendalltau_without_ties():
    series = np.random.default_rng(1).normal(size=(5, 15))
    expected = [kendalltau(np.arange(15), row).statistic for row in series]
    assert np.allclose(mann_kendall(series).tau, expected)


def test_categories_by_rule():
    periods = 10
    hot = np.zeros((7, periods), dtype=bool)
    hot[1, -1] = True  # new
    hot[2, :] = True  # intensifying
    hot[3, :] = True  # persistent
    hot[4, :-1] = True  # diminishing (hot 90 %, calm at the end)
    hot[5, ::3] = True  # sporadic
    hot[6, :] = True  # mostly hot but decreasing
    trend = np.array(["none", "none", "increasing", "none", "decreasing", "none", "decreasing"])
    assert classify_emerging(hot, trend).tolist() == [
        "no_pattern",
        "new",
        "intensifying",
        "persistent",
        "diminishing",
        "sporadic",
        "diminishing",
    ]


def incidents_over_a_year(seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    start = pd.Timestamp("2024-01-01", tz="Europe/Bucharest")
    for month in range(12):
        begin = start + pd.DateOffset(months=month)
        n = 250
        lon, lat = rng.uniform(23.60, 23.72, n), rng.uniform(46.76, 46.80, n)
        # A cluster that is there every month, and one that appears in December only.
        lon = np.r_[lon, rng.normal(23.63, 0.001, 30)]
        lat = np.r_[lat, rng.normal(46.77, 0.0007, 30)]
        if month == 11:
            lon = np.r_[lon, rng.normal(23.69, 0.001, 40)]
            lat = np.r_[lat, rng.normal(46.79, 0.0007, 40)]
        days = rng.uniform(0, 27, len(lon))
        times = begin + pd.to_timedelta(days, unit="D")
        frames.append(
            gpd.GeoDataFrame(
                {"occurred_at": times}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_emerging_hot_spots_find_persistent_and_new_clusters():
    result = EmergingHotspots(incidents_over_a_year(), PATA_RAT, CRS, cell_size_m=300).solve()
    assert not result.too_few and len(result.periods) == 12
    cells = result.cells

    def category_at(lon, lat):
        point = gpd.GeoSeries.from_xy([lon], [lat], crs=4326).iloc[0]
        return cells[cells.contains(point)].iloc[0]["category"]

    assert category_at(23.63, 46.77) == "persistent"
    assert category_at(23.69, 46.79) == "new"
    assert (cells["category"] == "no_pattern").mean() > 0.8
    assert result.counts.to_numpy().sum() == result.n_points == cells["count"].sum()


def test_emerging_hot_spots_need_enough_periods():
    points = incidents_over_a_year()
    three_months = points[points["occurred_at"] < pd.Timestamp("2024-04-01", tz="UTC")]
    result = EmergingHotspots(three_months, PATA_RAT, CRS, cell_size_m=300).solve()
    assert result.too_few and result.message_key == "analysis.trends.too_few_periods"
    assert "6" in result.message("hu")
    assert set(result.cells["category"]) == {"no_pattern"}


def test_profiles_use_local_time():
    # 21:30 UTC on Monday 1 July 2024 is 00:30 on Tuesday in Bucharest (UTC+3 in summer).
    times = pd.to_datetime(["2024-07-01 21:30", "2024-01-15 12:00"]).tz_localize("UTC")
    frame = pd.DataFrame({"occurred_at": times})
    hours = time_of_day_profile(frame)
    days = day_of_week_profile(frame)
    assert len(hours) == 24 and hours[0] == 1 and hours[14] == 1 and hours.sum() == 2
    assert len(days) == 7 and days[1] == 1 and days[0] == 1
    assert weekday_name(1, "ro") == "Marți" and weekday_name(6, "hu") == "Vasárnap"


def test_mann_kendall_equals_pymannkendall_with_ties():
    rng = np.random.default_rng(21)
    series = rng.poisson(2, size=(60, 12)).astype(float)  # small counts: many ties
    series[:20] += np.arange(12) * rng.uniform(0, 0.6, (20, 1))
    ours = mann_kendall(series)
    for row, values in enumerate(series):
        reference = pymannkendall.original_test(values, alpha=0.1)
        assert ours.s[row] == reference.s
        assert ours.var_s[row] == pytest.approx(reference.var_s)
        assert ours.z[row] == pytest.approx(reference.z)
        assert ours.p[row] == pytest.approx(reference.p)


GROWING, CONSTANT, FADING, NEW = (23.62, 46.77), (23.66, 46.79), (23.70, 46.77), (23.70, 46.79)


def planted_year(seed=0):
    """12 months of uniform background plus four clusters a reader would name at once."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="Europe/Bucharest")
    frames = []
    for month in range(12):
        sizes = {
            GROWING: int(round(5 + month * 46 / 11)),  # 5 -> 51 a month
            CONSTANT: 30,
            FADING: int(round(51 - month * 46 / 11)),  # 51 -> 5 a month
            NEW: 40 if month == 11 else 0,
        }
        lon, lat = [rng.uniform(23.60, 23.72, 250)], [rng.uniform(46.76, 46.80, 250)]
        for (c_lon, c_lat), size in sizes.items():
            lon.append(rng.normal(c_lon, 0.001, size))
            lat.append(rng.normal(c_lat, 0.0007, size))
        lon, lat = np.concatenate(lon), np.concatenate(lat)
        times = (
            start
            + pd.DateOffset(months=month)
            + pd.to_timedelta(rng.uniform(0, 27, len(lon)), unit="D")
        )
        frames.append(
            gpd.GeoDataFrame(
                {"occurred_at": times}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_planted_growing_constant_fading_and_new_clusters_get_the_labels_a_reader_expects():
    result = EmergingHotspots(planted_year(), PATA_RAT, CRS, cell_size_m=300).solve()
    assert not result.too_few and result.params["method"] == "exact"
    cells = result.cells

    def at(lon, lat):
        point = gpd.GeoSeries.from_xy([lon], [lat], crs=4326).iloc[0]
        return cells[cells.contains(point)].iloc[0]

    assert at(*GROWING)["category"] == "intensifying" and at(*GROWING)["trend"] == "increasing"
    assert at(*CONSTANT)["category"] == "persistent" and at(*CONSTANT)["trend"] == "none"
    assert at(*FADING)["category"] == "diminishing" and at(*FADING)["trend"] == "decreasing"
    assert at(*NEW)["category"] == "new"
    assert category_text("intensifying", "en") == "Growing"
    assert category_text("diminishing", "en") == "Fading"
    assert category_text("sporadic", "ro") != category_text("sporadic", "en")
    assert category_description("persistent", "hu") != category_description("persistent", "en")
    # Background cells: no invented pattern.  Every labelled cell has a planted cluster in its
    # neighbourhood or next to it (two neighbour spacings, 2 * sqrt(3) * 300 m).
    labelled = cells[cells["category"] != "no_pattern"].to_crs(CRS).centroid
    lon, lat = zip(GROWING, CONSTANT, FADING, NEW, strict=True)
    clusters = gpd.GeoSeries.from_xy(lon, lat, crs=4326).to_crs(CRS)
    nearest = np.min([labelled.distance(c) for c in clusters], axis=0)
    assert nearest.max() < 2 * np.sqrt(3) * 300


def test_emerging_hot_spots_with_no_incidents_are_too_few():
    empty = gpd.GeoDataFrame({"occurred_at": pd.to_datetime([])}, geometry=[], crs=4326)
    result = EmergingHotspots(empty, PATA_RAT, CRS, cell_size_m=300).solve()
    assert result.too_few and result.message_key == "analysis.trends.too_few_points"
