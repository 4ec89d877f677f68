"""Points onto the street network, in the community's metric CRS.

A place (a settlement, a responder, a house) is rarely on a street.  It is snapped to the
**nearest point of the nearest street** (not the nearest intersection, which can be hundreds of
metres away), measured in the community's metric CRS, and the straight distance to that point is
walked at :data:`~geo.network.osm.WALK_SPEED_KPH` -- in drive mode too, since the last metres
from a road to a door are on foot.  A point on a two-way street can leave (or be reached) in
both directions: the street's edge and its reverse are both used.

The travel-time computations then add one **virtual node** per origin and per destination to the
matrix (:func:`augment`): ``origin -> v`` costs the walk plus the rest of the street from the
snapped point to ``v``; ``u -> destination`` costs the part of the street from ``u`` to the point
plus the walk.  An origin and a destination on the same street, in driving order, are also joined
directly along it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely

from geo import crs as crs_
from geo.network.matrix import Network
from geo.network.osm import WALK_SPEED_KPH

if TYPE_CHECKING:
    from geo.communities.model import Community

#: Walking speed for the snap distance, metres per second.
WALK_SPEED_MS = WALK_SPEED_KPH / 3.6


@dataclass(frozen=True)
class Snap:
    """Where each point meets the network (one row per point and street direction).

    Attributes
    ----------
    point : numpy.ndarray of int
        Which input point.
    edge : numpy.ndarray of int
        CSR position of the street edge.
    fraction : numpy.ndarray of float
        Position along the edge from its ``u`` end, 0..1.
    offset_s : numpy.ndarray of float
        Seconds walked from the point to the street.
    distance_m : numpy.ndarray of float
        Metres from the point to the street.
    n_points : int
    """

    point: np.ndarray
    edge: np.ndarray
    fraction: np.ndarray
    offset_s: np.ndarray
    distance_m: np.ndarray
    n_points: int


@dataclass(frozen=True)
class MetricView:
    """A network's geometry in one metric CRS, with a spatial index (built once per CRS)."""

    edges: np.ndarray
    tree: shapely.STRtree
    x: np.ndarray
    y: np.ndarray
    reverse: np.ndarray


def metric_view(network: Network, community: Community) -> MetricView:
    """The network's edges and nodes in the community's metric CRS (cached on the network).

    Parameters
    ----------
    network : Network
    community : Community

    Returns
    -------
    MetricView
    """
    key = ("metric", community.crs.to_wkt())
    view = network.cache.get(key)
    if view is None:
        forward = crs_.transformer(crs_.STORAGE, community.crs)
        edges = shapely.transform(
            network.edge_geometry, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
        )
        x, y = forward.transform(network.lon, network.lat)
        view = MetricView(
            edges=edges,
            tree=shapely.STRtree(edges),
            x=np.asarray(x),
            y=np.asarray(y),
            reverse=reverse_edges(network),
        )
        network.cache[key] = view
    return view


def reverse_edges(network: Network) -> np.ndarray:
    """For each edge ``u -> v``, the CSR position of ``v -> u``, or -1 (a one-way street).

    Parameters
    ----------
    network : Network

    Returns
    -------
    numpy.ndarray of int64
    """
    n = network.n_nodes
    keys = network.edge_u * n + network.edge_v  # sorted: CSR order is (row, column)
    wanted = network.edge_v * n + network.edge_u
    pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[pos] == wanted, pos, -1)


def as_points(points: object) -> np.ndarray:
    """Shapely points in EPSG:4326 from a GeoSeries/GeoDataFrame, geometries or (lon, lat) pairs.

    Polygons and lines stand for a point on their surface (``representative_point``).

    Parameters
    ----------
    points : GeoSeries, GeoDataFrame, array of geometries or (n, 2) array of lon, lat

    Returns
    -------
    numpy.ndarray of shapely.Point
    """
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is not None and crs_.to_crs(points.crs) != crs_.STORAGE:
            points = points.to_crs(crs_.STORAGE)
        geoms = np.asarray(points.values, dtype=object)
    else:
        array = np.asarray(points, dtype=object)
        if array.ndim == 2 and array.shape[1] == 2:
            geoms = shapely.points(array.astype(float))
        else:
            geoms = array.reshape(-1)
    non_point = shapely.get_type_id(geoms) != 0
    if non_point.any():
        geoms = geoms.copy()
        geoms[non_point] = shapely.point_on_surface(geoms[non_point])
    return geoms


