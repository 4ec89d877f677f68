"""Stored analysis runs: density, Gi* hot spots, emerging hot spots and perceived-vs-recorded.

:func:`run_hotspot_analysis` reads a community's incidents, applies the filters (dates, types,
minimum severity), runs every analysis, stores the run in ``analysis_runs`` (parameters, input
counts, start and end time, role) and writes its exports under
``get_settings().outputs_dir / f"run-{id}"``:

==================  =========================================================================
``density.tif``     kernel density, float32 incidents/km², in the community's metric CRS
``cells.gpkg``      layers ``hotspots`` (Gi* per hexagon), ``emerging`` (trend categories),
                    ``compare`` (workshop zones and hot cells, perceived vs recorded)
``hotspots.csv``    the same tables as CSV (geometry as WKT), plus ``emerging.csv``,
``compare.csv``     ``profiles.csv`` (incidents per hour of day and per weekday)
==================  =========================================================================

Who sees what (the rules of :mod:`geo.privacy`, applied to the *inputs* so every output of a run
is safe for the role that asked for it):

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
    overlaid to narrow a cell down.  This is exactly what the database function
    ``incident_hex_counts`` returns (migration 0002), so the same page keeps working once
    row-level security denies these roles any read of ``incidents``.

Sensitive types (domestic and sexual violence, child protection) and incidents marked sensitive
or restricted enter only police runs: counting them in the totals others see would let anyone
recover them by subtracting a run filtered on the other types.  Withdrawn incidents enter no run.

A run is listed (:func:`list_runs`) only to roles whose scope covers the run's scope, so a public
session never gets the exports of a police run.

This module never imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from sqlalchemy import Engine, text

from geo import roles, views
from geo.analysis.compare import compare_perceived_recorded
from geo.analysis.density import DensityOverlay, DensitySurface, kernel_density
from geo.analysis.grid import WGS84, cell_ids, default_hex_size, projected_xy, xy_to_axial
from geo.analysis.hotspots import HotspotAnalysis, HotspotResult
from geo.analysis.trends import (
    EmergingHotspotResult,
    day_of_week_profile,
    emerging_hotspots,
    time_of_day_profile,
)
from geo.db.engine import set_app_role
from geo.privacy import (
    VisibleIncidents,
    visible_incidents,
)
from geo.settings import get_settings

Scope = Literal["all", "exact", "aggregated"]
#: Rank of each scope: a role may see runs whose scope ranks at most its own.
SCOPE_RANK: dict[str, int] = {"aggregated": 0, "exact": 1, "all": 2}
#: Smallest hexagon side of aggregated (non-exact) runs, metres (the database's floor).
MIN_AGGREGATED_CELL_M = 100.0
#: Smallest density bandwidth of aggregated runs, metres.
MIN_AGGREGATED_BANDWIDTH_M = 150.0
#: Smallest density bandwidth any run accepts, metres.
MIN_BANDWIDTH_M = 25.0
KIND = "hotspots"
EXPORTS = {
    "density": "density.tif",
    "gpkg": "cells.gpkg",
    "hotspots_csv": "hotspots.csv",
    "emerging_csv": "emerging.csv",
    "compare_csv": "compare.csv",
    "profiles_csv": "profiles.csv",
}


def scope_for(role: str) -> Scope:
    """Which incidents a role's runs are computed from: :func:`geo.roles.analysis_scope`."""
    return roles.analysis_scope(role)


def aggregated_cell_size(area: gpd.GeoSeries, crs: str) -> float:
    """Hexagon side of a community's aggregated runs: fixed by its area alone (about 50 cells,
    :func:`geo.analysis.grid.default_hex_size` with no incidents), at least 100 m.  Being the
    same for every run, maps of different runs cannot be overlaid to narrow a cell down."""
    return max(MIN_AGGREGATED_CELL_M, default_hex_size(area, 0, crs))


