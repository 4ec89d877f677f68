"""Travel times: many origins to many destinations in one multi-source Dijkstra.

Times are **directed**: from a responder to a place is computed on the streets as they may be
driven from the responder (one-way streets respected), which is not the way back.  Every function
runs :func:`scipy.sparse.csgraph.dijkstra` once for a block of origins (``indices=`` all of
them), on the network's matrix with virtual origin/destination nodes (:mod:`geo.network.snap`).
Unreachable pairs are ``inf`` in arrays and empty (NaN) in tables -- never 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from geo.network.matrix import Network
from geo.network.snap import as_points, augment, snap_points

if TYPE_CHECKING:
    from geo.communities.model import Community

#: Origins per Dijkstra call: bounds the (origins x nodes) distance block in memory.
BLOCK = 64


def node_times(network: Network, sources: np.ndarray, *, limit: float = np.inf) -> np.ndarray:
    """Seconds from each source node to every node (one multi-source Dijkstra).

    Parameters
    ----------
    network : Network
    sources : array of int
        Matrix rows (see :meth:`Network.node_index`).
    limit : float
        Stop searching beyond this many seconds (farther nodes are ``inf``).

    Returns
    -------
    numpy.ndarray
        ``(len(sources), n_nodes)``, ``inf`` where unreachable.
    """
    return dijkstra(network.matrix, directed=True, indices=np.asarray(sources), limit=limit)


def travel_times(
    network: Network,
    community: Community,
    origins: object,
    destinations: object,
    *,
    limit: float = np.inf,
) -> np.ndarray:
    """Seconds from every origin to every destination, door to door.

    Parameters
    ----------
    network : Network
    community : Community
        Its metric CRS measures the snapping.
    origins, destinations : GeoSeries, GeoDataFrame, geometries or (n, 2) lon/lat
        EPSG:4326 unless the GeoSeries says otherwise.
    limit : float
        Seconds beyond which a destination counts as unreachable.

    Returns
    -------
    numpy.ndarray
        ``(len(origins), len(destinations))``, ``inf`` where unreachable.
    """
    out = np.empty((0, 0))
    for block in _blocks(network, community, origins, destinations, limit):
        out = block if out.size == 0 else np.vstack([out, block])
    return out


def _blocks(network, community, origins, destinations, limit):  # noqa: ANN001, ANN202
    """The origin-by-destination time matrix, one block of :data:`BLOCK` origins at a time."""

    origin_points = as_points(origins)
    targets = snap_points(network, community, destinations)
    for start in range(0, len(origin_points), BLOCK):
        sources = snap_points(network, community, origin_points[start : start + BLOCK])
        graph = augment(network, sources, targets)
        dist = dijkstra(graph.matrix, directed=True, indices=graph.sources, limit=limit)
        yield dist[:, graph.targets]
    if len(origin_points) == 0:
        yield np.empty((0, targets.n_points))


def od_table(times: np.ndarray, from_ids: object, to_ids: object) -> pd.DataFrame:
    """An origin-destination table: ``from_id``, ``to_id``, ``seconds`` (NaN = unreachable).

    Parameters
    ----------
    times : numpy.ndarray
        ``(len(from_ids), len(to_ids))`` from :func:`travel_times`.
    from_ids, to_ids : sequence

    Returns
    -------
    pandas.DataFrame
    """
    from_ids, to_ids = list(from_ids), list(to_ids)
    seconds = np.where(np.isfinite(times), times, np.nan).reshape(-1)
    return pd.DataFrame(
        {
            "from_id": np.repeat(np.array(from_ids, dtype=object), len(to_ids)),
            "to_id": np.tile(np.array(to_ids, dtype=object), len(from_ids)),
            "seconds": seconds,
        }
    )


def nearest(times: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest origins of each destination, from an origin-by-destination matrix.

    Parameters
    ----------
    times : numpy.ndarray
        ``(origins, destinations)`` seconds, ``inf`` where unreachable.
    k : int
        How many (1: the nearest; 2: the nearest and its backup).

    Returns
    -------
    index : numpy.ndarray of int
        ``(destinations, k)`` origin positions, nearest first; -1 where fewer than ``k`` origins
        reach the destination.
    seconds : numpy.ndarray
        ``(destinations, k)``, ``inf`` where there is no such origin.
    """
    n_origins, n_dest = times.shape
    take = min(k, n_origins)
    index = np.full((n_dest, k), -1, dtype=np.int64)
    seconds = np.full((n_dest, k), np.inf)
    if take == 0 or n_dest == 0:
        return index, seconds
    part = (
        np.argpartition(times, take - 1, axis=0)[:take]
        if take < n_origins
        else (np.broadcast_to(np.arange(n_origins)[:, None], times.shape))
    )
    cand = np.take_along_axis(times, part, axis=0)
    order = np.argsort(cand, axis=0, kind="stable")
    best = np.take_along_axis(part, order, axis=0)[:take].T
    best_s = np.take_along_axis(cand, order, axis=0)[:take].T
    reached = np.isfinite(best_s)
    index[:, :take] = np.where(reached, best, -1)
    seconds[:, :take] = best_s
    return index, seconds


def nearest_sources(
    network: Network,
    community: Community,
    sources: object,
    places: object,
    *,
    k: int = 2,
    limit: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest sources (by directed travel time from the source) of each place.

    Parameters
    ----------
    network : Network
    community : Community
    sources : points
        Responders, say.
    places : points
        Demand places.
    k : int
    limit : float
        Seconds beyond which a source does not count.

    Returns
    -------
    index, seconds : numpy.ndarray
        ``(len(places), k)``: see :func:`nearest`.
    """
    return _k_best(_blocks(network, community, sources, places, limit), k)


def _k_best(blocks, k: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The running ``k`` best origins of each destination over blocks of origins."""
    index = seconds = None
    offset = 0
    for block in blocks:
        b_index, b_seconds = nearest(block, k)
        b_index = np.where(b_index >= 0, b_index + offset, -1)
        offset += block.shape[0]
        if index is None:
            index, seconds = b_index, b_seconds
            continue
        # Merge this block's k best with the running k best (blocks come in origin order,
        # and the sort is stable, so ties keep the lower origin as a single sort would).
        both_s = np.hstack([seconds, b_seconds])
        both_i = np.hstack([index, b_index])
        order = np.argsort(both_s, axis=1, kind="stable")[:, :k]
        index = np.take_along_axis(both_i, order, axis=1)
        seconds = np.take_along_axis(both_s, order, axis=1)
    return index, seconds


def nearest_source_nodes(
    network: Network, sources: np.ndarray, *, k: int = 2, limit: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest source nodes of every node of the network.

    Parameters
    ----------
    network : Network
    sources : array of int
        Matrix rows of the sources.
    k : int
    limit : float

    Returns
    -------
    index, seconds : numpy.ndarray
        ``(n_nodes, k)``: positions in ``sources`` (-1 when fewer reach) and seconds.
    """
    sources = np.asarray(sources)
    blocks = (
        node_times(network, sources[start : start + BLOCK], limit=limit)
        for start in range(0, len(sources), BLOCK)
    )
    return _k_best(blocks, k)
