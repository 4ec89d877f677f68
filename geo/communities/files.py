"""Reading a community's files: boundary, stops (GeoJSON or GTFS zip), named places."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.communities.errors import CommunityDataError


def read_boundary(path: str | Path) -> MultiPolygon:
    """Read a boundary file as one valid MultiPolygon in EPSG:4326.

    All features are merged; invalid polygons are repaired with ``make_valid``; non-polygon
    parts left by the repair are dropped.

    Parameters
    ----------
    path : str or Path
        Any vector file GDAL reads (GeoJSON, GeoPackage...); no declared CRS means EPSG:4326.

    Returns
    -------
    shapely.MultiPolygon
        The merged, valid boundary in EPSG:4326.

    Raises
    ------
    CommunityDataError
        When the file cannot be read or holds no polygon.
    """
    path = Path(path)
    frame = _read_vector(path)
    if frame.empty:
        raise CommunityDataError(f"{path}: field 'geometry': the file has no features")
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds & {"Polygon", "MultiPolygon", "GeometryCollection"}:
        found = ", ".join(sorted(kinds)) or "no geometry"
        raise CommunityDataError(f"{path}: field 'geometry': not a polygon (found {found})")
    merged = shapely.union_all(shapely.make_valid(frame.geometry.dropna().to_numpy()))
    polygons = _polygon_parts(merged)
    if polygons is None:
        raise CommunityDataError(f"{path}: field 'geometry': no polygonal area after repair")
    return polygons


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise CommunityDataError(f"{path}: file not found")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types for bad files
        raise CommunityDataError(f"{path}: not a readable vector file ({exc})") from exc
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")  # GeoJSON without a crs member is WGS 84
    elif not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    bounds = frame.total_bounds
    if len(frame) and not (
        -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    ):
        raise CommunityDataError(f"{path}: field 'geometry': coordinates outside lon/lat range")
    return frame


def _polygon_parts(geometry: BaseGeometry) -> MultiPolygon | None:
    parts = [
        part
        for part in shapely.get_parts(geometry)
        for part in (shapely.get_parts(part) if part.geom_type == "GeometryCollection" else [part])
        if isinstance(part, Polygon | MultiPolygon) and not part.is_empty
    ]
    polygons: list[Polygon] = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    if not polygons:
        return None
    multi = MultiPolygon(polygons)
    return multi if multi.is_valid else _polygon_parts(shapely.make_valid(multi))


def read_stops_file(path: str | Path, area: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Stops (``stop_id``, ``name``, ``routes``) from a GeoJSON or a GTFS zip, within ``area``.

    Parameters
    ----------
    path : str or Path
        GeoJSON of Point stops, or a ``.zip`` GTFS feed.
    area : shapely geometry or None
        Keep only stops covered by this area (EPSG:4326); None keeps all.

    Returns
    -------
    geopandas.GeoDataFrame
        ``stop_id`` (str), ``name``, ``routes`` (str, empty when unknown) and Point
        geometry.
    """
    path = Path(path)
    if path.suffix.lower() == ".zip":
        from geo.gtfs import GtfsError, read_stops

        try:
            return read_stops(path, area)
        except GtfsError as exc:
            raise CommunityDataError(str(exc)) from exc
    frame = _read_vector(path)
    for column in ("stop_id", "name"):
        if column not in frame.columns:
            raise CommunityDataError(f"{path}: field '{column}': missing")
    if "routes" not in frame.columns:
        frame["routes"] = ""
    if not frame.empty and set(frame.geometry.geom_type.dropna()) != {"Point"}:
        raise CommunityDataError(f"{path}: field 'geometry': stops must be Points")
    frame["stop_id"] = frame["stop_id"].astype(str)
    frame["routes"] = frame["routes"].fillna("").astype(str)
    if area is not None:
        frame = frame[frame.geometry.covered_by(area)]
    return frame[["stop_id", "name", "routes", "geometry"]].reset_index(drop=True)


def read_places_file(path: str | Path) -> gpd.GeoDataFrame:
    """Named places (``osm_type``, ``osm_id``, ``name``, ``place``, geometry) from a GeoJSON.

    Parameters
    ----------
    path : str or Path
        GeoJSON of named places (as fetched from OSM/Nominatim).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per non-empty place, in EPSG:4326; ``place`` falls back to the Nominatim
        ``addresstype``; missing columns are null.
    """
    path = Path(path)
    frame = _read_vector(path)
    out = gpd.GeoDataFrame(
        {
            "osm_type": _optional(frame, "osm_type"),
            "osm_id": pd.to_numeric(_optional(frame, "osm_id"), errors="coerce").astype("Int64"),
            "name": _optional(frame, "name"),
            # The city boundary (a Nominatim result) has no place tag, only its address type.
            "place": _optional(frame, "place").fillna(_optional(frame, "addresstype")),
        },
        geometry=shapely.make_valid(frame.geometry.to_numpy()),
        crs="EPSG:4326",
    )
    return out[~out.geometry.is_empty & out.geometry.notna()].reset_index(drop=True)


def _optional(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column].astype(object).where(frame[column].notna(), None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)
