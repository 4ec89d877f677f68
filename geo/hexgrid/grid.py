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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geo.crs import key as _crs_key
from geo.crs import transformer

# The arithmetic layer; its public names are part of this module's API too.
from geo.hexgrid.hexmath import (  # noqa: F401 -- re-exported
    INTERPOLATE_MIN_POINTS,
    INTERPOLATION_MAX_DEGREES,
    INTERPOLATION_NODES,
    SQRT3,
    WGS84,
    AxialLookup,
    Orientation,
    _axial_by_lattice,
    _is_geographic,
    _wgs84_crs,
    axial_index,
    axial_to_xy,
    cell_ids,
    distance_to_cell_edge,
    hex_area_m2,
    hex_corners,
    hex_polygons,
    points_to_axial,
    projected_xy,
    reproject_geometries,
    xy_to_axial,
)
from geo.hexgrid.projection import ProjectionLattice, projection_lattice

#: Bounds of the rounded default cell size, in metres.
MIN_DEFAULT_CELL_M = 50.0
MAX_DEFAULT_CELL_M = 2000.0
#: Incidents per cell the default size aims for, and the range of cell counts it allows.
TARGET_POINTS_PER_CELL = 3.0
MIN_DEFAULT_CELLS = 50
MAX_DEFAULT_CELLS = 5000

#: Axial offsets of the six neighbours of a hexagon (same for both orientations).
AXIAL_NEIGHBOUR_OFFSETS = np.array([(1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1)])


def area_in_crs(area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry, crs: str | CRS):
    """Union of an area (GeoDataFrame, GeoSeries or shapely geometry in EPSG:4326) in ``crs``.

    Cached on the exact WKB of the geometries and the two CRSs (the same community boundary is
    projected at every analysis); the result is a shared, immutable shapely geometry.
    """
    if isinstance(area, BaseGeometry):
        geometries, source = np.array([area], dtype=object), WGS84
    else:
        source = area.crs or WGS84
        geometries = area.geometry.values if isinstance(area, gpd.GeoDataFrame) else area.values
        geometries = np.asarray(geometries)
    key = tuple(shapely.to_wkb(geometries))
    return _cached_area_in_crs(key, _crs_key(source), _crs_key(crs))


@lru_cache(maxsize=64)
def _cached_area_in_crs(wkb: tuple[bytes, ...], source_key: str, target_key: str):
    geometries = shapely.from_wkb(np.array(wkb, dtype=object))
    return shapely.union_all(reproject_geometries(geometries, source_key, target_key))


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

    def rows_of_points(
        self, points: gpd.GeoDataFrame | gpd.GeoSeries, crs: str | CRS
    ) -> np.ndarray:
        """Row of the cell holding each point (in ``crs``, the CRS of these cells), or -1.

        Same cells as :func:`points_to_axial`, through a :class:`ProjectionLattice` built once
        per grid over the box around the cells: points outside that box are in no cell and are
        not projected at all; the others are interpolated, and re-projected exactly near edges.
        """
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        coords = shapely.get_coordinates(geoms.values)
        if len(coords) != len(geoms):
            raise ValueError("expected exactly one point per row (no empty or multi parts)")
        source = geoms.crs or WGS84
        lattice = self._lattice(source, crs) if len(self) else None
        lookup = self._memo.get("lookup") or self._memo.setdefault("lookup", self.lookup())
        if lattice is None:
            q, r = points_to_axial(points, self.cell_size_m, crs, self.orientation)
            return lookup.rows(q, r)
        lon, lat = coords[:, 0], coords[:, 1]
        covered = lattice.covers(lon, lat)
        rows = np.full(len(lon), -1, dtype=np.int64)
        if covered.any():
            q, r = _axial_by_lattice(
                lon[covered],
                lat[covered],
                lattice,
                transformer(source, crs),
                self.cell_size_m,
                self.orientation,
            )
            rows[covered] = lookup.rows(q, r)
        return rows

    def _lattice(self, source: str | CRS, crs: str | CRS) -> ProjectionLattice | None:
        key = ("lattice", _crs_key(source), _crs_key(crs))
        if key not in self._memo:
            self._memo[key] = self._build_lattice(source, crs)
        return self._memo[key]

    def _build_lattice(self, source: str | CRS, crs: str | CRS) -> ProjectionLattice | None:
        if not _is_geographic(_crs_key(source)):
            return None
        # The cells' metric box, its outline sampled densely and taken back to degrees, then
        # padded by 1e-5° (about a metre, far more than the outline bends between samples):
        # a point outside the padded box lies outside every cell.
        xmin, ymin, xmax, ymax = shapely.total_bounds(self.polygons)
        t = np.linspace(0.0, 1.0, 33)
        x = np.concatenate(
            [
                xmin + (xmax - xmin) * t,
                np.full(33, xmax),
                xmax - (xmax - xmin) * t,
                np.full(33, xmin),
            ]
        )
        y = np.concatenate(
            [
                np.full(33, ymin),
                ymin + (ymax - ymin) * t,
                np.full(33, ymax),
                ymax - (ymax - ymin) * t,
            ]
        )
        lon, lat = transformer(crs, source).transform(x, y)
        pad = 1e-5
        return projection_lattice(
            float(np.min(lon)) - pad,
            float(np.min(lat)) - pad,
            float(np.max(lon)) + pad,
            float(np.max(lat)) + pad,
            transformer(source, crs),
            INTERPOLATION_NODES,
            INTERPOLATION_MAX_DEGREES,
        )

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
        if len(self) == 0:
            return gpd.GeoDataFrame(columns, geometry="geometry", crs=wgs84)
        return _geo_frame(columns)


def _geo_frame(columns: dict[str, Any]) -> gpd.GeoDataFrame:
    """A GeoDataFrame of ``columns``, whose ``"geometry"`` is a GeometryArray with its CRS.

    The same frame as ``GeoDataFrame(columns, geometry="geometry", crs=...)`` at half the cost:
    that constructor re-reads, re-checks and re-assigns the geometry column after pandas built
    the frame (about 0.2 ms, a tenth of a whole hotspot run).  Here pandas builds the blocks
    (copying the arrays, so the frame never shares the cached grid's memory) and the frame is
    wrapped the way geopandas wraps the result of every frame operation
    (``GeoDataFrame._constructor_from_mgr``).
    """
    manager = pd.DataFrame(columns)._mgr
    frame = gpd.GeoDataFrame._from_mgr(manager, manager.axes)
    frame._geometry_column_name = "geometry"
    return frame


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
    if isinstance(cells, HexCells):
        index = cells.rows_of_points(points, crs)
    else:
        q, r = points_to_axial(points, cell_size_m, crs, orientation)
        index = AxialLookup(cells["q"].to_numpy(), cells["r"].to_numpy()).rows(q, r)
    inside = index >= 0
    counts = np.bincount(index[inside], minlength=len(cells)).astype(np.int64)
    return counts, int((~inside).sum())


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
