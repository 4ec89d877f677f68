"""Demand places of the response network: where help must arrive, each with a weight.

Four kinds of place (``place_type``), all as points in EPSG:4326:

``settlement``
    One point per settlement (a point on its surface; no population grid exists), weight 1.
``households``
    The same points weighted by household counts from a CSV (``settlement,households``).  The
    bundled ``data/responders/households_demo.csv`` is invented and every row from it is
    ``is_demo`` until a community imports its own counts.
``risk_zone``
    Each workshop consensus zone (:func:`geo.workshops.consensus.consensus_zones`) at a point on
    its surface, weighted ``max_severity * max(agreement, AGREEMENT_FLOOR)``.
``incidents``
    Cells of the **published** incident aggregate (``incident_hex_counts`` on the map grid: the
    counts every role may read, suppressed cells left out), at the cell centre, weighted by the
    published count.  Never incident rows: the same places whatever the reader's role.

Every place names the ``settlement`` it lies in (the slug; the community's own slug outside
every settlement).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from geo import views
from geo.communities.model import Community
from geo.settings import DATA_SOURCES_DIR
from geo.workshops.consensus import consensus_zones

PLACE_TYPES = ("settlement", "households", "risk_zone", "incidents")
COLUMNS = ("place_id", "place_type", "settlement", "name", "weight", "is_demo", "geometry")
HOUSEHOLDS_DEMO = DATA_SOURCES_DIR / "responders" / "households_demo.csv"
#: Weight floor of a zone's agreement, so a zone marked in one session of many still counts.
AGREEMENT_FLOOR = 0.25


def empty_demand() -> gpd.GeoDataFrame:
    """A demand frame with no place (:data:`COLUMNS`).

    Returns
    -------
    GeoDataFrame
    """
    return gpd.GeoDataFrame(
        {c: [] for c in COLUMNS if c != "geometry"}, geometry=gpd.GeoSeries([], crs=4326)
    )


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    if not rows:
        return empty_demand()
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    frame["weight"] = frame["weight"].astype(float)
    frame["is_demo"] = frame["is_demo"].astype(bool)
    return frame[list(COLUMNS)]


def settlement_areas(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """The settlements of ``community`` (or the settlement itself), ``slug``, ``name``, area.

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    GeoDataFrame
        EPSG:4326; the community itself when it has no settlement.
    """
    found = views.settlements(engine, community)
    if len(found):
        return found[["slug", "name", "geom"]].rename_geometry("geometry").reset_index(drop=True)
    return gpd.GeoDataFrame(
        {"slug": [community.slug], "name": [community.name]},
        geometry=gpd.GeoSeries([community.geometry], crs=4326),
    )


def settlement_points(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One demand place per settlement, weight 1.

    Parameters
    ----------
    areas : GeoDataFrame
        From :func:`settlement_areas`.

    Returns
    -------
    GeoDataFrame
    """
    points = shapely.point_on_surface(areas.geometry.values)
    return _frame(
        [
            {
                "place_id": f"settlement:{slug}",
                "place_type": "settlement",
                "settlement": slug,
                "name": name,
                "weight": 1.0,
                "is_demo": False,
                "geometry": point,
            }
            for slug, name, point in zip(areas["slug"], areas["name"], points, strict=True)
        ]
    )


