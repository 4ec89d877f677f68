"""Isochrones: the area reached within T minutes from one or more origins, along the streets.

Built from the network, never from a hull of reached points (a convex hull would jump the railway
and the landfill): every street edge reached within T is kept whole, an edge reached only partly
is cut where the time runs out, and the kept lines (with the origins' own points) are buffered by
:data:`BUFFER_M` metres in the community's metric CRS and merged.

A buffer can reach across to a street that is *not* reached in time (the other carriageway of a
divided road, a one-way street going the other way, a street across the railway).  So that the
polygon never claims such a place, every intersection that is not reached is cut out with a small
disc -- at most :data:`BUFFER_M`, and never more than half-way to the nearest reached
intersection.  The result: every network node reached within T lies inside the isochrone, and
every node that is not lies outside it (tested).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.ops import substring

from geo.network.matrix import Network
from geo.network.snap import as_points, augment, metric_view, snap_points

if TYPE_CHECKING:
    from geo.communities.model import Community

#: Half-width of the reached streets, metres: what a person reaches on foot from the street.
BUFFER_M = 25.0


def isochrone_polygons(
    network: Network,
    community: Community,
    origins: object,
    minutes: Iterable[float],
    *,
    buffer_m: float = BUFFER_M,
) -> gpd.GeoDataFrame:
    """Areas reached within each time limit from the nearest of the origins.

    Parameters
    ----------
    network : Network
    community : Community
        Its metric CRS measures the snapping and the buffer.
    origins : points
        One or more (the area is reached from whichever is nearest).
    minutes : iterable of float
        Time limits, e.g. ``(3, 5, 10, 15)``.
    buffer_m : float
        Half-width of the reached streets, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per limit: ``minutes``, ``seconds``, ``nodes_reached`` and the (Multi)Polygon
        ``geometry`` in EPSG:4326 (empty when nothing is reached).
    """
    points = as_points(origins)
    sources = snap_points(network, community, points)
    graph = augment(network, sources, None)
    dist = dijkstra(graph.matrix, directed=True, indices=graph.sources, min_only=True)
    view = metric_view(network, community)
    segments = _segments(network, community, sources, view)
    origin_xy = np.column_stack(
        community.to_metric.transform(shapely.get_x(points), shapely.get_y(points))
    )
    # An origin's own point is reached once the walk to its street fits in the limit.
    walk_s = np.full(len(points), np.inf)
    np.minimum.at(walk_s, sources.point, sources.offset_s)
    rows = []
    for limit in sorted(float(m) for m in minutes):
        seconds = limit * 60.0
        origins_in = origin_xy[walk_s <= seconds]
        area = _reached_area(network, view, segments, dist, seconds, origins_in, buffer_m)
        nodes = int(np.count_nonzero(dist[: network.n_nodes] <= seconds))
        rows.append((limit, seconds, nodes, area))
    metric = gpd.GeoDataFrame(
        {
            "minutes": [r[0] for r in rows],
            "seconds": [r[1] for r in rows],
            "nodes_reached": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=community.crs,
    )
    return metric.to_crs(4326)


def _segments(network, community, sources, view):  # noqa: ANN001, ANN202
    """Every street piece as (start row, seconds, metric line): edges, then origins' pieces."""
    start = [network.edge_u]
    cost = [network.edge_time_s]
    lines = [view.edges]
    if sources.n_points:
        e, f = sources.edge, sources.fraction
        pieces = np.array(
            [substring(g, a, 1.0, normalized=True) for g, a in zip(view.edges[e], f, strict=True)],
            dtype=object,
        )
        # A piece starts at the origin's virtual row; the walk to the street is its own cost.
        start.append(network.n_nodes + sources.point)
        cost.append((1 - f) * network.edge_time_s[e])
        lines.append(pieces)
        offsets = np.zeros(network.n_nodes + sources.n_points)
        offsets[network.n_nodes + sources.point] = sources.offset_s
        return np.concatenate(start), np.concatenate(cost), np.concatenate(lines), offsets
    return start[0], cost[0], lines[0], np.zeros(network.n_nodes)


def _reached_area(network, view, segments, dist, seconds, origin_xy, buffer_m):  # noqa: ANN001, ANN202, PLR0913
    start, cost, lines, offsets = segments
    # Time at the start of each piece: an origin's piece starts after the walk to the street.
    t0 = dist[start] + offsets[start]
    whole = t0 + cost <= seconds
    part = (t0 < seconds) & ~whole
    kept = list(lines[whole])
    for line, t, c in zip(lines[part], t0[part], cost[part], strict=True):
        fraction = (seconds - t) / c if c > 0 else 1.0
        kept.append(substring(line, 0.0, fraction, normalized=True))
    reached = dist[: network.n_nodes] <= seconds
    node_xy = np.column_stack([view.x, view.y])
    kept.extend(shapely.points(node_xy[reached]))
    kept.extend(shapely.points(origin_xy))
    if not kept:
        return shapely.Polygon()
    area = shapely.union_all(shapely.buffer(np.array(kept, dtype=object), buffer_m))
    holes = _holes(node_xy, reached, buffer_m)
    if holes is not None:
        area = shapely.difference(area, holes)
    return area


def _holes(node_xy: np.ndarray, reached: np.ndarray, buffer_m: float):  # noqa: ANN202
    """Discs around unreached nodes, each at most half-way to the nearest reached node."""
    missed = node_xy[~reached]
    if missed.size == 0 or not reached.any():
        return None
    distance, _ = cKDTree(node_xy[reached]).query(missed)
    radius = np.minimum(buffer_m, 0.5 * distance)
    near = radius > 0
    if not near.any():
        return None
    return shapely.union_all(shapely.buffer(shapely.points(missed[near]), radius[near]))
