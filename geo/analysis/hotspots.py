"""Getis-Ord Gi* hotspot analysis on hexagon counts.

The statistic, its z-scores and p-values are computed for all cells at once with a sparse weights
matrix, and equal ``esda.getisord.G_Local(y, w, star=True, transform="B")`` to floating-point
precision (``tests/test_hotspots.py`` checks this).  For binary weights these are also the z-scores
of Ord & Getis (1995) that ArcGIS reports.

Significance: two-sided p-values from the normal distribution, optionally adjusted for the many
cells tested at once with the Benjamini–Hochberg false discovery rate.  Each cell gets a ``gi_bin``
from -3 to 3 as ArcGIS's ``Gi_Bin``: ±3, ±2, ±1 for hot (+) or cold (-) spots at 99, 95 and 90 %
confidence, 0 for not significant.

Caveat: the normal approximation is over-confident in the far tail when counts are sparse (most
cells 0 or 1 incident): then even FDR-corrected 90 % hot spots can appear in pure noise.  The
default cell size (:func:`geo.analysis.grid.default_hex_size`) aims for about 3 incidents per cell
for that reason; 95 % confidence (the default for ``hot``/``cold``) is the safer reading.

When the statistic would not mean anything, no cell is classified and the result is flagged
``too_few`` with a message key (see :data:`MIN_POINTS`, :data:`MIN_NONEMPTY_CELLS`,
:data:`MIN_CELLS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from pyproj import CRS
from scipy import stats
from scipy.spatial import cKDTree
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geo.analysis.grid import (
    WGS84,
    Orientation,
    axial_index,
    count_points_per_cell,
    default_hex_size,
    hex_grid,
)
from geo.i18n import DEFAULT_LANGUAGE, t

#: Fewer incidents than this inside the area: the analysis is not run.  30 is the usual minimum
#: for a normal approximation and the one ArcGIS's hot spot tools require.
MIN_POINTS = 30
#: Fewer non-empty cells than this: counts are too concentrated to compare neighbourhoods.
MIN_NONEMPTY_CELLS = 5
#: Fewer cells than this in the grid: too few neighbourhoods for the normal approximation.
MIN_CELLS = 30
#: Confidence levels of ``gi_bin`` 1, 2 and 3.
CONFIDENCE_LEVELS = (0.90, 0.95, 0.99)

LABELS = {
    3: "hot_99",
    2: "hot_95",
    1: "hot_90",
    0: "not_significant",
    -1: "cold_90",
    -2: "cold_95",
    -3: "cold_99",
}
#: Label of every cell when the analysis was not run.
NOT_COMPUTED = "not_computed"


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------
def hex_ring_offsets(rings: int = 1, include_self: bool = True) -> np.ndarray:
    """Axial offsets of all hexagons within ``rings`` steps of a cell, as ``(k, 2)`` ints."""
    offsets = [
        (dq, dr)
        for dq in range(-rings, rings + 1)
        for dr in range(max(-rings, -dq - rings), min(rings, -dq + rings) + 1)
        if include_self or (dq, dr) != (0, 0)
    ]
    return np.array(offsets, dtype=np.int64)


def hex_neighbour_weights(
    q: np.ndarray, r: np.ndarray, rings: int = 1, include_self: bool = True
) -> sp.csr_matrix:
    """Binary contiguity weights between hexagons, built from axial coordinates.

    Cell ``j`` is a neighbour of cell ``i`` when it lies within ``rings`` steps of it (6 cells for
    one ring, 18 for two); the lookups are vectorised per offset, not per cell.

    Parameters
    ----------
    q, r : array of int
        Axial coordinates of the cells (e.g. the ``q`` and ``r`` columns of a hex grid).
    rings : int
        Neighbourhood radius in cells.
    include_self : bool
        Put 1 on the diagonal, as Gi* needs.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)`` float64 with ones for neighbours.
    """
    q = np.asarray(q, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    n = len(q)
    rows, cols = [], []
    for dq, dr in hex_ring_offsets(rings, include_self):
        target = axial_index(q, r, q + dq, r + dr)
        present = target >= 0
        rows.append(np.flatnonzero(present))
        cols.append(target[present])
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    col = np.concatenate(cols) if cols else np.empty(0, np.int64)
    return sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n, n))


def distance_band_weights(
    x: np.ndarray, y: np.ndarray, threshold_m: float, include_self: bool = True
) -> sp.csr_matrix:
    """Binary distance-band weights: 1 between locations at most ``threshold_m`` apart.

    Uses ``scipy.spatial.cKDTree.query_pairs``, so it scales to tens of thousands of cells.
    ``x, y`` are metric coordinates (e.g. cell centres).
    """
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(threshold_m, output_type="ndarray")
    row = np.concatenate([pairs[:, 0], pairs[:, 1]])
    col = np.concatenate([pairs[:, 1], pairs[:, 0]])
    weights = sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n, n))
    if include_self:
        weights = (weights + sp.identity(n, format="csr")).tocsr()
    return weights


# --------------------------------------------------------------------------------------------
# Statistic
# --------------------------------------------------------------------------------------------
def gi_star_z(values: np.ndarray, weights: sp.spmatrix) -> np.ndarray:
    """Gi* z-scores, the same as ``esda.G_Local(..., star=True, transform="B").Zs``.

    Parameters
    ----------
    values : array, shape ``(n,)`` or ``(n, k)``
        Counts per cell; with two dimensions each column is analysed separately (one column per
        time period in :mod:`geo.analysis.trends`).
    weights : scipy sparse matrix ``(n, n)``
        Weights including the self-weight.  If the diagonal is entirely zero it is set to 1, as
        esda does for binary weights when ``star=True``.

    Returns
    -------
    numpy.ndarray
        z-scores shaped like ``values``; ``nan`` where undefined (a column with no variation, or a
        cell whose neighbourhood is the whole grid).
    """
    weights = sp.csr_matrix(weights, dtype=np.float64)
    if not weights.diagonal().any():
        weights = (weights + sp.identity(weights.shape[0], format="csr")).tocsr()
    y = np.asarray(values, dtype=np.float64)
    one_dimensional = y.ndim == 1
    if one_dimensional:
        y = y[:, None]
    n = y.shape[0]
    # Same algebra as esda's G_Local.calc with star=True: G_i = sum_j w_ij y_j / sum_j y_j,
    # E[G_i] = W_i / n, Var[G_i] = W_i (n - W_i) / (n - 1) / n^2 * s^2 / ybar^2 with the
    # population variance s^2 and W_i the row sum of weights (self included).
    total = y.sum(axis=0)
    mean = total / n
    variance = (y**2).sum(axis=0) / n - mean**2
    cardinality = np.asarray(weights.sum(axis=1)).ravel()[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = (weights @ y) / total
        expected = cardinality / n
        expected_variance = cardinality * (n - cardinality) / (n - 1) / n**2
        expected_variance = expected_variance * (variance / mean**2)
        z = (statistic - expected) / np.sqrt(expected_variance)
    z[~np.isfinite(z)] = np.nan
    return z[:, 0] if one_dimensional else z


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-values; ``nan`` z-scores give p = 1 (nothing to report)."""
    p = 2.0 * stats.norm.sf(np.abs(z))
    return np.where(np.isnan(z), 1.0, p)


