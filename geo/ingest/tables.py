"""Tables: CSV exports, KoBoToolbox/ODK CSV, and ``.xlsx``/``.ods`` workbooks.

A table's geometry is found in its columns (:func:`table_frame`): latitude/longitude or x/y,
WKT, KoBo split or geopoint/geotrace/geoshape columns.  Rows are numbered as the spreadsheet
shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo.ingest.frames import finish, is_blank, parse_crs, short
from geo.ingest.report import ImportFailed
from geo.layers import normalise_header

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

    Returns
    -------
    geopandas.GeoDataFrame
        One row per data row, in ``crs``, with the other columns as read.
    """
    path = Path(path)
    return table_frame(_read_table(path), path, crs=crs)


def read_spreadsheet(
    path: str | Path, *, crs: str | int | None = None, sheet: str | None = None
) -> gpd.GeoDataFrame:
    """Read the first sheet (or ``sheet``) of an ``.xlsx`` or ``.ods`` workbook.

    The sheet is read as text through GDAL (no spreadsheet library needed), then its geometry
    is found as in a CSV (:func:`table_frame`).  Rows are numbered as the spreadsheet shows
    them: the header is row 1.

    Parameters
    ----------
    path : str or Path
        The workbook.
    crs : str or int, optional
        CRS of the coordinates; default WGS84 longitude/latitude.
    sheet : str, optional
        Sheet name; default the first sheet.

    Returns
    -------
    GeoDataFrame
    """
    path = Path(path)
    try:
        sheets = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=short(exc)) from exc
    if sheet is not None and sheet not in sheets:
        raise ImportFailed(
            "ingest.error.layer_not_found", file=path.name, layer=sheet, layers=", ".join(sheets)
        )
    try:
        raw = pyogrio.read_dataframe(
            path, layer=sheet or sheets[0], read_geometry=False, datetime_as_string=True
        )
    except Exception as exc:
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=short(exc)) from exc
    table = pd.DataFrame(
        {str(c).strip(): [_cell_text(v) for v in raw[c].tolist()] for c in raw.columns}
    )
    return table_frame(
        table, path, crs=crs, fmt="xlsx" if path.suffix.lower() == ".xlsx" else "ods"
    )


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold (whole numbers without ``.0``)."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_frame(
    table: pd.DataFrame, path: Path, *, crs: str | int | None = None, fmt: str | None = None
) -> gpd.GeoDataFrame:
    """Find the geometry of a table of text cells and finish it as a layer frame.

    Parameters
    ----------
    table : DataFrame
        Cells as text, headers as written.
    path : Path
        The file (for messages).
    crs : str or int, optional
        CRS of the coordinates.
    fmt : str, optional
        Format recorded (default ``csv`` or ``kobo_csv`` as detected).

    Returns
    -------
    GeoDataFrame
    """
    headers = {normalise_header(c): c for c in table.columns}
    builders = (_latlon_geometry, _wkt_geometry, _kobo_split_geometry, _kobo_geopoint_geometry)
    for build in builders:
        found = build(table, headers, path, crs)
        if found is not None:
            geometry, used_columns, found_fmt, source_crs = found
            frame = gpd.GeoDataFrame(
                table.drop(columns=used_columns), geometry=geometry, crs=source_crs
            )
            return finish(frame, path, fmt or found_fmt, first_row=2)
    raise ImportFailed(
        "ingest.error.csv_no_geometry", file=path.name, columns=", ".join(map(str, table.columns))
    )


def read_kobo_csv(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a KoBoToolbox/ODK CSV export (same as :func:`read_csv`, which detects it).

    Parameters
    ----------
    path : str or Path
        The CSV export.
    crs : str, int or None
        CRS of the coordinates; None means WGS84.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_csv`.
    """
    return read_csv(path, crs=crs)


# --- CSV ------------------------------------------------------------------------------------


def _read_table(path: Path) -> pd.DataFrame:
    encoding = _encoding(path)
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    # The first 16,384 characters (a character cut by the 64 KiB read is dropped).
    sample = head.decode(encoding, errors="ignore")[:16384]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        delimiter = max(",;\t", key=first_line.count)
    try:
        # pandas reads and decodes the file itself: no copy of the whole text in Python.
        options = {
            "encoding": encoding,
            "compression": None,  # a .csv.gz or .zip name is not a reason to unpack
            "sep": delimiter,
            # Python strings, not pandas' Arrow strings: converting the parser's strings to
            # Arrow holds both at once and the Arrow pool keeps its peak (5x the file).
            "dtype": object,
            "keep_default_na": False,
            "skipinitialspace": True,
        }
        parts = [_shared_cells(c) for c in pd.read_csv(path, chunksize=_CHUNK_ROWS, **options)]
        # A file with a header and no rows gives no chunk: its columns, no rows.
        table = pd.concat(parts, ignore_index=True) if parts else pd.read_csv(path, **options)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=short(exc)) from exc
    table.columns = [str(c).strip() for c in table.columns]
    # Undo the formula guard Harta's CSV export adds ("'=x" → "=x"), so exports round-trip;
    # only the few cells starting with "'" go through the regular expression.
    for column in table.columns:
        guarded = table[column].str.startswith("'").to_numpy(bool)
        if guarded.any():
            cells = table[column].to_numpy(object).copy()
            cells[guarded] = [_NEUTRALISED.sub("", cell) for cell in cells[guarded]]
            table[column] = pd.Series(cells, index=table.index, dtype=table[column].dtype)
    return table


#: Rows parsed at a time: each chunk's repeated cells are made one string before the next.
_CHUNK_ROWS = 16384


def _shared_cells(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk with equal cells of a column held as one Python string (a police export
    repeats its dates, hours, types and severities thousands of times: peak memory)."""
    for column in chunk.columns:
        codes, uniques = pd.factorize(chunk[column].to_numpy(object), use_na_sentinel=False)
        if len(uniques) < len(codes):
            chunk[column] = np.asarray(uniques, dtype=object)[codes]
    return chunk


def _encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if every byte decodes as such, else Windows-1250; checked
    a mebibyte at a time, so the file's text is never held whole."""
    for encoding in ("utf-8-sig", "cp1250"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise ImportFailed("ingest.error.encoding", file=path.name)


def _numbers(column: pd.Series) -> np.ndarray:
    """Parse coordinates, accepting decimal commas (Romanian spreadsheets)."""
    cleaned = [v.strip().replace(",", ".") if isinstance(v, str) else v for v in column.tolist()]
    return pd.to_numeric(pd.Series(cleaned, dtype=object), errors="coerce").to_numpy(dtype=float)


def _points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    geometry = shapely.points(x, y)
    missing = ~(np.isfinite(x) & np.isfinite(y))
    geometry[missing] = None
    return geometry


def _source_crs(crs: str | int | None, path: Path) -> CRS:
    return parse_crs(crs, path) if crs is not None else CRS.from_epsg(4326)


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
    # Python strings one by one (no Arrow copy of the column: peak memory, issue 10).
    texts = [v.strip() if isinstance(v, str) else "" for v in table[column].tolist()]
    found = [_EWKT_SRID.match(v) for v in texts]
    srids = {m.group(1) for m in found if m}
    if crs is None and len(srids) == 1:
        crs = int(srids.pop())
    # Empty cells arrive as "", NaN or pandas.NA depending on the dtype: all mean "no geometry".
    texts = [(v[m.end() :] if m else v) or None for v, m in zip(texts, found, strict=True)]
    del found
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
