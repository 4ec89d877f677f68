"""Hexagon arithmetic: axial coordinates, corners, lookups and projection of points to cells.

The low layer of :mod:`geo.hexgrid.grid` (which re-exports every public name here): no
GeoDataFrame is built in this module, only arrays.  Hexagons are addressed by axial coordinates
``(q, r)`` anchored at the origin of the metric CRS; ``cell_size_m`` is the side length.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo.crs import key as _crs_key
from geo.crs import transformer
from geo.hexgrid.projection import ProjectionLattice, projection_lattice

Orientation = Literal["pointy", "flat"]
WGS84 = "EPSG:4326"
SQRT3 = math.sqrt(3.0)


@lru_cache(maxsize=1)
def _wgs84_crs() -> CRS:
    # Parsed once: geopandas would parse "EPSG:4326" again for every frame (about 0.1 ms).
    return CRS.from_user_input(WGS84)


def reproject_geometries(geometries: np.ndarray, source: str | CRS, target: str | CRS):
    """Shapely geometries from ``source`` to ``target`` with a cached :func:`transformer`."""
    forward = transformer(source, target)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geometries), project)


def hex_area_m2(cell_size_m: float) -> float:
    """Area of one hexagon of side ``cell_size_m``, in square metres."""
    return 1.5 * SQRT3 * cell_size_m**2


def projected_xy(
    points: gpd.GeoDataFrame | gpd.GeoSeries, crs: str | CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of point geometries in a metric CRS, as two float arrays.

    Projects raw coordinate arrays with pyproj rather than calling ``to_crs``: building a million
    shapely points just to read their coordinates back costs more than the whole analysis.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Point geometries (any CRS; EPSG:4326 assumed if unset).
    crs : str or pyproj.CRS
        Target metric CRS.

    Returns
    -------
    x, y : numpy.ndarray
        Easting and northing in metres, one value per row.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    coords = shapely.get_coordinates(geoms.values)
    if len(coords) != len(geoms):
        raise ValueError("projected_xy expects exactly one point per row (no empty or multi parts)")
    source = geoms.crs or WGS84
    x, y = transformer(source, crs).transform(coords[:, 0], coords[:, 1])
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def axial_to_xy(
    q: np.ndarray, r: np.ndarray, cell_size_m: float, orientation: Orientation = "pointy"
) -> tuple[np.ndarray, np.ndarray]:
    """Centres of hexagons ``(q, r)`` in metric coordinates."""
    q = np.asarray(q, dtype=float)
    r = np.asarray(r, dtype=float)
    if orientation == "pointy":
        return cell_size_m * SQRT3 * (q + r / 2.0), cell_size_m * 1.5 * r
    if orientation == "flat":
        return cell_size_m * 1.5 * q, cell_size_m * SQRT3 * (r + q / 2.0)
    raise ValueError(f"orientation must be 'pointy' or 'flat', not {orientation!r}")


def xy_to_axial(
    x: np.ndarray, y: np.ndarray, cell_size_m: float, orientation: Orientation = "pointy"
) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates of the hexagon containing each metric point (vectorised).

    Inverts :func:`axial_to_xy` to fractional axial coordinates, then rounds in cube coordinates
    (``q + r + s = 0``), which picks the hexagon whose centre is nearest — i.e. the one that
    contains the point.

    Returns
    -------
    q, r : numpy.ndarray of int64
    """
    x = np.asarray(x, dtype=float) / cell_size_m
    y = np.asarray(y, dtype=float) / cell_size_m
    if orientation == "pointy":
        qf = SQRT3 / 3.0 * x - y / 3.0
        rf = 2.0 / 3.0 * y
    elif orientation == "flat":
        qf = 2.0 / 3.0 * x
        rf = -x / 3.0 + SQRT3 / 3.0 * y
    else:
        raise ValueError(f"orientation must be 'pointy' or 'flat', not {orientation!r}")
    return _cube_round(qf, rf)


