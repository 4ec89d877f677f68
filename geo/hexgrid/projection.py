"""Projection of many geographic points by interpolation between exactly projected nodes.

A map projection is smooth: over a few kilometres, bilinear interpolation between a 9 x 9
lattice of exactly projected nodes is within micrometres of the exact coordinates, and costs a
few array operations a point instead of a full PROJ pipeline (Stereo70's datum shift makes that
0.5 µs a point).  The interpolation error is measured, not assumed, so callers can re-project
exactly every point for which an error of that size would matter
(:func:`geo.hexgrid.hexmath.points_to_axial` does for points near a hexagon edge).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import Transformer


@dataclass(frozen=True)
class ProjectionLattice:
    """An exactly projected lattice over a geographic box, and its measured error.

    Attributes
    ----------
    west, south, east, north : float
        The box, in degrees.
    d_lon, d_lat : float
        Lattice steps.
    steps : int
        Lattice cells per axis.
    coefficients : numpy.ndarray
        ``(steps * steps, 8)`` bilinear coefficients of each lattice cell (x, then y).
    error : float
        Largest interpolation error found, in metres.
    """

    west: float
    south: float
    east: float
    north: float
    d_lon: float
    d_lat: float
    steps: int
    coefficients: np.ndarray = field(repr=False)
    error: float

    def covers(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Which points lie in the lattice's box."""
        return (lon >= self.west) & (lon <= self.east) & (lat >= self.south) & (lat <= self.north)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated ``x, y`` of points (meant for points the lattice covers)."""
        fi = (lat - self.south) / self.d_lat
        fj = (lon - self.west) / self.d_lon
        i = np.clip(fi.astype(np.int64), 0, self.steps - 1)
        j = np.clip(fj.astype(np.int64), 0, self.steps - 1)
        fi -= i
        fj -= j
        # One gather of the 8 bilinear coefficients of each point's lattice cell, then a few
        # multiply-adds: about a tenth of the cost of eight separate 2-D lookups.
        c = self.coefficients[i * self.steps + j]
        x = c[:, 0] + fj * c[:, 1] + fi * (c[:, 2] + fj * c[:, 3])
        y = c[:, 4] + fj * c[:, 5] + fi * (c[:, 6] + fj * c[:, 7])
        return x, y


def projection_lattice(
    west: float,
    south: float,
    east: float,
    north: float,
    forward: Transformer,
    nodes: int = 9,
    max_degrees: float = 1.0,
) -> ProjectionLattice | None:
    """Project a ``nodes`` x ``nodes`` lattice over a geographic box and measure its error.

    Parameters
    ----------
    west, south, east, north : float
        The box, in degrees.
    forward : pyproj.Transformer
        The exact projection (x = longitude first).
    nodes : int
        Lattice nodes per axis.
    max_degrees : float
        Larger boxes are not interpolated.

    Returns
    -------
    ProjectionLattice or None
        None when the box is not finite, wider than ``max_degrees`` or projects to non-finite
        coordinates.
    """
    if not np.isfinite([west, east, south, north]).all():
        return None
    if max(east - west, north - south) > max_degrees:
        return None
    steps = nodes - 1
    d_lon = max((east - west) / steps, 1e-9)
    d_lat = max((north - south) / steps, 1e-9)
    node_lon = west + d_lon * np.arange(nodes + 1)  # one spare row and column for the checks
    node_lat = south + d_lat * np.arange(nodes + 1)
    # One call projects the nodes, the cell centres and the edge midpoints (error checks).
    half_lon, half_lat = node_lon + d_lon / 2, node_lat + d_lat / 2
    grids = [
        np.meshgrid(node_lon, node_lat),
        np.meshgrid(half_lon, half_lat),
        np.meshgrid(half_lon, node_lat),
        np.meshgrid(node_lon, half_lat),
    ]
    px, py = forward.transform(
        np.concatenate([g[0].ravel() for g in grids]), np.concatenate([g[1].ravel() for g in grids])
    )
    shape = (nodes + 1, nodes + 1)
    nodes_x, centre_x, mid_lon_x, mid_lat_x = np.asarray(px).reshape(4, *shape)
    nodes_y, centre_y, mid_lon_y, mid_lat_y = np.asarray(py).reshape(4, *shape)
    error = _interpolation_error(
        nodes_x, nodes_y, centre_x, centre_y, mid_lon_x, mid_lon_y, mid_lat_x, mid_lat_y
    )
    if not np.isfinite(error):
        return None
    coefficients = _bilinear_coefficients(nodes_x[:nodes, :nodes], nodes_y[:nodes, :nodes])
    coefficients.flags.writeable = False
    return ProjectionLattice(
        float(west),
        float(south),
        float(east),
        float(north),
        d_lon,
        d_lat,
        steps,
        coefficients,
        error,
    )


def interpolated_projection(
    lon: np.ndarray,
    lat: np.ndarray,
    forward: Transformer,
    nodes: int = 9,
    max_degrees: float = 1.0,
):
    """Bilinear interpolation of ``forward`` from a lattice over the points' bounding box.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Geographic coordinates (degrees) of the points.
    forward : pyproj.Transformer
        The exact projection (x = longitude first).
    nodes, max_degrees
        As for :func:`projection_lattice`.

    Returns
    -------
    tuple or None
        ``(x, y, error)``: interpolated coordinates and the largest interpolation error found,
        in metres; None when the points are not finite or spread too widely.
    """
    lattice = projection_lattice(
        lon.min(), lat.min(), lon.max(), lat.max(), forward, nodes, max_degrees
    )
    if lattice is None:
        return None
    x, y = lattice.project(lon, lat)
    return x, y, lattice.error


def _bilinear_coefficients(nodes_x: np.ndarray, nodes_y: np.ndarray) -> np.ndarray:
    """``(cells, 8)``: ``a, b, c, d`` of ``a + b fj + fi (c + d fj)`` for x, then for y."""
    columns = []
    for v in (nodes_x, nodes_y):
        v00, v01, v10, v11 = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]
        columns += [v00, v01 - v00, v10 - v00, v11 - v10 - v01 + v00]
    return np.stack([column.ravel() for column in columns], axis=1)


def _interpolation_error(
    nodes_x, nodes_y, centre_x, centre_y, mid_lon_x, mid_lon_y, mid_lat_x, mid_lat_y
) -> float:
    # Bilinear values at a cell centre / edge midpoint are means of 4 / 2 nodes.  For a smooth
    # map the error of each cell is nearly quadratic, and a quadratic's bilinear error peaks at
    # one of these points, so their largest deviation bounds the error over the lattice.
    def corners(a):
        return (a[:-1, :-1] + a[:-1, 1:] + a[1:, :-1] + a[1:, 1:]) / 4

    errors = [
        np.hypot(corners(nodes_x) - centre_x[:-1, :-1], corners(nodes_y) - centre_y[:-1, :-1]),
        np.hypot(
            (nodes_x[:, :-1] + nodes_x[:, 1:]) / 2 - mid_lon_x[:, :-1],
            (nodes_y[:, :-1] + nodes_y[:, 1:]) / 2 - mid_lon_y[:, :-1],
        ),
        np.hypot(
            (nodes_x[:-1, :] + nodes_x[1:, :]) / 2 - mid_lat_x[:-1, :],
            (nodes_y[:-1, :] + nodes_y[1:, :]) / 2 - mid_lat_y[:-1, :],
        ),
    ]
    return float(max(e.max() for e in errors))
