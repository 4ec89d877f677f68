"""Read the files Harta's partners send into GeoDataFrames.

One function per format.  Each returns a GeoDataFrame in EPSG:4326 (2-D, geometry column
``geometry``) with a ``_row`` column: the 1-based row (CSV) or feature (other formats) number in
the source, used in every message about that row.  Layers of multi-layer files (KML folders, GPX
waypoints/routes/tracks) are numbered on, in file order.  ``gdf.attrs["format"]`` names the
format that was read.

CRS rules: a CRS the file declares (``.prj``, GeoPackage) is used; ``crs=`` is for files that do
not declare one (CSV, a Shapefile without ``.prj``) and is refused when it contradicts the file.
CSV without ``crs=`` is WGS84 longitude/latitude.  With a projected ``crs=`` (e.g. Stereo70,
EPSG:3844) CSV ``x`` is the easting and ``y`` the northing, as QGIS writes them.

Unreadable files raise :class:`~geo.ingest.report.ImportFailed` naming the file and the reason.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.ingest.archives import (  # noqa: F401 - safe_extract and limits are public here
    MAX_COMPRESSION_RATIO,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_MEMBERS,
    safe_extract,
)
from geo.ingest.frames import (
    WGS84,
    apply_crs_argument,
    check_crs_agrees,
    finish,
    is_blank,
    parse_crs,
    short,
)
from geo.ingest.report import ImportFailed
from geo.ingest.tables import (  # noqa: F401 - public here since before the split
    LAT_HEADERS,
    LON_HEADERS,
    WKT_HEADERS,
    read_csv,
    read_kobo_csv,
    read_spreadsheet,
)
from geo.layers import normalise_header

#: Columns GDAL adds to KML and GPX features that carry no meaning for Harta.
_KML_NOISE = {
    "id",
    "altitudemode",
    "tessellate",
    "extrude",
    "visibility",
    "draworder",
    "icon",
    "begin",
    "end",
}
_GPX_NOISE = re.compile(
    r"^(ele|magvar|geoidheight|src|link\d+_(href|text|type)|sym|fix|sat|hdop|vdop|pdop|"
    r"ageofdgpsdata|dgpsid|number|route_fid|track_fid|track_seg_id|track_seg_point_id)$"
)


# --- public API -----------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """Name the format of ``path`` from its first bytes, falling back on its extension.

    Parameters
    ----------
    path : pathlib.Path
        The file to look at.

    Returns
    -------
    str
        One of ``geojson``, ``gpkg``, ``shapefile_zip``, ``shapefile``, ``kml``, ``kmz``,
        ``gpx``, ``csv``, ``xlsx``, ``ods``.

    Raises
    ------
    ImportFailed
        If the file is missing, empty or of no known format.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFailed("ingest.error.not_found", file=path.name)
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise ImportFailed("ingest.error.empty_file", file=path.name)
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if suffix == ".shp":
        return "shapefile"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"{", b"[")):
        return "geojson"
    if text.startswith(b"<"):
        if b"<gpx" in text:
            return "gpx"
        if b"<kml" in text or suffix == ".kml":
            return "kml"
        raise ImportFailed("ingest.error.unknown_format", file=path.name)
    if b"\x00" in head:
        raise ImportFailed("ingest.error.unknown_format", file=path.name)
    # Plain text with separators: a spreadsheet export whatever its extension.
    return "csv"


