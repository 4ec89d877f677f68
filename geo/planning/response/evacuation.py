"""Evacuation routes: from each settlement and high-risk zone to the nearest safe assembly point.

A **scenario** is a hazard of the taxonomy (landfill fire and smoke, flooding, ...) with its
settings in ``data/safety/scenarios.json`` (editable without code).  The hazard's **area** is the
union of the community's workshop risk zones of that hazard (severity at least the scenario's
``min_severity``; lines and points widened by :data:`MARK_BUFFER_M`), widened by the scenario's
``buffer_m`` (smoke drifts beyond the fire).

How the routes avoid the hazard -- the choice, and why:

* Every street piece (one network edge, junction to junction) that touches the hazard area is
  **closed**: removed from the network, not merely made slower.  A penalty would still send
  people through a fire when the way round is long enough; a closure never does.  The closure is
  conservative: a long piece that only grazes the area is closed whole.
* An assembly point inside the area is not safe and is left out.  One whose walk to its nearest
  open street crosses the area is **cut off** (people would walk through the hazard to reach it).
* A place inside the area walks out to its nearest open street (that first walk is the only part
  of a route that may lie in the area: it is the way out).  A place outside the area whose walk
  to the street crosses it has no route.
* When no open street leads from a place to any safe assembly point, the result says so plainly
  (``reachable`` False and :func:`no_route_text`), never a straight line.

Routes are computed on the community's network (:func:`geo.network.network_for`, ``walk`` by
default: most families in Pata Rât leave on foot) with :func:`geo.network.route`, so their times
are the engine's; the street names come from the OSM graph.  :func:`run_evacuation` stores a run
(kind :data:`KIND`, scope ``aggregated``: no incident is read) with its GeoPackage and CSV.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine

from geo import crs as crs_
from geo import network as net
from geo import runs, taxonomy, views
from geo.communities.model import Community
from geo.errors import HartaError
from geo.i18n import community_name, t
from geo.network.matrix import Network
from geo.network.snap import WALK_SPEED_MS, metric_view, snap_points
from geo.planning.response import closure
from geo.planning.response.closure import close_streets, route_streets, street_names
from geo.results import Result, not_run

#: The kind of the stored runs.
KIND = "response_evacuation"
#: Folder of the safety data files (scenarios, checklists, escalation, assembly points).
SAFETY_DIR = Path(__file__).resolve().parents[3] / "data" / "safety"
#: Half-width given to hazards marked as lines or points (a street, a crossing), metres.
MARK_BUFFER_M = 25.0
#: When choosing the way out of a hazard, a metre walked inside it counts this many times.
INSIDE_PENALTY = 2.0
#: Severity from which a risk zone of the scenario's hazard is itself a place to evacuate.
HIGH_RISK_SEVERITY = 4
#: Columns of the routes table.
ROUTE_COLUMNS = (
    "origin_id",
    "origin_kind",
    "origin_name",
    "assembly_id",
    "reachable",
    "seconds",
    "length_m",
    "streets",
)


class EvacuationError(HartaError):
    """An evacuation the library refuses (unknown scenario, unreadable assembly layer)."""


@dataclass(frozen=True)
class Scenario:
    """Settings of one evacuation scenario (``data/safety/scenarios.json``).

    Attributes
    ----------
    hazard : str
        Taxonomy hazard code.
    buffer_m : float
        Metres the hazard's own zones are widened by.
    min_severity : int
        Zones marked less severe are left out.
    mode : {"walk", "drive"}
    """

    hazard: str
    buffer_m: float = 0.0
    min_severity: int = 1
    mode: str = "walk"


@cache
def scenarios() -> dict[str, Scenario]:
    """The scenarios of ``data/safety/scenarios.json``, checked against the taxonomy.

    Returns
    -------
    dict of str to Scenario
        Keyed by hazard code, in the file's order.
    """
    data = json.loads((SAFETY_DIR / "scenarios.json").read_text(encoding="utf-8"))
    known = set(taxonomy.hazards())
    out = {}
    for code, item in data.items():
        if code.startswith("_"):
            continue
        if code not in known:
            raise EvacuationError("response.evac.error.unknown_scenario", scenario=code)
        out[code] = Scenario(
            code,
            float(item.get("buffer_m", 0)),
            int(item.get("min_severity", 1)),
            str(item.get("mode", "walk")),
        )
    return out


def scenario(hazard: str) -> Scenario:
    """The scenario of ``hazard``.

    Parameters
    ----------
    hazard : str
        Taxonomy hazard code.

    Returns
    -------
    Scenario

    Raises
    ------
    EvacuationError
        When ``scenarios.json`` has no such scenario.
    """
    found = scenarios().get(hazard)
    if found is None:
        raise EvacuationError("response.evac.error.unknown_scenario", scenario=hazard)
    return found


def assembly_points(community: Community, path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Safe assembly points: an imported layer, or the community's sketched data file.

    Parameters
    ----------
    community : Community
        Without a file of its own, a settlement uses its parent's.
    path : str or Path, optional
        Any vector file of points (EPSG:4326 when undeclared); default
        ``data/safety/assembly_points/<slug>.geojson``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``assembly_id``, ``name_ro``, ``name_hu``, ``name_en``, ``approximate`` and point
        ``geometry`` (EPSG:4326); empty when the community has none.
    """
    if path is None:
        candidates = [community.slug, community.parent_slug]
        files = [SAFETY_DIR / "assembly_points" / f"{s}.geojson" for s in candidates if s]
        path = next((f for f in files if f.is_file()), None)
        if path is None:
            return _empty_assembly()
    try:
        frame = gpd.read_file(path)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one refusal
        raise EvacuationError("response.evac.error.assembly_unreadable") from error
    if frame.crs is None:
        frame = frame.set_crs(crs_.STORAGE)
    frame = frame.to_crs(crs_.STORAGE)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].copy()
    frame["geometry"] = frame.geometry.representative_point()
    ids = frame["id"] if "id" in frame else pd.Series(range(1, len(frame) + 1), index=frame.index)
    out = gpd.GeoDataFrame(
        {"assembly_id": ids.astype(str).to_numpy()}, geometry=frame.geometry.to_numpy(), crs=4326
    )
    fallback = frame["name"] if "name" in frame else out["assembly_id"]
    for lang in ("ro", "hu", "en"):
        column = f"name_{lang}"
        names = frame[column] if column in frame else fallback
        out[column] = names.fillna(out["assembly_id"]).astype(str).to_numpy()
    out["approximate"] = (
        frame["approximate"].fillna(True).astype(bool).to_numpy()
        if "approximate" in frame
        else True
    )
    return out


