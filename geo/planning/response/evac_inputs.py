"""What an evacuation starts from: its scenario, the hazard's area, the places to evacuate and
the assembly points.

* A **scenario** is a hazard of the taxonomy with its settings in ``data/safety/scenarios.json``
  (editable without code): :func:`scenarios`, :func:`scenario`.
* The hazard's **area** is the union of the community's workshop risk zones of that hazard
  (severity at least the scenario's ``min_severity``; lines and points widened by
  :data:`MARK_BUFFER_M`), widened by the scenario's ``buffer_m``: :func:`hazard_area`.
* The **places** to evacuate are every settlement and the scenario's high-risk zones:
  :func:`origins`.
* The safe **assembly points** are an imported layer or the community's sketched data file:
  :func:`assembly_points`.

The routing itself is :mod:`geo.planning.response.evac_routes`; the stored run is
:mod:`geo.planning.response.evacuation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine

from geo import crs as crs_
from geo import taxonomy, views
from geo.communities.model import Community
from geo.errors import HartaError

#: Folder of the safety data files (scenarios, checklists, escalation, assembly points).
SAFETY_DIR = Path(__file__).resolve().parents[3] / "data" / "safety"
#: Half-width given to hazards marked as lines or points (a street, a crossing), metres.
MARK_BUFFER_M = 25.0
#: Severity from which a risk zone of the scenario's hazard is itself a place to evacuate.
HIGH_RISK_SEVERITY = 4


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