def may_see_run(role: str, run_scope: str) -> bool:
    """Whether ``role`` may see a run computed with ``run_scope``."""
    return SCOPE_RANK.get(run_scope, 99) <= SCOPE_RANK[scope_for(role)]


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
    incidents marked sensitive or restricted unless the role is police."""
    keep = incidents["status"] != "withdrawn"
    if scope_for(role) != "all":
        sensitive = incidents["type_code"].map(_is_sensitive_type).astype(bool)
        keep &= ~sensitive & (incidents["sensitivity"] == "normal")
    return incidents[keep]


def _is_sensitive_type(code: str) -> bool:
    from geo.taxonomy import UnknownCodeError, is_sensitive

    try:
        return is_sensitive(code)
    except UnknownCodeError:
        return True  # an unknown type is treated as sensitive: never widen access


# --------------------------------------------------------------------------------------------
# Result bundle
# --------------------------------------------------------------------------------------------
@dataclass
class HotspotRun:
    """Everything one run produced, already limited to what its role may see.

    Attributes
    ----------
    id : int
        ``analysis_runs.id``.
    scope : {"all", "exact", "aggregated"}
        What the inputs were (see the module docstring).
    params, input_counts : dict
        As stored in ``analysis_runs``.
    density : DensitySurface or None
        None when no incident passed the filters.
    overlay : DensityOverlay or None
        The density surface colourised for a web map.
    hotspots : HotspotResult
        Gi* per hexagon (``too_few`` with a message when the data are too thin).  For aggregated
        runs ``cells["count"]`` holds the published counts (NaN when suppressed).
    emerging : EmergingHotspotResult
        Emerging hot spot categories.
    comparison : GeoDataFrame
        Workshop zones and hot cells, perceived vs recorded.
    time_of_day, day_of_week : Series
        Incidents per local hour and weekday (NaN where suppressed in aggregated runs).
    visible : VisibleIncidents
        What the role may see of the incidents: exact points and/or suppressed hexagon counts.
    outputs : dict
        Export name -> path.
    """

    id: int
    community: str
    role: str
    scope: Scope
    params: dict[str, Any]
    input_counts: dict[str, int]
    density: DensitySurface | None
    overlay: DensityOverlay | None
    hotspots: HotspotResult
    emerging: EmergingHotspotResult
    comparison: gpd.GeoDataFrame
    time_of_day: pd.Series
    day_of_week: pd.Series
    visible: VisibleIncidents
    outputs: dict[str, Path] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def exact(self) -> bool:
        """Whether the run used exact points (police or mediator)."""
        return self.scope != "aggregated"


# --------------------------------------------------------------------------------------------
# Aggregated inputs: read from the database function incident_hex_counts, never from points
# --------------------------------------------------------------------------------------------
#: Hexagon orientation of aggregated runs: PostGIS ``ST_HexagonGrid`` draws flat-topped hexagons
#: anchored at the CRS origin, exactly :func:`geo.analysis.grid.hex_grid` with ``"flat"``.
AGGREGATED_ORIENTATION = "flat"
#: How far back an aggregated run looks when no start date is given (its periods need a range).
DEFAULT_WINDOW = dt.timedelta(days=730)
#: The same for the months of aggregated runs.
DEFAULT_WINDOW_MONTHS = 24
#: Period of emerging hot spots in aggregated runs: the published period.
AGGREGATED_FREQ = "month"


def _window(filters: RunFilters, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The published months the filters cover, as instants (start inclusive, end exclusive).

    The months of ``date_from`` and ``date_to`` are included whole; the end never passes the
    start of the current month (the database publishes complete months only); without a start
    the window is the :data:`DEFAULT_WINDOW_MONTHS` complete months before the end.
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


def _flat_cell_ids(cells: gpd.GeoDataFrame, crs: str, cell_size_m: float) -> np.ndarray:
    centres = gpd.GeoSeries(cells.geometry.values, crs=WGS84).to_crs(crs).centroid
    x, y = centres.x.to_numpy(), centres.y.to_numpy()
    q, r = xy_to_axial(x, y, cell_size_m, AGGREGATED_ORIENTATION)
    return cell_ids(q, r, cell_size_m, AGGREGATED_ORIENTATION)


def published_cells(
    engine: Engine,
    community: str,
    crs: str,
    cell_size_m: float,
    threshold: int,
    filters: RunFilters,
    window: tuple[dt.datetime | None, dt.datetime | None],
) -> gpd.GeoDataFrame:
    """Published hexagon counts from the database (:func:`geo.views.incident_hex_counts`),
    with the cell ids of :func:`geo.analysis.grid.hex_grid` (flat orientation)."""
    frame = views.incident_hex_counts(
        engine,
        community,
        cell_size_m,
        threshold,
        window[0],
        window[1],
        filters.types,
        filters.min_severity,
    ).rename_geometry("geometry")
    frame["cell_id"] = _flat_cell_ids(frame, crs, cell_size_m)
    return frame


def cell_centres(
    cells: gpd.GeoDataFrame,
    crs: str,
    time_column: str | None = None,
    time_value: pd.Timestamp | None = None,
) -> gpd.GeoDataFrame:
    """One point per published incident, at its cell's centre (EPSG:4326, ``cell_id``).

    The analyses of aggregated runs are computed from these points, so their outputs are
    functions of the published counts only.
    """
    shown = cells[~cells["suppressed"]]
    centres = shown.geometry.to_crs(crs).centroid.to_crs(WGS84)
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
    community: str,
    crs: str,
    cell_size_m: float,
    threshold: int,
    filters: RunFilters,
    window: tuple[dt.datetime | None, dt.datetime | None],
    freq: str,
    tz: str,
) -> gpd.GeoDataFrame:
    """Centre points of each period's published counts, stamped with the period's middle."""
    frames = [
        cell_centres(
            published_cells(engine, community, crs, cell_size_m, threshold, filters, (lo, hi)),
            crs,
            "occurred_at",
            middle,
        )
        for lo, hi, middle in _periods(window, freq, tz)
    ]
    if not frames:
        return gpd.GeoDataFrame({"cell_id": [], "occurred_at": []}, geometry=[], crs=WGS84)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)


# --------------------------------------------------------------------------------------------
# Storage and exports
# --------------------------------------------------------------------------------------------
def run_dir(run_id: int) -> Path:
    """Folder of a run's exports."""
    return get_settings().outputs_dir / f"run-{int(run_id)}"


