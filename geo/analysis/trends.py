"""Change over time: emerging hot spots, Mann–Kendall trends, time-of-day and weekday profiles.

Emerging hot spot analysis (after ArcGIS's *Emerging Hot Spot Analysis*, simplified):

1. incidents are binned by week or month (local time, Europe/Bucharest by default), every period
   between the first and the last incident included, even when empty;
2. Gi* is tested per period on the hexagon counts (:func:`geo.analysis.hotspots.gi_star_test`:
   cells weighted by their share inside the area, exact p-values for small counts) and each cell
   is called *hot* in a period when its Gi_Bin reaches the chosen confidence (90 % by default,
   FDR-corrected across the cells of that period);
3. a Mann–Kendall test on the *counts* of each cell's neighbourhood (the cell and its
   neighbours: what Gi* adds up) says whether incidents there are rising, falling or without
   trend (``trend``, significant at the same confidence).  The Mann–Kendall test on the Gi*
   z-scores is reported beside it (``gi_trend``) but does not name the category: z-scores are
   relative to the rest of the map, so a constant cluster's z can rise while nothing changes
   there, and a cluster growing from 5 to 51 incidents a month is not hot in its early months;
4. each cell gets one category, checked in this order (codes stay as ArcGIS names them; the
   labels a reader sees are plain words, :func:`category_text`):

   ``no_pattern``    "No hot spot": never hot;
   ``new``           "New": hot in the final period only;
   ``intensifying``  "Growing": hot in the final period, incidents rising;
   ``diminishing``   "Fading": hot at least once, incidents falling;
   ``persistent``    "Persistent": hot in at least 90 % of periods, no trend in incidents;
   ``sporadic``      "On and off": every other cell that was hot at least once.

The analysis is flagged ``too_few`` below :data:`MIN_POINTS` incidents or :data:`MIN_PERIODS`
periods: a trend over fewer periods is not worth a map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import stats
from shapely.geometry.base import BaseGeometry

from geo.analysis.base import DEFAULT_TZ, Area, points_box, study_area, study_timezone
from geo.analysis.hotspots import (
    MIN_POINTS,
    bin_for_confidence,
    fdr_adjust,
    gi_bins,
    gi_star_test,
    hex_neighbour_weights,
)
from geo.hexgrid.grid import (
    Orientation,
    axial_index,
    default_hex_size,
    hex_grid,
    projected_xy,
    xy_to_axial,
)
from geo.i18n import DEFAULT_LANGUAGE, t
from geo.results import Result, not_run

__all__ = ["DEFAULT_TZ", "EmergingHotspotResult", "EmergingHotspots", "points_box"]
#: Fewest periods for which a trend is computed.
MIN_PERIODS = 6
#: Share of periods a cell must be hot in to be persistent, intensifying or diminishing.
MOSTLY_HOT_SHARE = 0.9
CATEGORIES = ("new", "intensifying", "persistent", "diminishing", "sporadic", "no_pattern")
_FREQ = {"week": "W-SUN", "month": "M"}


# --------------------------------------------------------------------------------------------
# Mann–Kendall
# --------------------------------------------------------------------------------------------
@dataclass
class MannKendall:
    """Mann–Kendall trend test results, one value per series (row).

    ``s`` is the Kendall score, ``var_s`` its variance (tie-corrected), ``z`` the
    continuity-corrected normal score, ``p`` the two-sided p-value and ``tau`` Kendall's tau-a
    (``s`` over the number of pairs; equals ``scipy.stats.kendalltau`` of values against time when
    there are no ties).
    """

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def mann_kendall(series: np.ndarray) -> MannKendall:
    """Mann–Kendall test on each row of ``series``, vectorised across rows.

    Parameters
    ----------
    series : array, shape ``(n_series, n_times)`` or ``(n_times,)``
        Values in time order.  NaN is not allowed (replace undefined values first).

    Returns
    -------
    MannKendall
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    n_series, n = x.shape
    if np.isnan(x).any():
        raise ValueError("mann_kendall: series must not contain NaN")
    s = np.zeros(n_series)
    # One vectorised step per lag keeps memory at O(n_series · n) instead of O(n_series · n²).
    for lag in range(1, n):
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)

    var_s = (n * (n - 1) * (2 * n + 5) - _tie_term(x)) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    pairs = n * (n - 1) / 2.0
    tau = s / pairs if pairs else np.zeros(n_series)
    return MannKendall(s=s, var_s=var_s, z=z, p=p, tau=tau)


