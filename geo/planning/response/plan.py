"""A community's safety plan, assembled from stored runs: what the printed plan shows.

A plan is built from **stored runs** (never recomputed behind the reader's back): the newest
coverage run (:mod:`geo.planning.response.coverage`, kind ``response_coverage``) and the newest
evacuation run of each scenario (:mod:`geo.planning.response.evacuation`), or the runs named.
It adds the community's risk zones and streets, the action checklist of every hazard it shows
(``data/safety/checklists.json``) and the escalation chain by role (``escalation.json``): data,
edited without code.  :mod:`geo.reports.safety_plan` prints it (PDF and HTML).

Each printed plan is one run of kind :data:`KIND` (scope ``aggregated``: anyone may read it) whose
``params`` hold its **version** (1, 2, ... per community), its language and the ids of the runs
it came from; the same ids are printed in the document.

What a plan never holds, whoever makes it -- it is printed and handed out, so every plan is
treated as one the public and community roles may get:

* no incident at all (evacuation reads none; coverage's incident demand is published cells and
  the plan draws no demand places);
* no focal point's house: only coverage runs of scope ``aggregated`` are accepted (their
  responders are the database's published cells, :func:`harta_responders`), and a home that is
  still exact is refused (:class:`PlanError`).  An ``exact`` coverage run (made by a mediator or
  police from the houses) is refused too: its times, computed from the houses, could be used to
  work back to them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine

from geo import runs, taxonomy, views
from geo.communities.model import Community
from geo.errors import HartaError
from geo.planning.response import evacuation as evac

#: The kind of the stored plans.
KIND = "response_plan"
#: The kind of the coverage runs a plan may use (geo.planning.response.coverage.RUN_KIND).
COVERAGE_KIND = "response_coverage"
#: How many stored runs are searched for the newest of each scenario.
SEARCH_LIMIT = 200


class PlanError(HartaError):
    """A plan the library refuses to assemble (a run that is missing or may not be printed)."""


@cache
def _data(name: str) -> dict[str, Any]:
    return json.loads((evac.SAFETY_DIR / name).read_text(encoding="utf-8"))


def checklist(hazard: str, lang: str) -> list[str]:
    """What to do for ``hazard``, in ``lang`` (the ``other`` list when it has none).

    Parameters
    ----------
    hazard : str
        Taxonomy hazard code.
    lang : str

    Returns
    -------
    list of str
    """
    lists = _data("checklists.json")
    entry = lists.get(hazard) or lists["other"]
    return list(entry.get(lang) or entry["en"])


def escalation(lang: str) -> list[dict[str, str]]:
    """The escalation chain, first step first, in ``lang``.

    Parameters
    ----------
    lang : str

    Returns
    -------
    list of dict
        ``role``, ``who``, ``action``, ``contact`` (a public service number, or empty).
    """
    out = []
    for step in _data("escalation.json")["steps"]:
        out.append(
            {
                "role": step["role"],
                "who": step["who"].get(lang) or step["who"]["en"],
                "action": step["action"].get(lang) or step["action"]["en"],
                "contact": step.get("contact", ""),
            }
        )
    return out


@dataclass(frozen=True)
class Evacuation:
    """One scenario's stored routes, as the plan prints them."""

    run_id: int
    scenario: str
    routes: gpd.GeoDataFrame
    assembly: gpd.GeoDataFrame
    hazard: gpd.GeoDataFrame


