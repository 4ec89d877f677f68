"""Read public-transport stops, and the routes serving them, from a GTFS feed.

The reader tolerates the quirks of the CTP Cluj-Napoca feed bundled with Harta's sources:

* ``agency.txt`` carries an extra, empty row (agency is not read at all here);
* every data row of ``stops.txt`` has one more (empty) field than the header, which makes a naive
  CSV reader shift the columns or use ``stop_id`` as the index;
* a few stops have absurd coordinates (hundreds of kilometres from the city).

Only ``stops.txt``, ``routes.txt``, ``trips.txt`` and ``stop_times.txt`` are read, and only the
columns needed, so a 200 000-row ``stop_times.txt`` loads in well under a second.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE
from geo.errors import HartaError

#: Stops come out in the storage CRS (EPSG:4326), as GTFS gives them.
CRS = STORAGE

#: Stops farther than this from the median stop of the feed are treated as misplaced.  A city
#: network fits comfortably inside it; the CTP feed's stray stops lie 350+ km away.
MAX_DISTANCE_FROM_MEDIAN_KM = 100.0

STOP_COLUMNS = ["stop_id", "name", "routes", "geometry"]


class GtfsError(HartaError, ValueError):
    """A GTFS feed that cannot be read (not a zip, missing table or column).

    ``message(lang)`` names the file (without its folders) and what is wrong.
    """


def read_stops(
    gtfs_zip: str | Path,
    area: BaseGeometry | tuple[float, float, float, float] | None = None,
    *,
    max_distance_from_median_km: float | None = MAX_DISTANCE_FROM_MEDIAN_KM,
) -> gpd.GeoDataFrame:
    """Read the stops of a GTFS feed with the routes that serve them.

    Parameters
    ----------
    gtfs_zip : str or Path
        The GTFS ``.zip`` file.
    area : shapely geometry or (min_lon, min_lat, max_lon, max_lat), optional
        Keep only the stops inside (or on the edge of) this area, in EPSG:4326.
    max_distance_from_median_km : float or None
        Drop stops farther than this from the feed's median stop position (misplaced stops).
        ``None`` keeps them.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``stop_id`` (str), ``name`` (str), ``routes`` (route short names, naturally
        sorted, comma separated; empty when no trip serves the stop) and Point ``geometry`` in
        EPSG:4326, ordered by ``stop_id``.
    """
    path = Path(gtfs_zip)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise GtfsError("gtfs.error.unreadable", file=path.name, reason=str(exc)) from exc
    with archive:
        stops = _read_stop_positions(archive, path)
        stops = _drop_misplaced(stops, max_distance_from_median_km)
        if area is not None:
            stops = _within(stops, area)
        routes = _routes_by_stop(archive, path, set(stops["stop_id"]))
    stops["routes"] = stops["stop_id"].map(routes).fillna("")
    gdf = gpd.GeoDataFrame(
        stops[["stop_id", "name", "routes"]],
        geometry=gpd.points_from_xy(stops["lon"], stops["lat"]),
        crs=CRS,
    )
    return gdf.sort_values("stop_id", key=_natural_keys).reset_index(drop=True)


def read_table(
    archive: zipfile.ZipFile, member: str, columns: Iterable[str], *, source: Path | str = ""
) -> pd.DataFrame:
    """Read ``columns`` of one GTFS table as strings, tolerating ragged rows.

    Rows longer than the header are cut to the header's length (the CTP feed adds an empty
    field to each stops row); shorter rows are padded with empty strings.  Fully empty rows
    are skipped.

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open feed.
    member : str
        Table file name, e.g. ``"stops.txt"``.
    columns : iterable of str
        Columns to keep, in this order.
    source : Path or str
        The feed's path, for messages (only its file name is shown).

    Returns
    -------
    pandas.DataFrame
        One string column per requested column.

    Raises
    ------
    GtfsError
        When the table or one of the columns is missing.
    """
    wanted = list(columns)
    try:
        raw = archive.open(member)
    except KeyError as exc:
        raise GtfsError("gtfs.error.missing_table", file=Path(source).name, member=member) from exc
    with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in wanted if name not in header]
        if missing:
            raise GtfsError(
                "gtfs.error.missing_column",
                file=Path(source).name,
                member=member,
                columns=", ".join(missing),
            )
        positions = [header.index(name) for name in wanted]
        rows = list(_picked(reader, positions, len(header)))
    return pd.DataFrame(rows, columns=wanted, dtype=str)


def _picked(rows: Iterator[list[str]], positions: list[int], width: int) -> Iterator[list[str]]:
    for row in rows:
        if not any(field.strip() for field in row):
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        yield [row[i].strip() for i in positions]


def _read_stop_positions(archive: zipfile.ZipFile, source: Path) -> pd.DataFrame:
    table = read_table(
        archive, "stops.txt", ["stop_id", "stop_name", "stop_lat", "stop_lon"], source=source
    )
    table = table.rename(columns={"stop_name": "name"})
    table["lat"] = pd.to_numeric(table.pop("stop_lat"), errors="coerce")
    table["lon"] = pd.to_numeric(table.pop("stop_lon"), errors="coerce")
    # Unparseable, out-of-range or null-island positions cannot be placed on a map.
    valid = (
        table["lat"].between(-90, 90)
        & table["lon"].between(-180, 180)
        & ~((table["lat"] == 0) & (table["lon"] == 0))
        & (table["stop_id"] != "")
    )
    return table[valid].drop_duplicates("stop_id").reset_index(drop=True)


def _drop_misplaced(stops: pd.DataFrame, max_km: float | None) -> pd.DataFrame:
    if max_km is None or stops.empty:
        return stops
    lat0, lon0 = stops["lat"].median(), stops["lon"].median()
    distance = _haversine_km(lat0, lon0, stops["lat"].to_numpy(), stops["lon"].to_numpy())
    return stops[distance <= max_km].reset_index(drop=True)


def _haversine_km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    lat0_r, lon0_r, lat_r, lon_r = map(np.radians, (lat0, lon0, lat, lon))
    a = (
        np.sin((lat_r - lat0_r) / 2) ** 2
        + np.cos(lat0_r) * np.cos(lat_r) * np.sin((lon_r - lon0_r) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def _within(
    stops: pd.DataFrame, area: BaseGeometry | tuple[float, float, float, float]
) -> pd.DataFrame:
    if isinstance(area, tuple | list):
        min_lon, min_lat, max_lon, max_lat = area
        inside = stops["lon"].between(min_lon, max_lon) & stops["lat"].between(min_lat, max_lat)
    else:
        inside = shapely.covers(area, shapely.points(stops["lon"], stops["lat"]))
    return stops[np.asarray(inside, dtype=bool)].reset_index(drop=True)


def _routes_by_stop(archive: zipfile.ZipFile, source: Path, stop_ids: set[str]) -> dict[str, str]:
    """Map each stop id to the sorted, comma-separated short names of the routes serving it."""
    if not stop_ids:
        return {}
    stop_times = read_table(archive, "stop_times.txt", ["trip_id", "stop_id"], source=source)
    stop_times = stop_times[stop_times["stop_id"].isin(stop_ids)].drop_duplicates()
    trips = read_table(archive, "trips.txt", ["trip_id", "route_id"], source=source)
    routes = read_table(
        archive, "routes.txt", ["route_id", "route_short_name", "route_long_name"], source=source
    )
    # A route without a short name is still a route: fall back to its long name, then its id.
    routes["label"] = (
        routes["route_short_name"]
        .where(routes["route_short_name"] != "", routes["route_long_name"])
        .where(lambda s: s != "", routes["route_id"])
    )
    served = stop_times.merge(trips, on="trip_id").merge(routes, on="route_id")
    labels = served.groupby("stop_id")["label"].agg(lambda names: sorted(set(names), key=_natural))
    return {stop_id: ",".join(names) for stop_id, names in labels.items()}


def _natural(text: str) -> tuple:
    """Sort key putting ``5`` before ``5N`` before ``8`` before ``24`` before ``M42``."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def _natural_keys(series: pd.Series) -> pd.Series:
    return series.map(_natural)
