"""Perceived versus recorded risk: workshop risk zones against Gi* hot spots.

Every workshop zone and every hot cell gets one label:

``perceived_and_recorded``  the zone overlaps at least one hot cell (or the cell at least one zone);
``perceived_only``          a zone the community named where no hot spot was recorded — danger
                            that may be under-reported (or not yet reported);
``recorded_only``           a hot cell no zone covers — a danger the community has not named.

Workshop zones may be drawn as polygons, lines (a dangerous road) or points (a crossing): lines and
points are buffered by ``buffer_m`` (default :data:`DEFAULT_BUFFER_M`, 100 m — about the distance
people mean by "around here" on a workshop map, and the width of a few houses) before comparing.
If the hotspot analysis was not run (``too_few``), there is no recorded side to compare with:
every zone is labelled ``not_compared`` rather than wrongly ``perceived_only``.

"Overlap" means a shared area of at least ``min_overlap_m2`` (1 m²), so cells merely touching a
zone's edge do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.analysis.base import Area, study_area
from geo.analysis.hotspots import HotspotResult, bin_for_confidence
from geo.hexgrid.grid import WGS84
from geo.i18n import DEFAULT_LANGUAGE, t
from geo.results import Result, not_run

DEFAULT_BUFFER_M = 100.0
LABELS = ("perceived_and_recorded", "perceived_only", "recorded_only")
#: Label of zones when the hotspot analysis had too little data to say anything.
NOT_COMPARED = "not_compared"


def label_text(label: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Translated name of a comparison label.

    Parameters
    ----------
    label : str
        Comparison label code, as in the ``label`` column of a comparison.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated label name.
    """
    return t(f"analysis.compare.label.{label}", lang)