def _tie_term(x: np.ndarray) -> np.ndarray:
    """Sum over groups of tied values of t(t-1)(2t+5), per row."""
    n_series, n = x.shape
    if n == 0:
        return np.zeros(n_series)
    ordered = np.sort(x, axis=1)
    starts = np.ones_like(ordered, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(starts, axis=1) - 1  # group number within its row
    flat = (np.arange(n_series)[:, None] * n + group).ravel()
    sizes = np.bincount(flat, minlength=n_series * n).astype(float)
    terms = sizes * (sizes - 1) * (2 * sizes + 5)
    return terms.reshape(n_series, n).sum(axis=1)


# --------------------------------------------------------------------------------------------
# Emerging hot spots
# --------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class EmergingHotspotResult(Result):
    """Outcome of :meth:`EmergingHotspots.solve`.

    Attributes
    ----------
    cells : GeoDataFrame
        EPSG:4326, one row per hexagon: ``cell_id``, ``q``, ``r``, ``area_share``, ``count``
        (all periods), ``n_hot_periods``, ``share_hot``, ``final_hot``, ``trend``
        (``increasing``/``decreasing``/``none``: Mann–Kendall on the neighbourhood's counts,
        with ``count_mk_tau``, ``count_mk_z``, ``count_mk_p``), ``gi_trend`` (the same test on
        the Gi* z-scores, with ``mk_tau``, ``mk_z``, ``mk_p``) and ``category`` (see the module
        docstring).
    periods : list of str
        Period labels (``"2024-05"`` or ``"2024-05-06/2024-05-12"``), in order.
    counts, z_scores, gi_bin : DataFrame
        Per cell (index ``cell_id``) and period (columns).
    n_points : int
        Incidents inside the area.
    params : dict
        Settings, and ``method``: how the p-values were computed (``"exact"``/``"normal"``).
    too_few : bool
        True below :data:`MIN_POINTS` incidents or :data:`MIN_PERIODS` periods; then
        :meth:`message` says why and every cell is ``no_pattern``.
    """

    cells: gpd.GeoDataFrame
    periods: list[str]
    counts: pd.DataFrame
    z_scores: pd.DataFrame
    gi_bin: pd.DataFrame
    n_points: int


def category_text(category: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain-language name of an emerging hot spot category (``"intensifying"`` → "Growing").

    Parameters
    ----------
    category : str
        Emerging hot spot category code.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated name.
    """
    return t(f"stats.emerging.{category}", lang)


def category_description(category: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """One-sentence plain-language explanation of a category, for legends.

    Parameters
    ----------
    category : str
        Emerging hot spot category code.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated explanation.
    """
    return t(f"stats.emerging.description.{category}", lang)


def local_times(times: pd.Series, tz: str = DEFAULT_TZ) -> pd.Series:
    """Timestamps as naive local wall-clock time in ``tz``.

    Aware timestamps are converted; naive ones are taken to be local time already (how a mediator
    types them), never silently shifted.

    Parameters
    ----------
    times : pandas.Series
        Timestamps, aware or naive (anything ``pandas.to_datetime`` takes).
    tz : str
        IANA time zone, e.g. ``"Europe/Bucharest"``.

    Returns
    -------
    pandas.Series
        Naive datetimes in local wall-clock time.
    """
    times = pd.to_datetime(times)
    if times.dt.tz is not None:
        times = times.dt.tz_convert(tz).dt.tz_localize(None)
    return times


def period_codes(
    times: pd.Series, freq: Literal["week", "month"] = "month", tz: str = DEFAULT_TZ
) -> tuple[np.ndarray, pd.PeriodIndex]:
    """Index of each timestamp's period, and every period from the first to the last.

    Parameters
    ----------
    times : pandas.Series
        Timestamps (converted with :func:`local_times`).
    freq : {"week", "month"}
        Period length; anything else raises ValueError.
    tz : str
        IANA time zone the periods are cut in.

    Returns
    -------
    tuple of (numpy.ndarray, pandas.PeriodIndex)
        int64 index of each timestamp's period into the second item, and every period from
        the first to the last, gaps included.
    """
    if freq not in _FREQ:
        raise ValueError(f"freq must be one of {sorted(_FREQ)}")
    periods = local_times(times, tz).dt.to_period(_FREQ[freq])
    full = pd.period_range(periods.min(), periods.max(), freq=_FREQ[freq])
    codes = (pd.PeriodIndex(periods).asi8 - full[0].ordinal).astype(np.int64)
    return codes, full


class EmergingHotspots:
    """Emerging hot spot analysis of incidents (see the module docstring for the rules).

    Parameters
    ----------
    points : GeoDataFrame
        Incidents in EPSG:4326 with a timestamp column ``time_column``.
    area, crs, cell_size_m, rings, orientation
        As for :class:`geo.analysis.hotspots.HotspotAnalysis` (``area`` normally the
        :class:`~geo.communities.Community`).
    freq : {"week", "month"}
        Length of a period; weeks run Monday to Sunday.
    confidence : {0.90, 0.95, 0.99}
        Confidence for calling a cell hot in a period and for the trend test.
    fdr : bool
        Benjamini–Hochberg correction across the cells of each period.
    time_column : str
        Column of the timestamps.
    tz : str, optional
        Time zone in which weeks and months are cut; default the community's
        (:data:`DEFAULT_TZ` for a bare area).
    inference : {"auto", "exact", "normal"}
        p-values of each period's Gi* (see :func:`geo.analysis.gistar.gi_star_test`).
    """

    def __init__(
        self,
        points: gpd.GeoDataFrame,
        area: Area,
        crs: str | CRS | None = None,
        cell_size_m: float | None = None,
        freq: Literal["week", "month"] = "month",
        confidence: float = 0.90,
        fdr: bool = True,
        time_column: str = "occurred_at",
        tz: str | None = None,
        rings: int = 1,
        orientation: Orientation = "pointy",
        inference: Literal["auto", "exact", "normal"] = "auto",
    ) -> None:
        bin_for_confidence(confidence)  # validate early
        if freq not in _FREQ:
            raise ValueError(f"freq must be one of {sorted(_FREQ)}")
        self.points = points
        self.tz = study_timezone(area, tz)
        self.area, self.crs = study_area(area, crs, points)
        self.cell_size_m = cell_size_m
        self.freq = freq
        self.confidence = confidence
        self.fdr = fdr
        self.time_column = time_column
        self.rings = rings
        self.orientation = orientation
        self.inference = inference

    def solve(self) -> EmergingHotspotResult:
        """Bin the incidents by period and cell, test each period, classify every cell.

        Returns
        -------
        EmergingHotspotResult
        """
        return _emerging(
            self.points,
            self.area,
            self.crs,
            self.cell_size_m,
            self.freq,
            self.confidence,
            self.fdr,
            self.time_column,
            self.tz,
            self.rings,
            self.orientation,
            self.inference,
        )


def _emerging(
    points: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry,
    crs: str | CRS,
    cell_size_m: float | None,
    freq: Literal["week", "month"],
    confidence: float,
    fdr: bool,
    time_column: str,
    tz: str,
    rings: int,
    orientation: Orientation,
    inference: Literal["auto", "exact", "normal"],
) -> EmergingHotspotResult:
    level = bin_for_confidence(confidence)
    cell_size_m = cell_size_m or default_hex_size(area, len(points), crs)
    cells = hex_grid(area, cell_size_m, crs, orientation)
    params = {
        "crs": CRS.from_user_input(crs).to_string(),
        "cell_size_m": float(cell_size_m),
        "freq": freq,
        "confidence": confidence,
        "fdr": fdr,
        "tz": tz,
        "rings": rings,
        "min_points": MIN_POINTS,
        "min_periods": MIN_PERIODS,
        "inference": inference,
        "method": None,
    }

    row = np.empty(0, np.int64)
    if len(points):
        x, y = projected_xy(points, crs)
        q, r = xy_to_axial(x, y, cell_size_m, orientation)
        row = axial_index(cells["q"].to_numpy(), cells["r"].to_numpy(), q, r)
    inside = row >= 0
    if inside.any():
        codes, periods = period_codes(points[time_column][inside], freq, tz)
        row = row[inside]
    else:  # nothing inside the area: no period at all, reported as too few below
        row, codes = np.empty(0, np.int64), np.empty(0, np.int64)
        periods = pd.PeriodIndex([], freq=_FREQ[freq])

    n_cells, n_periods = len(cells), len(periods)
    counts = np.bincount(row * n_periods + codes, minlength=n_cells * n_periods)
    counts = counts.reshape(n_cells, n_periods) if n_periods else np.zeros((n_cells, 0), int)
    n_points = int(counts.sum())
    labels = [str(p) for p in periods]

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=cells["cell_id"].to_numpy(), columns=labels)

    cells["count"] = counts.sum(axis=1)
    too_few = None
    if n_points < MIN_POINTS:
        too_few = ("analysis.trends.too_few_points", {"n": n_points, "minimum": MIN_POINTS})
    elif n_periods < MIN_PERIODS:
        too_few = ("analysis.trends.too_few_periods", {"n": n_periods, "minimum": MIN_PERIODS})
    if too_few is not None:
        for column in _TREND_COLUMNS:
            cells[column] = np.nan
        cells["final_hot"] = False
        cells["trend"] = "none"
        cells["gi_trend"] = "none"
        cells["category"] = "no_pattern"
        return EmergingHotspotResult(
            cells=cells,
            periods=labels,
            counts=frame(counts),
            z_scores=frame(np.full(counts.shape, np.nan)),
            gi_bin=frame(np.zeros(counts.shape, dtype=np.int8)),
            params=params,
            n_points=n_points,
            **not_run(too_few[0], **too_few[1]),
        )

    weights = hex_neighbour_weights(cells["q"], cells["r"], rings, include_self=True)
    test = gi_star_test(counts, weights, cells["area_share"].to_numpy(), inference)
    z = test.z
    bins = gi_bins(z, fdr_adjust(test.p, axis=0) if fdr else test.p)
    hot = bins >= level
    params["method"] = test.method
    # A period without any incident has no defined Gi*; treat it as "no clustering" (z = 0).
    gi_test = mann_kendall(np.nan_to_num(z, nan=0.0))
    count_test = mann_kendall(np.asarray(weights @ counts, dtype=float))
    trend = trend_labels(count_test, confidence)
    cells["n_hot_periods"] = hot.sum(axis=1)
    cells["share_hot"] = hot.mean(axis=1)
    cells["final_hot"] = hot[:, -1]
    cells["count_mk_tau"] = count_test.tau
    cells["count_mk_z"] = count_test.z
    cells["count_mk_p"] = count_test.p
    cells["mk_tau"] = gi_test.tau
    cells["mk_z"] = gi_test.z
    cells["mk_p"] = gi_test.p
    cells["trend"] = trend
    cells["gi_trend"] = trend_labels(gi_test, confidence)
    cells["category"] = classify_emerging(hot, trend)
    return EmergingHotspotResult(
        cells=cells,
        periods=labels,
        counts=frame(counts),
        z_scores=frame(z),
        gi_bin=frame(bins),
        params=params,
        n_points=n_points,
    )


_TREND_COLUMNS = (
    "n_hot_periods",
    "share_hot",
    "count_mk_tau",
    "count_mk_z",
    "count_mk_p",
    "mk_tau",
    "mk_z",
    "mk_p",
)


def trend_labels(test: MannKendall, confidence: float) -> np.ndarray:
    """``"increasing"``, ``"decreasing"`` or ``"none"`` per series, at ``confidence``.

    Parameters
    ----------
    test : MannKendall
        Mann–Kendall results, one per series (``s`` and ``p`` arrays).
    confidence : float
        Confidence level, e.g. 0.95 (significant when ``p <= 1 - confidence``).

    Returns
    -------
    numpy.ndarray
        Object array of labels, one per series.
    """
    significant = test.p <= 1.0 - confidence + 1e-12
    return np.where(
        significant & (test.s > 0),
        "increasing",
        np.where(significant & (test.s < 0), "decreasing", "none"),
    ).astype(object)


def classify_emerging(hot: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Emerging hot spot category per cell.

    Parameters
    ----------
    hot : bool array ``(n_cells, n_periods)``
        Whether each cell is a significant hot spot in each period.
    trend : str array ``(n_cells,)``
        Trend of the incidents around each cell: ``"increasing"``, ``"decreasing"`` or
        ``"none"`` (Mann–Kendall on the neighbourhood's counts).

    Returns
    -------
    numpy.ndarray of str
        One of :data:`CATEGORIES` per cell, by the rules of the module docstring.
    """
    hot = np.asarray(hot, dtype=bool)
    n_hot = hot.sum(axis=1)
    final = hot[:, -1]
    mostly = hot.mean(axis=1) >= MOSTLY_HOT_SHARE
    trend = np.asarray(trend, dtype=object)
    conditions = [
        n_hot == 0,
        final & (n_hot == 1),
        final & (trend == "increasing"),
        trend == "decreasing",
        mostly & (trend == "none"),
    ]
    choices = ["no_pattern", "new", "intensifying", "diminishing", "persistent"]
    return np.select(conditions, choices, default="sporadic").astype(object)


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------
def time_of_day_profile(
    points: pd.DataFrame, tz: str = DEFAULT_TZ, time_column: str = "occurred_at"
) -> pd.Series:
    """Incidents per local hour of day.

    Parameters
    ----------
    points : pandas.DataFrame
        Incidents, with a timestamp column.
    tz : str
        IANA time zone the hours are counted in.
    time_column : str
        Name of the timestamp column.

    Returns
    -------
    pandas.Series
        Index 0–23 (``hour``), all hours present, integer counts.
    """
    hours = local_times(points[time_column], tz).dt.hour.to_numpy()
    counts = np.bincount(hours.astype(np.int64), minlength=24) if len(hours) else np.zeros(24)
    return pd.Series(counts.astype(np.int64), index=pd.RangeIndex(24, name="hour"), name="count")


def day_of_week_profile(
    points: pd.DataFrame, tz: str = DEFAULT_TZ, time_column: str = "occurred_at"
) -> pd.Series:
    """Incidents per local day of the week.

    Parameters
    ----------
    points : pandas.DataFrame
        Incidents, with a timestamp column.
    tz : str
        IANA time zone the days are counted in.
    time_column : str
        Name of the timestamp column.

    Returns
    -------
    pandas.Series
        Index 0–6 (``weekday``, Monday = 0), integer counts; translate the index with
        :func:`weekday_name`.
    """
    days = local_times(points[time_column], tz).dt.day_of_week.to_numpy()
    counts = np.bincount(days.astype(np.int64), minlength=7) if len(days) else np.zeros(7)
    return pd.Series(counts.astype(np.int64), index=pd.RangeIndex(7, name="weekday"), name="count")


def weekday_name(day: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """Translated name of a weekday (Monday = 0).

    Parameters
    ----------
    day : int
        Day of the week, Monday = 0 to Sunday = 6.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated weekday name.
    """
    return t(f"analysis.weekday.{int(day)}", lang)
