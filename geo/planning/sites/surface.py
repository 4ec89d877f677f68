"""A suitability surface: the criteria as rasters combined into one GeoTIFF.

A grid of ``cell_m`` cells over the community's area grown by ``margin_m`` (the default reaches
into the city around Pata Rât: the point is to show where to look *beyond* the candidates), in the
community's metric CRS.  At every cell centre the criteria that can be mapped cheaply are
computed as for a site: walking minutes to the nearest school, kindergarten, clinic and stop
(multi-source searches from the facilities; the walk graph is two-way, so facility -> cell equals
cell -> facility), CTP stops and distinct routes within a 10-minute walk, straight distances to the
landfill, the risk zones and the hazard layer, the street distance from the settlements, the
residential street density and the tree-cover share (the mask averaged onto the grid).  Driving
times, the GTFS time and the cost are left out (directed searches per cell, or no meaning
per cell): ``band description`` and the returned ``used`` say which criteria went in.

Each criterion is normalised min-max over the grid (benefit or cost as its direction says), and
the weighted sum with the run's weights (rescaled over the mapped criteria) is band 1, 0..1.
Cells under a hard exclusion (landfill buffer, severe risk zone, hazard layer) are nodata (-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

from geo import network as net
from geo.planning.sites.compute import _route_names, density_at
from geo.planning.sites.criteria import CriteriaSet
from geo.planning.sites.mcda import normalise

if TYPE_CHECKING:
    from geo.planning.sites.inputs import SiteContext

NODATA = -1.0
MAPPED = (
    "walk_school_min",
    "walk_kindergarten_min",
    "walk_clinic_min",
    "walk_stop_min",
    "stops_10min",
    "routes_10min",
    "landfill_m",
    "risk_zone_m",
    "hazard_m",
    "treecover_share",
    "settlement_network_m",
    "residential_km_per_km2",
)


@dataclass(frozen=True)
class Surface:
    """A written suitability surface.

    Attributes
    ----------
    path : Path
    used : dict
        Code -> weight of the criteria combined.
    shape : tuple of int
    cell_m : float
    excluded_share : float
        Share of cells under a hard exclusion.
    """

    path: Path
    used: dict
    shape: tuple[int, int]
    cell_m: float
    excluded_share: float


def grid(context: SiteContext, cell_m: float, margin_m: float):  # noqa: ANN201
    """Cell centres over the community's area grown by ``margin_m``.

    Parameters
    ----------
    context : SiteContext
    cell_m, margin_m : float

    Returns
    -------
    transform : affine.Affine
    shape : (rows, cols)
    centres : numpy.ndarray of shapely.Point
        Metric, row-major.
    """
    minx, miny, maxx, maxy = context.community.metric_geometry.buffer(margin_m).bounds
    cols = int(np.ceil((maxx - minx) / cell_m))
    rows = int(np.ceil((maxy - miny) / cell_m))
    transform = from_origin(minx, maxy, cell_m, cell_m)
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    xs = minx + (jj.ravel() + 0.5) * cell_m
    ys = maxy - (ii.ravel() + 0.5) * cell_m
    return transform, (rows, cols), shapely.points(xs, ys)


def suitability_surface(
    community,  # noqa: ANN001
    context: SiteContext,
    criteria: CriteriaSet,
    weights: dict[str, float],
    path: str | Path,
    *,
    cell_m: float = 100.0,
    margin_m: float = 3000.0,
) -> Surface:
    """Write the suitability GeoTIFF (see the module docstring).

    Parameters
    ----------
    community : Community
    context : SiteContext
    criteria : CriteriaSet
    weights : dict
    path : str or Path
    cell_m, margin_m : float

    Returns
    -------
    Surface
    """
    transform, shape, centres = grid(context, cell_m, margin_m)
    cells = gpd.GeoSeries(centres, crs=community.crs).to_crs(4326)
    values = _cell_values(community, context, criteria, cells, centres, transform, shape)
    codes = [
        c for c in MAPPED if c in values and weights.get(c, 0) > 0 and np.isfinite(values[c]).any()
    ]
    excluded = _excluded(context, criteria, centres)
    score = np.full(len(centres), NODATA)
    used = {}
    if codes:
        x = np.column_stack(
            [
                np.nan_to_num(
                    values[c],
                    nan=np.nanmax(values[c])
                    if not criteria.get(c).benefit
                    else np.nanmin(values[c]),
                )
                for c in codes
            ]
        )
        w = np.array([weights[c] for c in codes], float)
        w = w / w.sum()
        benefit = np.array([criteria.get(c).benefit for c in codes])
        score = normalise(x, benefit, "minmax") @ w
        used = dict(zip(codes, (float(v) for v in w), strict=True))
    score[excluded] = NODATA
    _write(Path(path), score.reshape(shape), transform, community, used)
    return Surface(Path(path), used, shape, cell_m, float(excluded.mean()))


def _cell_values(community, context, criteria, cells, centres, transform, shape) -> dict:  # noqa: ANN001
    walk = net.network_for(community, "walk")
    out: dict[str, np.ndarray] = {}
    for code, places in (
        ("walk_school_min", context.schools),
        ("walk_kindergarten_min", context.kindergartens),
        ("walk_clinic_min", context.clinics),
        ("walk_stop_min", context.stops),
    ):
        if len(places):
            _, seconds = net.nearest_sources(walk, community, places.geometry, cells, k=1)
            out[code] = np.where(np.isfinite(seconds[:, 0]), seconds[:, 0] / 60.0, np.nan)
    params = criteria.parameters
    if len(context.stops):
        within = np.isfinite(
            net.travel_times(
                walk,
                community,
                context.stops.geometry,
                cells,
                limit=float(params.get("stop_walk_s", 600)),
            )
        )
        out["stops_10min"] = within.sum(axis=0).astype(float)
        routes = context.stops["routes"].to_numpy()
        out["routes_10min"] = np.array([float(len(_route_names(routes[col]))) for col in within.T])
    if context.settlements is not None and len(context.settlements):
        _, seconds = net.nearest_sources(walk, community, context.settlements.geometry, cells, k=1)
        out["settlement_network_m"] = np.where(
            np.isfinite(seconds[:, 0]), seconds[:, 0] * net.WALK_SPEED_MS, np.nan
        )
    for code, geometry in _hazard_geometries(context, criteria):
        out[code] = shapely.distance(centres, geometry)
    out["residential_km_per_km2"] = density_at(
        community, centres, float(params.get("residential_radius_m", 500.0)),
        tuple(params.get("residential_highways", ("residential", "living_street"))),
    )  # fmt: skip
    for layer in context.rasters:
        if layer.statistic == "share":
            out[layer.code] = _share_on_grid(layer, community, transform, shape)
    return out


def _hazard_geometries(context: SiteContext, criteria: CriteriaSet):  # noqa: ANN202
    metric = context.community.crs
    if context.landfill is not None:
        yield "landfill_m", context.community.to_metric_geometry(context.landfill)
    level = int(criteria.parameters.get("risk_zone_severity", 3))
    zones = context.risk_zones
    if zones is not None and len(zones) and (zones["severity"] >= level).any():
        serious = zones[zones["severity"] >= level].geometry.to_crs(metric)
        yield "risk_zone_m", shapely.union_all(serious.values)
    if context.hazards is not None and len(context.hazards):
        yield "hazard_m", shapely.union_all(context.hazards.geometry.to_crs(metric).values)


def _share_on_grid(layer, community, transform, shape) -> np.ndarray:  # noqa: ANN001
    """Share of the mask's pixels equal to the class in each cell (average resampling)."""
    with rasterio.open(layer.path) as src:
        mask = (src.read(1) == layer.class_value).astype("float32")
        out = np.full(shape, np.nan, dtype="float32")
        reproject(
            mask, out, src_transform=src.transform, src_crs=src.crs, dst_transform=transform,
            dst_crs=community.crs.to_wkt(), resampling=Resampling.average, dst_nodata=np.nan,
        )  # fmt: skip
    return out.ravel().astype(float)