def _cube_round(qf: np.ndarray, rf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    # Rounding each coordinate independently can break q + r + s = 0; recompute the one that
    # moved furthest from the other two.
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def cell_ids(
    q: np.ndarray, r: np.ndarray, cell_size_m: float, orientation: Orientation = "pointy"
) -> np.ndarray:
    """Stable text ids such as ``"p250m_12_-3"`` (orientation, size, q, r)."""
    prefix = f"{orientation[0]}{cell_size_m:g}m_"
    q_text = np.asarray(q).astype(np.int64).astype(str)
    r_text = np.asarray(r).astype(np.int64).astype(str)
    return np.char.add(np.char.add(np.char.add(prefix, q_text), "_"), r_text).astype(object)


def hex_polygons(
    q: np.ndarray, r: np.ndarray, cell_size_m: float, orientation: Orientation = "pointy"
) -> np.ndarray:
    """Shapely polygons of hexagons ``(q, r)`` in metric coordinates (vectorised).

    Corners are computed from an integer lattice, so a corner shared by three cells has the
    same floating-point coordinates in all three: vertex-based contiguity (e.g.
    ``libpysal.graph.Graph.build_contiguity``) finds every neighbour, and a corner is projected
    once for all its cells (:meth:`HexCells.geometry_wgs84`).
    """
    corner_x, corner_y, _ = hex_corners(q, r, cell_size_m, orientation)
    return shapely.polygons(np.stack([corner_x, corner_y], axis=-1))


#: Corners of a hexagon (the first repeated to close the ring) as offsets on the corner
#: lattice: pointy-top corners at 30°, 90°, …, flat-top corners at 0°, 60°, …
_CORNER_OFFSETS = {
    "pointy": (np.array([1, 0, -1, -1, 0, 1, 1]), np.array([1, 2, 1, -1, -2, -1, 1])),
    "flat": (np.array([2, 1, -1, -2, -1, 1, 2]), np.array([0, 1, 1, 0, -1, -1, 0])),
}


def hex_corners(
    q: np.ndarray, r: np.ndarray, cell_size_m: float, orientation: Orientation = "pointy"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corner coordinates of hexagons ``(q, r)``: ``x``, ``y`` and integer ``key``, each (n, 7).

    Corners sit on a lattice with steps ``sqrt(3)/2 * size`` and ``size/2`` (swapped for flat
    tops); ``x`` and ``y`` are an integer times a step, so equal lattice points give equal
    floats, and ``key`` packs the lattice point into one int64 to find shared corners.
    """
    q = np.asarray(q, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    if orientation not in _CORNER_OFFSETS:
        raise ValueError(f"orientation must be 'pointy' or 'flat', not {orientation!r}")
    offset_x, offset_y = _CORNER_OFFSETS[orientation]
    if orientation == "pointy":
        lattice_x = (2 * q + r)[:, None] + offset_x
        lattice_y = (3 * r)[:, None] + offset_y
        step_x, step_y = SQRT3 / 2.0 * cell_size_m, cell_size_m / 2.0
    else:
        lattice_x = (3 * q)[:, None] + offset_x
        lattice_y = (2 * r + q)[:, None] + offset_y
        step_x, step_y = cell_size_m / 2.0, SQRT3 / 2.0 * cell_size_m
    key = _axial_keys(lattice_x, lattice_y)
    return lattice_x * step_x, lattice_y * step_y, key


#: From this many points :func:`points_to_axial` projects by interpolation (below, the exact
#: projection of every point costs less than setting the interpolation up).
INTERPOLATE_MIN_POINTS = 4_000
#: Nodes per axis of the exactly projected lattice that :func:`points_to_axial` interpolates.
INTERPOLATION_NODES = 9
#: Largest extent, in degrees, over which the interpolation is tried.
INTERPOLATION_MAX_DEGREES = 1.0


def points_to_axial(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    cell_size_m: float,
    crs: str | CRS,
    orientation: Orientation = "pointy",
) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates of the hexagon of every point: the same cells as projecting each one.

    pyproj costs 0.2–0.5 µs a point (Stereo70's datum shift is the slow case), the largest cost
    of a hotspot analysis at 100,000 incidents.  From :data:`INTERPOLATE_MIN_POINTS` points in
    geographic coordinates, a small lattice of nodes is projected exactly and the points are
    placed by bilinear interpolation between them; the interpolation error is measured at the
    lattice's cell centres and edge midpoints (where it peaks for a smooth map), and every point
    closer to the edge of its hexagon than twice that error (plus 1 µm) is projected exactly.
    Only those points could change cell, so the cells are those of the exact projection.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        One point per row (EPSG:4326 assumed when the CRS is unset).
    cell_size_m, crs, orientation
        As for :func:`hex_grid`.

    Returns
    -------
    q, r : numpy.ndarray of int64
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    coords = shapely.get_coordinates(geoms.values)
    if len(coords) != len(geoms):
        raise ValueError(
            "points_to_axial expects exactly one point per row (no empty or multi parts)"
        )
    source = geoms.crs or WGS84
    forward = transformer(source, crs)
    lon, lat = coords[:, 0], coords[:, 1]
    lattice = None
    if len(lon) >= INTERPOLATE_MIN_POINTS and _is_geographic(_crs_key(source)):
        lattice = projection_lattice(
            lon.min(),
            lat.min(),
            lon.max(),
            lat.max(),
            forward,
            INTERPOLATION_NODES,
            INTERPOLATION_MAX_DEGREES,
        )
    if lattice is None:
        x, y = forward.transform(lon, lat)
        return xy_to_axial(x, y, cell_size_m, orientation)
    return _axial_by_lattice(lon, lat, lattice, forward, cell_size_m, orientation)


def _axial_by_lattice(
    lon: np.ndarray,
    lat: np.ndarray,
    lattice: ProjectionLattice,
    forward: Transformer,
    cell_size_m: float,
    orientation: Orientation,
) -> tuple[np.ndarray, np.ndarray]:
    # Interpolated cells, then the exact projection for every point near enough to an edge
    # that the interpolation error could have moved it across.
    x, y = lattice.project(lon, lat)
    q, r = xy_to_axial(x, y, cell_size_m, orientation)
    margin = 2.0 * lattice.error + 1e-6
    near = distance_to_cell_edge(x, y, q, r, cell_size_m, orientation) <= margin
    if near.any():
        exact_x, exact_y = forward.transform(lon[near], lat[near])
        q[near], r[near] = xy_to_axial(exact_x, exact_y, cell_size_m, orientation)
    return q, r


@lru_cache(maxsize=64)
def _is_geographic(crs_wkt: str) -> bool:
    return CRS.from_wkt(crs_wkt).is_geographic


def distance_to_cell_edge(
    x: np.ndarray,
    y: np.ndarray,
    q: np.ndarray,
    r: np.ndarray,
    cell_size_m: float,
    orientation: Orientation = "pointy",
) -> np.ndarray:
    """Distance in metres from each point to the nearest edge of hexagon ``(q, r)`` (>= 0 inside).

    The hexagon is the intersection of three slabs, one per pair of opposite sides, each
    ``sqrt(3) * cell_size_m`` wide; the distance is the apothem minus the largest offset from
    the centre across any of them.
    """
    cx, cy = axial_to_xy(q, r, cell_size_m, orientation)
    dx, dy = np.asarray(x) - cx, np.asarray(y) - cy
    start = 0.0 if orientation == "pointy" else 30.0  # side normals of the hexagon
    offset = np.zeros(len(dx))
    for angle in np.radians(start + np.array([0.0, 60.0, 120.0])):
        offset = np.fmax(offset, np.abs(dx * math.cos(angle) + dy * math.sin(angle)))
    return SQRT3 / 2.0 * cell_size_m - offset


def axial_index(grid_q: np.ndarray, grid_r: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Row of each ``(q, r)`` in a grid given by ``grid_q, grid_r``, or -1 when absent.

    A dense table over the grid's axial bounding box when it is compact (any grid from
    :func:`hex_grid` is), otherwise a sorted-key lookup; no Python loop either way.
    """
    return AxialLookup(grid_q, grid_r).rows(q, r)


class AxialLookup:
    """Row of a cell from its axial coordinates, built once and queried many times.

    A grid of hexagons covering an area fills most of its axial bounding parallelogram, so a
    dense table indexed by ``(r - r_min, q - q_min)`` answers each query with one array lookup
    (O(1) per point, no sort).  Sparse or scattered cell sets fall back to ``searchsorted`` on
    packed keys (O(log m)).

    Parameters
    ----------
    grid_q, grid_r : array of int
        Axial coordinates of the cells; the row of cell ``i`` is ``i``.
    """

    #: Largest dense table, as a multiple of the number of cells (plus a constant).
    MAX_DENSE_RATIO = 8

    def __init__(self, grid_q: np.ndarray, grid_r: np.ndarray) -> None:
        grid_q = np.asarray(grid_q, dtype=np.int64)
        grid_r = np.asarray(grid_r, dtype=np.int64)
        self.size = len(grid_q)
        self.table: np.ndarray | None = None
        self.keys: np.ndarray | None = None
        if self.size == 0:
            return
        self.q_min, self.r_min = int(grid_q.min()), int(grid_r.min())
        width = int(grid_q.max()) - self.q_min + 1
        height = int(grid_r.max()) - self.r_min + 1
        if width * height <= self.MAX_DENSE_RATIO * self.size + 4096:
            self.table = np.full((height, width), -1, dtype=np.int64)
            self.table[grid_r - self.r_min, grid_q - self.q_min] = np.arange(self.size)
        else:
            keys = _axial_keys(grid_q, grid_r)
            self.order = np.argsort(keys, kind="stable")
            self.keys = keys[self.order]

    def rows(self, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Row of each ``(q, r)``, or -1 for cells not in the grid.

        Parameters
        ----------
        q, r : array of int
            Axial coordinates to look up (same length).

        Returns
        -------
        numpy.ndarray of int64
        """
        q = np.asarray(q, dtype=np.int64)
        r = np.asarray(r, dtype=np.int64)
        if self.size == 0 or len(q) == 0:
            return np.full(len(q), -1, dtype=np.int64)
        if self.table is not None:
            height, width = self.table.shape
            dq, dr = q - self.q_min, r - self.r_min
            inside = (dq >= 0) & (dq < width) & (dr >= 0) & (dr < height)
            if inside.all():
                return self.table[dr, dq]
            rows = np.full(len(q), -1, dtype=np.int64)
            rows[inside] = self.table[dr[inside], dq[inside]]
            return rows
        keys = _axial_keys(q, r)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = self.keys[pos] == keys
        rows = np.full(len(keys), -1, dtype=np.int64)
        rows[found] = self.order[pos[found]]
        return rows


def _axial_keys(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    # Packs (q, r) into one int64; axial values stay far below 2**31 for any real-world grid.
    return (q.astype(np.int64) << 32) + (r.astype(np.int64) & 0xFFFFFFFF)