def _to_plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if out[column].dtype == object:
            out[column] = out[column].astype(str)
        elif out[column].dtype == bool:
            out[column] = out[column].astype(np.int8)
    return out


def write_exports(run: HotspotRun, folder: Path) -> dict[str, Path]:
    """Write the GeoTIFF, GeoPackage and CSV exports of ``run`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    if run.density is not None:
        outputs["density"] = run.density.write_geotiff(folder / EXPORTS["density"])
    gpkg = folder / EXPORTS["gpkg"]
    gpkg.unlink(missing_ok=True)
    layers = {
        "hotspots": _hotspot_table(run),
        "emerging": _emerging_table(run),
        "compare": run.comparison,
    }
    for layer, frame in layers.items():
        plain = _to_plain(frame)
        pyogrio.write_dataframe(plain, gpkg, layer=layer, driver="GPKG", append=gpkg.exists())
        csv = folder / EXPORTS[f"{layer}_csv"]
        table = pd.DataFrame(plain.drop(columns=plain.geometry.name))
        table["wkt"] = plain.geometry.to_wkt()
        table.to_csv(csv, index=False)
        outputs[f"{layer}_csv"] = csv
    outputs["gpkg"] = gpkg
    profiles = pd.concat(
        [
            pd.DataFrame(
                {"profile": "hour", "bin": run.time_of_day.index, "count": run.time_of_day}
            ),
            pd.DataFrame(
                {"profile": "weekday", "bin": run.day_of_week.index, "count": run.day_of_week}
            ),
        ],
        ignore_index=True,
    )
    outputs["profiles_csv"] = folder / EXPORTS["profiles_csv"]
    profiles.to_csv(outputs["profiles_csv"], index=False)
    return outputs


def _hotspot_table(run: HotspotRun) -> gpd.GeoDataFrame:
    columns = ["cell_id", "count", "z", "p", "p_fdr", "gi_bin", "label", "hot", "cold"]
    return run.hotspots.cells[[*columns, "geometry"]]


def _emerging_table(run: HotspotRun) -> gpd.GeoDataFrame:
    columns = ["cell_id", "count", "n_hot_periods", "share_hot", "trend", "category"]
    cells = run.emerging.cells
    return cells[[c for c in columns if c in cells.columns] + ["geometry"]]


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _insert_run(engine: Engine, community_id: int, role: str, params: dict, started: dt.datetime):
    with engine.begin() as conn:
        set_app_role(conn, role)
        return conn.execute(
            text(
                "INSERT INTO analysis_runs (kind, community_id, params, input_counts, outputs,"
                " started_at, created_by_role) VALUES (:kind, :c, CAST(:params AS jsonb),"
                " '{}'::jsonb, '{}'::jsonb, :started, :role) RETURNING id"
            ),
            {
                "kind": KIND,
                "c": community_id,
                "params": json.dumps(_json_safe(params)),
                "started": started,
                "role": role,
            },
        ).scalar_one()


def _finish_run(
    engine: Engine, run_id: int, role: str, params: dict, counts: dict, outputs: dict
) -> dt.datetime:
    finished = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        set_app_role(conn, role)
        conn.execute(
            text(
                "UPDATE analysis_runs SET params = CAST(:params AS jsonb),"
                " input_counts = CAST(:counts AS jsonb), outputs = CAST(:outputs AS jsonb),"
                " finished_at = :finished WHERE id = :id"
            ),
            {
                "id": run_id,
                "params": json.dumps(_json_safe(params)),
                "counts": json.dumps(_json_safe(counts)),
                "outputs": json.dumps({k: p.name for k, p in outputs.items()}),
                "finished": finished,
            },
        )
    return finished


def list_runs(engine: Engine, community: str, role: str, limit: int = 20) -> pd.DataFrame:
    """Past runs of a community that ``role`` may see, newest first.

    Returns
    -------
    DataFrame
        ``id``, ``kind``, ``scope``, ``params``, ``input_counts``, ``outputs`` (export name ->
        existing file path), ``started_at``, ``finished_at``, ``seconds``, ``created_by_role``.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.kind, r.params, r.input_counts, r.outputs, r.started_at,"
                " r.finished_at, r.created_by_role FROM analysis_runs r"
                " JOIN communities c ON c.id = r.community_id"
                " WHERE c.slug = :slug AND r.kind = :kind AND r.finished_at IS NOT NULL"
                " ORDER BY r.started_at DESC, r.id DESC"
            ),
            {"slug": community, "kind": KIND},
        ).mappings()
        records = []
        for row in rows:
            scope = (row["params"] or {}).get("scope", "all")
            if not may_see_run(role, scope):
                continue
            folder = run_dir(row["id"])
            outputs = {
                name: folder / filename
                for name, filename in (row["outputs"] or {}).items()
                if (folder / filename).is_file()
            }
            records.append(
                {
                    **dict(row),
                    "scope": scope,
                    "outputs": outputs,
                    "seconds": (row["finished_at"] - row["started_at"]).total_seconds(),
                }
            )
            if len(records) >= limit:
                break
    return pd.DataFrame(
        records,
        columns=[
            "id",
            "kind",
            "scope",
            "params",
            "input_counts",
            "outputs",
            "started_at",
            "finished_at",
            "seconds",
            "created_by_role",
        ],
    )


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
def run_hotspot_analysis(
    engine: Engine,
    community: str,
    role: str,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    types: list[str] | tuple[str, ...] | None = None,
    min_severity: int = 1,
    cell_size_m: float | None = None,
    confidence: float = 0.95,
    bandwidth_m: float | None = None,
    density_cell_m: float | None = None,
    freq: Literal["week", "month"] = "month",
    threshold: int | None = None,
) -> HotspotRun:
    """Run density, Gi*, emerging hot spots and perceived-vs-recorded; store and export them.

    Parameters
    ----------
    engine : Engine
        Database.
    community : str
        Community slug; its area bounds the analysis, its time zone cuts days and periods, its
        metric CRS measures distances.
    role : str
        Role asking; decides the run's scope (see the module docstring).
    date_from, date_to : date, optional
        First and last local day included.
    types : list of str, optional
        Incident types; default every type the scope allows.
    min_severity : int
        Lowest severity included.
    cell_size_m : float, optional
        Hexagon side for Gi* (exact scopes only; aggregated runs always use
        :func:`aggregated_cell_size`).  Default :func:`geo.analysis.grid.default_hex_size`.
    confidence : {0.90, 0.95, 0.99}
        Confidence of hot spots and of the perceived-vs-recorded comparison.
    bandwidth_m : float, optional
        Density bandwidth; default the rule of thumb.  Raised to the hexagon side (at least
        :data:`MIN_AGGREGATED_BANDWIDTH_M`) for aggregated runs.
    density_cell_m : float, optional
        Density raster cell; default a quarter of the bandwidth.
    freq : {"week", "month"}
        Period length of emerging hot spots.
    threshold : int, optional
        Suppression threshold; default ``get_settings().suppression_threshold``.  Never below 5.

    Returns
    -------
    HotspotRun
    """
    started = dt.datetime.now(dt.UTC)
    scope = scope_for(role)
    threshold = max(int(threshold or get_settings().suppression_threshold), 5)
    row = views.community(engine, community)
    if row is None:
        raise ValueError(f"unknown community {community!r}")
    crs = CRS.from_epsg(int(row["metric_crs"])).to_string()
    tz = str(row["timezone"])
    area = gpd.GeoSeries([row["geom"]], crs=WGS84)
    filters = RunFilters(date_from, date_to, tuple(types) if types else None, int(min_severity))

    if scope == "aggregated":
        if filters.types and len(filters.types) > 1:
            raise ValueError("aggregated runs take at most one incident type")
        freq = AGGREGATED_FREQ
        cell = views.published_grid(engine, community)["analysis"]
        inputs = _aggregated_inputs(
            engine, community, role, crs, tz, cell, threshold, filters, freq
        )
        bandwidth = max(float(bandwidth_m or 0.0), cell, MIN_AGGREGATED_BANDWIDTH_M)
    else:
        inputs = _exact_inputs(engine, community, role, area, crs, tz, filters, threshold)
        cell = float(cell_size_m or default_hex_size(area, max(len(inputs.analysed), 1), crs))
        inputs.visible = visible_incidents(
            inputs.analysed, role, area, crs, cell_size_m=cell, threshold=threshold
        )
        bandwidth = max(float(bandwidth_m), MIN_BANDWIDTH_M) if bandwidth_m else None
    params: dict[str, Any] = {
        "scope": scope,
        "role": role,
        "community": community,
        "filters": filters.as_params(),
        "crs": crs,
        "timezone": tz,
        "cell_size_m": cell,
        "confidence": confidence,
        "freq": freq,
        "threshold": threshold,
        "bandwidth_m": bandwidth_m,
        "density_cell_m": density_cell_m,
    }
    if scope == "aggregated":
        window = _window(filters, tz)
        params["published_window"] = [window[0].isoformat(), window[1].isoformat()]
    run_id = _insert_run(engine, int(row["id"]), role, params, started)
    try:
        return _analyse(engine, run_id, started, row, inputs, params, area, bandwidth)
    except Exception as error:
        # Never leave an unfinished run row: record that it failed, then let the error out.
        params["failed"] = type(error).__name__
        _finish_run(engine, run_id, role, params, inputs.counts, {})
        raise


