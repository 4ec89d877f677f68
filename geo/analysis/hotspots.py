"""Getis-Ord Gi* hot and cold spots of incidents on a hexagon grid: :class:`HotspotAnalysis`.

Built like every analysis (:mod:`geo.results`): ``HotspotAnalysis(points, community).solve()``
gives a :class:`HotspotResult` whose ``cells`` GeoDataFrame holds each hexagon's count, z-score,
p-values and class.  The statistic and its p-values are :mod:`geo.analysis.gistar` (exact
binomial tails for small counts, the normal tail for large ones; the one used is
``params["method"]``); the neighbourhoods are :mod:`geo.analysis.weights`.

Speed: :meth:`HotspotAnalysis.solve` works on arrays (:class:`geo.hexgrid.grid.HexCells`)
and builds one GeoDataFrame at the end.  The grid of an area and cell size (area shares, ids,
WGS84 polygons, neighbour weights, a projection lattice) is cached, since the app reruns the same
community; points are placed in cells by interpolating an exactly projected lattice and
re-projecting exactly the few near a cell edge (same cells as projecting every point).
``scripts/bench_hotspots.py`` compares it with libpysal ``Graph`` + esda + statsmodels.

When the statistic would not mean anything, no cell is classified and the result is flagged
``too_few`` with a message (see :data:`MIN_POINTS`, :data:`MIN_NONEMPTY_CELLS`,
:data:`MIN_CELLS`); an empty set of incidents is one such case, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geo.analysis.base import Area, points_box, study_area
from geo.analysis.gistar import (  # noqa: F401 -- the statistic, re-exported
    CONFIDENCE_LEVELS,
    DISPERSION_MIN_SHARE,
    DISPERSION_TRIM,
    METHODS,
    NORMAL_MIN_EXPECTED,
    GiStarTest,
    bin_for_confidence,
    binomial_two_sided_p,
    fdr_adjust,
    gi_bins,
    gi_star_test,
    gi_star_z,
    robust_dispersion,
    two_sided_p,
)
from geo.analysis.weights import (  # noqa: F401 -- re-exported
    distance_band_weights,
    hex_neighbour_weights,
    hex_ring_offsets,
)
from geo.hexgrid.grid import (
    HexCells,
    Orientation,
    area_in_crs,
    axial_to_xy,
    count_points_per_cell,
    default_hex_size_for_area,
    hex_cells,
)
from geo.i18n import DEFAULT_LANGUAGE, t
from geo.results import Result, not_run

__all__ = ["HotspotAnalysis", "HotspotResult", "label_text", "method_text", "points_box"]

#: Fewer incidents than this inside the area: the analysis is not run.  30 is the usual minimum
#: for a normal approximation and the one ArcGIS's hot spot tools require.
MIN_POINTS = 30
#: Fewer non-empty cells than this: counts are too concentrated to compare neighbourhoods.
MIN_NONEMPTY_CELLS = 5
#: Fewer cells than this in the grid: too few neighbourhoods for the normal approximation.
MIN_CELLS = 30

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
#: ``LABELS`` as an array indexed by ``gi_bin + 3``.
_LABEL_OF_BIN = np.array([LABELS[code] for code in range(-3, 4)], dtype=object)


# --------------------------------------------------------------------------------------------
# Uniform API
# --------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class HotspotResult(Result):
    """Outcome of :meth:`HotspotAnalysis.solve`.

    Attributes
    ----------
    cells : GeoDataFrame
        One row per hexagon, EPSG:4326: ``cell_id``, ``q``, ``r``, ``area_share``, ``count``,
        ``z``, ``p``, ``p_fdr``, ``gi_bin``, ``label`` (a code, see :data:`LABELS`; translate with
        :func:`label_text`), ``hot`` and ``cold`` (significant at the chosen confidence).
    params : dict
        Everything needed to reproduce the run (cell size, CRS, weights, confidence, FDR …),
        and ``method``: how the p-values were computed (``"exact"`` or ``"normal"``, None when
        not run; translate with :func:`method_text`).
    n_points : int
        Incidents inside the area (those counted in cells).
    n_outside : int
        Incidents that fell outside the area and were ignored.
    too_few : bool
        True when the statistic was not computed; then :meth:`message` explains why.
    """

    cells: gpd.GeoDataFrame
    n_points: int
    n_outside: int = 0

    def hot_cells(self, confidence: float | None = None) -> gpd.GeoDataFrame:
        """Cells that are hot spots at ``confidence`` (default: the analysis' confidence).

        Parameters
        ----------
        confidence : float or None
            0.90, 0.95 or 0.99; None uses ``params["confidence"]``.

        Returns
        -------
        geopandas.GeoDataFrame
            The rows of ``cells`` with ``gi_bin`` at or above that level.
        """
        level = bin_for_confidence(confidence or self.params["confidence"])
        return self.cells[self.cells["gi_bin"] >= level]

    def cold_cells(self, confidence: float | None = None) -> gpd.GeoDataFrame:
        """Cells that are cold spots at ``confidence`` (default: the analysis' confidence).

        Parameters
        ----------
        confidence : float or None
            0.90, 0.95 or 0.99; None uses ``params["confidence"]``.

        Returns
        -------
        geopandas.GeoDataFrame
            The rows of ``cells`` with ``gi_bin`` at or below minus that level.
        """
        level = bin_for_confidence(confidence or self.params["confidence"])
        return self.cells[self.cells["gi_bin"] <= -level]


def label_text(label: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Translated name of a hotspot label code such as ``"hot_99"``.

    Parameters
    ----------
    label : str
        Label code (``"hot_99"``, ``"cold_90"``, ``"not_significant"``...).
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated name.
    """
    return t(f"analysis.hotspots.label.{label}", lang)


def method_text(method: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain-language name of a p-value method (``"exact"``/``"normal"``; None: not run).

    Parameters
    ----------
    method : str or None
        ``"exact"`` or ``"normal"``; None when the analysis did not run.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated name.
    """
    return t(f"stats.method.{method or 'not_run'}", lang)


class HotspotAnalysis:
    """Getis-Ord Gi* hot and cold spots of incidents on a hexagon grid.

    Parameters
    ----------
    points : GeoDataFrame
        Incident points in EPSG:4326.
    area : Community, GeoDataFrame, GeoSeries or shapely geometry, optional
        The community analysed, or a study area in EPSG:4326 (default the bounding box of the
        points).  Cells with no incident inside the area count as zeros — which is what makes a
        cluster stand out.
    crs : int, str or pyproj.CRS, optional
        Metric CRS, e.g. ``"EPSG:32634"``; default the community's (required for a bare area).
    cell_size_m : float, optional
        Hexagon side length; default :func:`geo.hexgrid.grid.default_hex_size`.
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
    inference : {"auto", "exact", "normal"}
        How p-values are computed (module docstring); ``"auto"`` chooses by the counts.
    area_weighted : bool
        Weight cells by their share inside the area (recommended: otherwise cells cut by the
        boundary look emptier than they are and show up as cold spots).
    """

    def __init__(
        self,
        points: gpd.GeoDataFrame,
        area: Area,
        crs: str | CRS | None = None,
        cell_size_m: float | None = None,
        confidence: float = 0.95,
        fdr: bool = True,
        weights: Literal["hex", "distance"] = "hex",
        rings: int = 1,
        distance_band_m: float | None = None,
        orientation: Orientation = "pointy",
        inference: Literal["auto", "exact", "normal"] = "auto",
        area_weighted: bool = True,
    ) -> None:
        bin_for_confidence(confidence)  # validate early
        if weights not in ("hex", "distance"):
            raise ValueError("weights must be 'hex' or 'distance'")
        if inference not in ("auto", *METHODS):
            raise ValueError(f"inference must be 'auto' or one of {METHODS}")
        self.points = points
        self.area, self.crs = study_area(area, crs, points)
        self._region: BaseGeometry | None = None
        self.cell_size_m = cell_size_m or default_hex_size_for_area(self.region().area, len(points))
        self.confidence = confidence
        self.fdr = fdr
        self.weights = weights
        self.rings = rings
        self.distance_band_m = distance_band_m or 2.0 * np.sqrt(3.0) * self.cell_size_m
        self.orientation = orientation
        self.inference = inference
        self.area_weighted = area_weighted

    def params(self) -> dict[str, Any]:
        """Settings of the analysis (the chosen ``method`` is added by :meth:`solve`).

        Returns
        -------
        dict
            JSON-serialisable settings, stored with a run; ``crs`` as a string,
            ``rings`` or ``distance_band_m`` None when not used.
        """
        return {
            "crs": _crs_text(self.crs),
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
            "inference": self.inference,
            "area_weighted": self.area_weighted,
            "method": None,
        }

    def region(self) -> BaseGeometry:
        """The area in the metric CRS, projected once per analysis.

        Returns
        -------
        shapely.geometry.base.BaseGeometry
            The analysis area in the metric CRS (metres); cached.
        """
        if self._region is None:
            self._region = area_in_crs(self.area, self.crs)
        return self._region

    def build_cells(self) -> HexCells:
        """Hexagons covering the area as metric arrays, with their ``area_share``.

        Returns
        -------
        HexCells
            Axial coordinates, metric centres and ``area_share`` of each cell.
        """
        return hex_cells(self.region(), self.cell_size_m, self.orientation)

    def build_grid(self) -> gpd.GeoDataFrame:
        """Hexagons covering the area, with their ``area_share`` (EPSG:4326).

        Returns
        -------
        geopandas.GeoDataFrame
            One hexagon polygon per cell, with ``q``, ``r`` and ``area_share``.
        """
        return self.build_cells().frame(self.crs)

    def build_weights(self, cells: gpd.GeoDataFrame | HexCells) -> sp.csr_matrix:
        """Binary weights of the cells, self included.

        Parameters
        ----------
        cells : geopandas.GeoDataFrame or HexCells
            The cells, with axial ``q`` and ``r``.

        Returns
        -------
        scipy.sparse.csr_matrix
            ``(n, n)`` 0/1 matrix with ones on the diagonal: hex rings when
            ``weights="hex"``, else a distance band of ``distance_band_m`` metres.
        """
        if self.weights == "hex":
            if isinstance(cells, HexCells):
                # A grid's neighbours never change: kept with the (cached) grid, copied out.
                key = ("hex_weights", self.rings)
                if key not in cells._memo:
                    cells._memo[key] = hex_neighbour_weights(cells.q, cells.r, self.rings)
                return cells._memo[key].copy()
            return hex_neighbour_weights(cells["q"], cells["r"], self.rings, include_self=True)
        q, r = (cells.q, cells.r) if isinstance(cells, HexCells) else (cells["q"], cells["r"])
        # Lattice centres, not centroids of reprojected polygons, and a band widened by a
        # relative 1e-9: the default band is exactly two neighbour spacings, so without it
        # rounding noise decided which cells two steps away were neighbours.
        x, y = axial_to_xy(q, r, self.cell_size_m, self.orientation)
        return distance_band_weights(x, y, self.distance_band_m * (1.0 + 1e-9))

    def solve(self) -> HotspotResult:
        """Count incidents per cell and classify every cell (or say why not).

        Everything runs on arrays (:class:`~geo.hexgrid.grid.HexCells`); the GeoDataFrame of
        the result is built once at the end.

        Returns
        -------
        HotspotResult
        """
        cells = self.build_cells()
        counts, n_outside = count_points_per_cell(
            cells, self.points, self.cell_size_m, self.crs, self.orientation
        )
        n_points = int(counts.sum())
        reason = _insufficiency(counts)
        if reason is not None:
            key, params = reason
            return HotspotResult(
                cells=cells.frame(self.crs, count=counts, **_unclassified(len(cells))),
                params=self.params(),
                n_points=n_points,
                n_outside=n_outside,
                **not_run(key, **params),
            )
        share = cells.area_share if self.area_weighted else None
        test = gi_star_test(counts, self.build_weights(cells), share, self.inference)
        z, p = test.z, test.p
        p_fdr = fdr_adjust(p)
        bins = gi_bins(z, p_fdr if self.fdr else p)
        level = bin_for_confidence(self.confidence)
        frame = cells.frame(
            self.crs,
            count=counts,
            z=z,
            p=p,
            p_fdr=p_fdr,
            gi_bin=bins,
            label=_LABEL_OF_BIN[bins.astype(np.int64) + 3],
            hot=bins >= level,
            cold=bins <= -level,
        )
        params = self.params()
        params["method"] = test.method
        params["dispersion"] = float(test.dispersion[0])
        return HotspotResult(cells=frame, params=params, n_points=n_points, n_outside=n_outside)


@lru_cache(maxsize=64)
def _crs_text(crs: str | CRS) -> str:
    """``CRS.to_string()`` of a CRS, kept: parsing it again costs more than a run's weights."""
    return CRS.from_user_input(crs).to_string()


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


def _unclassified(n: int) -> dict[str, np.ndarray]:
    """Result columns of ``n`` cells when the statistic was not computed."""
    return {
        "z": np.full(n, np.nan),
        "p": np.full(n, np.nan),
        "p_fdr": np.full(n, np.nan),
        "gi_bin": np.zeros(n, dtype=np.int8),
        "label": np.full(n, NOT_COMPUTED, dtype=object),
        "hot": np.zeros(n, dtype=bool),
        "cold": np.zeros(n, dtype=bool),
    }