@dataclass
class SafetyPlan:
    """Everything a printed safety plan shows (see the module docstring).

    Attributes
    ----------
    community : Community
    version : int
        1 for the community's first plan, then one more each time.
    created_at : datetime
        UTC.
    coverage_run_id : int or None
    settlements : GeoDataFrame
        Per settlement: ``name`` and, from the coverage run, ``covered_share``, ``backup_share``,
        ``worst_s`` (absent without a coverage run).
    responders : GeoDataFrame
        ``kind``, ``name`` (None for homes), ``at_home``, point (a home: its published cell's
        centre).
    coverage_params : dict
        The coverage run's parameters (minutes, hour, kinds).
    evacuations : list of Evacuation
    zones : GeoDataFrame
        The community's workshop risk zones.
    streets : GeoDataFrame
        The bundled streets (for the map).
    hazards : list of str
        Hazards the plan gives checklists for: the scenarios, then every hazard of the zones.
    """

    community: Community
    version: int
    created_at: dt.datetime
    coverage_run_id: int | None = None
    settlements: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    responders: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    coverage_params: dict[str, Any] = field(default_factory=dict)
    evacuations: list[Evacuation] = field(default_factory=list)
    zones: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    streets: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    hazards: list[str] = field(default_factory=list)

    @property
    def run_ids(self) -> dict[str, Any]:
        """The stored runs the plan came from: ``coverage`` (id or None), ``evacuation``."""
        return {
            "coverage": self.coverage_run_id,
            "evacuation": [e.run_id for e in self.evacuations],
        }


def next_version(engine: Engine, community: Community) -> int:
    """The version number the community's next plan gets.

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    int
        One more than the highest stored (plans are ``aggregated``: every role sees them all).
    """
    stored = runs.list_runs(engine, community, KIND, limit=10_000, finished_only=False)
    return 1 + max((int(r.params.get("version", 0)) for r in stored), default=0)


def latest_runs(engine: Engine, community: Community) -> tuple[int | None, list[int]]:
    """The newest aggregated coverage run and the newest evacuation run of each scenario.

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    coverage_run_id : int or None
    evacuation_run_ids : list of int
        In the order of ``scenarios.json``.
    """
    coverage = [
        r
        for r in runs.list_runs(engine, community, COVERAGE_KIND, limit=SEARCH_LIMIT)
        if r.scope == "aggregated" and not r.failed and "gpkg" in r.outputs
    ]
    newest: dict[str, int] = {}
    for r in runs.list_runs(engine, community, evac.KIND, limit=SEARCH_LIMIT):
        scenario = r.params.get("scenario")
        if scenario and not r.failed and "gpkg" in r.outputs and scenario not in newest:
            newest[scenario] = r.id
    order = [s for s in evac.scenarios() if s in newest]
    return (coverage[0].id if coverage else None), [newest[s] for s in order]


def _run(engine: Engine, community: Community, run_id: int, kind: str) -> runs.StoredRun:
    run = runs.get_run(engine, run_id)
    if run is None or run.kind != kind or run.community_id != community.id or run.failed:
        raise PlanError("response.plan.error.no_run", run=run_id)
    if run.scope != "aggregated":
        raise PlanError("response.plan.error.exact_run", run=run_id)
    return run


def _coverage(engine: Engine, community: Community, run_id: int):  # noqa: ANN202
    run = _run(engine, community, run_id, COVERAGE_KIND)
    gpkg = run.outputs.get("gpkg")
    if gpkg is None:
        raise PlanError("response.plan.error.no_run", run=run_id)
    layers = {}
    for layer in ("settlements", "responders"):
        try:
            layers[layer] = gpd.read_file(gpkg, layer=layer)
        except Exception:  # noqa: BLE001 - a layer left out when empty
            layers[layer] = gpd.GeoDataFrame(geometry=[], crs=4326)
    responders = layers["responders"]
    if len(responders):
        at_home = responders["at_home"].astype(bool)
        if (at_home & responders["exact"].astype(bool)).any():
            raise PlanError("response.plan.error.exact_run", run=run_id)
        responders = responders.assign(
            name=responders["name"].where(~at_home, None), at_home=at_home
        )[["kind", "name", "at_home", "geometry"]]
    return run, layers["settlements"], responders


