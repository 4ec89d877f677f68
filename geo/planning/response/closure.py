"""Streets closed by a hazard, cut at its edge, and the street names along a route.

:func:`close_streets` is how evacuation routes avoid a hazard (see
:mod:`geo.planning.response.evacuation` for the choice and why): every street piece (one network
edge, junction to junction) that enters the hazard's area is removed; what lies outside the area
at either end stays as a dead-end stub from its junction to a new node at the hazard's edge.
:func:`street_names` and :func:`route_streets` name the streets of a route from the OSM graph
(the stubs keep their street's name).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely
from shapely.geometry.base import BaseGeometry

from geo import crs as crs_
from geo import network as net
from geo.communities.model import Community
from geo.network.matrix import Network
from geo.network.snap import metric_view, snap_points

#: The cut keeps a street's open end this far (metres) from the hazard's edge.
CUT_MARGIN_M = 1.0


def close_streets(network: Network, community: Community, area: BaseGeometry) -> Network:
    """The network with the hazard's streets closed at its edge.

    A street piece (junction to junction) that enters ``area`` is removed; what lies outside
    the area (widened by :data:`CUT_MARGIN_M`) at either end is kept as a dead-end stub from its
    junction to a new node at the hazard's edge, so a place beside the hazard still reaches the
    open part of its street -- and nobody is routed through the hazard.

    Parameters
    ----------
    network : Network
    community : Community
    area : shapely geometry
        EPSG:4326.

    Returns
    -------
    Network
        A new network: the original nodes, then one new node per stub (negative ids); the
        stubs' original node pairs in ``cache["stub_of"]`` (for the street names).
    """
    if area.is_empty:
        return network
    view = metric_view(network, community)
    metric_area = community.to_metric_geometry(area)
    touched = view.tree.query(metric_area, predicate="intersects")
    keep = np.ones(network.edge_u.size, dtype=bool)
    keep[touched] = False
    stubs = _stubs(network, community, view.edges, touched, metric_area.buffer(CUT_MARGIN_M))
    closed = _rebuilt(network, community, keep, stubs)
    closed.cache["closed_edges"] = int(touched.size)
    return closed


def _stubs(network, community, edges, touched, area) -> list[tuple]:  # noqa: ANN001
    """(from row or None, to row or None, seconds, metres, metric line, edge) of each kept end:
    ``None`` stands for the new node at the hazard's edge."""
    out = []
    for k in touched:
        line = edges[k]
        length = line.length
        if length <= 0:
            continue
        outside = line.difference(area)
        for piece in getattr(outside, "geoms", [outside]):
            if piece.is_empty or piece.geom_type != "LineString":
                continue
            a = line.project(shapely.Point(piece.coords[0]))
            b = line.project(shapely.Point(piece.coords[-1]))
            share = piece.length / length
            seconds = float(network.edge_time_s[k]) * share
            metres = float(network.edge_length_m[k]) * share
            if a <= 1e-6:  # the piece leaves the junction u
                out.append((int(network.edge_u[k]), None, seconds, metres, piece, k))
            elif b >= length - 1e-6:  # the piece reaches the junction v
                out.append((None, int(network.edge_v[k]), seconds, metres, piece, k))
    return out


