"""Scheduled public-transport time from each site to the city centre, weekday 07:30 (GTFS).

An earliest-arrival **connection scan** (Dibbelt et al. 2013) over one weekday's timetable:

1. *Which day.*  The services of the first Wednesday in the feed's ``calendar.txt`` range
   (``calendar_dates.txt`` exceptions applied when present); trips of ``frequencies.txt`` are
   expanded at their headway.
2. *Access.*  The site walks to every stop along the street network (:mod:`geo.network`, walk
   mode), leaving at 07:30.
3. *Scan.*  Connections (one vehicle hop between consecutive stops of a trip) departing between
   07:30 and 07:30 + :data:`HORIZON_S`, in departure order; a trip can be boarded where the
   traveller already is; getting off, the traveller may walk to any stop within
   :data:`TRANSFER_M` (straight line at walking speed -- the streets are not routed for
   transfers, which is optimistic by the detour).
4. *Egress.*  From a stop within :data:`CENTRE_RADIUS_M` of the centre (Piața Unirii), the
   straight-line walk to it.  Walking the whole way (on the street network) also counts.

The answer is minutes from 07:30 to arrival at the centre: waiting time included.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo import network as net
from geo.gtfs import read_table
from geo.planning.sites.mcda import McdaError

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.planning.sites.inputs import SiteContext

#: Piața Unirii, the centre of Cluj-Napoca (lon, lat).
CENTRE = (23.5899, 46.7694)
CENTRE_RADIUS_M = 400.0
DEPART_S = 7 * 3600 + 30 * 60
HORIZON_S = 2 * 3600
TRANSFER_M = 250.0
ACCESS_LIMIT_S = 30 * 60
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class TransitError(McdaError):
    """A feed without weekday service."""


def _seconds(text: pd.Series) -> np.ndarray:
    """``HH:MM:SS`` (hours may pass 24) to seconds; NaN when blank."""
    parts = text.astype(str).str.extract(r"^\s*(\d+):(\d\d):(\d\d)\s*$").astype(float)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def weekday_services(archive: zipfile.ZipFile) -> tuple[set[str], dt.date]:
    """Service ids running on the first Wednesday of the feed's calendar.

    Parameters
    ----------
    archive : zipfile.ZipFile

    Returns
    -------
    services : set of str
    day : datetime.date

    Raises
    ------
    TransitError
        No weekday service.
    """
    cal = read_table(archive, "calendar.txt", ["service_id", *DAYS, "start_date", "end_date"])
    if cal.empty:
        raise TransitError("sites.error.gtfs_date")
    start = dt.datetime.strptime(cal["start_date"].min(), "%Y%m%d").date()
    day = start + dt.timedelta(days=(2 - start.weekday()) % 7)
    stamp = day.strftime("%Y%m%d")
    running = cal[
        (cal["wednesday"] == "1") & (cal["start_date"] <= stamp) & (cal["end_date"] >= stamp)
    ]
    services = set(running["service_id"])
    if "calendar_dates.txt" in archive.namelist():
        dates = read_table(archive, "calendar_dates.txt", ["service_id", "date", "exception_type"])
        today = dates[dates["date"] == stamp]
        services |= set(today.loc[today["exception_type"] == "1", "service_id"])
        services -= set(today.loc[today["exception_type"] == "2", "service_id"])
    if not services:
        raise TransitError("sites.error.gtfs_date")
    return services, day


def connections(gtfs: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    """The weekday's connections in the scan window, and the stops.

    Parameters
    ----------
    gtfs : str or Path

    Returns
    -------
    connections : DataFrame
        ``trip``, ``dep_stop``, ``arr_stop``, ``dep``, ``arr`` (seconds after midnight),
        sorted by ``dep``.
    stops : DataFrame
        ``stop_id``, ``lon``, ``lat``.
    day : datetime.date
    """
    with zipfile.ZipFile(gtfs) as archive:
        services, day = weekday_services(archive)
        trips = read_table(archive, "trips.txt", ["trip_id", "service_id"])
        keep = set(trips.loc[trips["service_id"].isin(services), "trip_id"])
        st = read_table(
            archive, "stop_times.txt",
            ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"],
        )  # fmt: skip
        stops = read_table(archive, "stops.txt", ["stop_id", "stop_lat", "stop_lon"])
        freq = (
            read_table(
                archive, "frequencies.txt", ["trip_id", "start_time", "end_time", "headway_secs"]
            )
            if "frequencies.txt" in archive.namelist()
            else pd.DataFrame(columns=["trip_id", "start_time", "end_time", "headway_secs"])
        )
    st = st[st["trip_id"].isin(keep)].copy()
    arr, dep = _seconds(st["arrival_time"]), _seconds(st["departure_time"])
    # A stop with one time has it for both; stops with none (untimed) are skipped.
    st["arr"] = np.where(np.isnan(arr), dep, arr)
    st["dep"] = np.where(np.isnan(dep), arr, dep)
    st = st[np.isfinite(st["dep"].to_numpy())]
    st["seq"] = st["stop_sequence"].astype(int)
    st = st.sort_values(["trip_id", "seq"])
    st = _expand_frequencies(st, freq[freq["trip_id"].isin(keep)])
    nxt = st.groupby("trip_id").shift(-1)
    conn = pd.DataFrame(
        {"trip": st["trip_id"], "dep_stop": st["stop_id"], "arr_stop": nxt["stop_id"],
         "dep": st["dep"], "arr": nxt["arr"]}
    ).dropna()  # fmt: skip
    window = (conn["dep"] >= DEPART_S) & (conn["dep"] <= DEPART_S + HORIZON_S)
    conn = conn[window].sort_values(["dep", "arr"], kind="stable").reset_index(drop=True)
    stops = pd.DataFrame(
        {"stop_id": stops["stop_id"], "lon": pd.to_numeric(stops["stop_lon"], errors="coerce"),
         "lat": pd.to_numeric(stops["stop_lat"], errors="coerce")}
    ).dropna()  # fmt: skip
    return conn, stops, day


def _expand_frequencies(st: pd.DataFrame, freq: pd.DataFrame) -> pd.DataFrame:
    """Replace each frequency-based trip by one copy per headway (times shifted)."""
    if freq.empty:
        return st
    copies = [st[~st["trip_id"].isin(set(freq["trip_id"]))]]
    for row in freq.itertuples():
        template = st[st["trip_id"] == row.trip_id]
        if template.empty:
            continue
        first = template["dep"].iloc[0]
        start, end = _seconds(pd.Series([row.start_time, row.end_time]))
        for k, t0 in enumerate(np.arange(start, end + 1, float(row.headway_secs))):
            if t0 + (template["arr"].iloc[-1] - first) < DEPART_S or t0 > DEPART_S + HORIZON_S:
                continue
            shifted = template.assign(
                trip_id=f"{row.trip_id}#{k}",
                arr=template["arr"] - first + t0,
                dep=template["dep"] - first + t0,
            )
            copies.append(shifted)
    return pd.concat(copies, ignore_index=True).sort_values(["trip_id", "seq"])


def scan(
    conn: pd.DataFrame, start: dict[str, float], transfers: dict[str, list[tuple[str, float]]]
) -> dict[str, float]:
    """Earliest arrival time at every stop (connection scan).

    Parameters
    ----------
    conn : DataFrame
        From :func:`connections`, sorted by departure.
    start : dict
        Stop -> time the traveller can be there (seconds after midnight).
    transfers : dict
        Stop -> [(other stop, walking seconds)].

    Returns
    -------
    dict
        Stop -> earliest arrival.
    """
    best = dict(start)
    on_trip: set[str] = set()
    inf = float("inf")
    for trip, dep_stop, arr_stop, dep, arr in conn.itertuples(index=False):
        if trip in on_trip or best.get(dep_stop, inf) <= dep:
            on_trip.add(trip)
            if arr < best.get(arr_stop, inf):
                best[arr_stop] = arr
                for other, walk in transfers.get(arr_stop, ()):
                    if arr + walk < best.get(other, inf):
                        best[other] = arr + walk
    return best


def _metric(stops: pd.DataFrame, community) -> np.ndarray:  # noqa: ANN001
    x, y = community.to_metric.transform(stops["lon"].to_numpy(), stops["lat"].to_numpy())
    return np.column_stack([x, y])


def minutes_to_centre(sites: gpd.GeoDataFrame, context: SiteContext) -> np.ndarray:
    """Minutes from 07:30 to arrival at the centre, per site (see the module docstring).

    Parameters
    ----------
    sites : GeoDataFrame
    context : SiteContext
        Its ``gtfs`` feed and community.

    Returns
    -------
    numpy.ndarray
        NaN where the centre cannot be reached within the horizon.
    """
    community = context.community
    conn, stops, _ = connections(context.gtfs)
    xy = _metric(stops, community)
    centre = np.array(community.to_metric.transform(*CENTRE))
    ids = stops["stop_id"].to_numpy()
    d_centre = np.hypot(*(xy - centre).T)
    egress = {
        ids[i]: d_centre[i] / net.WALK_SPEED_MS for i in np.flatnonzero(d_centre <= CENTRE_RADIUS_M)
    }
    transfers = _transfers(ids, xy)
    walk = net.network_for(community, "walk")
    points = np.column_stack([stops["lon"], stops["lat"]])
    access = net.travel_times(walk, community, sites.geometry, points, limit=ACCESS_LIMIT_S)
    on_foot = net.travel_times(walk, community, sites.geometry, np.array([CENTRE])).reshape(-1)
    out = np.full(len(sites), np.nan)
    for i in range(len(sites)):
        reach = np.flatnonzero(np.isfinite(access[i]))
        best = scan(conn, {ids[j]: DEPART_S + access[i, j] for j in reach}, transfers)
        arrive = min((best[s] + w for s, w in egress.items() if s in best), default=np.inf)
        arrive = min(arrive, DEPART_S + on_foot[i])
        if arrive <= DEPART_S + HORIZON_S:
            out[i] = (arrive - DEPART_S) / 60.0
    return out


def _transfers(ids: np.ndarray, xy: np.ndarray) -> dict[str, list[tuple[str, float]]]:
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    out: dict[str, list[tuple[str, float]]] = {}
    for i, j in tree.query_pairs(TRANSFER_M):
        seconds = float(np.hypot(*(xy[i] - xy[j]))) / net.WALK_SPEED_MS
        out.setdefault(ids[i], []).append((ids[j], seconds))
        out.setdefault(ids[j], []).append((ids[i], seconds))
    return out