def _empty_assembly() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: [] for c in ("assembly_id", "name_ro", "name_hu", "name_en", "approximate")},
        geometry=[],
        crs=4326,
    )


def hazard_area(zones: gpd.GeoDataFrame, community: Community, chosen: Scenario) -> BaseGeometry:
    """The area the scenario closes: its hazard's zones, widened.

    Parameters
    ----------
    zones : GeoDataFrame
        Risk zones with ``hazard_code``, ``severity`` and geometry (EPSG:4326), e.g.
        :func:`geo.views.risk_zones`.
    community : Community
        Its metric CRS measures the widening.
    chosen : Scenario

    Returns
    -------
    shapely geometry
        EPSG:4326; empty when the community has no zone of that hazard.
    """
    picked = zones[
        (zones["hazard_code"] == chosen.hazard) & (zones["severity"] >= chosen.min_severity)
    ]
    if picked.empty:
        return shapely.Polygon()
    metric = picked.geometry.to_crs(community.crs)
    areal = metric.geom_type.isin(["Polygon", "MultiPolygon"])
    pieces = list(metric[areal]) + list(metric[~areal].buffer(MARK_BUFFER_M))
    area = shapely.union_all(pieces)
    if chosen.buffer_m > 0:
        area = area.buffer(chosen.buffer_m)
    return crs_.project(area, community.crs, crs_.STORAGE)


@dataclass(kw_only=True)
class EvacuationResult(Result):
    """Routes of one scenario.

    Attributes
    ----------
    routes : GeoDataFrame
        One row per place (:data:`ROUTE_COLUMNS`; ``geometry`` None where no route exists).
    assembly : GeoDataFrame
        The assembly points with ``status``: ``safe``, ``in_hazard`` or ``cut_off``.
    hazard : GeoDataFrame
        One row: the closed area (EPSG:4326).
    closed_edges : int
        Street pieces closed.
    """

    routes: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    assembly: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    hazard: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    closed_edges: int = 0

    @property
    def unreachable(self) -> gpd.GeoDataFrame:
        """The places with no route."""
        return self.routes[~self.routes["reachable"].astype(bool)]


