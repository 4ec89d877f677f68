"""What the criteria are computed from: destinations, hazards, rasters, settlements, sites.

:class:`SiteContext` gathers every layer in EPSG:4326 for one community; :func:`bundled_context`
fills it from the files Harta ships (schools, healthcare, CTP stops, the approximate landfill
outline, the ESA WorldCover tree-cover mask) and, given a database connection, the community's
workshop risk zones and its settlements' areas.  :func:`read_sites` reads a candidate-sites file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from geo import crs as crs_
from geo.errors import HartaError
from geo.settings import DATA_SOURCES_DIR

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from geo.communities.model import Community

SCHOOLS_FILE = DATA_SOURCES_DIR / "osm" / "schools_osm_cluj-napoca-centre_2020-10.geojson"
HEALTHCARE_FILE = DATA_SOURCES_DIR / "osm" / "cluj-napoca_healthcare_2024-05-23.geojson"
LANDFILL_FILE = DATA_SOURCES_DIR / "sites" / "pata-rat_landfill_approximate.geojson"
TREECOVER_FILE = DATA_SOURCES_DIR / "sites" / "esa-worldcover-2020_treecover_cluj-city.tif"
DEMO_SITES_FILE = DATA_SOURCES_DIR / "sites" / "demo_candidate_sites.geojson"
COMMUNITIES_DIR = DATA_SOURCES_DIR / "communities"
#: ESA WorldCover class code of tree cover.
TREE_CLASS = 10
#: Columns of a sites frame (``geometry`` in EPSG:4326).
SITE_COLUMNS = ["site_id", "name", "area_m2", "ownership", "cost_eur", "capacity", "is_demo"]


class SitesFileError(HartaError, ValueError):
    """A candidate-sites file that cannot be read."""


@dataclass(frozen=True)
class RasterLayer:
    """An imported raster a criterion reads.

    Attributes
    ----------
    code : str
        Criterion code.
    path : Path
    statistic : str
        ``mean`` (zonal mean over the site, or the pixel under a point), ``share`` (share of
        pixels equal to ``class_value`` within ``radius_m``), ``sample`` (the pixel under the
        site's representative point).
    class_value : int, optional
    radius_m : float
        Buffer around the site for ``mean`` and ``share``.
    """

    code: str
    path: Path
    statistic: str = "mean"
    class_value: int | None = None
    radius_m: float = 0.0


@dataclass
class SiteContext:
    """Every layer the criteria read, in EPSG:4326 (empty frames where there is none).

    Attributes
    ----------
    community : Community
    schools, kindergartens, clinics, stops : GeoDataFrame
        Destinations; ``stops`` has a ``routes`` column (comma-separated short names).
    landfill : shapely geometry or None
    risk_zones : GeoDataFrame
        ``hazard_code``, ``severity``, geometry.
    hazards : GeoDataFrame or None
        An imported hazard layer.
    rasters : list of RasterLayer
    settlements : GeoDataFrame
        ``name``, geometry of the existing segregated settlements.
    gtfs : Path or None
    notes : dict
        Criterion code -> why it has no value (i18n key).
    """

    community: Community
    schools: gpd.GeoDataFrame
    kindergartens: gpd.GeoDataFrame
    clinics: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    landfill: BaseGeometry | None = None
    risk_zones: gpd.GeoDataFrame | None = None
    hazards: gpd.GeoDataFrame | None = None
    rasters: list[RasterLayer] = field(default_factory=list)
    settlements: gpd.GeoDataFrame | None = None
    gtfs: Path | None = None
    notes: dict = field(default_factory=dict)


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": []}, geometry=[], crs=crs_.STORAGE)


def read_layer(path: str | Path) -> gpd.GeoDataFrame:
    """Any GDAL vector file in EPSG:4326 (declared CRS honoured; undeclared = EPSG:4326).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    geopandas.GeoDataFrame
    """
    frame = gpd.read_file(path)
    if frame.crs is None:
        frame = frame.set_crs(crs_.STORAGE)
    elif crs_.to_crs(frame.crs) != crs_.STORAGE:
        frame = frame.to_crs(crs_.STORAGE)
    return frame[~frame.geometry.is_empty & frame.geometry.notna()].reset_index(drop=True)


def osm_destinations() -> dict[str, gpd.GeoDataFrame]:
    """The shipped schools, kindergartens and clinics (clinic or hospital) of Cluj-Napoca.

    Returns
    -------
    dict
        ``schools`` (``amenity=school``), ``kindergartens`` (``amenity=kindergarten``),
        ``clinics`` (``amenity`` clinic or hospital): ``name`` and geometry.
    """
    schools = read_layer(SCHOOLS_FILE)
    health = read_layer(HEALTHCARE_FILE)

    def pick(frame: gpd.GeoDataFrame, values: set[str]) -> gpd.GeoDataFrame:
        kept = frame[frame["amenity"].isin(values)]
        names = kept["name"] if "name" in kept else pd.Series([""] * len(kept), kept.index)
        return gpd.GeoDataFrame(
            {"name": names.fillna("").to_numpy()}, geometry=kept.geometry.values, crs=crs_.STORAGE
        )

    return {
        "schools": pick(schools, {"school"}),
        "kindergartens": pick(schools, {"kindergarten"}),
        "clinics": pick(health, {"clinic", "hospital"}),
    }


def community_stops(community: Community) -> gpd.GeoDataFrame:
    """The CTP stops file the community names (``files.stops``), or an empty frame.

    Parameters
    ----------
    community : Community

    Returns
    -------
    geopandas.GeoDataFrame
        ``stop_id``, ``name``, ``routes``, geometry.
    """
    folder = (
        Path(community.source_dir) if community.source_dir else COMMUNITIES_DIR / community.slug
    )
    try:
        config = json.loads((folder / "community.json").read_text(encoding="utf-8"))
        name = (config.get("files") or {}).get("stops")
    except (OSError, ValueError):
        name = None
    path = (folder / name) if name else folder / "stops.geojson"
    if not path.is_file():
        return gpd.GeoDataFrame(
            {"stop_id": [], "name": [], "routes": []}, geometry=[], crs=crs_.STORAGE
        )
    stops = read_layer(path)
    stops["routes"] = stops.get("routes", pd.Series([""] * len(stops))).fillna("")
    return stops


def landfill_outline(path: str | Path = LANDFILL_FILE) -> BaseGeometry | None:
    """The sketched landfill outline (APPROXIMATE), or None when there is no file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    shapely geometry or None
    """
    if not Path(path).is_file():
        return None
    return shapely.union_all(read_layer(path).geometry.values)


def settlements_of(community: Community, engine: Engine | None = None) -> gpd.GeoDataFrame:
    """The existing segregated settlements: the community's settlements (or itself, if one).

    From the database when an engine is given, else from the bundled community folders whose
    ``parent`` is this community.

    Parameters
    ----------
    community : Community
    engine : Engine, optional

    Returns
    -------
    geopandas.GeoDataFrame
        ``name`` and area geometry, EPSG:4326.
    """
    if engine is not None:
        ids = list(community.settlement_ids) or [community.id]
        with engine.connect() as conn:
            return gpd.read_postgis(
                text("SELECT name, geom FROM communities WHERE id = ANY(:ids) ORDER BY id"),
                conn,
                params={"ids": ids},
                geom_col="geom",
            ).rename_geometry("geometry")
    names, geoms = [], []
    for folder in sorted(COMMUNITIES_DIR.iterdir()):
        config_file = folder / "community.json"
        if not config_file.is_file():
            continue
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.get("parent") == community.slug or (
            config.get("slug") == community.slug and config.get("kind") == "settlement"
        ):
            boundary = read_layer(folder / config["files"]["boundary"])
            names.append(config["name"])
            geoms.append(shapely.union_all(boundary.geometry.values))
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=crs_.STORAGE)


def risk_zones_of(community: Community, engine: Engine | None) -> gpd.GeoDataFrame:
    """The workshop risk zones of the community's family (as the connection may see them).

    Parameters
    ----------
    community : Community
    engine : Engine or None
        None gives an empty frame.

    Returns
    -------
    geopandas.GeoDataFrame
        ``hazard_code``, ``severity``, geometry (EPSG:4326).
    """
    if engine is None:
        return gpd.GeoDataFrame({"hazard_code": [], "severity": []}, geometry=[], crs=crs_.STORAGE)
    with engine.connect() as conn:
        return gpd.read_postgis(
            text(
                "SELECT hazard_code, severity, geom FROM risk_zones"
                " WHERE community_id = ANY(:ids) ORDER BY id"
            ),
            conn,
            params={"ids": list(community.family_ids)},
            geom_col="geom",
        ).rename_geometry("geometry")


def bundled_context(
    community: Community,
    engine: Engine | None = None,
    *,
    hazards: str | Path | None = None,
    rasters: list[RasterLayer] | None = None,
    gtfs: str | Path | None = None,
) -> SiteContext:
    """Every layer for ``community`` from the shipped files (and the database, if given).

    Parameters
    ----------
    community : Community
    engine : Engine, optional
        Reads the workshop risk zones and the settlements' areas.
    hazards : str or Path, optional
        An imported hazard layer (any vector file).
    rasters : list of RasterLayer, optional
        Imported rasters; the shipped tree-cover mask is always added when present.
    gtfs : str or Path, optional
        A GTFS feed for the scheduled time to the centre.

    Returns
    -------
    SiteContext
    """
    layers = list(rasters or [])
    if TREECOVER_FILE.is_file() and not any(r.code == "treecover_share" for r in layers):
        layers.append(
            RasterLayer("treecover_share", TREECOVER_FILE, "share", TREE_CLASS, radius_m=300.0)
        )
    return SiteContext(
        community=community,
        **osm_destinations(),
        stops=community_stops(community),
        landfill=landfill_outline(),
        risk_zones=risk_zones_of(community, engine),
        hazards=read_layer(hazards) if hazards else None,
        rasters=layers,
        settlements=settlements_of(community, engine),
        gtfs=Path(gtfs) if gtfs else None,
    )


def read_sites(path: str | Path, community: Community) -> gpd.GeoDataFrame:
    """A candidate-sites file (points or parcels) in the columns of :data:`SITE_COLUMNS`.

    ``site_id`` defaults to 1..n, ``name`` to the id, ``area_m2`` to the parcel's area in the
    community's metric CRS, ``capacity`` (dwellings) and ``cost_eur`` to empty.

    Parameters
    ----------
    path : str or Path
        Any GDAL vector file (GeoJSON, GeoPackage ...).
    community : Community

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    SitesFileError
        Unreadable, empty, or duplicate ``site_id``.
    """
    try:
        frame = read_layer(path)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types for a bad file
        raise SitesFileError(
            "sites.error.sites_file", file=Path(path).name, detail=str(exc)
        ) from exc
    if frame.empty:
        raise SitesFileError("sites.error.sites_file", file=Path(path).name, detail="no site")
    return normalise_sites(frame, community)


def normalise_sites(frame: gpd.GeoDataFrame, community: Community) -> gpd.GeoDataFrame:
    """Sites with every column of :data:`SITE_COLUMNS` (see :func:`read_sites`).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        EPSG:4326.
    community : Community

    Returns
    -------
    geopandas.GeoDataFrame
    """
    frame = frame.reset_index(drop=True).copy()
    n = len(frame)
    ids = (
        frame["site_id"].astype(str)
        if "site_id" in frame
        else pd.Series([str(i + 1) for i in range(n)])
    )
    if ids.duplicated().any():
        raise SitesFileError("sites.error.sites_file", file="", detail="duplicate site_id")
    metric = frame.geometry.to_crs(community.crs)
    out = pd.DataFrame({"site_id": ids.to_numpy()})
    out["name"] = frame["name"].fillna("").astype(str) if "name" in frame else out["site_id"]
    out["area_m2"] = (
        pd.to_numeric(frame.get("area_m2"), errors="coerce") if "area_m2" in frame else np.nan
    )
    out["area_m2"] = out["area_m2"].fillna(pd.Series(metric.area.to_numpy())).round(1)
    out["ownership"] = frame["ownership"].fillna("").astype(str) if "ownership" in frame else ""
    for column in ("cost_eur", "capacity"):
        values = frame[column] if column in frame else pd.Series([np.nan] * n)
        out[column] = pd.to_numeric(values, errors="coerce").to_numpy()
    out["is_demo"] = (
        frame["is_demo"].fillna(False).astype(bool).to_numpy() if "is_demo" in frame else False
    )
    return gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=crs_.STORAGE)
