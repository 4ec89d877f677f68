"""The fastest route between two points, with its geometry (EPSG:4326).

The route is the one the travel-time engine times (same matrix, same snapping), so its
``seconds`` equal :func:`geo.network.times.travel_times` for the pair.  Its geometry is the walk
from the origin to its street, the streets driven (partial at both ends), and the walk to the
destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.ops import substring

from geo import crs as crs_
from geo.network.matrix import Network
from geo.network.snap import as_points, augment, metric_view, snap_points

if TYPE_CHECKING:
    from geo.communities.model import Community


@dataclass(frozen=True)
class Route:
    """A route found by :func:`route`.

    Attributes
    ----------
    seconds : float
        Door-to-door travel time (walks to and from the streets included).
    geometry : shapely.LineString
        EPSG:4326, from the origin to the destination.
    node_ids : tuple of int
        OSM nodes passed, in order.
    """

    seconds: float
    geometry: LineString
    node_ids: tuple[int, ...]


def route(
    network: Network, community: Community, origin: object, destination: object
) -> Route | None:
    """The fastest route from ``origin`` to ``destination`` on the network.

    Parameters
    ----------
    network : Network
    community : Community
        Its metric CRS measures the snapping.
    origin, destination : shapely Point or (lon, lat)
        EPSG:4326.

    Returns
    -------
    Route or None
        None when no street path leads from the origin to the destination (say so plainly to
        the reader; never a straight line).
    """
    start, end = (_one(p) for p in (origin, destination))
    sources = snap_points(network, community, [start])
    targets = snap_points(network, community, [end])
    graph = augment(network, sources, targets)
    dist, pred = dijkstra(
        graph.matrix, directed=True, indices=graph.sources[0], return_predecessors=True
    )
    target = int(graph.targets[0])
    if not np.isfinite(dist[target]):
        return None
    rows = [target]
    while pred[rows[-1]] >= 0:
        rows.append(int(pred[rows[-1]]))
    rows.reverse()
    # Cut the streets in metres (fractions are metric), then draw in EPSG:4326.
    edges = metric_view(network, community).edges
    coords = [tuple(community.to_metric_geometry(start).coords[0])]
    for a, b in zip(rows[:-1], rows[1:], strict=True):
        coords.extend(_step(network, edges, graph.virtual, a, b).coords)
    coords.append(tuple(community.to_metric_geometry(end).coords[0]))
    line = crs_.project(LineString(_dedupe(coords)), community.crs, crs_.STORAGE)
    nodes = tuple(int(network.node_ids[r]) for r in rows if r < network.n_nodes)
    return Route(float(dist[target]), line, nodes)


def _one(point: object) -> shapely.Point:
    if isinstance(point, shapely.Point):
        return point
    return as_points([point])[0] if not isinstance(point, tuple) else shapely.Point(point)


def _step(network: Network, edges: np.ndarray, virtual: dict, a: int, b: int) -> LineString:
    """The street geometry (metric) of one step of the path."""
    if (a, b) in virtual:
        edge, f0, f1, _ = virtual[(a, b)]
        return substring(edges[edge], f0, f1, normalized=True)
    return edges[network.edge_index(a, b)]


def _dedupe(coords: list) -> list:
    out = [coords[0]]
    for xy in coords[1:]:
        if xy != out[-1]:
            out.append(xy)
    return out if len(out) > 1 else out * 2
