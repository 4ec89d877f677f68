"""The model run of a hot spot run: density, Gi*, emerging hot spots, perceived vs recorded.

Pure computation on a run's :class:`~geo.analysis.inputs.Inputs` (no database, no files): every
analysis is built from the inputs and the :class:`~geo.communities.Community`, then solved.
Aggregated inputs (published counts) get the published grid's flat hexagons and a density of
the published cells' centres weighted by their counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.compare import ComparisonResult, PerceivedVsRecorded
from geo.analysis.density import DensitySurface, KernelDensity
from geo.analysis.hotspots import HotspotAnalysis, HotspotResult
from geo.analysis.inputs import Inputs
from geo.analysis.trends import MIN_POINTS, EmergingHotspotResult, EmergingHotspots
from geo.communities.model import Community
from geo.results import not_run


@dataclass
class Solved:
    """The four results of one run.

    Attributes
    ----------
    density : DensitySurface
        ``too_few`` when no incident passed the filters.
    hotspots : HotspotResult
    emerging : EmergingHotspotResult
    compare : ComparisonResult
    """

    density: DensitySurface
    hotspots: HotspotResult
    emerging: EmergingHotspotResult
    compare: ComparisonResult


def solve_all(
    community: Community,
    inputs: Inputs,
    zones: gpd.GeoDataFrame,
    *,
    confidence: float,
    freq: str,
    bandwidth_m: float | None,
    density_cell_m: float | None,
) -> Solved:
    """Run every analysis of a hot spot run on its inputs.

    Parameters
    ----------
    community : Community
    inputs : Inputs
        What the role may read (:mod:`geo.analysis.inputs`).
    zones : GeoDataFrame
        Workshop risk zones of the community (``id`` column), for perceived vs recorded.
    confidence : {0.90, 0.95, 0.99}
        Of hot spots and of the comparison.
    freq : {"week", "month"}
        Period of emerging hot spots.
    bandwidth_m, density_cell_m : float, optional
        Density bandwidth and raster cell; default the rule of thumb and a quarter of it.

    Returns
    -------
    Solved
    """
    cell, orientation = inputs.cell_size_m, inputs.orientation
    density = _density(community, inputs, bandwidth_m, density_cell_m)
    hotspots = HotspotAnalysis(
        inputs.analysed,
        community,
        cell_size_m=cell,
        confidence=confidence,
        orientation=orientation,
    ).solve()
    if inputs.over_time.empty:
        # Nothing matched: the trend analysis has nothing to test (and no periods to cut).
        emerging = _no_trends(hotspots, cell, freq)
    else:
        emerging = EmergingHotspots(
            inputs.over_time, community, cell_size_m=cell, freq=freq, orientation=orientation
        ).solve()
    if inputs.published is not None:
        # Aggregated runs show the published (rounded) counts, never recomputed ones.
        counts = inputs.published.set_index("cell_id")["count"]
        hotspots.cells["count"] = counts.reindex(hotspots.cells["cell_id"]).to_numpy()
        emerging.cells["count"] = counts.reindex(emerging.cells["cell_id"]).to_numpy()
    compare = PerceivedVsRecorded(
        zones, hotspots, community, confidence=confidence, zone_id_column="id"
    ).solve()
    return Solved(density=density, hotspots=hotspots, emerging=emerging, compare=compare)


def _density(
    community: Community,
    inputs: Inputs,
    bandwidth_m: float | None,
    cell_m: float | None,
) -> DensitySurface:
    points = inputs.analysed
    if inputs.published is None or points.empty:
        return KernelDensity(points, community, bandwidth_m=bandwidth_m, cell_size_m=cell_m).solve()
    # One weighted point per published cell: the surface depends on the published counts only.
    centres = points.drop_duplicates("cell_id")
    weights = points.groupby("cell_id").size().reindex(centres["cell_id"]).to_numpy(float)
    return KernelDensity(
        centres, community, bandwidth_m=bandwidth_m, cell_size_m=cell_m, weights=weights
    ).solve()


def _no_trends(hotspots: HotspotResult, cell_m: float, freq: str) -> EmergingHotspotResult:
    """The "too few" trend result of a run without any incident, on the run's hexagons."""
    cells = hotspots.cells[["cell_id", "geometry"]].copy()
    cells["count"] = 0
    cells["n_hot_periods"] = 0
    cells["share_hot"] = np.nan
    cells["final_hot"] = False
    cells["trend"] = "none"
    cells["gi_trend"] = "none"
    cells["category"] = "no_pattern"
    empty = pd.DataFrame(index=cells["cell_id"].to_numpy())
    params: dict[str, Any] = {"cell_size_m": cell_m, "freq": freq, "method": None}
    return EmergingHotspotResult(
        cells=cells,
        periods=[],
        counts=empty,
        z_scores=empty,
        gi_bin=empty,
        params=params,
        n_points=0,
        **not_run("analysis.trends.too_few_points", n=0, minimum=MIN_POINTS),
    )