def snap_points(network: Network, community: Community, points: object) -> Snap:
    """Snap points to the nearest street of the network, in the community's metric CRS.

    Parameters
    ----------
    network : Network
    community : Community
        Its metric CRS measures the snap distance.
    points : see :func:`as_points`

    Returns
    -------
    Snap
        Every nearest street edge of each point (ties kept) and its reverse direction.
    """
    geoms = as_points(points)
    view = metric_view(network, community)
    metric = community.to_metric
    x, y = metric.transform(shapely.get_x(geoms), shapely.get_y(geoms))
    metric_points = shapely.points(np.column_stack([x, y]))
    (point, edge), distance = view.tree.query_nearest(
        metric_points, all_matches=True, return_distance=True
    )
    # The reverse direction of a two-way street passes through the same point.
    rev = view.reverse[edge]
    two_way = rev >= 0
    point = np.concatenate([point, point[two_way]])
    edge = np.concatenate([edge, rev[two_way]])
    distance = np.concatenate([distance, distance[two_way]])
    pairs = np.unique(np.column_stack([point, edge]), axis=0, return_index=True)[1]
    point, edge, distance = point[pairs], edge[pairs], distance[pairs]
    fraction = shapely.line_locate_point(view.edges[edge], metric_points[point], normalized=True)
    fraction = np.nan_to_num(np.clip(fraction, 0.0, 1.0), nan=0.0)
    return Snap(
        point=point.astype(np.int64),
        edge=edge.astype(np.int64),
        fraction=fraction,
        offset_s=distance / WALK_SPEED_MS,
        distance_m=distance,
        n_points=len(geoms),
    )


@dataclass(frozen=True)
class Augmented:
    """The network's matrix with one virtual node per origin and per destination.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        ``(N + S + D)`` square; rows ``N .. N+S-1`` are origins, ``N+S ..`` destinations.
    n_nodes, n_sources, n_targets : int
    virtual : dict
        ``(row, column) -> (edge, from_fraction, to_fraction, seconds)`` for every virtual
        entry: which part of which street it follows.
    """

    matrix: sp.csr_matrix
    n_nodes: int
    n_sources: int
    n_targets: int
    virtual: dict

    @property
    def sources(self) -> np.ndarray:
        """Rows of the virtual origins."""
        return np.arange(self.n_nodes, self.n_nodes + self.n_sources)

    @property
    def targets(self) -> np.ndarray:
        """Columns of the virtual destinations."""
        start = self.n_nodes + self.n_sources
        return np.arange(start, start + self.n_targets)


def augment(network: Network, sources: Snap | None, targets: Snap | None) -> Augmented:
    """The matrix with virtual origin and destination nodes joined to their streets.

    Parameters
    ----------
    network : Network
    sources, targets : Snap or None

    Returns
    -------
    Augmented
    """
    n = network.n_nodes
    n_s = sources.n_points if sources is not None else 0
    n_t = targets.n_points if targets is not None else 0
    w = network.edge_time_s
    rows, cols, vals, virtual = [network.edge_u], [network.edge_v], [w], {}

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, edge, f0, f1) -> None:  # noqa: ANN001
        rows.append(r)
        cols.append(c)
        vals.append(v)
        columns = (r, c, edge, f0, f1, v)
        for a, b, k, g0, g1, cost in zip(
            *(np.broadcast_to(x, r.shape).tolist() for x in columns), strict=True
        ):
            # Keep the street part of the cheapest entry: the one the matrix keeps.
            if (a, b) not in virtual or cost < virtual[(a, b)][3]:
                virtual[(a, b)] = (k, g0, g1, cost)

    if sources is not None:
        e, f = sources.edge, sources.fraction
        add(n + sources.point, network.edge_v[e], sources.offset_s + (1 - f) * w[e], e, f, 1.0)
    if targets is not None:
        e, f = targets.edge, targets.fraction
        add(network.edge_u[e], n + n_s + targets.point, f * w[e] + targets.offset_s, e, 0.0, f)
    if sources is not None and targets is not None:
        _same_street(network, sources, targets, n, n_s, add)
    size = n + n_s + n_t
    matrix = _min_csr(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), size)
    return Augmented(matrix, n, n_s, n_t, virtual)


def _same_street(network, sources, targets, n, n_s, add) -> None:  # noqa: ANN001
    """Join an origin and a destination on the same street, in its direction, directly."""
    by_edge: dict[int, list[int]] = {}
    for row, edge in enumerate(targets.edge.tolist()):
        by_edge.setdefault(edge, []).append(row)
    w = network.edge_time_s
    for i, edge in enumerate(sources.edge.tolist()):
        for j in by_edge.get(edge, ()):
            f0, f1 = sources.fraction[i], targets.fraction[j]
            if f1 >= f0:
                cost = sources.offset_s[i] + (f1 - f0) * w[edge] + targets.offset_s[j]
                add(
                    np.array([n + sources.point[i]]),
                    np.array([n + n_s + targets.point[j]]),
                    np.array([cost]),
                    edge,
                    f0,
                    f1,
                )


def _min_csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, size: int) -> sp.csr_matrix:
    """CSR keeping the minimum of duplicate entries (a COO conversion would sum them)."""
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, vals = rows[first], cols[first], vals[first]
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
    return sp.csr_matrix((vals, cols.astype(np.int32), indptr), shape=(size, size))
