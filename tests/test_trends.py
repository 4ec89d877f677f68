"""Mann–Kendall, emerging hot spot categories and time profiles."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau
from shapely.geometry import box

from geo.analysis.trends import (
    classify_emerging,
    day_of_week_profile,
    emerging_hotspots,
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
    result = emerging_hotspots(incidents_over_a_year(), PATA_RAT, CRS, cell_size_m=300)
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
    result = emerging_hotspots(three_months, PATA_RAT, CRS, cell_size_m=300)
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