def household_points(
    areas: gpd.GeoDataFrame, counts: str | Path | pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Settlement points weighted by household counts.

    Parameters
    ----------
    areas : GeoDataFrame
        From :func:`settlement_areas`.
    counts : path or DataFrame, optional
        Columns ``settlement`` (slug) and ``households``.  Default: the bundled demo counts
        (every place ``is_demo``).

    Returns
    -------
    GeoDataFrame
    """
    demo = counts is None
    table = (
        pd.read_csv(HOUSEHOLDS_DEMO if demo else counts)
        if not isinstance(counts, pd.DataFrame)
        else counts
    )
    by_slug = dict(zip(table["settlement"].astype(str), table["households"], strict=True))
    points = shapely.point_on_surface(areas.geometry.values)
    rows = [
        {
            "place_id": f"households:{slug}",
            "place_type": "households",
            "settlement": slug,
            "name": name,
            "weight": float(by_slug[slug]),
            "is_demo": demo,
            "geometry": point,
        }
        for slug, name, point in zip(areas["slug"], areas["name"], points, strict=True)
        if slug in by_slug and float(by_slug[slug]) > 0
    ]
    return _frame(rows)


def zone_points(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """Workshop consensus zones as demand places weighted by severity and agreement.

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    GeoDataFrame
        ``weight`` = ``max_severity * max(agreement, AGREEMENT_FLOOR)``.
    """
    zones = consensus_zones(engine, community)
    if zones.empty:
        return empty_demand()
    points = shapely.point_on_surface(zones.geometry.values)
    weight = zones["max_severity"].astype(float) * np.maximum(
        zones["agreement"].astype(float), AGREEMENT_FLOOR
    )
    return _frame(
        [
            {
                "place_id": f"zone:{row.hazard_code}:{row.cluster}",
                "place_type": "risk_zone",
                "settlement": None,
                "name": row.hazard_code,
                "weight": float(w),
                "is_demo": bool(row.is_demo),
                "geometry": point,
            }
            for row, point, w in zip(zones.itertuples(), points, weight, strict=True)
        ]
    )


def incident_points(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """Published incident aggregate cells (map grid) as demand places weighted by their count.

    Parameters
    ----------
    engine : Engine
        Any role: only the published, rounded counts are read; suppressed cells are left out.
    community : Community

    Returns
    -------
    GeoDataFrame
    """
    cells = views.incident_hex_counts(engine, community)
    cells = cells[~cells["suppressed"].astype(bool) & cells["count"].notna()]
    if cells.empty:
        return empty_demand()
    points = shapely.centroid(cells.geometry.values)
    return _frame(
        [
            {
                "place_id": f"incidents:{cell}",
                "place_type": "incidents",
                "settlement": None,
                "name": None,
                "weight": float(count),
                "is_demo": False,
                "geometry": point,
            }
            for cell, count, point in zip(cells["cell_id"], cells["count"], points, strict=True)
        ]
    )


def assign_settlements(
    places: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, community: Community
) -> gpd.GeoDataFrame:
    """Fill ``settlement`` with the slug of the settlement each place lies in.

    Parameters
    ----------
    places : GeoDataFrame
    areas : GeoDataFrame
        From :func:`settlement_areas`.
    community : Community
        Its slug names places outside every settlement.

    Returns
    -------
    GeoDataFrame
    """
    out = places.copy()
    missing = out["settlement"].isna()
    if missing.any() and len(areas):
        tree = shapely.STRtree(areas.geometry.values)
        inside = tree.query(out.geometry[missing].values, predicate="intersects")
        slugs = pd.Series([None] * int(missing.sum()), dtype=object)
        for place, area in zip(inside[0], inside[1], strict=True):
            if slugs.iloc[place] is None:
                slugs.iloc[place] = areas["slug"].iloc[area]
        out.loc[missing, "settlement"] = slugs.to_numpy()
    out["settlement"] = out["settlement"].fillna(community.slug)
    return out


def demand_places(
    engine: Engine,
    community: Community,
    *,
    types: tuple[str, ...] | list[str] = PLACE_TYPES,
    households: str | Path | pd.DataFrame | None = None,
    include_demo: bool = True,
) -> gpd.GeoDataFrame:
    """Every demand place of ``community`` of the given types (module docstring).

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role (only what every role may read is used).
    community : Community
    types : sequence of str
        Some of :data:`PLACE_TYPES`.
    households : path or DataFrame, optional
        Household counts (default: the bundled demo counts, labelled demo).
    include_demo : bool
        Keep demo places (demo zones, demo household counts).

    Returns
    -------
    GeoDataFrame
        Columns :data:`COLUMNS`, EPSG:4326.
    """
    areas = settlement_areas(engine, community)
    parts = []
    if "settlement" in types:
        parts.append(settlement_points(areas))
    if "households" in types:
        parts.append(household_points(areas, households))
    if "risk_zone" in types:
        parts.append(zone_points(engine, community))
    if "incidents" in types:
        parts.append(incident_points(engine, community))
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_demand()
    places = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    if not include_demo:
        places = places[~places["is_demo"]].reset_index(drop=True)
    return assign_settlements(places, areas, community)