def _excluded(context: SiteContext, criteria: CriteriaSet, centres: np.ndarray) -> np.ndarray:
    rules = criteria.exclusions
    out = np.zeros(len(centres), dtype=bool)
    metric = context.community.crs
    if context.landfill is not None and rules.get("landfill_buffer_m") is not None:
        landfill = context.community.to_metric_geometry(context.landfill)
        out |= shapely.dwithin(centres, landfill, float(rules["landfill_buffer_m"]))
    zones = context.risk_zones
    level = rules.get("risk_zone_min_severity")
    if (
        level is not None
        and zones is not None
        and len(zones)
        and (zones["severity"] >= level).any()
    ):
        severe = zones[zones["severity"] >= level].geometry.to_crs(metric)
        out |= shapely.intersects(centres, shapely.union_all(severe.values))
    if rules.get("hazard_layer_inside") and context.hazards is not None and len(context.hazards):
        out |= shapely.intersects(
            centres, shapely.union_all(context.hazards.geometry.to_crs(metric).values)
        )
    return out


def _write(path: Path, score: np.ndarray, transform, community, used: dict) -> None:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff", "width": score.shape[1], "height": score.shape[0], "count": 1,
        "dtype": "float32", "crs": community.crs.to_wkt(), "transform": transform,
        "nodata": NODATA, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(score.astype("float32"), 1)
        dst.set_band_description(1, "suitability 0-1 (weighted sum, min-max over the grid)")
        dst.update_tags(
            criteria=",".join(f"{c}={w:.4f}" for c, w in used.items()),
            nodata_means="hard exclusion",
        )
