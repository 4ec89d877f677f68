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

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.ingest.archives import (  # noqa: F401 - safe_extract and limits are public here
    MAX_COMPRESSION_RATIO,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_MEMBERS,
    safe_extract,
)
from geo.ingest.report import ImportFailed
from geo.layers import normalise_header

WGS84 = "EPSG:4326"

#: Header names of coordinate columns in CSV files (after normalise_header).
LAT_HEADERS = ("lat", "latitude", "latitudine", "y", "northing", "coord_y", "szelesseg", "lat_dd")
LON_HEADERS = (
    "lon",
    "lng",
    "long",
    "longitude",
    "longitudine",
    "x",
    "easting",
    "coord_x",
    "hosszusag",
    "lon_dd",
)
WKT_HEADERS = ("wkt", "wkt_geom", "geometry", "geom", "the_geom", "geometrie", "geometria")

_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
#: KoBo/ODK geopoint: "lat lon [altitude [accuracy]]".
_GEOPOINT = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}(?:\s+{_NUMBER}){{0,2}}\s*$")
#: KoBo/ODK geotrace/geoshape: geopoints separated by ";".
_GEOSHAPE = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}[^;]*(?:;\s*{_NUMBER}\s+{_NUMBER}[^;]*)+;?\s*$")
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")
_EWKT_SRID = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)

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

    Returns
    -------
    str
        One of ``geojson``, ``gpkg``, ``shapefile_zip``, ``shapefile``, ``kml``, ``kmz``,
        ``gpx``, ``csv``.

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
        Layer to read from a GeoPackage, or Shapefile in a zip holding several.

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
    }
    return readers[fmt]()


def read_geojson(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON file (RFC 7946, or older files with a ``crs`` member).

    ``crs=`` overrides the default WGS84 for files written in projected coordinates without a
    ``crs`` member.
    """
    path = Path(path)
    frame = _ogr_read(path)
    if crs is not None:
        declared = _declares_crs(path)
        if declared:
            _check_crs_agrees(path, frame.crs, crs)
        else:
            frame = frame.set_crs(_parse_crs(crs, path), allow_override=True)
    return _finish(frame, path, "geojson")


def read_geopackage(
    path: str | Path, *, layer: str | None = None, crs: str | int | None = None
) -> gpd.GeoDataFrame:
    """Read one layer of a GeoPackage.

    Parameters
    ----------
    layer : str, optional
        Layer name; may be omitted when the file has one spatial layer.
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
    frame = _apply_crs_argument(frame, path, crs)
    return _finish(frame, path, "gpkg")


def read_shapefile(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a Shapefile from its ``.shp`` (the ``.dbf``, ``.shx`` and ``.prj`` beside it)."""
    path = Path(path)
    frame = _ogr_read(path)
    frame = _apply_crs_argument(frame, path, crs)
    return _finish(frame, path, "shapefile")


def read_shapefile_zip(
    path: str | Path, *, crs: str | int | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read a zipped Shapefile; its CRS comes from the ``.prj`` inside.

    Parameters
    ----------
    layer : str, optional
        Stem of the ``.shp`` to read when the zip holds several.
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
    frame = _apply_crs_argument(frame, path, crs)
    return _finish(frame, path, "shapefile_zip")


def read_kml(path: str | Path) -> gpd.GeoDataFrame:
    """Read every folder (layer) of a KML file; placemarks are numbered in file order."""
    path = Path(path)
    return _finish(_read_all_layers(path, _KML_NOISE), path, "kml")


def read_kmz(path: str | Path) -> gpd.GeoDataFrame:
    """Read a KMZ: the zipped KML document (``doc.kml`` or the first ``.kml``) inside."""
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
    return _finish(frame, path, "kmz")


def read_gpx(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GPX file's waypoints, then routes, then tracks (GPS units, OsmAnd, CoMapeo)."""
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
    return _finish(frame, path, "gpx")


def read_csv(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a spreadsheet export: lat/lon columns, a WKT column, or a KoBoToolbox/ODK export.

    The geometry is looked for in this order: latitude/longitude (or x/y) columns, a WKT
    column, KoBo split columns (``_location_latitude``/``_location_longitude``), a KoBo geopoint
    (``"lat lon alt accuracy"``), geotrace or geoshape (geopoints joined by ``;``) column.
    Separator (``,`` ``;`` tab), encoding (UTF-8, else Windows-1250) and decimal commas are
    detected.  A ``'`` that Harta's export put before a cell starting with ``= + - @`` (the
    formula-injection guard) is removed again.

    Parameters
    ----------
    crs : str or int, optional
        CRS of the coordinates; default WGS84 longitude/latitude.
    """
    path = Path(path)
    table = _read_table(path)
    headers = {normalise_header(c): c for c in table.columns}
    builders = (_latlon_geometry, _wkt_geometry, _kobo_split_geometry, _kobo_geopoint_geometry)
    for build in builders:
        found = build(table, headers, path, crs)
        if found is not None:
            geometry, used_columns, fmt, source_crs = found
            frame = gpd.GeoDataFrame(
                table.drop(columns=used_columns), geometry=geometry, crs=source_crs
            )
            return _finish(frame, path, fmt)
    raise ImportFailed(
        "ingest.error.csv_no_geometry", file=path.name, columns=", ".join(map(str, table.columns))
    )


def read_kobo_csv(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a KoBoToolbox/ODK CSV export (same as :func:`read_csv`, which detects it)."""
    return read_csv(path, crs=crs)


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
            "ingest.error.unreadable", file=name_for_messages or path.name, reason=_short(exc)
        ) from exc


def _list_layers(path: Path) -> list[tuple[str, str | None]]:
    try:
        return [(str(name), geom_type) for name, geom_type in pyogrio.list_layers(path)]
    except Exception as exc:
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=_short(exc)) from exc


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
        and frame[c].map(lambda v: v is not None and not _is_blank(v)).sum() == 0
    ]
    return frame.drop(columns=empty)


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _declares_crs(path: Path) -> bool:
    with path.open("rb") as fh:
        return b'"crs"' in fh.read(1 << 16)


