"""The routing graph as a sparse matrix: :class:`Network`, cached as ``.npz`` beside the GraphML.

osmnx graphs are MultiDiGraphs: two streets may join the same pair of intersections.  A route
takes the faster one, so the matrix keeps the **minimum** travel time of parallel edges.  (Building
a CSR matrix from COO triplets would *sum* duplicates -- two 60 s streets would become one 120 s
street -- so the matrix is assembled from already de-duplicated, sorted entries instead.)

Entry ``k`` of the CSR data is edge ``k`` of the edge arrays (``edge_u[k]``, ``edge_v[k]``,
``edge_geometry[k]`` …): the parallel edge that was kept, so routes and isochrones draw the street
that was timed.  Self-loops are dropped (they never shorten a path).

Loading a :class:`Network` from the ``.npz`` needs neither networkx nor the GraphML.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp
import shapely
from shapely.geometry import LineString

from geo.network.graph import cache_path, cached_graph, file_sha256, osm_file_of
from geo.network.osm import Mode, check_mode

if TYPE_CHECKING:
    from geo.communities.model import Community

#: Bump when the matrix layout changes, so old ``.npz`` caches are rebuilt.
MATRIX_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Network:
    """A directed street network as a CSR matrix of travel times (seconds), plus its geometry.

    Attributes
    ----------
    mode : str
        ``drive`` or ``walk``.
    node_ids : numpy.ndarray of int64
        OSM node id of each matrix row/column.
    lon, lat : numpy.ndarray of float64
        Node positions (EPSG:4326).
    matrix : scipy.sparse.csr_matrix
        ``matrix[i, j]`` = travel time from node ``i`` to node ``j`` along the fastest street
        joining them directly; one entry per directed pair.
    edge_u, edge_v : numpy.ndarray of int64
        Row and column of each CSR entry (in CSR order).
    edge_length_m : numpy.ndarray of float64
    edge_geometry : numpy.ndarray of shapely.LineString
        Drawn from ``u`` to ``v``, EPSG:4326.
    source_sha256 : str
        Hash of the OSM file it was built from.
    """

    mode: str
    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    matrix: sp.csr_matrix
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_geometry: np.ndarray
    source_sha256: str = ""
    _index: dict = field(default_factory=dict, repr=False)
    #: Per-CRS projections and spatial indexes (see :mod:`geo.network.snap`), built once.
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.size)

    @property
    def edge_time_s(self) -> np.ndarray:
        """Travel time of each edge (the CSR data), seconds."""
        return self.matrix.data

    def node_index(self, node_id: int) -> int:
        """Row of an OSM node id.

        Parameters
        ----------
        node_id : int

        Returns
        -------
        int
        """
        if not self._index:
            self._index.update({int(n): i for i, n in enumerate(self.node_ids)})
        return self._index[int(node_id)]

    def edge_index(self, u: int, v: int) -> int:
        """CSR position of the (kept) edge from row ``u`` to row ``v``.

        Parameters
        ----------
        u, v : int
            Matrix rows.

        Returns
        -------
        int

        Raises
        ------
        KeyError
            When no street joins them in that direction.
        """
        start, stop = self.matrix.indptr[u], self.matrix.indptr[u + 1]
        hit = np.nonzero(self.matrix.indices[start:stop] == v)[0]
        if hit.size == 0:
            raise KeyError((u, v))
        return int(start + hit[0])


def network_from_graph(
    graph: nx.MultiDiGraph, weight: str = "travel_time", *, mode: str | None = None
) -> Network:
    """Build a :class:`Network` from an osmnx graph, keeping the fastest of parallel edges.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Unprojected osmnx graph (node ``x``/``y`` in EPSG:4326); edges carry ``weight``.
    weight : str
        Edge attribute holding seconds.
    mode : str, optional
        Recorded on the network (default: the graph's ``harta_mode``).

    Returns
    -------
    Network
    """
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    position = {int(n): i for i, n in enumerate(node_ids)}
    lon = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=float)
    lat = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=float)
    rows, cols, times, lengths, geoms = [], [], [], [], []
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue
        i, j = position[int(u)], position[int(v)]
        rows.append(i)
        cols.append(j)
        times.append(float(data[weight]))
        lengths.append(float(data.get("length", np.nan)))
        geom = data.get("geometry")
        geoms.append(geom if geom is not None else LineString([(lon[i], lat[i]), (lon[j], lat[j])]))
    return _assemble(
        mode or str(graph.graph.get("harta_mode", "drive")),
        node_ids,
        lon,
        lat,
        np.array(rows, dtype=np.int64),
        np.array(cols, dtype=np.int64),
        np.array(times, dtype=float),
        np.array(lengths, dtype=float),
        np.array(geoms, dtype=object),
        str(graph.graph.get("harta_source_sha256", "")),
    )


def _assemble(mode, node_ids, lon, lat, rows, cols, times, lengths, geoms, sha):  # noqa: ANN001, ANN202, PLR0913
    """Sort entries by (row, col, time) and keep the first (fastest) of each (row, col)."""
    order = np.lexsort((times, cols, rows))
    rows, cols = rows[order], cols[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    keep = order[first]
    rows, cols = rows[first], cols[first]
    n = node_ids.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    # Entries are unique and sorted, so this constructor stores them as given (nothing summed).
    matrix = sp.csr_matrix((times[keep], cols.astype(np.int32), indptr), shape=(n, n))
    return Network(
        mode=mode,
        node_ids=node_ids,
        lon=lon,
        lat=lat,
        matrix=matrix,
        edge_u=rows,
        edge_v=cols,
        edge_length_m=lengths[keep],
        edge_geometry=geoms[keep],
        source_sha256=sha,
    )


def matrix_path(graphml: Path) -> Path:
    """The ``.npz`` cached beside a GraphML cache file.

    Parameters
    ----------
    graphml : Path

    Returns
    -------
    Path
    """
    return graphml.with_name(f"{graphml.stem}_m{MATRIX_FORMAT_VERSION}.npz")


def save_network(network: Network, path: Path) -> None:
    """Write a network to ``path`` (``.npz``), atomically.

    Parameters
    ----------
    network : Network
    path : Path
    """
    coords, offsets = _ragged(network.edge_geometry)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(handle)
    try:
        with open(tmp_name, "wb") as out:
            np.savez(
                out,
                mode=np.array(network.mode),
                sha=np.array(network.source_sha256),
                node_ids=network.node_ids,
                lon=network.lon,
                lat=network.lat,
                indptr=network.matrix.indptr,
                indices=network.matrix.indices,
                data=network.matrix.data,
                edge_u=network.edge_u,
                edge_v=network.edge_v,
                edge_length_m=network.edge_length_m,
                coords=coords,
                offsets=offsets,
            )
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def load_network_file(path: Path) -> Network:
    """Read a network written by :func:`save_network`.

    Parameters
    ----------
    path : Path

    Returns
    -------
    Network
    """
    with np.load(path, allow_pickle=False) as z:
        n = z["node_ids"].size
        matrix = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(n, n))
        geoms = shapely.linestrings(
            z["coords"], indices=np.repeat(np.arange(z["offsets"].size - 1), np.diff(z["offsets"]))
        )
        return Network(
            mode=str(z["mode"]),
            node_ids=z["node_ids"],
            lon=z["lon"],
            lat=z["lat"],
            matrix=matrix,
            edge_u=z["edge_u"],
            edge_v=z["edge_v"],
            edge_length_m=z["edge_length_m"],
            edge_geometry=np.asarray(geoms, dtype=object),
            source_sha256=str(z["sha"]),
        )


def _ragged(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = shapely.get_num_coordinates(geoms)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return shapely.get_coordinates(geoms), offsets


def cached_network(osm_file: str | Path, mode: Mode = "drive") -> Network:
    """The :class:`Network` of ``osm_file`` for ``mode``, from the ``.npz`` cache when valid.

    Parameters
    ----------
    osm_file : str or Path
    mode : {"drive", "walk"}

    Returns
    -------
    Network
        Built from :func:`geo.network.graph.cached_graph` (and cached) on a miss.
    """
    check_mode(mode)
    digest = file_sha256(osm_file)
    target = matrix_path(cache_path(osm_file, mode, sha256=digest))
    if target.exists():
        try:
            network = load_network_file(target)
        except (OSError, ValueError, KeyError):
            network = None  # unreadable: rebuilt below
        if network is not None and network.source_sha256 == digest:
            return network
    graph = cached_graph(osm_file, mode)
    graph.graph["harta_source_sha256"] = digest
    network = network_from_graph(graph, mode=mode)
    save_network(network, target)
    return network


def network_for(community: Community, mode: Mode = "drive") -> Network:
    """The :class:`Network` a community routes on, for ``mode`` (cached).

    Parameters
    ----------
    community : Community
        Its ``community.json`` names the street file (:func:`geo.network.graph.osm_file_of`).
    mode : {"drive", "walk"}

    Returns
    -------
    Network
    """
    return cached_network(osm_file_of(community), mode)