def _analyse(
    engine: Engine,
    run_id: int,
    started: dt.datetime,
    row: Any,
    inputs: _Inputs,
    params: dict[str, Any],
    area: gpd.GeoSeries,
    bandwidth: float | None,
) -> HotspotRun:
    """Every analysis of a stored run, its exports and its end time."""
    community, role, scope = params["community"], params["role"], params["scope"]
    crs, tz, cell, freq = params["crs"], params["timezone"], params["cell_size_m"], params["freq"]
    confidence, density_cell_m = params["confidence"], params["density_cell_m"]
    analysed, orientation = inputs.analysed, inputs.orientation
    density = _density(analysed, crs, bandwidth, density_cell_m, aggregated=scope == "aggregated")
    hotspots = HotspotAnalysis(
        analysed, area, crs, cell_size_m=cell, confidence=confidence, orientation=orientation
    ).solve()
    if inputs.over_time.empty:
        # Nothing matched: the trend analysis has nothing to test (and no periods to cut).
        emerging = _no_trends(hotspots, params)
    else:
        emerging = emerging_hotspots(
            inputs.over_time,
            area,
            crs,
            cell_size_m=cell,
            freq=freq,
            tz=tz,
            orientation=orientation,
        )
    if inputs.published is not None:
        counts = inputs.published.set_index("cell_id")["count"]
        hotspots.cells["count"] = counts.reindex(hotspots.cells["cell_id"]).to_numpy()
        emerging.cells["count"] = counts.reindex(emerging.cells["cell_id"]).to_numpy()
    zones = views.risk_zones(engine, community)
    comparison = compare_perceived_recorded(
        zones, hotspots, crs, confidence=confidence, zone_id_column="id"
    )

    if density is not None:
        params["bandwidth_m_used"] = density.bandwidth_m
        params["density_cell_m_used"] = density.cell_size_m
        params["density_edge_loss"] = density.edge_loss
    params["hotspot_params"] = hotspots.params
    params["too_few"] = hotspots.too_few
    run = HotspotRun(
        id=int(run_id),
        community=community,
        role=role,
        scope=scope,
        params=params,
        input_counts=inputs.counts,
        density=density,
        overlay=density.to_overlay() if density is not None else None,
        hotspots=hotspots,
        emerging=emerging,
        comparison=comparison,
        time_of_day=inputs.hours,
        day_of_week=inputs.weekdays,
        visible=inputs.visible,
        started_at=started,
    )
    run.outputs = write_exports(run, run_dir(run.id))
    run.finished_at = _finish_run(engine, run.id, role, params, inputs.counts, run.outputs)
    return run


