"""Rows to map features: reprojection, missing values, bounds and minimal GeoJSON.

A layer's GeoJSON carries only what is shown (prebuilt ``tip``/``pop`` HTML and a style key),
never the whole row: what is in the page reaches every browser that opens it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
from shapely.geometry import mapping

from geo import taxonomy
from geo.communities.model import Community


def styles() -> dict[str, Any]:
    """``styles/layers.json``: colours, widths and thresholds of every layer.

    Returns
    -------
    dict
        The parsed style file.
    """
    return taxonomy.layer_styles()


def is_missing(value: Any) -> bool:
    """Whether a cell is empty (``None`` or NaN).

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    bool
        True for None or a float NaN.
    """
    if value is None:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or value is np.nan
    except TypeError:
        return False


def truthy(value: Any) -> bool:
    """A cell's truth value, empty cells being false.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    bool
        False for None and NaN, else ``bool(value)``.
    """
    return not is_missing(value) and bool(value)


def to_wgs84(gdf: Any) -> Any:
    """``gdf`` in EPSG:4326 with its geometry column named ``geometry``.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Any CRS; no CRS is taken to be EPSG:4326.

    Returns
    -------
    GeoDataFrame or GeoSeries
    """
    # Layers read from PostGIS name their geometry "geom"; the builders read row.geometry.
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    if gdf.crs is None:
        return gdf.set_crs(4326)
    return gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf


def area_frame(area: Community | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A community's area as a one-row GeoDataFrame (``name``, geometry in EPSG:4326).

    Parameters
    ----------
    area : Community or GeoDataFrame
        A frame is returned in EPSG:4326 (pages that still pass a boundary frame).

    Returns
    -------
    GeoDataFrame
    """
    if isinstance(area, Community):
        return gpd.GeoDataFrame({"name": [area.name]}, geometry=[area.geometry], crs=4326)
    return to_wgs84(area)


def _round_coords(obj: Any, ndigits: int = 6) -> Any:
    if isinstance(obj, float):
        return round(obj, ndigits)
    if isinstance(obj, list | tuple):
        return [_round_coords(o, ndigits) for o in obj]
    return obj


def feature_collection(geoms: Iterable[Any], props: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """GeoJSON with ONLY the given properties (no row leaks into the page).

    Parameters
    ----------
    geoms : iterable of shapely geometries
        In EPSG:4326; empty and missing ones are left out.
    props : iterable of dict
        One per geometry: exactly what the feature carries.

    Returns
    -------
    dict
        A FeatureCollection, coordinates rounded to 6 decimals (~0.1 m).
    """
    features = []
    for geom, prop in zip(geoms, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        g = mapping(geom)
        g = {"type": g["type"], "coordinates": _round_coords(g["coordinates"])}
        features.append({"type": "Feature", "geometry": g, "properties": prop})
    return {"type": "FeatureCollection", "features": features}


def bounds(area: Any) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of an area.

    Parameters
    ----------
    area : Community, GeoDataFrame, GeoSeries, shapely geometry or sequence
        A :class:`~geo.communities.Community`, a frame in any CRS, a geometry in EPSG:4326,
        ``(minx, miny, maxx, maxy)`` in degrees, or ``[[s, w], [n, e]]``.

    Returns
    -------
    list
    """
    if isinstance(area, Community):
        area = area.geometry
    if hasattr(area, "total_bounds") and hasattr(area, "crs"):
        minx, miny, maxx, maxy = to_wgs84(area).total_bounds
    elif hasattr(area, "bounds") and not isinstance(area, list | tuple):
        minx, miny, maxx, maxy = area.bounds
    else:
        seq = list(area)
        if len(seq) == 2:
            (s, w), (n, e) = seq
            return [[float(s), float(w)], [float(n), float(e)]]
        minx, miny, maxx, maxy = seq
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def column(gdf: Any, *names: str) -> str | None:
    """The first of ``names`` that is a column of ``gdf``, else ``None``.

    Parameters
    ----------
    gdf : DataFrame
        Any frame with ``columns``.
    *names : str
        Candidate column names, in order of preference.

    Returns
    -------
    str or None
        The column found.
    """
    for name in names:
        if name in gdf.columns:
            return name
    return None


def fmt_date(value: Any) -> str:
    """A date or time as ``YYYY-MM-DD[ HH:MM]``; empty for a missing value.

    Parameters
    ----------
    value : object
        Timestamp, datetime, date, missing, or anything else (shown with ``str``).

    Returns
    -------
    str
        The formatted value.
    """
    if is_missing(value):
        return ""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def demo_rows(gdf: Any, demo: bool) -> list[bool]:
    """Per row, whether it is demo data (``demo`` marks every row).

    Parameters
    ----------
    gdf : DataFrame
        Rows, with an optional ``is_demo`` column.
    demo : bool
        True when the whole layer is demo data.

    Returns
    -------
    list of bool
        One flag per row.
    """
    col = column(gdf, "is_demo")
    if demo:
        return [True] * len(gdf)
    if col is None:
        return [False] * len(gdf)
    return [truthy(v) for v in gdf[col]]