def _parse_crs(crs: str | int, path: Path) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise ImportFailed("ingest.error.bad_crs", file=path.name, crs=str(crs)) from exc


def _check_crs_agrees(path: Path, declared: CRS | None, given: str | int) -> None:
    wanted = _parse_crs(given, path)
    if declared is not None and not CRS.from_user_input(declared).equals(wanted):
        raise ImportFailed(
            "ingest.error.crs_conflict",
            file=path.name,
            declared=CRS(declared).to_string(),
            given=wanted.to_string(),
        )


def _apply_crs_argument(
    frame: gpd.GeoDataFrame, path: Path, crs: str | int | None
) -> gpd.GeoDataFrame:
    if frame.crs is None:
        if crs is None:
            raise ImportFailed("ingest.error.crs_unknown", file=path.name)
        return frame.set_crs(_parse_crs(crs, path))
    if crs is not None:
        _check_crs_agrees(path, frame.crs, crs)
    return frame


def _finish(frame: gpd.GeoDataFrame, path: Path, fmt: str) -> gpd.GeoDataFrame:
    """Common end of every reader: 2-D, EPSG:4326, ``_row``, format recorded."""
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    geometry = shapely.force_2d(frame.geometry.values)
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs))
    if not CRS.from_user_input(frame.crs).equals(CRS.from_epsg(4326)):
        try:
            frame = frame.to_crs(WGS84)
        except Exception as exc:
            raise ImportFailed(
                "ingest.error.unreadable", file=path.name, reason=_short(exc)
            ) from exc
    frame = frame.reset_index(drop=True)
    frame["_row"] = np.arange(1, len(frame) + 1)
    frame.attrs["format"] = fmt
    frame.attrs["file"] = path.name
    return frame


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # GDAL messages often repeat the full temporary path; keep only the file part.
    return re.sub(r"(/[^\s:'\"]+)+/", "", text)[:300]


# --- CSV ------------------------------------------------------------------------------------


def _read_table(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1250"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1250 decodes almost anything
        raise ImportFailed("ingest.error.encoding", file=path.name)
    sample = text[:16384]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        delimiter = max(",;\t", key=first_line.count)
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=_short(exc)) from exc
    table.columns = [str(c).strip() for c in table.columns]
    # Undo the formula guard Harta's CSV export adds ("'=x" → "=x"), so exports round-trip.
    return table.apply(lambda column: column.str.replace(_NEUTRALISED, "", regex=True))


