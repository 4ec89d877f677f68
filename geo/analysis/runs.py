"""Stored hot spot runs: density, Gi* hot spots, emerging hot spots and perceived-vs-recorded.

:func:`run_hotspot_analysis` is the orchestration, in three steps that each live in their own
module:

1. **inputs** (:mod:`geo.analysis.inputs`): what the connection's role may read -- exact points
   for police and mediators, only the published hexagon counts for everyone else (the module
   docstring there has the rules);
2. **the model run** (:mod:`geo.analysis.model`): every analysis built from those inputs and the
   :class:`~geo.communities.Community`, then solved;
3. **exports** (:mod:`geo.analysis.exports`): GeoTIFF, GeoPackage and CSV in the run's folder.

**Stored once.**  A run's fingerprint (:mod:`geo.analysis.fingerprint`: community, scope,
parameters and a digest of every input) is looked up before anything is stored: an identical
finished run is reused (its id and exports), so viewing the same hot spots twice stores one run.
With ``store=False`` (a page view) nothing is stored unless an identical run already exists; the
run is stored when someone asks for it (:func:`store_run`).

**Demo inputs.**  ``params["demo_inputs"]`` says whether synthetic demo incidents are among the
inputs, so every map of the run carries the DEMO badge: exact runs read ``is_demo`` of their
points; aggregated runs ask the database how many demo incidents their published window holds
(``harta_published_demo``, migration 0016, published like the counts themselves).

The run is stored through the generic run store :mod:`geo.runs` (``kind = "hotspots"``): its
parameters (filters, scope, cell size, the inference method of the p-values), input counts,
start and end time, and the role -- read from the connection, never passed beside it.  A run is
listed (:func:`list_runs`) only to roles whose scope covers the run's scope, which the database
enforces too, so a public session never gets the exports of a police run.

This module never imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, text

from geo import runs as run_store
from geo import views
from geo.analysis.compare import ComparisonResult
from geo.analysis.density import DensityOverlay, DensitySurface
from geo.analysis.exports import EXPORTS, write_exports
from geo.analysis.fingerprint import run_fingerprint
from geo.analysis.hotspots import HotspotResult
from geo.analysis.inputs import (  # noqa: F401 -- public names of the run, re-exported
    AGGREGATED_FREQ,
    MIN_AGGREGATED_BANDWIDTH_M,
    MIN_AGGREGATED_CELL_M,
    Inputs,
    RunFilters,
    aggregated_cell_size,
    aggregated_inputs,
    apply_filters,
    exact_inputs,
    published_window,
    scope_for,
    scoped_incidents,
)
from geo.analysis.model import solve_all
from geo.analysis.trends import EmergingHotspotResult
from geo.communities.model import Community
from geo.crs import STORAGE as WGS84
from geo.db.engine import concurrently
from geo.errors import HartaError
from geo.privacy import VisibleIncidents
from geo.roles import SYSTEM
from geo.runs import SCOPE_RANK, Scope, run_dir  # noqa: F401 -- re-exported
from geo.settings import get_settings

#: ``analysis_runs.kind`` of these runs.
KIND = "hotspots"
#: Smallest density bandwidth any run accepts, metres.
MIN_BANDWIDTH_M = 25.0

__all__ = [
    "EXPORTS",
    "KIND",
    "HotspotRun",
    "RunRefused",
    "list_runs",
    "may_see_run",
    "run_groups",
    "run_hotspot_analysis",
    "scope_for",
    "store_run",
]


class RunRefused(HartaError):
    """A run the connection may not make (the operator's connection acts in no role)."""


@dataclass
class HotspotRun:
    """Everything one run produced, already limited to what its role may see.

    Attributes
    ----------
    id : int or None
        ``analysis_runs.id``; None for a run not stored (``store=False``, no identical run).
    community : Community
    role : str
        The role of the connection that made it.
    scope : {"all", "exact", "aggregated"}
        What the inputs were (:mod:`geo.analysis.inputs`).
    params, input_counts : dict
        As stored in ``analysis_runs``; ``params["method"]`` is how the hot spots' p-values were
        computed (``"exact"``/``"normal"``, None when not run).
    density : DensitySurface or None
        None when no incident passed the filters.
    overlay : DensityOverlay or None
        The density surface colourised for a web map.
    hotspots : HotspotResult
        Gi* per hexagon (``too_few`` with a message when the data are too thin).  For aggregated
        runs ``cells["count"]`` holds the published counts (NaN when suppressed).
    emerging : EmergingHotspotResult
        Emerging hot spot categories.
    compare : ComparisonResult
        Workshop zones and hot cells, perceived vs recorded (:attr:`comparison`: its table).
    time_of_day, day_of_week : Series
        Incidents per local hour and weekday (NaN where suppressed in aggregated runs).
    visible : VisibleIncidents
        What the role may see of the incidents: exact points and/or suppressed hexagon counts.
    outputs : dict
        Export name -> path.
    """

    id: int | None
    community: Community
    role: str
    scope: Scope
    params: dict[str, Any]
    input_counts: dict[str, int]
    density: DensitySurface | None
    overlay: DensityOverlay | None
    hotspots: HotspotResult
    emerging: EmergingHotspotResult
    compare: ComparisonResult
    time_of_day: pd.Series
    day_of_week: pd.Series
    visible: VisibleIncidents
    outputs: dict[str, Path] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def stored(self) -> bool:
        """Whether the run is a row of ``analysis_runs`` (with its exports)."""
        return self.id is not None

    @property
    def demo(self) -> bool:
        """Whether demo (synthetic) incidents are among the run's inputs."""
        return bool(self.params.get("demo_inputs"))

    @property
    def exact(self) -> bool:
        """Whether the run used exact points (police or mediator)."""
        return self.scope != "aggregated"

    @property
    def comparison(self) -> gpd.GeoDataFrame:
        """The perceived-vs-recorded table (``compare.features``), for maps and pages."""
        return self.compare.features


def may_see_run(role: str, run_scope: str) -> bool:
    """Whether ``role`` may see a run computed with ``run_scope`` (:func:`geo.runs.may_see`).

    Parameters
    ----------
    role, run_scope : str

    Returns
    -------
    bool
    """
    return run_store.may_see(role, run_scope)


def run_hotspot_analysis(
    engine: Engine,
    community: Community,
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
    store: bool = True,
) -> HotspotRun:
    """Run density, Gi*, emerging hot spots and perceived-vs-recorded; store and export them.

    Parameters
    ----------
    engine : Engine
        Acting as the role asking (:func:`geo.db.security.role_engine`); the role decides the
        run's scope and is recorded with it.
    community : Community
        Its area bounds the analysis, its time zone cuts days and periods, its metric CRS
        measures distances.
    date_from, date_to : date, optional
        First and last local day included (widened to whole published months for aggregated
        runs).
    types : list of str, optional
        Incident types; default every type the scope allows (aggregated runs: at most one).
    min_severity : int
        Lowest severity included.
    cell_size_m : float, optional
        Hexagon side for Gi* (exact scopes only; aggregated runs always use the community's
        published grid).  Default :func:`geo.hexgrid.grid.default_hex_size`.
    confidence : {0.90, 0.95, 0.99}
        Confidence of hot spots and of the perceived-vs-recorded comparison.
    bandwidth_m : float, optional
        Density bandwidth; default the rule of thumb.  Raised to the hexagon side (at least
        :data:`MIN_AGGREGATED_BANDWIDTH_M`) for aggregated runs.
    density_cell_m : float, optional
        Density raster cell; default a quarter of the bandwidth.
    freq : {"week", "month"}
        Period length of emerging hot spots (aggregated runs: always months).
    threshold : int, optional
        Suppression threshold; default ``get_settings().suppression_threshold``.  Never below 5.
    store : bool
        Store the run and its exports (default).  An identical stored run (same fingerprint)
        is reused either way; with False and none found, nothing is stored (``id`` None).

    Returns
    -------
    HotspotRun

    Raises
    ------
    RunRefused
        On the operator's connection (no role: it would read every row unfiltered).
    ValueError
        For an aggregated run asked for several incident types.
    """
    started = dt.datetime.now(dt.UTC)
    role = run_store.acting_role(engine)
    if role == SYSTEM:
        raise RunRefused("analysis.run.needs_role")
    scope = scope_for(role)
    threshold = max(int(threshold or get_settings().suppression_threshold), 5)
    filters = RunFilters(date_from, date_to, tuple(types) if types else None, int(min_severity))
    # The inputs, the risk zones and (aggregated) the demo share are independent reads: made
    # at the same time, each on its own connection.
    if scope == "aggregated":
        inputs, zones, demo = concurrently(
            lambda: aggregated_inputs(engine, community, role, filters, threshold),
            lambda: views.risk_zones(engine, community),
            lambda: _published_demo(engine, community, filters),
        )
        freq = AGGREGATED_FREQ
        bandwidth = max(float(bandwidth_m or 0.0), inputs.cell_size_m, MIN_AGGREGATED_BANDWIDTH_M)
    else:
        inputs, zones = concurrently(
            lambda: exact_inputs(engine, community, role, filters, threshold, cell_size_m),
            lambda: views.risk_zones(engine, community),
        )
        demo = _exact_demo(inputs)
        bandwidth = max(float(bandwidth_m), MIN_BANDWIDTH_M) if bandwidth_m else None
    params: dict[str, Any] = {
        "scope": scope,
        "role": role,
        "community": community.slug,
        "filters": filters.as_params(),
        "crs": community.crs.to_string(),
        "timezone": community.timezone,
        "cell_size_m": inputs.cell_size_m,
        "confidence": confidence,
        "freq": freq,
        "threshold": threshold,
        "bandwidth_m": bandwidth_m,
        "density_cell_m": density_cell_m,
    }
    if scope == "aggregated":
        window = published_window(filters, community.timezone)
        params["published_window"] = [window[0].isoformat(), window[1].isoformat()]
    if zones.crs is None:  # an empty answer comes back without its CRS
        zones = zones.set_crs(WGS84, allow_override=True)
    params["demo_inputs"] = demo
    params["fingerprint"] = run_fingerprint(
        community.id,
        scope,
        params,
        [inputs.analysed, inputs.over_time, inputs.hours, inputs.weekdays, inputs.published, zones],
    )
    run = _solve(community, inputs, zones, params, bandwidth, started)
    stored = _identical_run(engine, community, params["fingerprint"])
    if stored is not None:
        # The same community, scope, parameters and inputs: the stored run is this run.
        run.id, run.outputs = stored.id, stored.outputs
        run.started_at, run.finished_at = stored.started_at, stored.finished_at
        return run
    if store:
        store_run(engine, run)
    return run


def _exact_demo(inputs: Inputs) -> bool:
    """Whether synthetic demo incidents are among an exact run's points (``is_demo``; module
    docstring)."""
    points = inputs.analysed
    return bool("is_demo" in points and points["is_demo"].fillna(False).astype(bool).any())


def _published_demo(engine: Engine, community: Community, filters: RunFilters) -> bool:
    """Whether an aggregated run's published counts include demo incidents: the database says
    how many of its window and filters are demo (:func:`geo.views.published_demo`, migration
    0016: rounded and suppressed like the counts, so fewer than 5 cannot be told from none and
    is not labelled -- below the counts' own rounding)."""
    window = published_window(filters, community.timezone)
    demo = views.published_demo(
        engine, community, 5, window[0], window[1], filters.types, filters.min_severity
    )
    return bool(demo)


_IDENTICAL = text(
    "SELECT id FROM analysis_runs WHERE kind = :kind AND community_id = :c"
    " AND finished_at IS NOT NULL AND params ->> 'fingerprint' = :fp"
    " AND NOT params ? 'failed' ORDER BY id DESC LIMIT 1"
)


def _identical_run(
    engine: Engine, community: Community, fingerprint: str
) -> run_store.StoredRun | None:
    """The newest finished run with this fingerprint that the connection may see, with every
    export still on disk (a run whose files were removed is not reused)."""
    with engine.connect() as conn:
        found = conn.execute(
            _IDENTICAL, {"kind": KIND, "c": community.id, "fp": fingerprint}
        ).scalar_one_or_none()
        stored = run_store.get_run(conn, found) if found is not None else None
    if stored is None or set(stored.outputs) != set(stored.params.get("exports", EXPORTS)):
        return None
    return stored


def store_run(engine: Engine, run: HotspotRun) -> HotspotRun:
    """Store a run made with ``store=False`` (its row, end time and exports); idempotent.

    Parameters
    ----------
    engine : Engine
        Acting as the role that made the run (the database checks it may store its scope).
    run : HotspotRun

    Returns
    -------
    HotspotRun
        ``run``, now with ``id`` and ``outputs`` (an identical stored run's, if one exists).
    """
    if run.stored:
        return run
    stored = _identical_run(engine, run.community, run.params["fingerprint"])
    if stored is not None:
        run.id, run.outputs = stored.id, stored.outputs
        return run
    params = run.params
    run_id = run_store.start_run(
        engine, KIND, run.community, scope=run.scope, params=params, started_at=run.started_at
    )
    try:
        run.outputs = write_exports(run, run_dir(run_id))
        params["exports"] = sorted(run.outputs)
        run.finished_at = run_store.finish_run(
            engine, run_id, params=params, input_counts=run.input_counts, outputs=run.outputs
        )
    except Exception as error:
        # Never leave an unfinished run row: record that it failed, then let the error out.
        run_store.fail_run(engine, run_id, error, params=params, input_counts=run.input_counts)
        raise
    run.id = int(run_id)
    return run


def _solve(
    community: Community,
    inputs: Inputs,
    zones: gpd.GeoDataFrame,
    params: dict[str, Any],
    bandwidth: float | None,
    started: dt.datetime,
) -> HotspotRun:
    """The model run (nothing stored)."""
    solved = solve_all(
        community,
        inputs,
        zones,
        confidence=params["confidence"],
        freq=params["freq"],
        bandwidth_m=bandwidth,
        density_cell_m=params["density_cell_m"],
    )
    density = None if solved.density.too_few else solved.density
    if density is not None:
        params["bandwidth_m_used"] = density.bandwidth_m
        params["density_cell_m_used"] = density.cell_size_m
        params["density_edge_loss"] = density.edge_loss
    params["hotspot_params"] = solved.hotspots.params
    params["method"] = solved.hotspots.method
    params["emerging_method"] = solved.emerging.method
    params["too_few"] = solved.hotspots.too_few
    return HotspotRun(
        id=None,
        community=community,
        role=params["role"],
        scope=params["scope"],
        params=params,
        input_counts=inputs.counts,
        density=density,
        overlay=density.to_overlay() if density is not None else None,
        hotspots=solved.hotspots,
        emerging=solved.emerging,
        compare=solved.compare,
        time_of_day=inputs.hours,
        day_of_week=inputs.weekdays,
        visible=inputs.visible,
        started_at=started,
    )


def list_runs(engine: Engine, community: Community, *, limit: int = 20) -> pd.DataFrame:
    """Past hot spot runs of a community that the connection's role may see, newest first.

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role.
    community : Community
    limit : int

    Returns
    -------
    DataFrame
        ``id``, ``kind``, ``scope``, ``params``, ``input_counts``, ``outputs`` (export name ->
        existing file path), ``started_at``, ``finished_at``, ``seconds``, ``created_by_role``.
    """
    rows = run_store.list_runs(engine, community, KIND, limit=limit)
    columns = [
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
    ]
    return pd.DataFrame(
        [{name: getattr(run, name) for name in columns} for run in rows], columns=columns
    )


#: What makes two stored runs "the same question" in the list of past runs.
GROUP_PARAMS = (
    "scope",
    "filters",
    "published_window",
    "cell_size_m",
    "confidence",
    "freq",
    "threshold",
    "bandwidth_m",
    "density_cell_m",
)


def run_groups(engine: Engine, community: Community, *, limit: int = 500) -> pd.DataFrame:
    """Past runs grouped by their parameters: one row per distinct question, newest first.

    Runs with the same parameters differ only in their data (new incidents since): the list
    people read shows each question once, with how many times it was stored and the latest run.

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role (runs it may not see are not listed).
    community : Community
    limit : int
        How many of the newest runs to group.

    Returns
    -------
    DataFrame
        ``latest_id``, ``ids`` (newest first), ``runs``, ``last_started``, ``scope``,
        ``filters``, ``published_window``, ``cell_size_m``, ``confidence``, ``role`` (of the
        latest run), ``used`` (incidents, or published incidents, of the latest run).
    """
    rows = run_store.list_runs(engine, community, KIND, limit=limit)
    groups: dict[str, dict[str, Any]] = {}
    for run in rows:  # newest first: the first run of a group is its latest
        if run.failed:
            continue
        key = json.dumps({k: run.params.get(k) for k in GROUP_PARAMS}, sort_keys=True, default=str)
        group = groups.get(key)
        if group is None:
            counts = run.input_counts
            used = counts.get("published") if run.scope == "aggregated" else counts.get("used")
            groups[key] = {
                "latest_id": run.id,
                "ids": [run.id],
                "runs": 1,
                "last_started": run.started_at,
                "scope": run.scope,
                "filters": run.params.get("filters") or {},
                "published_window": run.params.get("published_window"),
                "cell_size_m": run.params.get("cell_size_m"),
                "confidence": run.params.get("confidence"),
                "role": run.created_by_role,
                "used": used,
            }
        else:
            group["ids"].append(run.id)
            group["runs"] += 1
    columns = [
        "latest_id",
        "ids",
        "runs",
        "last_started",
        "scope",
        "filters",
        "published_window",
        "cell_size_m",
        "confidence",
        "role",
        "used",
    ]
    return pd.DataFrame(list(groups.values()), columns=columns)
