"""Evacuation routes: from each settlement and high-risk zone to the nearest safe assembly point.

The capability's entry point: :func:`run_evacuation` computes one scenario on the community's
network (:func:`geo.network.network_for`, ``walk`` by default: most families in Pata Rât leave
on foot) and stores a run (kind :data:`KIND`, scope ``aggregated``: no incident is read) with
its GeoPackage and CSV (:func:`write_outputs`, :func:`load_outputs`); :func:`place_name`,
:func:`no_route_text` and :func:`assembly_name` are how its rows are named to people.

Its parts, re-exported here so that ``evacuation.<name>`` stays the one way in:

* :mod:`~geo.planning.response.evac_inputs` -- the scenarios (``data/safety/scenarios.json``),
  the hazard's area, the places to evacuate and the assembly points;
* :mod:`~geo.planning.response.evac_routes` -- the routes with the hazard's streets closed
  (the choice of closing rather than penalising, and why, is told there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine

from geo import network as net
from geo import runs, views
from geo.communities.model import Community
from geo.i18n import community_name, t
from geo.planning.response.evac_inputs import (
    HIGH_RISK_SEVERITY,
    MARK_BUFFER_M,
    SAFETY_DIR,
    EvacuationError,
    Scenario,
    assembly_points,
    hazard_area,
    origins,
    scenario,
    scenarios,
)
from geo.planning.response.evac_routes import (
    INSIDE_PENALTY,
    ROUTE_COLUMNS,
    EvacuationResult,
    evacuation_routes,
)

__all__ = [
    "HIGH_RISK_SEVERITY",
    "INSIDE_PENALTY",
    "KIND",
    "MARK_BUFFER_M",
    "ROUTE_COLUMNS",
    "SAFETY_DIR",
    "EvacuationError",
    "EvacuationResult",
    "EvacuationRun",
    "Scenario",
    "assembly_name",
    "assembly_points",
    "evacuation_routes",
    "hazard_area",
    "load_outputs",
    "no_route_text",
    "origins",
    "place_name",
    "run_evacuation",
    "scenario",
    "scenarios",
    "write_outputs",
]

#: The kind of the stored runs.
KIND = "response_evacuation"


def place_name(row: Any, lang: str) -> str:
    """How a place of the routes table is named to people: a settlement by its name, a risk
    zone as "Risk zone 12" in ``lang``.

    Parameters
    ----------
    row : mapping or namedtuple
        With ``origin_kind`` and ``origin_name``.
    lang : str

    Returns
    -------
    str
    """
    if isinstance(row, dict | pd.Series):
        get = row.get
    else:

        def get(key: str) -> Any:
            return getattr(row, key, None)

    if get("origin_kind") == "zone":
        return t("response.evac.zone", lang, id=get("origin_name"))
    slug = str(get("origin_id") or "").removeprefix("settlement-")
    return community_name(slug, str(get("origin_name")), lang)


def no_route_text(row: Any, lang: str) -> str:
    """The plain sentence for a place with no route, in ``lang``.

    Parameters
    ----------
    row : mapping or namedtuple
        A row of :attr:`EvacuationResult.routes` (``origin_kind``, ``origin_name``).
    lang : str

    Returns
    -------
    str
    """
    return t("response.evac.no_route", lang, place=place_name(row, lang))


def assembly_name(assembly: gpd.GeoDataFrame, assembly_id: object, lang: str) -> str:
    """An assembly point's name in ``lang`` (its id when unknown).

    Parameters
    ----------
    assembly : GeoDataFrame
    assembly_id : object
    lang : str

    Returns
    -------
    str
    """
    hit = assembly[assembly["assembly_id"] == assembly_id]
    column = f"name_{lang}" if f"name_{lang}" in assembly else "name_en"
    return str(hit[column].iloc[0]) if len(hit) else str(assembly_id or "")


@dataclass(frozen=True)
class EvacuationRun:
    """A stored evacuation run: its id and result."""

    id: int
    result: EvacuationResult


def run_evacuation(
    engine: Engine,
    community: Community,
    hazard: str,
    *,
    mode: str | None = None,
    assembly_file: str | Path | None = None,
) -> EvacuationRun:
    """Compute and store the evacuation routes of one scenario.

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role (the zones it may read; the run it may store).
    community : Community
    hazard : str
        Scenario (taxonomy hazard code of ``scenarios.json``).
    mode : {"walk", "drive"}, optional
        Default the scenario's.
    assembly_file : str or Path, optional
        An imported layer of assembly points (default the community's data file).

    Returns
    -------
    EvacuationRun
        The run id (``analysis_runs``, kind :data:`KIND`) and the result; the run's outputs are
        ``gpkg`` (layers ``routes``, ``assembly``, ``hazard``) and ``csv`` (the routes table).
    """
    chosen = scenario(hazard)
    mode = mode or chosen.mode
    net.check_mode(mode)
    params = {
        "scenario": hazard,
        "mode": mode,
        "buffer_m": chosen.buffer_m,
        "min_severity": chosen.min_severity,
        "avoid": "close",
        "assembly": Path(assembly_file).name if assembly_file else "data/safety",
    }
    run_id = runs.start_run(engine, KIND, community, scope="aggregated", params=params)
    try:
        zones = views.risk_zones(engine, community)
        area = hazard_area(zones, community, chosen)
        places = origins(engine, community, zones, chosen)
        assembly = assembly_points(community, assembly_file)
        network = net.network_for(community, mode)  # type: ignore[arg-type]
        result = evacuation_routes(network, community, places, assembly, area, params=params)
        outputs = write_outputs(result, run_id)
    except BaseException as error:
        runs.fail_run(engine, run_id, error, params=params)
        raise
    counts = {
        "places": len(places),
        "zones": int((zones["hazard_code"] == hazard).sum()),
        "assembly_points": len(assembly),
        "closed_edges": result.closed_edges,
        "unreachable": len(result.unreachable),
    }
    runs.finish_run(engine, run_id, params=params, input_counts=counts, outputs=outputs)
    return EvacuationRun(run_id, result)


def write_outputs(result: EvacuationResult, run_id: int) -> dict[str, Path]:
    """Write a result's GeoPackage and CSV into the run's folder.

    Parameters
    ----------
    result : EvacuationResult
    run_id : int

    Returns
    -------
    dict
        ``{"gpkg": path, "csv": path}``.
    """
    folder = runs.run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / f"evacuation-{run_id}.gpkg"
    result.routes.to_file(gpkg, layer="routes", driver="GPKG")
    result.assembly.to_file(gpkg, layer="assembly", driver="GPKG")
    result.hazard.to_file(gpkg, layer="hazard", driver="GPKG")
    csv = folder / f"evacuation-{run_id}.csv"
    result.routes.drop(columns="geometry").to_csv(csv, index=False)
    return {"gpkg": gpkg, "csv": csv}


def load_outputs(run: runs.StoredRun) -> dict[str, gpd.GeoDataFrame]:
    """The layers of a stored evacuation run (for the safety plan and the page).

    Parameters
    ----------
    run : StoredRun
        Of kind :data:`KIND`.

    Returns
    -------
    dict
        ``routes``, ``assembly``, ``hazard`` GeoDataFrames (EPSG:4326); empty when the run's
        GeoPackage is gone.
    """
    gpkg = run.outputs.get("gpkg")
    if gpkg is None or not Path(gpkg).is_file():
        return {}
    return {layer: gpd.read_file(gpkg, layer=layer) for layer in ("routes", "assembly", "hazard")}