def _no_trends(hotspots: HotspotResult, params: dict[str, Any]) -> EmergingHotspotResult:
    """The "too few" trend result of a run without any incident, on the run's hexagons."""
    from geo.analysis.trends import MIN_POINTS

    cells = hotspots.cells[["cell_id", "geometry"]].copy()
    cells["count"] = 0
    cells["n_hot_periods"] = 0
    cells["share_hot"] = np.nan
    cells["final_hot"] = False
    cells["trend"] = "none"
    cells["gi_trend"] = "none"
    cells["category"] = "no_pattern"
    empty = pd.DataFrame(index=cells["cell_id"].to_numpy())
    return EmergingHotspotResult(
        cells=cells,
        periods=[],
        counts=empty,
        z_scores=empty,
        gi_bin=empty,
        params={"cell_size_m": params["cell_size_m"], "freq": params["freq"], "method": None},
        n_points=0,
        too_few=True,
        message_key="analysis.trends.too_few_points",
        message_params={"n": 0, "minimum": MIN_POINTS},
    )


@dataclass
class _Inputs:
    """What the analyses of one run are computed from."""

    analysed: gpd.GeoDataFrame
    over_time: gpd.GeoDataFrame
    hours: pd.Series
    weekdays: pd.Series
    counts: dict[str, int]
    visible: VisibleIncidents | None = None
    published: gpd.GeoDataFrame | None = None
    orientation: str = "pointy"