def origins(
    engine: Engine, community: Community, zones: gpd.GeoDataFrame, chosen: Scenario
) -> gpd.GeoDataFrame:
    """The places to evacuate: every settlement, and the scenario's high-risk zones.

    Parameters
    ----------
    engine : Engine
    community : Community
        A community's settlements; a settlement evacuates itself.
    zones : GeoDataFrame
        Risk zones (:func:`geo.views.risk_zones`).
    chosen : Scenario

    Returns
    -------
    GeoDataFrame
        ``origin_id``, ``origin_kind`` (``settlement`` or ``zone``), ``origin_name`` and a point
        on each place's surface (EPSG:4326).
    """
    places = views.settlements(engine, community)
    rows = [
        (f"settlement-{r.slug}", "settlement", r.name, r.geom.representative_point())
        for r in places.itertuples()
    ]
    if not rows:
        rows.append(
            (
                f"settlement-{community.slug}",
                "settlement",
                community.name,
                community.geometry.representative_point(),
            )
        )
    high = zones[
        (zones["hazard_code"] == chosen.hazard) & (zones["severity"] >= HIGH_RISK_SEVERITY)
    ]
    for zone in high.itertuples():
        geom = zone.geom if hasattr(zone, "geom") else zone.geometry
        rows.append((f"zone-{zone.id}", "zone", str(zone.id), geom.representative_point()))
    return gpd.GeoDataFrame(
        {
            "origin_id": [r[0] for r in rows],
            "origin_kind": [r[1] for r in rows],
            "origin_name": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=4326,
    )


def evacuation_routes(
    network: Network,
    community: Community,
    places: gpd.GeoDataFrame,
    assembly: gpd.GeoDataFrame,
    area: BaseGeometry,
    *,
    params: dict[str, Any] | None = None,
) -> EvacuationResult:
    """Route each place to its nearest safe assembly point with the hazard's streets closed.

    Parameters
    ----------
    network : Network
        The community's network (drive or walk).
    community : Community
    places : GeoDataFrame
        ``origin_id``, ``origin_kind``, ``origin_name`` and points (:func:`origins`).
    assembly : GeoDataFrame
        :func:`assembly_points`.
    area : shapely geometry
        The hazard (EPSG:4326), e.g. :func:`hazard_area`; may be empty.
    params : dict, optional
        Recorded on the result.

    Returns
    -------
    EvacuationResult
        ``too_few`` when there is no assembly point at all.
    """
    params = dict(params or {})
    hazard = gpd.GeoDataFrame({"closed": [True]}, geometry=[area], crs=4326)
    if assembly.empty:
        return EvacuationResult(
            params=params,
            hazard=hazard,
            routes=_routes_frame([]),
            assembly=assembly.assign(status=[]),
            **not_run("response.evac.no_assembly"),
        )
    closed = close_streets(network, community, area)
    names = street_names(network, community)
    status = _assembly_status(closed, community, assembly, area)
    safe = assembly[status == "safe"]
    rows = [
        _one_route(closed, community, place, safe, area, names) for place in places.itertuples()
    ]
    return EvacuationResult(
        params=params,
        routes=_routes_frame(rows),
        assembly=assembly.assign(status=status),
        hazard=hazard,
        closed_edges=int(closed.cache.get("closed_edges", 0)),
    )


def _walk_legs(network: Network, community: Community, points: gpd.GeoSeries) -> list[LineString]:
    """The straight walk (metric) from each point to the nearest point of an open street."""
    snap = snap_points(network, community, points)
    view = metric_view(network, community)
    first = np.unique(snap.point, return_index=True)[1]
    legs = []
    for p, e, f in zip(snap.point[first], snap.edge[first], snap.fraction[first], strict=True):
        on_street = view.edges[e].interpolate(f, normalized=True)
        start = community.to_metric_geometry(points.iloc[int(p)])
        legs.append(LineString([start, on_street]))
    return legs


def _assembly_status(
    network: Network, community: Community, assembly: gpd.GeoDataFrame, area: BaseGeometry
) -> np.ndarray:
    status = np.full(len(assembly), "safe", dtype=object)
    if area.is_empty:
        return status
    metric_area = community.to_metric_geometry(area)
    inside = assembly.geometry.intersects(area).to_numpy()
    status[inside] = "in_hazard"
    legs = _walk_legs(network, community, assembly.geometry)
    crossing = np.array([leg.intersects(metric_area) for leg in legs])
    status[~inside & crossing] = "cut_off"
    return status


def _one_route(network, community, place, safe, area, names) -> dict:  # noqa: ANN001, PLR0913
    """The route of one place to its nearest reachable safe assembly point (or none)."""
    row = {
        "origin_id": place.origin_id,
        "origin_kind": place.origin_kind,
        "origin_name": place.origin_name,
        "assembly_id": None,
        "reachable": False,
        "seconds": np.nan,
        "length_m": np.nan,
        "streets": "",
        "geometry": None,
    }
    start = place.geometry
    if safe.empty or _walk_blocked(network, community, start, area):
        return row
    times = net.travel_times(network, community, [start], safe.geometry)[0]
    exit_, walk_s = _best_exit(network, community, start, safe, area, times)
    begin = start if exit_ is None else exit_
    if exit_ is not None:
        times = net.travel_times(network, community, [exit_], safe.geometry)[0] + walk_s
    best = int(np.argmin(times))
    if not np.isfinite(times[best]):
        return row
    end = safe.geometry.iloc[best]
    found = net.route(network, community, begin, end)
    if found is None:  # pragma: no cover - the times said reachable
        return row
    geometry = found.geometry
    if exit_ is not None:  # the walk out of the hazard, then the streets
        geometry = LineString([start.coords[0], *geometry.coords])
    row.update(
        assembly_id=safe["assembly_id"].iloc[best],
        reachable=True,
        seconds=float(times[best]),
        length_m=float(community.to_metric_geometry(geometry).length),
        streets=" → ".join(
            route_streets(
                closure.route_nodes(network, community, begin, end, found),
                names,
                network.cache.get("stub_of"),
            )
        ),
        geometry=geometry,
    )
    return row


def _best_exit(network, community, start, safe, area, direct) -> tuple:  # noqa: ANN001, PLR0913
    """For a place inside the hazard: the open street end at the hazard's edge to walk to
    (straight, at walking speed; the part inside the hazard counted :data:`INSIDE_PENALTY` times
    when choosing), if that beats walking to the nearest open street.  ``(None, 0)`` otherwise.
    """
    ends = np.flatnonzero(network.node_ids < 0)  # the new nodes of close_streets
    if area.is_empty or ends.size == 0 or not area.intersects(start):
        return None, 0.0
    points = [shapely.Point(network.lon[i], network.lat[i]) for i in ends]
    metric_area = community.to_metric_geometry(area)
    origin = community.to_metric_geometry(start)
    walks = [LineString([origin, community.to_metric_geometry(p)]) for p in points]
    inside = np.array([w.intersection(metric_area).length for w in walks])
    length = np.array([w.length for w in walks])
    walk_s = length / WALK_SPEED_MS
    choose_s = (length + (INSIDE_PENALTY - 1) * inside) / WALK_SPEED_MS
    onward = net.travel_times(network, community, points, safe.geometry).min(axis=1)
    score = choose_s + onward
    k = int(np.argmin(score))
    if not np.isfinite(score[k]) or score[k] >= float(np.min(direct)):
        return None, 0.0
    return points[k], float(walk_s[k])


def _walk_blocked(network: Network, community: Community, start, area: BaseGeometry) -> bool:  # noqa: ANN001
    """A place outside the hazard whose walk to the nearest open street crosses it."""
    if area.is_empty or area.intersects(start):
        return False
    leg = _walk_legs(network, community, gpd.GeoSeries([start], crs=4326))[0]
    return bool(leg.intersects(community.to_metric_geometry(area)))


def _routes_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=[*ROUTE_COLUMNS, "geometry"])
    frame["reachable"] = frame["reachable"].astype(bool)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)


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