def label_description(label: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """One-sentence translated explanation of a comparison label, for legends.

    Parameters
    ----------
    label : str
        Comparison label code, as in the ``label`` column of a comparison.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated explanation.
    """
    return t(f"analysis.compare.description.{label}", lang)


def zone_footprints(zones: gpd.GeoDataFrame, crs: str | CRS, buffer_m: float) -> gpd.GeoSeries:
    """Zones as areas in ``crs``: polygons unchanged, lines and points buffered by ``buffer_m``.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Zones in any CRS; polygons, lines or points.
    crs : str or pyproj.CRS
        Metric CRS to project to (anything ``pyproj.CRS.from_user_input`` takes).
    buffer_m : float
        Buffer radius in metres for lines and points.

    Returns
    -------
    geopandas.GeoSeries
        One footprint per zone, same index as ``zones``, in ``crs``.
    """
    projected = zones.geometry.to_crs(crs)
    dimension = shapely.get_dimensions(projected.values)
    footprints = np.where(
        dimension >= 2, projected.values, shapely.buffer(projected.values, buffer_m)
    )
    return gpd.GeoSeries(footprints, index=zones.index, crs=crs)


def _hot_cells(hotspots: HotspotResult | gpd.GeoDataFrame, confidence: float) -> gpd.GeoDataFrame:
    if isinstance(hotspots, HotspotResult):
        return hotspots.hot_cells(confidence)
    if "gi_bin" in hotspots.columns:
        return hotspots[hotspots["gi_bin"] >= bin_for_confidence(confidence)]
    return hotspots  # already a selection of hot cells


@dataclass(kw_only=True)
class ComparisonResult(Result):
    """Outcome of :meth:`PerceivedVsRecorded.solve`.

    Attributes
    ----------
    features : GeoDataFrame
        EPSG:4326, zones first then hot cells, columns ``source`` (``"zone"``/``"hotspot"``),
        ``source_id``, ``label`` (see :data:`LABELS`, or :data:`NOT_COMPARED`), ``label_key``
        (i18n key), ``n_overlapping`` (features of the other layer overlapped), ``overlap_m2``
        and ``overlap_share`` (share of this feature's compared area covered by the other
        layer), ``buffer_m`` (buffer applied, 0 for polygons and cells) and ``geometry`` (the
        original geometry, not the buffer).
    params : dict
        ``crs``, ``confidence``, ``buffer_m``, ``min_overlap_m2``.
    too_few : bool
        True when the hot spot analysis was not run: zones are ``not_compared`` and
        :meth:`message` gives the hot spot analysis' reason.
    """

    features: gpd.GeoDataFrame

    @property
    def zones(self) -> gpd.GeoDataFrame:
        """The rows of the workshop zones."""
        return self.features[self.features["source"] == "zone"]

    @property
    def hot_cells(self) -> gpd.GeoDataFrame:
        """The rows of the hot cells."""
        return self.features[self.features["source"] == "hotspot"]


class PerceivedVsRecorded:
    """Label workshop zones and hot cells as perceived and/or recorded.

    Parameters
    ----------
    zones : GeoDataFrame
        Workshop risk zones in EPSG:4326: polygons, lines or points (mixed is fine).
    hotspots : HotspotResult or GeoDataFrame
        A hotspot result, or its cells (filtered on ``gi_bin`` if present, otherwise every row is
        taken as hot).
    area : Community, optional
        The community: gives the metric CRS.
    crs : int, str or pyproj.CRS, optional
        Metric CRS for buffers and areas; default the community's, else the hot spot result's.
    confidence : {0.90, 0.95, 0.99}
        Cells count as hot when significant at this confidence.
    buffer_m : float
        Buffer for line and point zones, metres.
    min_overlap_m2 : float
        Smallest shared area that counts as overlap.
    zone_id_column : str, optional
        Column identifying zones; default the index.
    """

    def __init__(
        self,
        zones: gpd.GeoDataFrame,
        hotspots: HotspotResult | gpd.GeoDataFrame,
        area: Area = None,
        crs: str | CRS | None = None,
        confidence: float = 0.95,
        buffer_m: float = DEFAULT_BUFFER_M,
        min_overlap_m2: float = 1.0,
        zone_id_column: str | None = None,
    ) -> None:
        if crs is None and area is None and isinstance(hotspots, HotspotResult):
            crs = hotspots.params["crs"]
        _, self.crs = study_area(area if area is not None else shapely.Polygon(), crs)
        self.zones = zones
        self.hotspots = hotspots
        self.confidence = confidence
        self.buffer_m = buffer_m
        self.min_overlap_m2 = min_overlap_m2
        self.zone_id_column = zone_id_column

    def solve(self) -> ComparisonResult:
        """Overlap zones and hot cells and label both.

        Returns
        -------
        ComparisonResult
        """
        features = _compare(
            self.zones,
            self.hotspots,
            self.crs,
            self.confidence,
            self.buffer_m,
            self.min_overlap_m2,
            self.zone_id_column,
        )
        params = {
            "crs": CRS.from_user_input(self.crs).to_string(),
            "confidence": self.confidence,
            "buffer_m": self.buffer_m,
            "min_overlap_m2": self.min_overlap_m2,
        }
        hotspots = self.hotspots
        if isinstance(hotspots, HotspotResult) and hotspots.too_few:
            reason = not_run(hotspots.message_key, **hotspots.message_params)
            return ComparisonResult(features=features, params=params, **reason)
        return ComparisonResult(features=features, params=params)


def _compare(
    zones: gpd.GeoDataFrame,
    hotspots: HotspotResult | gpd.GeoDataFrame,
    crs: str | CRS,
    confidence: float,
    buffer_m: float,
    min_overlap_m2: float,
    zone_id_column: str | None,
) -> gpd.GeoDataFrame:
    """The labelled features of :class:`PerceivedVsRecorded` (see its parameters)."""
    hot = _hot_cells(hotspots, confidence)
    zone_areas = zone_footprints(zones, crs, buffer_m).values
    cell_areas = hot.geometry.to_crs(crs).values

    pair_zone, pair_cell = _overlapping_pairs(zone_areas, cell_areas, min_overlap_m2)
    n_zone_matches = np.bincount(pair_zone, minlength=len(zone_areas))
    n_cell_matches = np.bincount(pair_cell, minlength=len(cell_areas))
    zone_overlap = _covered_area(zone_areas, cell_areas)
    cell_overlap = _covered_area(cell_areas, zone_areas)

    zone_ids = zones[zone_id_column] if zone_id_column else zones.index
    cell_ids = hot["cell_id"] if "cell_id" in hot.columns else hot.index
    zone_dims = shapely.get_dimensions(zones.geometry.values)
    not_run = isinstance(hotspots, HotspotResult) and hotspots.too_few
    zone_labels = np.where(n_zone_matches > 0, "perceived_and_recorded", "perceived_only")
    if not_run:
        zone_labels = np.full(len(zone_areas), NOT_COMPARED)
    zone_rows = _rows(
        "zone",
        zone_ids,
        zone_labels,
        n_zone_matches,
        zone_overlap,
        shapely.area(zone_areas),
        np.where(zone_dims >= 2, 0.0, buffer_m),
        zones.geometry.to_crs(WGS84).values,
    )
    cell_rows = _rows(
        "hotspot",
        cell_ids,
        np.where(n_cell_matches > 0, "perceived_and_recorded", "recorded_only"),
        n_cell_matches,
        cell_overlap,
        shapely.area(cell_areas),
        np.zeros(len(cell_areas)),
        hot.geometry.to_crs(WGS84).values,
    )
    frame = pd.concat([zone_rows, cell_rows], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)


def _overlapping_pairs(
    left: np.ndarray, right: np.ndarray, min_overlap_m2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (left, right) sharing at least ``min_overlap_m2``; STRtree, no double loop."""
    if len(left) == 0 or len(right) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree = shapely.STRtree(right)
    left_idx, right_idx = tree.query(left, predicate="intersects")
    shared = shapely.area(shapely.intersection(left[left_idx], right[right_idx]))
    keep = shared >= min_overlap_m2
    return left_idx[keep], right_idx[keep]


def _covered_area(features: np.ndarray, other: np.ndarray) -> np.ndarray:
    if len(features) == 0:
        return np.zeros(0)
    if len(other) == 0:
        return np.zeros(len(features))
    union = shapely.union_all(other)
    return shapely.area(shapely.intersection(features, union))


def _rows(
    source: str,
    ids: Any,
    labels: np.ndarray,
    n_matches: np.ndarray,
    overlap_m2: np.ndarray,
    area_m2: np.ndarray,
    buffer_m: np.ndarray,
    geometry: np.ndarray,
) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(area_m2 > 0, overlap_m2 / area_m2, 0.0)
    return pd.DataFrame(
        {
            "source": source,
            "source_id": list(ids),
            "label": labels.astype(object),
            "label_key": [f"analysis.compare.label.{label}" for label in labels],
            "n_overlapping": n_matches.astype(np.int64),
            "overlap_m2": overlap_m2,
            "overlap_share": np.clip(share, 0.0, 1.0),
            "buffer_m": buffer_m.astype(float),
            "geometry": geometry,
        }
    )
