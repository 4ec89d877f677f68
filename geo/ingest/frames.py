"""What every reader shares: CRS arguments, the transformation to EPSG:4326, row numbers.

:func:`finish` is the common end of every reader: the frame leaves 2-D, in EPSG:4326, with a
``_row`` column (the number a person finds the row under: the spreadsheet row for tables, whose
header is row 1; the feature number for other formats) and ``attrs`` saying the format and,
when coordinates were transformed, which transformation PROJ used and whether it was a
ballpark one (no datum shift).  Coordinates that are not degrees after all that (a GeoJSON in
metres without a ``crs`` member) are refused with a message, never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import crs as crs_
from geo.ingest.report import ImportFailed

WGS84 = "EPSG:4326"


def is_blank(value: object) -> bool:
    """Whether a cell holds nothing (None, NaN, NA, NaT or only spaces).

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    bool
        True for a blank cell.
    """
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def parse_crs(crs: object, path: Path) -> CRS:
    """``crs`` as a pyproj CRS, or :class:`ImportFailed` naming the file.

    Parameters
    ----------
    crs : object
        Anything ``pyproj.CRS.from_user_input`` takes (``4326``, ``"EPSG:3844"``...).
    path : pathlib.Path
        The file being read, named in the error message.

    Returns
    -------
    pyproj.CRS
        The parsed CRS.
    """
    try:
        return crs_.to_crs(crs)
    except crs_.CRSInputError as exc:
        raise ImportFailed("ingest.error.bad_crs", file=path.name, crs=str(crs)) from exc


def check_crs_agrees(path: Path, declared: CRS | None, given: object) -> None:
    """Refuse a ``crs=`` that contradicts the CRS the file declares.

    Parameters
    ----------
    path : pathlib.Path
        The source file, named in the error message.
    declared : pyproj.CRS or None
        CRS the file declares; None accepts any ``given``.
    given : object
        The ``crs=`` argument; raises ImportFailed when it differs from ``declared``.
    """
    wanted = parse_crs(given, path)
    if declared is not None and not CRS.from_user_input(declared).equals(wanted):
        raise ImportFailed(
            "ingest.error.crs_conflict",
            file=path.name,
            declared=CRS(declared).to_string(),
            given=wanted.to_string(),
        )


def apply_crs_argument(frame: gpd.GeoDataFrame, path: Path, crs: object) -> gpd.GeoDataFrame:
    """The file's own CRS, else ``crs=``; a file with neither is refused.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Frame as read from the file (``crs`` None when it declares none).
    path : pathlib.Path
        The source file, named in error messages.
    crs : object
        The ``crs=`` argument (anything ``pyproj.CRS.from_user_input`` takes) or None.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` with a CRS; raises ImportFailed when there is none or the two disagree.
    """
    if frame.crs is None:
        if crs is None:
            raise ImportFailed("ingest.error.crs_unknown", file=path.name)
        return frame.set_crs(parse_crs(crs, path))
    if crs is not None:
        check_crs_agrees(path, frame.crs, crs)
    return frame


def finish(
    frame: gpd.GeoDataFrame, path: Path, fmt: str, *, first_row: int = 1
) -> gpd.GeoDataFrame:
    """Common end of every reader: 2-D, EPSG:4326, ``_row``, format and transformation noted.

    Parameters
    ----------
    frame : GeoDataFrame
        As read, in its own CRS (none means EPSG:4326).
    path : Path
        The file (its name goes into messages).
    fmt : str
        Format name recorded in ``attrs["format"]``.
    first_row : int
        Number of the first row: 2 for tables (the header is row 1), 1 for features.

    Returns
    -------
    GeoDataFrame
    """
    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame:
        # GDAL reads some broken files ("[") as a table without geometry: unreadable, said so.
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason="no geometry")
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    geometry = np.asarray(frame.geometry.values, dtype=object)
    if shapely.has_z(geometry).any():  # a copy of every geometry only when there is a Z
        geometry = shapely.force_2d(geometry)
    source = CRS.from_user_input(frame.crs)
    note = None
    if not source.equals(crs_.STORAGE):
        geometry, note = _to_storage(geometry, source, path)
    _check_degrees(geometry, path)
    frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geometry, crs=WGS84)
    frame = frame.reset_index(drop=True)
    frame["_row"] = np.arange(first_row, len(frame) + first_row)
    frame.attrs["format"] = fmt
    frame.attrs["file"] = path.name
    if note is not None:
        frame.attrs["transformation"] = note
    return frame


def _to_storage(geometry: np.ndarray, source: CRS, path: Path) -> tuple[np.ndarray, dict]:
    """Transform to EPSG:4326 with the transformation :func:`geo.crs.transformation` names."""
    try:
        chosen = crs_.transformation(source)
        forward = chosen.transformer
        moved = shapely.transform(
            geometry, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
        )
    except Exception as exc:  # PROJ raises several types; all mean the same to the user
        raise ImportFailed("ingest.error.unreadable", file=path.name, reason=short(exc)) from exc
    note = {
        "crs": source.name,
        "epsg": source.to_epsg(),
        "description": chosen.description,
        "accuracy_m": chosen.accuracy_m,
        "ballpark": chosen.ballpark,
        "replaced": chosen.replaced,
        "error_m": crs_.BALLPARK_ERROR_M,
    }
    return moved, note


def _check_degrees(geometry: np.ndarray, path: Path) -> None:
    """Coordinates beyond ±180/±90 after transformation are metres read as degrees."""
    present = geometry[~(shapely.is_missing(geometry) | shapely.is_empty(geometry))]
    if not len(present):
        return
    coords = shapely.get_coordinates(present)
    finite = np.isfinite(coords).all(axis=1)
    if not finite.all() or (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise ImportFailed("ingest.error.coordinates_not_degrees", file=path.name)


def short(exc: BaseException) -> str:
    """First line of an exception's text without temporary directories.

    Parameters
    ----------
    exc : BaseException
        Any exception.

    Returns
    -------
    str
        At most 300 characters; the exception's class name when its text is empty.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # GDAL messages often repeat the full temporary path; keep only the file part.
    return re.sub(r"(/[^\s:'\"]+)+/", "", text)[:300]