def fdr_adjust(p: np.ndarray, axis: int = 0) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (``p_adj <= alpha`` ⇔ BH rejects at ``alpha``)."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p.copy()
    return stats.false_discovery_control(p, axis=axis, method="bh")


def gi_bins(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ArcGIS-style ``Gi_Bin``: ±3/±2/±1 at 99/95/90 % confidence, 0 otherwise."""
    z = np.asarray(z, dtype=float)
    level = np.zeros(z.shape, dtype=np.int8)
    for code, confidence in enumerate(CONFIDENCE_LEVELS, start=1):
        level = np.where(p <= 1.0 - confidence + 1e-12, code, level).astype(np.int8)
    sign = np.sign(np.nan_to_num(z)).astype(np.int8)
    return (level * sign).astype(np.int8)


def bin_for_confidence(confidence: float) -> int:
    """The smallest ``|gi_bin|`` that is significant at ``confidence`` (0.90, 0.95 or 0.99)."""
    for code, level in enumerate(CONFIDENCE_LEVELS, start=1):
        if abs(confidence - level) < 1e-9:
            return code
    raise ValueError(f"confidence must be one of {CONFIDENCE_LEVELS}, not {confidence!r}")


# --------------------------------------------------------------------------------------------
# Uniform API
# --------------------------------------------------------------------------------------------
@dataclass
class HotspotResult:
    """Outcome of :meth:`HotspotAnalysis.solve`.

    Attributes
    ----------
    cells : GeoDataFrame
        One row per hexagon, EPSG:4326: ``cell_id``, ``q``, ``r``, ``count``, ``z``, ``p``,
        ``p_fdr``, ``gi_bin``, ``label`` (a code, see :data:`LABELS`; translate with
        :func:`label_text`), ``hot`` and ``cold`` (significant at the chosen confidence).
    params : dict
        Everything needed to reproduce the run (cell size, CRS, weights, confidence, FDR …).
    n_points : int
        Incidents inside the area (those counted in cells).
    n_outside : int
        Incidents that fell outside the area and were ignored.
    too_few : bool
        True when the statistic was not computed; then ``message_key`` explains why.
    """

    cells: gpd.GeoDataFrame
    params: dict[str, Any]
    n_points: int
    n_outside: int = 0
    too_few: bool = False
    message_key: str | None = None
    message_params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str | None:
        """Plain-language explanation of why the analysis was not run, or None."""
        if self.message_key is None:
            return None
        return t(self.message_key, lang, **self.message_params)

    def hot_cells(self, confidence: float | None = None) -> gpd.GeoDataFrame:
        """Cells that are hot spots at ``confidence`` (default: the analysis' confidence)."""
        level = bin_for_confidence(confidence or self.params["confidence"])
        return self.cells[self.cells["gi_bin"] >= level]

    def cold_cells(self, confidence: float | None = None) -> gpd.GeoDataFrame:
        """Cells that are cold spots at ``confidence`` (default: the analysis' confidence)."""
        level = bin_for_confidence(confidence or self.params["confidence"])
        return self.cells[self.cells["gi_bin"] <= -level]


def label_text(label: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Translated name of a hotspot label code such as ``"hot_99"``."""
    return t(f"analysis.hotspots.label.{label}", lang)


class HotspotAnalysis:
    """Getis-Ord Gi* hot and cold spots of incidents on a hexagon grid.

    Parameters
    ----------
    points : GeoDataFrame
        Incident points in EPSG:4326.
    area : GeoDataFrame, GeoSeries or shapely geometry, optional
        Study area in EPSG:4326; default the bounding box of the points.  Cells with no incident
        inside the area count as zeros — which is what makes a cluster stand out.
    crs : str or pyproj.CRS
        Metric CRS, e.g. ``"EPSG:32634"``.
    cell_size_m : float, optional
        Hexagon side length; default :func:`geo.analysis.grid.default_hex_size`.
    confidence : {0.90, 0.95, 0.99}
        Confidence at which ``hot`` / ``cold`` are set.
    fdr : bool
        Classify on Benjamini–Hochberg adjusted p-values (recommended: hundreds of cells are
        tested at once, so 5 % of them would otherwise look "significant" by chance).
    weights : {"hex", "distance"}
        ``"hex"``: the cell and its neighbours within ``rings`` steps.  ``"distance"``: cells whose
        centres are at most ``distance_band_m`` apart.  Both binary.
    rings : int
        Neighbourhood radius for ``weights="hex"``.
    distance_band_m : float, optional
        Threshold for ``weights="distance"``; default two neighbour spacings.
    orientation : {"pointy", "flat"}
        Hexagon orientation.
    """

    def __init__(
        self,
        points: gpd.GeoDataFrame,
        area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None,
        crs: str | CRS,
        cell_size_m: float | None = None,
        confidence: float = 0.95,
        fdr: bool = True,
        weights: Literal["hex", "distance"] = "hex",
        rings: int = 1,
        distance_band_m: float | None = None,
        orientation: Orientation = "pointy",
    ) -> None:
        bin_for_confidence(confidence)  # validate early
        if weights not in ("hex", "distance"):
            raise ValueError("weights must be 'hex' or 'distance'")
        self.points = points
        self.area = area if area is not None else box(*points.to_crs(WGS84).total_bounds)
        self.crs = crs
        self.cell_size_m = cell_size_m or default_hex_size(self.area, len(points), crs)
        self.confidence = confidence
        self.fdr = fdr
        self.weights = weights
        self.rings = rings
        self.distance_band_m = distance_band_m or 2.0 * np.sqrt(3.0) * self.cell_size_m
        self.orientation = orientation

    def params(self) -> dict[str, Any]:
        return {
            "crs": CRS.from_user_input(self.crs).to_string(),
            "cell_size_m": float(self.cell_size_m),
            "orientation": self.orientation,
            "confidence": self.confidence,
            "fdr": self.fdr,
            "weights": self.weights,
            "rings": self.rings if self.weights == "hex" else None,
            "distance_band_m": float(self.distance_band_m) if self.weights == "distance" else None,
            "min_points": MIN_POINTS,
            "min_nonempty_cells": MIN_NONEMPTY_CELLS,
            "min_cells": MIN_CELLS,
        }

    def build_grid(self) -> gpd.GeoDataFrame:
        return hex_grid(self.area, self.cell_size_m, self.crs, self.orientation)

    def build_weights(self, cells: gpd.GeoDataFrame) -> sp.csr_matrix:
        if self.weights == "hex":
            return hex_neighbour_weights(cells["q"], cells["r"], self.rings, include_self=True)
        centres = cells.to_crs(self.crs).geometry.centroid
        return distance_band_weights(
            centres.x.to_numpy(), centres.y.to_numpy(), self.distance_band_m
        )

    def solve(self) -> HotspotResult:
        cells = self.build_grid()
        counts, n_outside = count_points_per_cell(
            cells, self.points, self.cell_size_m, self.crs, self.orientation
        )
        cells["count"] = counts
        n_points = int(counts.sum())
        reason = _insufficiency(counts)
        if reason is not None:
            key, params = reason
            return HotspotResult(
                cells=_unclassified(cells),
                params=self.params(),
                n_points=n_points,
                n_outside=n_outside,
                too_few=True,
                message_key=key,
                message_params=params,
            )
        z = gi_star_z(counts, self.build_weights(cells))
        p = two_sided_p(z)
        p_fdr = fdr_adjust(p)
        bins = gi_bins(z, p_fdr if self.fdr else p)
        level = bin_for_confidence(self.confidence)
        cells["z"] = z
        cells["p"] = p
        cells["p_fdr"] = p_fdr
        cells["gi_bin"] = bins
        cells["label"] = [LABELS[int(b)] for b in bins]
        cells["hot"] = bins >= level
        cells["cold"] = bins <= -level
        return HotspotResult(
            cells=cells, params=self.params(), n_points=n_points, n_outside=n_outside
        )


def _insufficiency(counts: np.ndarray) -> tuple[str, dict[str, int]] | None:
    n_points = int(counts.sum())
    nonempty = int((counts > 0).sum())
    if n_points < MIN_POINTS:
        return "analysis.hotspots.too_few_points", {"n": n_points, "minimum": MIN_POINTS}
    if len(counts) < MIN_CELLS:
        return "analysis.hotspots.too_few_cells", {"n": len(counts), "minimum": MIN_CELLS}
    if nonempty < MIN_NONEMPTY_CELLS:
        return "analysis.hotspots.too_concentrated", {
            "n": nonempty,
            "minimum": MIN_NONEMPTY_CELLS,
        }
    return None


def _unclassified(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cells["z"] = np.nan
    cells["p"] = np.nan
    cells["p_fdr"] = np.nan
    cells["gi_bin"] = np.zeros(len(cells), dtype=np.int8)
    cells["label"] = NOT_COMPUTED
    cells["hot"] = False
    cells["cold"] = False
    return cells