def _rebuilt(
    network: Network, community: Community, keep: np.ndarray, stubs: list[tuple]
) -> Network:
    """``network`` with only the ``keep`` edges plus the stubs (sorted into CSR order)."""
    n0 = network.n_nodes
    rows, cols = list(network.edge_u[keep]), list(network.edge_v[keep])
    times, lengths = list(network.matrix.data[keep]), list(network.edge_length_m[keep])
    geoms = list(network.edge_geometry[keep])
    lon, lat, ids = list(network.lon), list(network.lat), list(network.node_ids)
    stub_of = {}
    back = crs_.transformer(community.crs, crs_.STORAGE) if stubs else None
    for i, (u, v, seconds, metres, piece, k) in enumerate(stubs):
        new = n0 + i
        end = piece.coords[-1] if v is None else piece.coords[0]
        x, y = back.transform(*end)
        lon.append(x)
        lat.append(y)
        ids.append(-(i + 1))
        u, v = (u, new) if v is None else (new, v)
        rows.append(u)
        cols.append(v)
        times.append(seconds)
        lengths.append(metres)
        geoms.append(crs_.project(piece, community.crs, crs_.STORAGE))
        original = (
            int(network.node_ids[network.edge_u[k]]),
            int(network.node_ids[network.edge_v[k]]),
        )
        stub_of[(int(ids[u]), int(ids[v]))] = original
    rows_a, cols_a = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    order = np.lexsort((cols_a, rows_a))
    n = len(ids)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows_a, minlength=n), out=indptr[1:])
    matrix = sp.csr_matrix(
        (np.asarray(times, dtype=float)[order], cols_a[order].astype(np.int32), indptr),
        shape=(n, n),
    )
    closed = Network(
        mode=network.mode,
        node_ids=np.asarray(ids, dtype=np.int64),
        lon=np.asarray(lon, dtype=float),
        lat=np.asarray(lat, dtype=float),
        matrix=matrix,
        edge_u=rows_a[order],
        edge_v=cols_a[order],
        edge_length_m=np.asarray(lengths, dtype=float)[order],
        edge_geometry=np.asarray(geoms, dtype=object)[order],
        source_sha256=network.source_sha256,
    )
    closed.cache["stub_of"] = stub_of
    return closed


def street_names(network: Network, community: Community) -> dict[tuple[int, int], str]:
    """OSM street name of each directed pair of nodes (the fastest of parallel streets).

    Parameters
    ----------
    network : Network
        The community's network (the names are cached on it).
    community : Community

    Returns
    -------
    dict
        ``(osm node u, osm node v) -> name``; unnamed streets are absent.
    """
    names = network.cache.get("street_names")
    if names is None:
        graph = net.graph_for(community, network.mode)  # type: ignore[arg-type]
        best: dict[tuple[int, int], tuple[float, str]] = {}
        for u, v, data in graph.edges(data=True):
            name = data.get("name")
            if isinstance(name, list):
                name = " / ".join(str(n) for n in name)
            if not name:
                continue
            seconds = float(data.get("travel_time", np.inf))
            key = (int(u), int(v))
            if key not in best or seconds < best[key][0]:
                best[key] = (seconds, str(name))
        names = {k: v[1] for k, v in best.items()}
        network.cache["street_names"] = names
    return names


def route_streets(
    node_ids: tuple[int, ...],
    names: dict[tuple[int, int], str],
    stub_of: dict[tuple[int, int], tuple[int, int]] | None = None,
) -> list[str]:
    """The street names along a route, in order, each once per stretch.

    Parameters
    ----------
    node_ids : tuple of int
        OSM nodes passed (:attr:`geo.network.Route.node_ids`).
    names : dict
        From :func:`street_names`.
    stub_of : dict, optional
        The open ends of closed streets -> their original node pairs (:func:`close_streets`).

    Returns
    -------
    list of str
    """
    out: list[str] = []
    stub_of = stub_of or {}
    for u, v in zip(node_ids[:-1], node_ids[1:], strict=True):
        name = names.get(stub_of.get((u, v), (u, v)))
        if name and (not out or out[-1] != name):
            out.append(name)
    return out


def route_nodes(network: Network, community: Community, start, end, found) -> tuple[int, ...]:  # noqa: ANN001
    """The route's OSM nodes with the far ends of the streets it starts and ends on, so the
    names of those (partly walked) streets are listed too.

    Parameters
    ----------
    network : Network
        The network the route was found on.
    community : Community
    start, end : shapely Point
        The route's two ends (EPSG:4326).
    found : Route
        From :func:`geo.network.route`.

    Returns
    -------
    tuple of int
        OSM node ids (stub nodes negative).
    """
    nodes = list(found.node_ids)
    first, last = (snap_points(network, community, [p]) for p in (start, end))
    if not nodes:  # origin and destination on one street
        edge = int(first.edge[0])
        return (
            int(network.node_ids[network.edge_u[edge]]),
            int(network.node_ids[network.edge_v[edge]]),
        )
    head = [
        int(network.node_ids[network.edge_u[e]])
        for e in first.edge
        if network.node_ids[network.edge_v[e]] == nodes[0]
    ]
    tail = [
        int(network.node_ids[network.edge_v[e]])
        for e in last.edge
        if network.node_ids[network.edge_u[e]] == nodes[-1]
    ]
    return tuple(head[:1] + nodes + tail[:1])
