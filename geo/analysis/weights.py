"""Spatial weights of hexagon grids: binary contiguity by rings, and distance bands.

Both are sparse CSR matrices built from arrays (axial coordinates or metric centres), never from
polygons: a grid's neighbours follow from its axial coordinates alone.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from geo.hexgrid.hexmath import AxialLookup


def hex_ring_offsets(rings: int = 1, include_self: bool = True) -> np.ndarray:
    """Axial offsets of all hexagons within ``rings`` steps of a cell, as ``(k, 2)`` ints.

    Parameters
    ----------
    rings : int
        Number of rings of neighbours.
    include_self : bool
        Include the ``(0, 0)`` offset of the cell itself.

    Returns
    -------
    numpy.ndarray
        int64 array of ``(dq, dr)`` axial offsets.
    """
    offsets = [
        (dq, dr)
        for dq in range(-rings, rings + 1)
        for dr in range(max(-rings, -dq - rings), min(rings, -dq + rings) + 1)
        if include_self or (dq, dr) != (0, 0)
    ]
    return np.array(offsets, dtype=np.int64)


def hex_neighbour_weights(
    q: np.ndarray, r: np.ndarray, rings: int = 1, include_self: bool = True
) -> sp.csr_matrix:
    """Binary contiguity weights between hexagons, built from axial coordinates.

    Cell ``j`` is a neighbour of cell ``i`` when it lies within ``rings`` steps of it (6 cells for
    one ring, 18 for two); the lookups are vectorised per offset, not per cell.

    Parameters
    ----------
    q, r : array of int
        Axial coordinates of the cells (e.g. the ``q`` and ``r`` columns of a hex grid).
    rings : int
        Neighbourhood radius in cells.
    include_self : bool
        Put 1 on the diagonal, as Gi* needs.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)`` float64 with ones for neighbours.
    """
    q = np.asarray(q, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    n = len(q)
    offsets = hex_ring_offsets(rings, include_self)
    if n == 0 or len(offsets) == 0:
        return sp.csr_matrix((n, n))
    # One lookup of every (cell, offset) pair, laid out cell-major: sorted within each row, the
    # pairs are already the CSR arrays (no COO conversion, no per-offset lookup).
    target = (
        AxialLookup(q, r)
        .rows((q[:, None] + offsets[:, 0]).ravel(), (r[:, None] + offsets[:, 1]).ravel())
        .reshape(n, len(offsets))
    )
    target.sort(axis=1)
    present = target >= 0
    indptr = np.concatenate([[0], np.cumsum(present.sum(axis=1))])
    indices = target[present]
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, n))


def distance_band_weights(
    x: np.ndarray, y: np.ndarray, threshold_m: float, include_self: bool = True
) -> sp.csr_matrix:
    """Binary distance-band weights: 1 between locations at most ``threshold_m`` apart.

    Uses ``scipy.spatial.cKDTree.query_pairs``, so it scales to tens of thousands of cells.
    ``x, y`` are metric coordinates (e.g. cell centres).

    Parameters
    ----------
    x, y : numpy.ndarray
        Metric coordinates in metres.
    threshold_m : float
        Largest distance, in metres, at which two locations are neighbours.
    include_self : bool
        Put ones on the diagonal (each location its own neighbour, as Gi* needs).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)`` symmetric 0/1 weights.
    """
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(threshold_m, output_type="ndarray")
    row = np.concatenate([pairs[:, 0], pairs[:, 1]])
    col = np.concatenate([pairs[:, 1], pairs[:, 0]])
    weights = sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n, n))
    if include_self:
        weights = (weights + sp.identity(n, format="csr")).tocsr()
    return weights
