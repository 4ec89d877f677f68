"""Criteria values computed from data (never typed in), one row per candidate site.

Network criteria run on :mod:`geo.network` (the community's street file): walking and driving
minutes from the site (its representative point) to the nearest school, kindergarten, clinic or
hospital and bus stop; CTP stops and distinct routes within a 10-minute walk; the **street
distance** from the existing segregated settlements (walking seconds times the walking speed:
the walk graph and the snap both move at :data:`geo.network.WALK_SPEED_KPH`).  Distances to
hazards are straight lines from the parcel in the community's metric CRS.  Raster criteria read
the pixels under the site (or within a radius) with rasterio.  The residential street density
counts the length of ``highway=residential|living_street`` streets within 500 m per km²: it is a
**proxy** for ordinary surroundings (the bundled network has no buildings or land use).

A value that cannot be computed is NaN and the reason is in ``notes`` (criterion -> i18n key):
a criterion with no value for any site is left out of the scoring, never filled with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.mask
import shapely

from geo import crs as crs_
from geo import network as net
from geo.planning.sites.criteria import CriteriaSet
from geo.planning.sites.inputs import RasterLayer, SiteContext

#: Cache of the residential street lines per (street file hash, CRS, highways).
_RESIDENTIAL: dict[tuple, shapely.Geometry] = {}


@dataclass
class CriteriaValues:
    """Raw criterion values per site.

    Attributes
    ----------
    values : pandas.DataFrame
        Index = ``site_id``; one column per criterion code (NaN where not computed).
    notes : dict
        Criterion code -> i18n key saying why it has no value.
    details : dict
        Extra per-site facts (route names within reach, nearest facility names).
    """

    values: pd.DataFrame
    notes: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def compute_criteria(
    sites: gpd.GeoDataFrame, context: SiteContext, criteria: CriteriaSet
) -> CriteriaValues:
    """Every criterion of ``criteria`` for every site.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        From :func:`geo.planning.sites.inputs.normalise_sites` (EPSG:4326).
    context : SiteContext
    criteria : CriteriaSet

    Returns
    -------
    CriteriaValues
    """
    out = CriteriaValues(pd.DataFrame(index=pd.Index(sites["site_id"], name="site_id")))
    out.notes.update(context.notes)
    params = criteria.parameters
    _network_criteria(sites, context, params, out)
    _hazard_criteria(sites, context, params, out)
    _raster_criteria(sites, context, out)
    _transit_centre(sites, context, out)
    cost = sites["cost_eur"].to_numpy(float) / sites["capacity"].to_numpy(float)
    out.values["cost_per_dwelling"] = np.where(np.isfinite(cost), cost, np.nan)
    if not np.isfinite(cost).any():
        out.notes["cost_per_dwelling"] = "sites.note.no_cost"
    for code in criteria.codes:
        if code not in out.values:
            out.values[code] = np.nan
    out.values = out.values[criteria.codes]
    return out


def minutes_to_nearest(network: net.Network, community, sites, places) -> np.ndarray:  # noqa: ANN001
    """Minutes from each site to the nearest of ``places`` (inf when none is reachable).

    Parameters
    ----------
    network : Network
    community : Community
    sites, places : points or geometries (EPSG:4326)

    Returns
    -------
    numpy.ndarray
    """
    if len(places) == 0:
        return np.full(len(sites), np.inf)
    times = net.travel_times(network, community, sites, places)
    return times.min(axis=1) / 60.0


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _network_criteria(sites, context: SiteContext, params: dict, out: CriteriaValues) -> None:  # noqa: ANN001
    community = context.community
    walk = net.network_for(community, "walk")
    drive = net.network_for(community, "drive")
    geoms = sites.geometry
    targets = {
        "school": context.schools,
        "kindergarten": context.kindergartens,
        "clinic": context.clinics,
    }
    for name, places in targets.items():
        if len(places) == 0:
            out.notes[f"walk_{name}_min"] = "sites.note.no_destinations"
            continue
        out.values[f"walk_{name}_min"] = _finite(minutes_to_nearest(walk, community, geoms, places))
        if name != "kindergarten":
            out.values[f"drive_{name}_min"] = _finite(
                minutes_to_nearest(drive, community, geoms, places)
            )
    _stop_criteria(walk, sites, context, params, out)
    _settlement_distance(walk, sites, context, out)
    out.values["residential_km_per_km2"] = residential_density(
        community,
        geoms,
        float(params.get("residential_radius_m", 500.0)),
        tuple(params.get("residential_highways", ("residential", "living_street"))),
    )


def _stop_criteria(walk, sites, context: SiteContext, params: dict, out: CriteriaValues) -> None:  # noqa: ANN001
    stops = context.stops
    if len(stops) == 0:
        for code in ("walk_stop_min", "stops_10min", "routes_10min"):
            out.notes[code] = "sites.note.no_stops"
        return
    limit = float(params.get("stop_walk_s", 600.0))
    times = net.travel_times(walk, context.community, sites.geometry, stops.geometry)
    out.values["walk_stop_min"] = _finite(times.min(axis=1) / 60.0)
    within = times <= limit
    out.values["stops_10min"] = within.sum(axis=1).astype(float)
    route_sets = [_route_names(stops["routes"].to_numpy()[row]) for row in within]
    out.values["routes_10min"] = [float(len(s)) for s in route_sets]
    out.details["routes_10min"] = [", ".join(sorted(s)) for s in route_sets]


def _route_names(routes: np.ndarray) -> set[str]:
    names: set[str] = set()
    for value in routes:
        names.update(part.strip() for part in str(value or "").split(",") if part.strip())
    return names


def _settlement_distance(walk, sites, context: SiteContext, out: CriteriaValues) -> None:  # noqa: ANN001
    settlements = context.settlements
    if settlements is None or len(settlements) == 0:
        out.notes["settlement_network_m"] = "sites.note.no_settlements"
        return
    seconds = net.travel_times(walk, context.community, sites.geometry, settlements.geometry)
    out.values["settlement_network_m"] = _finite(seconds.min(axis=1) * net.WALK_SPEED_MS)


def residential_lines(community, highways: tuple[str, ...]) -> tuple[np.ndarray, shapely.STRtree]:  # noqa: ANN001
    """The residential streets of the community's street file, in its metric CRS, indexed.

    Parameters
    ----------
    community : Community
    highways : tuple of str
        ``highway`` values that count as residential.

    Returns
    -------
    parts : numpy.ndarray of LineString
        Each street once (the two directions of a two-way street are merged, then split into
        their simple parts).
    tree : shapely.STRtree
    """
    graph = net.graph_for(community, "drive")
    key = (graph.graph.get("harta_source_sha256"), community.crs.to_wkt(), highways)
    if key not in _RESIDENTIAL:
        streets = net.streets_gdf(graph)
        streets = streets[streets["highway"].isin(highways)]
        merged = shapely.union_all(streets.geometry.to_crs(community.crs).values)
        parts = shapely.get_parts(merged)
        _RESIDENTIAL[key] = (parts, shapely.STRtree(parts))
    return _RESIDENTIAL[key]


def residential_density(
    community,  # noqa: ANN001
    geoms: gpd.GeoSeries,
    radius_m: float,
    highways: tuple[str, ...],
) -> np.ndarray:
    """Kilometres of residential street per km² within ``radius_m`` of each site's point.

    Parameters
    ----------
    community : Community
    geoms : GeoSeries
        Sites (or grid cells), EPSG:4326.
    radius_m : float
    highways : tuple of str

    Returns
    -------
    numpy.ndarray
    """
    points = geoms.to_crs(community.crs).representative_point()
    return density_at(community, points.values, radius_m, highways)


def density_at(
    community, points: np.ndarray, radius_m: float, highways: tuple[str, ...]
) -> np.ndarray:  # noqa: ANN001
    """:func:`residential_density` at metric points.

    Parameters
    ----------
    community : Community
    points : numpy.ndarray of shapely.Point
        In the community's metric CRS.
    radius_m : float
    highways : tuple of str

    Returns
    -------
    numpy.ndarray
    """
    parts, tree = residential_lines(community, highways)
    circles = shapely.buffer(points, radius_m, quad_segs=32)
    which, part = tree.query(circles, predicate="intersects")
    clipped = shapely.length(shapely.intersection(parts[part], circles[which]))
    length_km = np.bincount(which, weights=clipped, minlength=len(circles)) / 1000.0
    return length_km / (shapely.area(circles) / 1e6)


def _hazard_criteria(sites, context: SiteContext, params: dict, out: CriteriaValues) -> None:  # noqa: ANN001
    metric = sites.geometry.to_crs(context.community.crs).values
    if context.landfill is None:
        out.notes["landfill_m"] = "sites.note.no_landfill"
    else:
        landfill = context.community.to_metric_geometry(context.landfill)
        out.values["landfill_m"] = shapely.distance(metric, landfill)
    zones = context.risk_zones
    level = int(params.get("risk_zone_severity", 3))
    if zones is None or len(zones) == 0 or not (zones["severity"] >= level).any():
        out.notes["risk_zone_m"] = "sites.note.no_risk_zones"
    else:
        serious = zones[zones["severity"] >= level].geometry.to_crs(context.community.crs)
        out.values["risk_zone_m"] = shapely.distance(metric, shapely.union_all(serious.values))
    if context.hazards is None or len(context.hazards) == 0:
        out.notes["hazard_m"] = "sites.note.no_hazard_layer"
    else:
        hazard = shapely.union_all(context.hazards.geometry.to_crs(context.community.crs).values)
        out.values["hazard_m"] = shapely.distance(metric, hazard)


def _raster_criteria(sites, context: SiteContext, out: CriteriaValues) -> None:  # noqa: ANN001
    for layer in context.rasters:
        out.values[layer.code] = raster_values(sites.geometry, context.community, layer)


def raster_values(geoms: gpd.GeoSeries, community, layer: RasterLayer) -> np.ndarray:  # noqa: ANN001
    """A raster's value per site: zonal mean, class share, or the pixel under the point.

    Parameters
    ----------
    geoms : GeoSeries
        EPSG:4326.
    community : Community
        Its metric CRS draws the ``radius_m`` buffer.
    layer : RasterLayer

    Returns
    -------
    numpy.ndarray
        NaN where the site is outside the raster or every pixel is nodata.
    """
    with rasterio.open(layer.path) as src:
        if layer.statistic == "sample":
            points = geoms.representative_point().to_crs(src.crs)
            values = np.array(
                [v[0] for v in src.sample(zip(points.x, points.y, strict=True))], float
            )
            if src.nodata is not None:
                values[values == src.nodata] = np.nan
            return values
        metric = geoms.to_crs(community.crs)
        if layer.radius_m > 0:
            metric = metric.representative_point().buffer(layer.radius_m, quad_segs=32)
        zones = metric.to_crs(src.crs)
        return np.array([_zonal(src, zone, layer) for zone in zones.values])


def _zonal(src, zone, layer: RasterLayer) -> float:  # noqa: ANN001
    try:
        data, _ = rasterio.mask.mask(src, [zone], crop=True, all_touched=False, filled=False)
    except ValueError:  # the zone does not overlap the raster
        return np.nan
    band = data[0]
    valid = ~np.ma.getmaskarray(band)
    if src.nodata is not None:
        valid &= band.data != src.nodata
    if not valid.any():
        # A parcel smaller than one pixel: the pixel under its centre.
        point = zone.representative_point()
        return float(next(src.sample([(point.x, point.y)]))[0])
    pixels = band.data[valid].astype(float)
    if layer.statistic == "share":
        return float(np.mean(pixels == layer.class_value))
    return float(pixels.mean())


def _transit_centre(sites, context: SiteContext, out: CriteriaValues) -> None:  # noqa: ANN001
    if context.gtfs is None:
        out.notes["transit_centre_min"] = "sites.note.no_gtfs"
        return
    from geo.planning.sites.transit import minutes_to_centre

    out.values["transit_centre_min"] = minutes_to_centre(sites, context)


def metric_points(sites: gpd.GeoDataFrame, community) -> np.ndarray:  # noqa: ANN001
    """Representative points of the sites in the community's metric CRS, ``(n, 2)``.

    Parameters
    ----------
    sites : GeoDataFrame
    community : Community

    Returns
    -------
    numpy.ndarray
    """
    points = crs_.to_crs(community.crs)
    pts = sites.geometry.to_crs(points).representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