def _exact_inputs(
    engine: Engine,
    community: str,
    role: str,
    area: gpd.GeoSeries,
    crs: str,
    tz: str,
    filters: RunFilters,
    threshold: int,
) -> _Inputs:
    """Police and mediators: the incident points they may read (row-level security already
    hides sensitive rows from mediators; :func:`scoped_incidents` applies the same rule)."""
    raw = views.incident_points(engine, community)
    inside = _inside(raw, area, crs)
    scoped = scoped_incidents(inside, role)
    points, counts = apply_filters(scoped, filters, tz)
    input_counts = {
        "stored": int(len(raw)),
        "inside_area": int(len(inside)),
        "in_scope": int(len(scoped)),
        **counts,
        "used": int(len(points)),
    }
    return _Inputs(
        analysed=points,
        over_time=points,
        hours=time_of_day_profile(points, tz),
        weekdays=day_of_week_profile(points, tz),
        counts=input_counts,
    )


def _aggregated_inputs(
    engine: Engine,
    community: str,
    role: str,
    crs: str,
    tz: str,
    cell: float,
    threshold: int,
    filters: RunFilters,
    freq: str,
) -> _Inputs:
    """Every other role: only what the database functions ``incident_hex_counts`` and
    ``incident_time_profile`` publish (these roles cannot read ``incidents`` at all)."""
    window = _window(filters, tz)
    published = published_cells(engine, community, crs, cell, threshold, filters, window)
    analysed = cell_centres(published, crs)
    hours, weekdays = views.incident_time_profile(
        engine, community, threshold, window[0], window[1], filters.types, filters.min_severity
    )
    empty = gpd.GeoDataFrame({"type_code": [], "occurred_at": []}, geometry=[], crs=WGS84)
    return _Inputs(
        analysed=analysed,
        over_time=_published_over_time(
            engine, community, crs, cell, threshold, filters, window, freq, tz
        ),
        hours=hours,
        weekdays=weekdays,
        counts={
            "published": int(len(analysed)),
            "published_cells": int((~published["suppressed"]).sum()),
        },
        visible=VisibleIncidents(
            role=role, points=empty, cells=published, n_withheld=int(len(analysed))
        ),
        published=published,
        orientation=AGGREGATED_ORIENTATION,
    )


