"""Hexagonal grids with stable cell ids, and vectorised assignment of points to hexagons.

Hexagons are addressed by *axial coordinates* ``(q, r)`` anchored at the origin of the metric CRS
(see https://www.redblobgames.com/grids/hexagons/).  Because the anchor never moves, the same
point always falls in the same cell for a given CRS, cell size and orientation, whatever area is
analysed: cell ids can be stored and compared across analyses.

``cell_size_m`` is the **side length** of the hexagon, which is also the distance from its centre
to each corner.  Neighbouring centres are ``sqrt(3) * cell_size_m`` apart and a cell covers
``3 * sqrt(3) / 2 * cell_size_m**2`` square metres (about 2.6 × size²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from geo.analysis.projection import interpolated_projection

Orientation = Literal["pointy", "flat"]
WGS84 = "EPSG:4326"
SQRT3 = math.sqrt(3.0)

#: Bounds of the rounded default cell size, in metres.
MIN_DEFAULT_CELL_M = 50.0
MAX_DEFAULT_CELL_M = 2000.0
#: Incidents per cell the default size aims for, and the range of cell counts it allows.
TARGET_POINTS_PER_CELL = 3.0
MIN_DEFAULT_CELLS = 50
MAX_DEFAULT_CELLS = 5000

#: Axial offsets of the six neighbours of a hexagon (same for both orientations).
AXIAL_NEIGHBOUR_OFFSETS = np.array([(1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1)])


@lru_cache(maxsize=64)
def _cached_transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def transformer(source: str | CRS, target: str | CRS) -> Transformer:
    """A ``pyproj.Transformer`` from ``source`` to ``target`` (x = easting/longitude first).

    Built once per pair of CRSs and then reused: building one costs 1–80 ms (EPSG:3844 is the
    slow case), more than the whole Gi* statistic on a few thousand cells.

    Parameters
    ----------
    source, target : str or pyproj.CRS
        Any CRS pyproj understands.

    Returns
    -------
    pyproj.Transformer
    """
    return _cached_transformer(_crs_key(source), _crs_key(target))


@lru_cache(maxsize=64)
def _crs_key_of_text(crs: str) -> str:
    return CRS.from_user_input(crs).to_wkt()


@lru_cache(maxsize=1)
def _wgs84_crs() -> CRS:
    # Parsed once: geopandas would parse "EPSG:4326" again for every frame (about 0.1 ms).
    return CRS.from_user_input(WGS84)


def _crs_key(crs: str | CRS) -> str:
    # Normalised so that "EPSG:32634", "epsg:32634" and CRS objects share one transformer.
    if isinstance(crs, CRS):
        # ``srs`` is the text the CRS was made from: a cached key instead of a fresh WKT
        # export (0.1-0.3 ms) on every call.
        return _crs_key_of_text(crs.srs) if crs.srs else crs.to_wkt()
    return _crs_key_of_text(str(crs))


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


def area_in_crs(area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry, crs: str | CRS):
    """Union of an area (GeoDataFrame, GeoSeries or shapely geometry in EPSG:4326) in ``crs``."""
    if isinstance(area, BaseGeometry):
        area = gpd.GeoSeries([area], crs=WGS84)
    source = area.crs or WGS84
    geometries = area.geometry.values if isinstance(area, gpd.GeoDataFrame) else area.values
    projected = reproject_geometries(np.asarray(geometries), source, crs)
    return shapely.union_all(projected)


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


def hex_grid(
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry,
    cell_size_m: float,
    crs: str | CRS,
    orientation: Orientation = "pointy",
) -> gpd.GeoDataFrame:
    """Hexagons covering an area: every whole cell that intersects it.

    Parameters
    ----------
    area : GeoDataFrame, GeoSeries or shapely geometry
        Study area in EPSG:4326 (a bare geometry is taken as EPSG:4326).
    cell_size_m : float
        Side length of a hexagon in metres (see module docstring).
    crs : str or pyproj.CRS
        Metric CRS in which the hexagons are regular, e.g. ``"EPSG:32634"``.
    orientation : {"pointy", "flat"}
        Pointy-top (rows of cells) or flat-top (columns of cells).

    Returns
    -------
    GeoDataFrame
        Columns ``cell_id`` (stable text id), ``q``, ``r`` (axial coordinates), ``area_share``
        (share of the cell's area inside the area: 1 inside, less on the boundary) and
        ``geometry`` in EPSG:4326, sorted by ``r`` then ``q``.  Empty for an empty area.
    """
    if cell_size_m <= 0:
        raise ValueError("cell_size_m must be positive")
    cells = hex_cells(area_in_crs(area, crs), cell_size_m, orientation)
    return cells.frame(crs)


@dataclass(frozen=True)
class HexCells:
    """The hexagons of :func:`hex_grid` as arrays in the metric CRS (no GeoDataFrame).

    Attributes
    ----------
    q, r : numpy.ndarray of int64
        Axial coordinates, sorted by ``r`` then ``q``.
    polygons : numpy.ndarray of shapely Polygon
        The hexagons in metres.
    area_share : numpy.ndarray
        Share of each cell inside the area.
    cell_size_m : float
    orientation : {"pointy", "flat"}
    """

    q: np.ndarray
    r: np.ndarray
    polygons: np.ndarray
    area_share: np.ndarray
    cell_size_m: float
    orientation: Orientation
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.q)

    def lookup(self) -> AxialLookup:
        """An :class:`AxialLookup` from ``(q, r)`` to the row of these cells."""
        return AxialLookup(self.q, self.r)

    def columns(self) -> dict[str, np.ndarray]:
        """``cell_id``, ``q``, ``r`` and ``area_share``, the leading columns of a grid."""
        if "cell_id" not in self._memo:
            ids = cell_ids(self.q, self.r, self.cell_size_m, self.orientation)
            self._memo["cell_id"] = pd.array(ids, dtype="str") if len(ids) else ids
        return {
            "cell_id": self._memo["cell_id"],
            "q": self.q,
            "r": self.r,
            "area_share": self.area_share,
        }

    def geometry_wgs84(self, crs: str | CRS) -> np.ndarray:
        """The hexagons reprojected from ``crs`` to EPSG:4326.

        Each corner is projected once although three cells share it (a third of the work).
        """
        key_crs = ("geometry", _crs_key(crs))
        if key_crs not in self._memo:
            self._memo[key_crs] = self._project_corners(crs)
        return self._memo[key_crs]

    def _project_corners(self, crs: str | CRS) -> np.ndarray:
        corner_x, corner_y, key = hex_corners(self.q, self.r, self.cell_size_m, self.orientation)
        unique, first, inverse = np.unique(key.ravel(), return_index=True, return_inverse=True)
        lon, lat = transformer(crs, WGS84).transform(
            corner_x.ravel()[first], corner_y.ravel()[first]
        )
        ring = np.stack([np.asarray(lon)[inverse], np.asarray(lat)[inverse]], axis=-1)
        polygons = shapely.polygons(ring.reshape(len(self), 7, 2))
        polygons.flags.writeable = False  # shared by every frame of this grid
        return polygons

    def frame(self, crs: str | CRS, **extra: np.ndarray) -> gpd.GeoDataFrame:
        """The grid as a GeoDataFrame in EPSG:4326, ``extra`` columns after the geometry.

        Built in one constructor call: adding columns one by one to a GeoDataFrame costs about
        a millisecond each, more than the whole statistic on a few hundred cells.
        """
        if len(self) == 0 and not extra:
            return _empty_grid()
        columns: dict[str, Any] = self.columns()
        wgs84 = _wgs84_crs()
        columns["geometry"] = gpd.array.from_shapely(self.geometry_wgs84(crs), crs=wgs84)
        columns.update(extra)
        return gpd.GeoDataFrame(columns, geometry="geometry", crs=wgs84)


#: Grids kept by :func:`hex_cells` (areas x cell sizes x orientations), most recent first.
GRID_CACHE_SIZE = 32


def hex_cells(
    region: BaseGeometry, cell_size_m: float, orientation: Orientation = "pointy"
) -> HexCells:
    """Every hexagon that intersects a metric ``region``, with its area share (cached).

    Candidates are the cells whose centres lie within one side length of the region's bounding
    box (an axial parallelogram, trimmed); one vectorised ``intersects`` against the prepared
    region keeps those that touch it.  A community's grid is the same at every run (the app
    reruns the same boundary and published cell size), and building it — area shares, cell
    ids, WGS84 polygons — is most of a hotspot analysis' cost below 10,000 incidents, so the
    last :data:`GRID_CACHE_SIZE` grids are kept, keyed by the region's exact WKB.  The arrays
    are read-only; :func:`clear_grid_cache` empties the cache.

    Parameters
    ----------
    region : shapely geometry
        The area in the metric CRS (e.g. from :func:`area_in_crs`).
    cell_size_m : float
        Side length in metres.
    orientation : {"pointy", "flat"}

    Returns
    -------
    HexCells
    """
    return _cached_hex_cells(shapely.to_wkb(region), float(cell_size_m), orientation)


def clear_grid_cache() -> None:
    """Forget the grids kept by :func:`hex_cells` (for benchmarks of a first run)."""
    _cached_hex_cells.cache_clear()


@lru_cache(maxsize=GRID_CACHE_SIZE)
def _cached_hex_cells(region_wkb: bytes, cell_size_m: float, orientation: Orientation):
    cells = _build_hex_cells(shapely.from_wkb(region_wkb), cell_size_m, orientation)
    for array in (cells.q, cells.r, cells.polygons, cells.area_share):
        array.flags.writeable = False
    return cells


def _build_hex_cells(region: BaseGeometry, cell_size_m: float, orientation: Orientation):
    if region.is_empty:
        empty = np.empty(0, np.int64)
        return HexCells(empty, empty, np.empty(0, object), np.empty(0), cell_size_m, orientation)
    xmin, ymin, xmax, ymax = region.bounds
    # The axial parallelogram spanned by the bounding box's corners covers it; pad by one cell
    # so partially covered edge cells are candidates too.
    corner_q, corner_r = xy_to_axial(
        np.array([xmin, xmin, xmax, xmax]),
        np.array([ymin, ymax, ymin, ymax]),
        cell_size_m,
        orientation,
    )
    qs = np.arange(corner_q.min() - 1, corner_q.max() + 2)
    rs = np.arange(corner_r.min() - 1, corner_r.max() + 2)
    # meshgrid rows run over r: the cells come out sorted by r then q without a sort.
    q, r = (a.ravel() for a in np.meshgrid(qs, rs))
    cx, cy = axial_to_xy(q, r, cell_size_m, orientation)
    near_box = (
        (cx >= xmin - cell_size_m)
        & (cx <= xmax + cell_size_m)
        & (cy >= ymin - cell_size_m)
        & (cy <= ymax + cell_size_m)
    )
    q, r = q[near_box], r[near_box]
    polygons = hex_polygons(q, r, cell_size_m, orientation)
    shapely.prepare(region)
    keep = shapely.intersects(region, polygons)
    q, r, polygons = q[keep], r[keep], polygons[keep]
    shares = area_shares(region, polygons, cell_size_m)
    return HexCells(q, r, polygons, shares, cell_size_m, orientation)


def area_shares(region: BaseGeometry, polygons: np.ndarray, cell_size_m: float) -> np.ndarray:
    """Share of each hexagon's area that lies inside ``region`` (both in the metric CRS).

    Only cells crossing the boundary are intersected; cells wholly inside get exactly 1.

    Parameters
    ----------
    region : shapely geometry
        The area, in metres.
    polygons : array of shapely Polygon
        Hexagons of side ``cell_size_m`` in the same CRS.
    cell_size_m : float
        Side length, to know a whole cell's area.

    Returns
    -------
    numpy.ndarray
        Values in ``[0, 1]``, one per polygon.
    """
    shapely.prepare(region)
    shares = np.ones(len(polygons))
    crossing = ~shapely.contains_properly(region, polygons)
    if crossing.any():
        inside = shapely.area(shapely.intersection(polygons[crossing], region))
        shares[crossing] = np.clip(inside / hex_area_m2(cell_size_m), 0.0, 1.0)
    return shares


def _empty_grid() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "cell_id": np.empty(0, dtype=object),
            "q": np.empty(0, np.int64),
            "r": np.empty(0, np.int64),
            "area_share": np.empty(0),
        },
        geometry=gpd.GeoSeries([], crs=WGS84).values,
        crs=WGS84,
    )


def assign_points_to_hex(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    cell_size_m: float,
    crs: str | CRS,
    orientation: Orientation = "pointy",
) -> pd.DataFrame:
    """Hexagon of every point, by axial-coordinate arithmetic (no spatial join).

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Points in EPSG:4326.
    cell_size_m, crs, orientation
        As for :func:`hex_grid`; use the same values to match its ``cell_id``.

    Returns
    -------
    DataFrame
        Indexed like ``points``, columns ``cell_id``, ``q``, ``r``.  A point exactly on a shared
        edge goes to one of the two cells, consistently.
    """
    x, y = projected_xy(points, crs)
    q, r = xy_to_axial(x, y, cell_size_m, orientation)
    return pd.DataFrame(
        {"cell_id": cell_ids(q, r, cell_size_m, orientation), "q": q, "r": r},
        index=points.index,
    )


def count_points_per_cell(
    cells: gpd.GeoDataFrame | HexCells,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    cell_size_m: float,
    crs: str | CRS,
    orientation: Orientation = "pointy",
) -> tuple[np.ndarray, int]:
    """Number of points in each cell of ``cells`` (a :func:`hex_grid` or :func:`hex_cells` result).

    Returns
    -------
    counts : numpy.ndarray of int64
        Aligned with the rows of ``cells``.
    n_outside : int
        Points that fell in no cell of the grid (outside the area).
    """
    if len(points) == 0:
        return np.zeros(len(cells), dtype=np.int64), 0
    q, r = points_to_axial(points, cell_size_m, crs, orientation)
    grid_q = cells.q if isinstance(cells, HexCells) else cells["q"].to_numpy()
    grid_r = cells.r if isinstance(cells, HexCells) else cells["r"].to_numpy()
    index = AxialLookup(grid_q, grid_r).rows(q, r)
    inside = index >= 0
    counts = np.bincount(index[inside], minlength=len(cells)).astype(np.int64)
    return counts, int((~inside).sum())


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
    interpolated = None
    if len(lon) >= INTERPOLATE_MIN_POINTS and _is_geographic(_crs_key(source)):
        interpolated = interpolated_projection(
            lon, lat, forward, INTERPOLATION_NODES, INTERPOLATION_MAX_DEGREES
        )
    if interpolated is None:
        x, y = forward.transform(lon, lat)
        return xy_to_axial(x, y, cell_size_m, orientation)
    x, y, error = interpolated
    q, r = xy_to_axial(x, y, cell_size_m, orientation)
    near = distance_to_cell_edge(x, y, q, r, cell_size_m, orientation) <= 2.0 * error + 1e-6
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


def default_hex_size(
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry,
    n_points: int,
    crs: str | CRS,
) -> float:
    """A reasonable hexagon side length for an area and a number of incidents.

    Rule: aim for about ``TARGET_POINTS_PER_CELL`` (3) incidents per cell on average, with the
    number of cells kept within ``[MIN_DEFAULT_CELLS, MAX_DEFAULT_CELLS]`` (50 – 5000) so that a
    handful of incidents still gets a readable map and a large history does not explode.  The side
    length follows from the area, is rounded to a round number (10 m below 1 km, 50 m above) and is
    kept within 50 m – 2 km.  For Pata Rât (its boundary measures 1.686 km²) this gives 110 m
    cells up to 150 incidents, 60 m for 500 incidents and the 50 m floor from about 700 incidents
    on (then cells hold more than 3 incidents each; about 19 at 5,000).  In the tests' 41 km² box
    (23.60–23.72 E, 46.76–46.80 N) it gives 560 m, 310 m and 100 m.

    Gi* p-values do not depend on this rule being met: :mod:`geo.analysis.hotspots` switches to an
    exact test when cells hold few incidents.

    Parameters
    ----------
    area : GeoDataFrame, GeoSeries or shapely geometry
        Study area in EPSG:4326.
    n_points : int
        Number of incidents to be mapped.
    crs : str or pyproj.CRS
        Metric CRS used to measure the area.

    Returns
    -------
    float
        Side length in metres.
    """
    return default_hex_size_for_area(area_in_crs(area, crs).area, n_points)


def default_hex_size_for_area(area_m2: float, n_points: int) -> float:
    """:func:`default_hex_size` for an area already measured in square metres."""
    n_cells = float(
        np.clip(n_points / TARGET_POINTS_PER_CELL, MIN_DEFAULT_CELLS, MAX_DEFAULT_CELLS)
    )
    side = math.sqrt(area_m2 / n_cells / (1.5 * SQRT3))
    step = 10.0 if side < 1000 else 50.0
    side = round(side / step) * step
    return float(np.clip(side, MIN_DEFAULT_CELL_M, MAX_DEFAULT_CELL_M))