def read_file(
    path: str | Path, *, crs: str | int | None = None, source_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read any supported file.

    Parameters
    ----------
    path : str or Path
        The file.
    crs : str or int, optional
        CRS of coordinates the file does not declare (e.g. ``"EPSG:3844"``).
    source_layer : str, optional
        Layer to read from a GeoPackage, Shapefile in a zip holding several, or sheet of a
        workbook.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, with ``_row``; ``attrs["format"]`` names the format.
    """
    path = Path(path)
    fmt = detect_format(path)
    readers: dict[str, Callable[..., gpd.GeoDataFrame]] = {
        "geojson": lambda: read_geojson(path, crs=crs),
        "gpkg": lambda: read_geopackage(path, layer=source_layer, crs=crs),
        "shapefile_zip": lambda: read_shapefile_zip(path, crs=crs, layer=source_layer),
        "shapefile": lambda: read_shapefile(path, crs=crs),
        "kml": lambda: read_kml(path),
        "kmz": lambda: read_kmz(path),
        "gpx": lambda: read_gpx(path),
        "csv": lambda: read_csv(path, crs=crs),
        "xlsx": lambda: read_spreadsheet(path, crs=crs, sheet=source_layer),
        "ods": lambda: read_spreadsheet(path, crs=crs, sheet=source_layer),
    }
    return readers[fmt]()


def read_geojson(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON file (RFC 7946, or older files with a ``crs`` member).

    ``crs=`` overrides the default WGS84 for files written in projected coordinates without a
    ``crs`` member.

    Parameters
    ----------
    path : str or Path
        The GeoJSON file.
    crs : str, int or None
        CRS of the coordinates when the file has no ``crs`` member; must agree with it
        otherwise.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature, with the file's properties.
    """
    path = Path(path)
    frame = _ogr_read(path)
    if crs is not None:
        declared = _declares_crs(path)
        if declared:
            check_crs_agrees(path, frame.crs, crs)
        else:
            frame = frame.set_crs(parse_crs(crs, path), allow_override=True)
    return finish(frame, path, "geojson")


def read_geopackage(
    path: str | Path, *, layer: str | None = None, crs: str | int | None = None
) -> gpd.GeoDataFrame:
    """Read one layer of a GeoPackage.

    Parameters
    ----------
    layer : str, optional
        Layer name; may be omitted when the file has one spatial layer.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature of the layer, with its attributes.
    """
    path = Path(path)
    layers = _list_layers(path)
    spatial = [name for name, geom_type in layers if geom_type]
    if layer is None:
        if len(spatial) != 1:
            raise ImportFailed(
                "ingest.error.choose_layer", file=path.name, layers=", ".join(spatial) or "-"
            )
        layer = spatial[0]
    elif layer not in {name for name, _ in layers}:
        raise ImportFailed(
            "ingest.error.layer_not_found",
            file=path.name,
            layer=layer,
            layers=", ".join(name for name, _ in layers),
        )
    frame = _ogr_read(path, layer=layer)
    frame = apply_crs_argument(frame, path, crs)
    return finish(frame, path, "gpkg")


def read_shapefile(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a Shapefile from its ``.shp`` (the ``.dbf``, ``.shx`` and ``.prj`` beside it).

    Parameters
    ----------
    path : str or Path
        The ``.shp`` file.
    crs : str, int or None
        CRS when there is no ``.prj``; must agree with it otherwise.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature, with the ``.dbf`` attributes.
    """
    path = Path(path)
    frame = _ogr_read(path)
    frame = apply_crs_argument(frame, path, crs)
    return finish(frame, path, "shapefile")


def read_shapefile_zip(
    path: str | Path, *, crs: str | int | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read a zipped Shapefile; its CRS comes from the ``.prj`` inside.

    Parameters
    ----------
    layer : str, optional
        Stem of the ``.shp`` to read when the zip holds several.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature, with the ``.dbf`` attributes.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="harta-zip-") as tmp:
        members = safe_extract(path, Path(tmp))
        shapefiles = [m for m in members if m.suffix.lower() == ".shp"]
        if layer is not None:
            shapefiles = [m for m in shapefiles if m.stem == layer]
        if len(shapefiles) != 1:
            raise ImportFailed(
                "ingest.error.choose_layer",
                file=path.name,
                layers=", ".join(m.stem for m in members if m.suffix.lower() == ".shp") or "-",
            )
        frame = _ogr_read(shapefiles[0], name_for_messages=path.name)
    frame = apply_crs_argument(frame, path, crs)
    return finish(frame, path, "shapefile_zip")


def read_kml(path: str | Path) -> gpd.GeoDataFrame:
    """Read every folder (layer) of a KML file; placemarks are numbered in file order.

    Parameters
    ----------
    path : str or Path
        The KML file (always WGS84).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per placemark, all folders together.
    """
    path = Path(path)
    return finish(_read_all_layers(path, _KML_NOISE), path, "kml")


def read_kmz(path: str | Path) -> gpd.GeoDataFrame:
    """Read a KMZ: the zipped KML document (``doc.kml`` or the first ``.kml``) inside.

    Parameters
    ----------
    path : str or Path
        The KMZ archive, extracted safely to a temporary folder.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per placemark of the KML document inside.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="harta-kmz-") as tmp:
        members = safe_extract(path, Path(tmp))
        documents = sorted(
            (m for m in members if m.suffix.lower() == ".kml"),
            key=lambda m: (m.name.lower() != "doc.kml", len(m.parts), str(m)),
        )
        if not documents:
            raise ImportFailed("ingest.error.kmz_without_kml", file=path.name)
        frame = _read_all_layers(documents[0], _KML_NOISE, name_for_messages=path.name)
    return finish(frame, path, "kmz")


def read_gpx(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GPX file's waypoints, then routes, then tracks (GPS units, OsmAnd, CoMapeo).

    Parameters
    ----------
    path : str or Path
        The GPX file (always WGS84).

    Returns
    -------
    geopandas.GeoDataFrame
        Points, then route and track lines; GPX bookkeeping columns and empty columns
        dropped.
    """
    path = Path(path)
    frames = []
    for layer in ("waypoints", "routes", "tracks"):
        frame = _ogr_read(path, layer=layer)
        if len(frame):
            frames.append(frame)
    frame = _concat(frames)
    noise = [c for c in frame.columns if c != "geometry" and _GPX_NOISE.match(c)]
    frame = frame.drop(columns=noise)
    # GDAL writes a GPX <extensions> child <ogr:hazard> as column "ogr_hazard".
    frame = frame.rename(columns=lambda c: c[4:] if c.startswith("ogr_") else c)
    frame = _drop_empty_columns(frame)
    return finish(frame, path, "gpx")


# --- helpers --------------------------------------------------------------------------------


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n.lower() for n in zf.namelist()]
    except zipfile.BadZipFile as exc:
        raise ImportFailed("ingest.error.bad_zip", file=path.name, reason=str(exc)) from exc
    if any(n.endswith(".shp") for n in names):
        return "shapefile_zip"
    if any(n.endswith(".kml") for n in names):
        return "kmz"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "ods"
    raise ImportFailed("ingest.error.zip_no_data", file=path.name)


def _ogr_read(
    path: Path, layer: str | None = None, name_for_messages: str | None = None
) -> gpd.GeoDataFrame:
    """Read with pyogrio; broken geometries become None (reported per row later)."""
    try:
        return pyogrio.read_dataframe(
            path, layer=layer, datetime_as_string=True, on_invalid="ignore"
        )
    except Exception as exc:  # GDAL raises many types; all mean the same to the user
        raise ImportFailed(
            "ingest.error.unreadable", file=name_for_messages or path.name, reason=short(exc)
        ) from exc


def _list_layers(path: Path) -> list[tuple[str, str | None]]:
    try:
        return [(str(name), geom_type) for name, geom_type in pyogrio.list_layers(path)]
    except Exception as exc:
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=short(exc)) from exc


def _read_all_layers(
    path: Path, noise: set[str], name_for_messages: str | None = None
) -> gpd.GeoDataFrame:
    frames = []
    for name, _ in _list_layers(path):
        frame = _ogr_read(path, layer=name, name_for_messages=name_for_messages)
        if len(frame):
            frame["_layer"] = name
            frames.append(frame)
    frame = _concat(frames)
    frame = frame.drop(columns=[c for c in frame.columns if normalise_header(c) in noise])
    return _drop_empty_columns(frame)


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    if not frames:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=WGS84)
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
    )


def _drop_empty_columns(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop attribute columns with no value in any row (GPX and KML carry many)."""
    empty = [
        c
        for c in frame.columns
        if c != frame.geometry.name
        and not c.startswith("_")
        and frame[c].map(lambda v: v is not None and not is_blank(v)).sum() == 0
    ]
    return frame.drop(columns=empty)


def _declares_crs(path: Path) -> bool:
    with path.open("rb") as fh:
        return b'"crs"' in fh.read(1 << 16)