def _inside(points: gpd.GeoDataFrame, area: gpd.GeoSeries, crs: str) -> gpd.GeoDataFrame:
    """Incidents inside the area (25 m tolerance, as when they were recorded)."""
    if points.empty:
        return points
    grown = area.to_crs(crs).buffer(25.0).union_all()
    x, y = projected_xy(points, crs)
    return points[shapely.contains_xy(grown, x, y)]


def _density(
    points: gpd.GeoDataFrame,
    crs: str,
    bandwidth_m: float | None,
    cell_m: float | None,
    *,
    aggregated: bool,
) -> DensitySurface | None:
    if points.empty:
        return None
    if not aggregated:
        return kernel_density(points, crs, bandwidth_m=bandwidth_m, cell_size_m=cell_m)
    # One weighted point per published cell: the surface depends on the published counts only.
    centres = points.drop_duplicates("cell_id")
    weights = points.groupby("cell_id").size().reindex(centres["cell_id"]).to_numpy(float)
    return kernel_density(
        centres, crs, bandwidth_m=bandwidth_m, cell_size_m=cell_m, weights=weights
    )


def rounded_total(n: int, step: int = 10) -> int:
    """A total rounded to ``step`` for roles that must not learn exact totals (so a total next
    to suppressed cells cannot be used to recover them by subtraction)."""
    return int(step * math.floor(n / step + 0.5))