def assemble_plan(
    engine: Engine,
    community: Community,
    *,
    coverage_run_id: int | None = None,
    evacuation_run_ids: list[int] | None = None,
) -> SafetyPlan:
    """The plan of ``community`` from stored runs (default: the newest of each).

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role.
    community : Community
    coverage_run_id : int, optional
        A stored coverage run of scope ``aggregated``.
    evacuation_run_ids : list of int, optional
        Stored evacuation runs (one per scenario).

    Returns
    -------
    SafetyPlan

    Raises
    ------
    PlanError
        For a run that does not exist, is not the community's, failed, or is not
        ``aggregated``.
    """
    if coverage_run_id is None and evacuation_run_ids is None:
        coverage_run_id, evacuation_run_ids = latest_runs(engine, community)
    plan = SafetyPlan(community, next_version(engine, community), dt.datetime.now(dt.UTC))
    if coverage_run_id is not None:
        run, settlements, responders = _coverage(engine, community, coverage_run_id)
        plan.coverage_run_id = run.id
        plan.coverage_params = dict(run.params)
        plan.settlements, plan.responders = settlements, responders
    if plan.settlements.empty:
        plan.settlements = views.settlements(engine, community).rename_geometry("geometry")
    for run_id in evacuation_run_ids or []:
        run = _run(engine, community, run_id, evac.KIND)
        layers = evac.load_outputs(run)
        if not layers:
            raise PlanError("response.plan.error.no_run", run=run_id)
        plan.evacuations.append(Evacuation(run.id, run.params["scenario"], **layers))
    plan.zones = views.risk_zones(engine, community)
    plan.streets = views.streets(engine, community)
    plan.hazards = _hazards(plan)
    return plan


def _hazards(plan: SafetyPlan) -> list[str]:
    """The scenarios first, then the zones' hazards, in the taxonomy's order."""
    wanted = [e.scenario for e in plan.evacuations]
    present = set(plan.zones["hazard_code"]) if len(plan.zones) else set()
    wanted += [h for h in taxonomy.hazards() if h in present and h not in wanted]
    return wanted


def start_plan_run(engine: Engine, plan: SafetyPlan, lang: str) -> int:
    """Record that a plan is being printed (kind :data:`KIND`, scope ``aggregated``).

    Parameters
    ----------
    engine : Engine
    plan : SafetyPlan
    lang : str

    Returns
    -------
    int
        The run id (its folder receives the PDF and HTML).
    """
    return runs.start_run(
        engine, KIND, plan.community, scope="aggregated", params=plan_params(plan, lang)
    )


def plan_params(plan: SafetyPlan, lang: str) -> dict[str, Any]:
    """What a plan's run record holds: version, language, date and the source run ids.

    Parameters
    ----------
    plan : SafetyPlan
    lang : str

    Returns
    -------
    dict
    """
    return {
        "version": plan.version,
        "lang": lang,
        "created_at": plan.created_at.isoformat(),
        "sources": plan.run_ids,
        "hazards": list(plan.hazards),
    }


def route_table(plan: SafetyPlan, lang: str) -> pd.DataFrame:
    """Every evacuation route of the plan as rows people read (no route said plainly).

    Parameters
    ----------
    plan : SafetyPlan
    lang : str

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``place``, ``assembly``, ``minutes`` (None without a route), ``streets``
        (or the "no route" sentence).
    """
    rows = []
    for item in plan.evacuations:
        for row in item.routes.itertuples():
            reachable = bool(row.reachable)
            rows.append(
                {
                    "scenario": taxonomy.label("hazard", item.scenario, lang),
                    "place": evac.place_name(row, lang),
                    "assembly": evac.assembly_name(item.assembly, row.assembly_id, lang)
                    if reachable
                    else "",
                    "minutes": row.seconds / 60 if reachable else None,
                    "streets": row.streets if reachable else evac.no_route_text(row, lang),
                }
            )
    return pd.DataFrame(rows, columns=["scenario", "place", "assembly", "minutes", "streets"])
