"""What a hot spot run may read: exact points for police and mediators, published counts else.

Who sees what (the rules of :mod:`geo.privacy` and :func:`geo.roles.analysis_scope`, applied to
the *inputs* so every output of a run is safe for the role that asked for it):

``police``
    every incident, exact points.  Scope ``"all"``.
``mediator``
    exact points of non-sensitive incidents.  Scope ``"exact"``.
``public``, ``community``, ``planner``, ``admin``
    scope ``"aggregated"``: the analyses see **only the published hexagon counts** — the counts
    of non-sensitive incidents per hexagon, with cells below the suppression threshold
    (``get_settings().suppression_threshold``, 5) set to nothing and the others rounded to 5.
    The hexagon side is the community's published analysis grid (``published_grids``, migration
    0005: about 50 cells over its area, at least 100 m) and depends neither on the data nor on
    the user.  Dates are whole calendar months in the community's time zone (the database
    refuses anything else and publishes complete months only), emerging hot spots use months,
    and at most one incident type is asked for.  Gi* runs on those counts; the density surface
    is a kernel smoothing of the published cells' centres weighted by their counts, with a
    bandwidth of at least the hexagon side and never below :data:`MIN_AGGREGATED_BANDWIDTH_M`
    (150 m), so it shows nothing the hexagon layer does not already show — a lone incident
    never becomes a blob centred on its door.
    Emerging hot spots use the published counts of each month; hour and weekday profiles hide
    bins below the threshold.  The cell size is fixed so that maps of different runs cannot be
    overlaid to narrow a cell down.  This is exactly what the database functions
    ``incident_hex_counts`` and ``incident_time_profile`` return, and these roles cannot read
    ``incidents`` at all (row-level security).

Which incidents belong to the community is the database's one membership rule (the views read
it); sensitive types (domestic and sexual violence, child protection) and incidents marked
sensitive or restricted enter only police runs: counting them in the totals others see would let
anyone recover them by subtracting a run filtered on the other types.  Withdrawn incidents enter
no run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine

from geo import views
from geo.analysis.trends import day_of_week_profile, time_of_day_profile
from geo.communities.model import Community
from geo.db.engine import concurrently
from geo.hexgrid.grid import WGS84, cell_ids, default_hex_size, xy_to_axial
from geo.privacy import VisibleIncidents, visible_incidents
from geo.roles import analysis_scope
from geo.runs import Scope

#: Smallest hexagon side of aggregated (non-exact) runs, metres (the database's floor).
MIN_AGGREGATED_CELL_M = 100.0
#: Smallest density bandwidth of aggregated runs, metres.
MIN_AGGREGATED_BANDWIDTH_M = 150.0


def scope_for(role: str) -> Scope:
    """Which incidents a role's runs are computed from (see the module docstring).

    Parameters
    ----------
    role : str
        One of :data:`geo.roles.ROLES`.

    Returns
    -------
    {"all", "exact", "aggregated"}

    Raises
    ------
    ValueError
        For an unknown role.
    """
    return analysis_scope(role)


def aggregated_cell_size(community: Community) -> float:
    """Hexagon side of a community's aggregated runs: fixed by its area alone (about 50 cells,
    :func:`geo.hexgrid.grid.default_hex_size` with no incidents), at least 100 m.  Being the
    same for every run, maps of different runs cannot be overlaid to narrow a cell down.

    Parameters
    ----------
    community : Community

    Returns
    -------
    float
        Metres.
    """
    area = gpd.GeoSeries([community.geometry], crs=WGS84)
    return max(MIN_AGGREGATED_CELL_M, default_hex_size(area, 0, community.crs))


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunFilters:
    """Which incidents enter a run.

    Attributes
    ----------
    date_from, date_to : date, optional
        First and last local day included (the community's time zone).
    types : tuple of str, optional
        Incident type codes; empty or None means every type the role's scope allows.
    min_severity : int
        Lowest severity included (1–5).
    """

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    types: tuple[str, ...] | None = None
    min_severity: int = 1

    def as_params(self) -> dict[str, Any]:
        """The filters as stored in a run's ``params["filters"]`` (JSON: ISO dates, sorted types).

        Returns
        -------
        dict
        """
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "types": sorted(self.types) if self.types else None,
            "min_severity": int(self.min_severity),
        }


def apply_filters(
    incidents: gpd.GeoDataFrame, filters: RunFilters, tz: str
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Apply ``filters`` in order (dates, types, severity); count what each step leaves.

    Parameters
    ----------
    incidents : GeoDataFrame
        With ``occurred_at``, ``type_code`` and ``severity``.
    filters : RunFilters
    tz : str
        Time zone of the local days.

    Returns
    -------
    GeoDataFrame
        The incidents kept.
    dict
        ``after_dates``, ``after_types``, ``after_severity``.
    """
    counts: dict[str, int] = {}
    local = pd.to_datetime(incidents["occurred_at"], utc=True).dt.tz_convert(ZoneInfo(tz))
    keep = pd.Series(True, index=incidents.index)
    if filters.date_from is not None:
        keep &= local.dt.date >= filters.date_from
    if filters.date_to is not None:
        keep &= local.dt.date <= filters.date_to
    counts["after_dates"] = int(keep.sum())
    if filters.types:
        keep &= incidents["type_code"].isin(list(filters.types))
    counts["after_types"] = int(keep.sum())
    keep &= incidents["severity"] >= int(filters.min_severity)
    counts["after_severity"] = int(keep.sum())
    return incidents[keep], counts


def scoped_incidents(incidents: gpd.GeoDataFrame, role: str) -> gpd.GeoDataFrame:
    """Drop what no run of ``role`` may use: withdrawn incidents always; sensitive types and
    incidents marked sensitive or restricted unless the role is police.

    Parameters
    ----------
    incidents : GeoDataFrame
        With ``status``, ``type_code`` and ``sensitivity``.
    role : str

    Returns
    -------
    GeoDataFrame
    """
    keep = incidents["status"] != "withdrawn"
    if scope_for(role) != "all":
        # Each type looked up once, not once per row (100,000 rows: 0.2 s of every page view).
        codes = incidents["type_code"]
        sensitive = codes.isin([c for c in codes.dropna().unique() if _is_sensitive_type(c)])
        sensitive |= codes.isna()  # no type: treated as sensitive, as an unknown type is
        keep &= ~sensitive & (incidents["sensitivity"] == "normal")
    return incidents[keep]


def _is_sensitive_type(code: str) -> bool:
    from geo.taxonomy import UnknownCodeError, is_sensitive

    try:
        return is_sensitive(code)
    except UnknownCodeError:
        return True  # an unknown type is treated as sensitive: never widen access


# --------------------------------------------------------------------------------------------
# Aggregated inputs: read from the database function incident_hex_counts, never from points
# --------------------------------------------------------------------------------------------
#: Hexagon orientation of aggregated runs: PostGIS ``ST_HexagonGrid`` draws flat-topped hexagons
#: anchored at the CRS origin, exactly :func:`geo.hexgrid.grid.hex_grid` with ``"flat"``.
AGGREGATED_ORIENTATION = "flat"
#: How far back an aggregated run looks when no start date is given (its periods need a range).
DEFAULT_WINDOW = dt.timedelta(days=730)
#: The same for the months of aggregated runs.
DEFAULT_WINDOW_MONTHS = 24
#: Period of emerging hot spots in aggregated runs: the published period.
AGGREGATED_FREQ = "month"


def published_window(filters: RunFilters, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The published months the filters cover, as instants (start inclusive, end exclusive).

    The months of ``date_from`` and ``date_to`` are included whole; the end never passes the
    start of the current month (the database publishes complete months only); without a start
    the window is the :data:`DEFAULT_WINDOW_MONTHS` complete months before the end.

    Parameters
    ----------
    filters : RunFilters
    tz : str
        The community's time zone.

    Returns
    -------
    (datetime, datetime)
    """
    now = dt.datetime.now(ZoneInfo(tz)).date()
    current = views.month_start(now, tz)
    end = current
    if filters.date_to is not None:
        end = min(views.month_start(filters.date_to, tz, 1), current)
    if filters.date_from is not None:
        start = min(views.month_start(filters.date_from, tz), end)
    else:
        start = views.month_start(end.date(), tz, -DEFAULT_WINDOW_MONTHS)
    return start, end


def _flat_cell_ids(cells: gpd.GeoDataFrame, community: Community, cell_m: float) -> np.ndarray:
    centres = gpd.GeoSeries(cells.geometry.values, crs=WGS84).to_crs(community.crs).centroid
    x, y = centres.x.to_numpy(), centres.y.to_numpy()
    q, r = xy_to_axial(x, y, cell_m, AGGREGATED_ORIENTATION)
    return cell_ids(q, r, cell_m, AGGREGATED_ORIENTATION)


def published_cells(
    engine: Engine,
    community: Community,
    cell_m: float,
    threshold: int,
    filters: RunFilters,
    window: tuple[dt.datetime | None, dt.datetime | None],
) -> gpd.GeoDataFrame:
    """Published hexagon counts from the database, with the cell ids of the analysis grid.

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role.
    community : Community
    cell_m : float
        The published analysis cell side (:func:`geo.views.published_grid`).
    threshold : int
        Suppression threshold.
    filters : RunFilters
    window : (datetime, datetime)
        Start (inclusive) and end (exclusive), whole months.

    Returns
    -------
    GeoDataFrame
        :func:`geo.views.incident_hex_counts` (``count`` NaN where ``suppressed``) with
        ``cell_id`` as :func:`geo.hexgrid.grid.hex_grid` numbers flat hexagons.
    """
    return _published_with_keys(engine, community, cell_m, threshold, filters, window)[0]


def _published_with_keys(
    engine: Engine,
    community: Community,
    cell_m: float,
    threshold: int,
    filters: RunFilters,
    window: tuple[dt.datetime | None, dt.datetime | None],
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """:func:`published_cells` and, row by row, the database's ``"i:j"`` cell ids."""
    frame = views.incident_hex_counts(
        engine, community, cell_m, threshold, *window, filters.types, filters.min_severity
    ).rename_geometry("geometry")
    keys = [str(k) for k in frame["cell_id"]]
    frame["cell_id"] = _flat_cell_ids(frame, community, cell_m)
    return frame, keys


def cell_centres(
    cells: gpd.GeoDataFrame,
    community: Community,
    time_column: str | None = None,
    time_value: pd.Timestamp | None = None,
) -> gpd.GeoDataFrame:
    """One point per published incident, at its cell's centre (EPSG:4326, ``cell_id``).

    The analyses of aggregated runs are computed from these points, so their outputs are
    functions of the published counts only.

    Parameters
    ----------
    cells : GeoDataFrame
        :func:`published_cells`.
    community : Community
        Its metric CRS finds the centres.
    time_column : str, optional
        Name of a timestamp column to add, holding ``time_value``.
    time_value : Timestamp, optional

    Returns
    -------
    GeoDataFrame
    """
    shown = cells[~cells["suppressed"]]
    centres = shown.geometry.to_crs(community.crs).centroid.to_crs(WGS84)
    repeats = shown["count"].fillna(0).astype(int).to_numpy()
    frame = gpd.GeoDataFrame(
        {"cell_id": np.repeat(shown["cell_id"].to_numpy(), repeats)},
        geometry=gpd.GeoSeries(np.repeat(centres.values, repeats), crs=WGS84).values,
        crs=WGS84,
    )
    if time_column:
        frame[time_column] = time_value
    return frame


def _periods(
    window: tuple[dt.datetime | None, dt.datetime | None], freq: str, tz: str
) -> list[tuple[dt.datetime, dt.datetime, pd.Timestamp]]:
    """(start, end, middle) of each week or month of the window, clipped to it."""
    end = window[1] or dt.datetime.now(ZoneInfo(tz))
    start = window[0] or end - DEFAULT_WINDOW
    rule = {"week": "W-SUN", "month": "M"}[freq]
    local_start = pd.Timestamp(start).tz_convert(tz).tz_localize(None)
    local_end = pd.Timestamp(end).tz_convert(tz).tz_localize(None) - pd.Timedelta(microseconds=1)
    out = []
    for period in pd.period_range(local_start, local_end, freq=rule):
        lo = max(period.start_time.tz_localize(tz), pd.Timestamp(start))
        hi = min((period + 1).start_time.tz_localize(tz), pd.Timestamp(end))
        if lo >= hi:
            continue
        middle = period.start_time + (period.end_time - period.start_time) / 2
        out.append((lo.to_pydatetime(), hi.to_pydatetime(), pd.Timestamp(middle).tz_localize(tz)))
    return out


def _published_over_time(
    engine: Engine,
    community: Community,
    cell_m: float,
    threshold: int,
    filters: RunFilters,
    window: tuple[dt.datetime | None, dt.datetime | None],
    freq: str,
) -> gpd.GeoDataFrame:
    """Centre points of each period's published counts, stamped with the period's middle."""
    frames = [
        cell_centres(
            published_cells(engine, community, cell_m, threshold, filters, (lo, hi)),
            community,
            "occurred_at",
            middle,
        )
        for lo, hi, middle in _periods(window, freq, community.timezone)
    ]
    if not frames:
        return gpd.GeoDataFrame({"cell_id": [], "occurred_at": []}, geometry=[], crs=WGS84)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)


def _monthly_counts(
    engine: Engine,
    community: Community,
    cell_m: float,
    threshold: int,
    filters: RunFilters,
    window: tuple[dt.datetime, dt.datetime],
) -> pd.DataFrame | None:
    """The published counts of every month of ``window`` (``incident_hex_counts_monthly``);
    None when the window holds no month."""
    if not _periods(window, AGGREGATED_FREQ, community.timezone):
        return None
    return views.incident_hex_counts_monthly(
        engine, community, cell_m, threshold, *window, filters.types, filters.min_severity
    )


def _published_months(
    community: Community,
    window: tuple[dt.datetime, dt.datetime],
    published: tuple[gpd.GeoDataFrame, list[str]],
    monthly: pd.DataFrame | None,
) -> gpd.GeoDataFrame:
    """:func:`_published_over_time` with monthly periods, from ONE database call
    (``monthly``: :func:`_monthly_counts`, each month published exactly as a call for that
    month alone) instead of one call per month.

    ``published`` is :func:`_published_with_keys` of the window: its cells (geometry, ids) are
    the cells of every month, since the cells listed depend on the area only.
    """
    frame, keys = published
    if monthly is None:  # the window holds no month (_monthly_counts)
        return gpd.GeoDataFrame({"cell_id": [], "occurred_at": []}, geometry=[], crs=WGS84)
    periods = _periods(window, AGGREGATED_FREQ, community.timezone)
    counts = monthly.pivot(index="month_start", columns="cell_id", values="count")
    counts.index = pd.to_datetime(counts.index, utc=True)
    if set(counts.columns) != set(keys):
        raise RuntimeError("monthly counts list other cells than the window's")
    # Centres found once; each month repeats them by its published counts (cell_centres).
    centres = frame.geometry.to_crs(community.crs).centroid.to_crs(WGS84).values
    ids = frame["cell_id"].to_numpy()
    # One frame for all months (a column set month by month costs seconds at 100,000 rows).
    repeats = np.stack(
        [
            counts.loc[pd.Timestamp(lo).tz_convert("UTC"), keys].fillna(0).astype(int).to_numpy()
            for lo, _, _ in periods
        ]
    )
    per_month = repeats.sum(axis=1)
    out = gpd.GeoDataFrame(
        {"cell_id": np.repeat(np.tile(ids, len(periods)), repeats.ravel())},
        geometry=gpd.GeoSeries(
            np.repeat(np.tile(centres, len(periods)), repeats.ravel()), crs=WGS84
        ).values,
        crs=WGS84,
    )
    middles = pd.DatetimeIndex([middle for _, _, middle in periods])
    out["occurred_at"] = middles.repeat(per_month)
    return out


# --------------------------------------------------------------------------------------------
# The inputs of one run
# --------------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """What the analyses of one run are computed from.

    Attributes
    ----------
    analysed : GeoDataFrame
        Points the hot spot and density analyses see (exact incidents, or one point per
        published incident at its cell's centre).
    over_time : GeoDataFrame
        Points with ``occurred_at`` for emerging hot spots.
    hours, weekdays : Series
        Incidents per local hour and weekday (NaN where suppressed).
    counts : dict
        How many rows each step kept (stored as the run's ``input_counts``).
    visible : VisibleIncidents
        What the role may see of the incidents.
    published : GeoDataFrame or None
        The published cells of aggregated runs.
    orientation : {"pointy", "flat"}
        Hexagon orientation of the analyses (flat: the database's published grid).
    cell_size_m : float
        Hexagon side of the analyses.
    """

    analysed: gpd.GeoDataFrame
    over_time: gpd.GeoDataFrame
    hours: pd.Series
    weekdays: pd.Series
    counts: dict[str, int]
    visible: VisibleIncidents
    cell_size_m: float
    published: gpd.GeoDataFrame | None = None
    orientation: str = "pointy"


def exact_inputs(
    engine: Engine,
    community: Community,
    role: str,
    filters: RunFilters,
    threshold: int,
    cell_size_m: float | None = None,
) -> Inputs:
    """Police and mediators: the incident points they may read.

    Row-level security already hides sensitive rows from mediators; :func:`scoped_incidents`
    applies the same rule again, so an engine with wider rights never widens a run.

    Parameters
    ----------
    engine : Engine
        Acting as ``role``.
    community : Community
    role : str
        ``police`` or ``mediator``.
    filters : RunFilters
    threshold : int
        Suppression threshold of the hexagon counts of withheld incidents.
    cell_size_m : float, optional
        Hexagon side; default :func:`geo.hexgrid.grid.default_hex_size` for the points.

    Returns
    -------
    Inputs
    """
    raw = views.incident_points(engine, community)
    scoped = scoped_incidents(raw, role)
    points, counts = apply_filters(scoped, filters, community.timezone)
    area = gpd.GeoSeries([community.geometry], crs=WGS84)
    cell = float(cell_size_m or default_hex_size(area, max(len(points), 1), community.crs))
    return Inputs(
        analysed=points,
        over_time=points,
        hours=time_of_day_profile(points, community.timezone),
        weekdays=day_of_week_profile(points, community.timezone),
        counts={
            "stored": int(len(raw)),
            "in_scope": int(len(scoped)),
            **counts,
            "used": int(len(points)),
        },
        visible=visible_incidents(
            points, role, area, community.crs, cell_size_m=cell, threshold=threshold
        ),
        cell_size_m=cell,
    )


def aggregated_inputs(
    engine: Engine,
    community: Community,
    role: str,
    filters: RunFilters,
    threshold: int,
) -> Inputs:
    """Every other role: only what the database functions ``incident_hex_counts`` and
    ``incident_time_profile`` publish (these roles cannot read ``incidents`` at all).

    Parameters
    ----------
    engine : Engine
        Acting as ``role``.
    community : Community
    role : str
    filters : RunFilters
        At most one type; dates widened to whole published months (:func:`published_window`).
    threshold : int

    Returns
    -------
    Inputs
        On the community's published analysis grid, flat hexagons, monthly periods.
    """
    if filters.types and len(filters.types) > 1:
        raise ValueError("aggregated runs take at most one incident type")
    cell = float(views.published_grid(engine, community)["analysis"])
    window = published_window(filters, community.timezone)
    # Three independent published reads, at the same time (each its own connection).
    keyed, (hours, weekdays), monthly = concurrently(
        lambda: _published_with_keys(engine, community, cell, threshold, filters, window),
        lambda: views.incident_time_profile(
            engine, community, threshold, window[0], window[1], filters.types,
            filters.min_severity,
        ),
        lambda: _monthly_counts(engine, community, cell, threshold, filters, window),
    )  # fmt: skip
    published = keyed[0]
    analysed = cell_centres(published, community)
    empty = gpd.GeoDataFrame({"type_code": [], "occurred_at": []}, geometry=[], crs=WGS84)
    over_time = _published_months(community, window, keyed, monthly)
    return Inputs(
        analysed=analysed,
        over_time=over_time,
        hours=hours,
        weekdays=weekdays,
        counts={
            "published": int(len(analysed)),
            "published_cells": int((~published["suppressed"]).sum()),
        },
        visible=VisibleIncidents(
            role=role, points=empty, cells=published, n_withheld=int(len(analysed))
        ),
        cell_size_m=cell,
        published=published,
        orientation=AGGREGATED_ORIENTATION,
    )