def _numbers(column: pd.Series) -> np.ndarray:
    """Parse coordinates, accepting decimal commas (Romanian spreadsheets)."""
    cleaned = column.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)


def _points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    geometry = shapely.points(x, y)
    missing = ~(np.isfinite(x) & np.isfinite(y))
    geometry[missing] = None
    return geometry


def _source_crs(crs: str | int | None, path: Path) -> CRS:
    return _parse_crs(crs, path) if crs is not None else CRS.from_epsg(4326)


def _check_degrees(x: np.ndarray, y: np.ndarray, crs: str | int | None, path: Path) -> None:
    """Metres in a file imported without ``crs=`` would land in the sea: say so instead."""
    if crs is not None:
        return
    finite_x, finite_y = x[np.isfinite(x)], y[np.isfinite(y)]
    if (finite_x.size and np.abs(finite_x).max() > 180) or (
        finite_y.size and np.abs(finite_y).max() > 90
    ):
        raise ImportFailed("ingest.error.coordinates_not_degrees", file=path.name)


def _latlon_geometry(table, headers, path, crs):
    lat = next((headers[h] for h in LAT_HEADERS if h in headers), None)
    lon = next((headers[h] for h in LON_HEADERS if h in headers), None)
    if lat is None or lon is None:
        return None
    x, y = _numbers(table[lon]), _numbers(table[lat])
    _check_degrees(x, y, crs, path)
    return _points(x, y), [lat, lon], "csv", _source_crs(crs, path)


def _wkt_geometry(table, headers, path, crs):
    column = next((headers[h] for h in WKT_HEADERS if h in headers), None)
    if column is None:
        return None
    values = table[column].astype(str).str.strip()
    srids = values.str.extract(_EWKT_SRID, expand=False).dropna().unique()
    if crs is None and len(srids) == 1:
        crs = int(srids[0])
    values = values.str.replace(_EWKT_SRID, "", regex=True)
    # Empty cells arrive as "", NaN or pandas.NA depending on the dtype: all mean "no geometry".
    texts = [v if isinstance(v, str) and v else None for v in values.to_numpy(dtype=object)]
    geometry = shapely.from_wkt(np.array(texts, dtype=object), on_invalid="ignore")
    return geometry, [column], "csv", _source_crs(crs, path)


def _kobo_split_geometry(table, headers, path, crs):
    for header, column in headers.items():
        if not header.endswith("_latitude"):
            continue
        stem = header[: -len("_latitude")]
        lon = headers.get(f"{stem}_longitude")
        if lon is None:
            continue
        extra = [headers[h] for h in (f"{stem}_altitude", f"{stem}_precision") if h in headers]
        # The combined geopoint column KoBo writes next to the split ones says the same thing.
        combined = [c for c in table.columns if normalise_header(c) == stem]
        x, y = _numbers(table[lon]), _numbers(table[column])
        _check_degrees(x, y, crs, path)
        return _points(x, y), [column, lon, *extra, *combined], "kobo_csv", _source_crs(crs, path)
    return None


def _kobo_geopoint_geometry(table, headers, path, crs):
    for column in table.columns:
        values = table[column].astype(str).str.strip()
        filled = values[values != ""]
        if filled.empty:
            continue
        if filled.map(lambda v: bool(_GEOPOINT.match(v) or _GEOSHAPE.match(v))).all():
            geometry = np.array([_parse_odk_geometry(v) for v in values], dtype=object)
            return geometry, [column], "kobo_csv", _source_crs(crs, path)
    return None


def _parse_odk_geometry(value: str):
    """Parse an ODK geopoint, geotrace or geoshape (latitude first) into shapely."""
    value = value.strip().rstrip(";")
    if not value:
        return None
    try:
        vertices = [
            (float(parts[1]), float(parts[0]))
            for parts in (chunk.split() for chunk in value.split(";"))
            if len(parts) >= 2
        ]
    except ValueError:
        return None
    if len(vertices) == 1:
        return shapely.Point(vertices[0])
    # A geoshape repeats its first vertex at the end; a geotrace does not.
    if len(vertices) >= 4 and vertices[0] == vertices[-1]:
        return shapely.Polygon(vertices)
    if len(vertices) >= 2:
        return shapely.LineString(vertices)
    return None
