"""What every analysis constructor shares: the study area, its CRS and its time zone.

Every analysis is built the same way (spopt-like): ``Analysis(data, area, ...)`` then
``.solve()``.  ``area`` is normally a :class:`~geo.communities.Community` -- its area bounds the
grid, its metric CRS measures, its time zone cuts days and periods -- or, for synthetic data and
benchmarks, any geometry in EPSG:4326 together with an explicit ``crs``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.communities.model import Community
from geo.crs import STORAGE

Area = Community | gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None
#: Time zone of an analysis when neither a community nor ``tz`` names one.
DEFAULT_TZ = "Europe/Bucharest"


def study_area(area: Area, crs: Any, points: Any = None) -> tuple[Any, Any]:
    """The area (EPSG:4326) and metric CRS an analysis runs on.

    Parameters
    ----------
    area : Community, GeoDataFrame, GeoSeries, shapely geometry or None
        A community, or an area in EPSG:4326; None means the bounding box of ``points``.
    crs : int, str, pyproj.CRS or None
        Metric CRS; default the community's.  Required when ``area`` is not a community.
    points : GeoDataFrame, optional
        Used for the bounding box when ``area`` is None.

    Returns
    -------
    area, crs
        The area as given (a community's geometry for a community), and the CRS.

    Raises
    ------
    TypeError
        When no CRS is given and ``area`` is not a community.
    """
    if isinstance(area, Community):
        return area.geometry, crs if crs is not None else area.crs
    if crs is None:
        raise TypeError("crs is required unless the area is a Community")
    if area is None:
        area = points_box(points if points is not None else gpd.GeoSeries([], crs=STORAGE))
    return area, crs


def study_timezone(area: Area, tz: str | None) -> str:
    """``tz``, else the community's time zone, else :data:`DEFAULT_TZ`.

    Parameters
    ----------
    area : Community or anything :func:`study_area` takes
    tz : str or None

    Returns
    -------
    str
    """
    if tz:
        return tz
    if isinstance(area, Community):
        return area.timezone
    return DEFAULT_TZ


def points_box(points: gpd.GeoDataFrame | gpd.GeoSeries) -> BaseGeometry:
    """Bounding box of points in EPSG:4326 (an empty polygon when there are no points).

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries

    Returns
    -------
    shapely.Polygon
    """
    if len(points) == 0:
        return Polygon()
    return box(*points.to_crs(STORAGE).total_bounds)
