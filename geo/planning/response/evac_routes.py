"""Evacuation routes: each place to its nearest safe assembly point, the hazard's streets closed.

How the routes avoid the hazard -- the choice, and why:

* Every street piece (one network edge, junction to junction) that touches the hazard area is
  **closed** (:func:`geo.planning.response.closure.close_streets`): removed from the network,
  not merely made slower.  A penalty would still send people through a fire when the way round
  is long enough; a closure never does.  The closure is conservative: a long piece that only
  grazes the area is closed whole.
* An assembly point inside the area is not safe and is left out.  One whose walk to its nearest
  open street crosses the area is **cut off** (people would walk through the hazard to reach it).
* A place inside the area walks out to its nearest open street (that first walk is the only part
  of a route that may lie in the area: it is the way out), or to an open street end at the
  area's edge when that is quicker (the walk inside counted :data:`INSIDE_PENALTY` times).  A
  place outside the area whose walk to the street crosses it has no route.
* When no open street leads from a place to any safe assembly point, the result says so
  (``reachable`` False), never a straight line.

Times are the network engine's (:func:`geo.network.travel_times`, :func:`geo.network.route`);
street names come from the OSM graph.  What the routes start from is
:mod:`geo.planning.response.evac_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geo import network as net
from geo.communities.model import Community
from geo.network.matrix import Network
from geo.network.snap import WALK_SPEED_MS, metric_view, snap_points
from geo.planning.response import closure
from geo.planning.response.closure import close_streets, route_streets, street_names
from geo.results import Result, not_run

#: When choosing the way out of a hazard, a metre walked inside it counts this many times.
INSIDE_PENALTY = 2.0
#: Columns of the routes table.
ROUTE_COLUMNS = (
    "origin_id",
    "origin_kind",
    "origin_name",
    "assembly_id",
    "reachable",
    "seconds",
    "length_m",
    "streets",
)


@dataclass(kw_only=True)
class EvacuationResult(Result):
    """Routes of one scenario.

    Attributes
    ----------
    routes : GeoDataFrame
        One row per place (:data:`ROUTE_COLUMNS`; ``geometry`` None where no route exists).
    assembly : GeoDataFrame
        The assembly points with ``status``: ``safe``, ``in_hazard`` or ``cut_off``.
    hazard : GeoDataFrame
        One row: the closed area (EPSG:4326).
    closed_edges : int
        Street pieces closed.
    """

    routes: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    assembly: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    hazard: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    closed_edges: int = 0

    @property
    def unreachable(self) -> gpd.GeoDataFrame:
        """The places with no route."""
        return self.routes[~self.routes["reachable"].astype(bool)]


def evacuation_routes(
    network: Network,
    community: Community,
    places: gpd.GeoDataFrame,
    assembly: gpd.GeoDataFrame,
    area: BaseGeometry,
    *,
    params: dict[str, Any] | None = None,
) -> EvacuationResult:
    """Route each place to its nearest safe assembly point with the hazard's streets closed.

    Parameters
    ----------
    network : Network
        The community's network (drive or walk).
    community : Community
    places : GeoDataFrame
        ``origin_id``, ``origin_kind``, ``origin_name`` and points
        (:func:`~geo.planning.response.evac_inputs.origins`).
    assembly : GeoDataFrame
        :func:`~geo.planning.response.evac_inputs.assembly_points`.
    area : shapely geometry
        The hazard (EPSG:4326), e.g. :func:`~geo.planning.response.evac_inputs.hazard_area`;
        may be empty.
    params : dict, optional
        Recorded on the result.

    Returns
    -------
    EvacuationResult
        ``too_few`` when there is no assembly point at all.
    """
    params = dict(params or {})
    hazard = gpd.GeoDataFrame({"closed": [True]}, geometry=[area], crs=4326)
    if assembly.empty:
        return EvacuationResult(
            params=params,
            hazard=hazard,
            routes=_routes_frame([]),
            assembly=assembly.assign(status=[]),
            **not_run("response.evac.no_assembly"),
        )
    closed = close_streets(network, community, area)
    names = street_names(network, community)
    status = _assembly_status(closed, community, assembly, area)
    safe = assembly[status == "safe"]
    rows = [
        _one_route(closed, community, place, safe, area, names) for place in places.itertuples()
    ]
    return EvacuationResult(
        params=params,
        routes=_routes_frame(rows),
        assembly=assembly.assign(status=status),
        hazard=hazard,
        closed_edges=int(closed.cache.get("closed_edges", 0)),
    )


def _walk_legs(network: Network, community: Community, points: gpd.GeoSeries) -> list[LineString]:
    """The straight walk (metric) from each point to the nearest point of an open street."""
    snap = snap_points(network, community, points)
    view = metric_view(network, community)
    first = np.unique(snap.point, return_index=True)[1]
    legs = []
    for p, e, f in zip(snap.point[first], snap.edge[first], snap.fraction[first], strict=True):
        on_street = view.edges[e].interpolate(f, normalized=True)
        start = community.to_metric_geometry(points.iloc[int(p)])
        legs.append(LineString([start, on_street]))
    return legs


def _assembly_status(
    network: Network, community: Community, assembly: gpd.GeoDataFrame, area: BaseGeometry
) -> np.ndarray:
    status = np.full(len(assembly), "safe", dtype=object)
    if area.is_empty:
        return status
    metric_area = community.to_metric_geometry(area)
    inside = assembly.geometry.intersects(area).to_numpy()
    status[inside] = "in_hazard"
    legs = _walk_legs(network, community, assembly.geometry)
    crossing = np.array([leg.intersects(metric_area) for leg in legs])
    status[~inside & crossing] = "cut_off"
    return status


def _one_route(network, community, place, safe, area, names) -> dict:  # noqa: ANN001, PLR0913
    """The route of one place to its nearest reachable safe assembly point (or none)."""
    row = {
        "origin_id": place.origin_id,
        "origin_kind": place.origin_kind,
        "origin_name": place.origin_name,
        "assembly_id": None,
        "reachable": False,
        "seconds": np.nan,
        "length_m": np.nan,
        "streets": "",
        "geometry": None,
    }
    start = place.geometry
    if safe.empty or _walk_blocked(network, community, start, area):
        return row
    times = net.travel_times(network, community, [start], safe.geometry)[0]
    exit_, walk_s = _best_exit(network, community, start, safe, area, times)
    begin = start if exit_ is None else exit_
    if exit_ is not None:
        times = net.travel_times(network, community, [exit_], safe.geometry)[0] + walk_s
    best = int(np.argmin(times))
    if not np.isfinite(times[best]):
        return row
    end = safe.geometry.iloc[best]
    found = net.route(network, community, begin, end)
    if found is None:  # pragma: no cover - the times said reachable
        return row
    geometry = found.geometry
    if exit_ is not None:  # the walk out of the hazard, then the streets
        geometry = LineString([start.coords[0], *geometry.coords])
    row.update(
        assembly_id=safe["assembly_id"].iloc[best],
        reachable=True,
        seconds=float(times[best]),
        length_m=float(community.to_metric_geometry(geometry).length),
        streets=" → ".join(
            route_streets(
                closure.route_nodes(network, community, begin, end, found),
                names,
                network.cache.get("stub_of"),
            )
        ),
        geometry=geometry,
    )
    return row


def _best_exit(network, community, start, safe, area, direct) -> tuple:  # noqa: ANN001, PLR0913
    """For a place inside the hazard: the open street end at the hazard's edge to walk to
    (straight, at walking speed; the part inside the hazard counted :data:`INSIDE_PENALTY` times
    when choosing), if that beats walking to the nearest open street.  ``(None, 0)`` otherwise.
    """
    ends = np.flatnonzero(network.node_ids < 0)  # the new nodes of close_streets
    if area.is_empty or ends.size == 0 or not area.intersects(start):
        return None, 0.0
    points = [shapely.Point(network.lon[i], network.lat[i]) for i in ends]
    metric_area = community.to_metric_geometry(area)
    origin = community.to_metric_geometry(start)
    walks = [LineString([origin, community.to_metric_geometry(p)]) for p in points]
    inside = np.array([w.intersection(metric_area).length for w in walks])
    length = np.array([w.length for w in walks])
    walk_s = length / WALK_SPEED_MS
    choose_s = (length + (INSIDE_PENALTY - 1) * inside) / WALK_SPEED_MS
    onward = net.travel_times(network, community, points, safe.geometry).min(axis=1)
    score = choose_s + onward
    k = int(np.argmin(score))
    if not np.isfinite(score[k]) or score[k] >= float(np.min(direct)):
        return None, 0.0
    return points[k], float(walk_s[k])


def _walk_blocked(network: Network, community: Community, start, area: BaseGeometry) -> bool:  # noqa: ANN001
    """A place outside the hazard whose walk to the nearest open street crosses it."""
    if area.is_empty or area.intersects(start):
        return False
    leg = _walk_legs(network, community, gpd.GeoSeries([start], crs=4326))[0]
    return bool(leg.intersects(community.to_metric_geometry(area)))


def _routes_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=[*ROUTE_COLUMNS, "geometry"])
    frame["reachable"] = frame["reachable"].astype(bool)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
