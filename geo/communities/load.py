"""Adding a community: every file read and checked first, then the sources copied into
``get_settings().communities_dir / slug`` and the rows written in one transaction.

:func:`add_community` is idempotent (running it twice changes nothing); :func:`bootstrap` adds
the bundled communities that are missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text

from geo import crs as crs_
from geo.communities.files import read_boundary, read_places_file, read_stops_file
from geo.communities.source import (
    BUNDLED_DIR,
    CONFIG_FILE,
    CommunityDataError,
    CommunitySource,
    _check_metadata,
    bundled_sources,
    slugify,
)
from geo.communities.store import (
    _parent_id,
    _replace_places,
    _replace_streets,
    _sync_stops,
    _upsert_community,
)
from geo.db.engine import set_app_role
from geo.roles import ROLES, SYSTEM
from geo.settings import get_settings

#: Streets within this distance of a community's boundary are loaded with it (metres); keeps
#: the roads just outside an approximate boundary that people use to reach it.
STREET_BUFFER_M = 250.0


#: Stops within this distance of the boundary are loaded with it (metres): a short walk.
STOP_BUFFER_M = 400.0


@dataclass(frozen=True)
class AddResult:
    """What :func:`add_community` wrote."""

    id: int
    slug: str
    created: bool
    streets: int
    places: int
    stops: int
    stops_added: int
    source_dir: Path


@dataclass
class _Prepared:
    """Everything read and checked before the database or the disk is touched."""

    slug: str
    boundary: MultiPolygon
    metric_crs: int
    timezone: str
    streets: gpd.GeoDataFrame | None
    places: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame | None
    files: dict[str, Any]


def add_community(
    engine: Engine,
    name: str,
    boundary_file: str | Path,
    osm_file: str | Path | None = None,
    stops_file: str | Path | None = None,
    *,
    slug: str | None = None,
    county: str | None = None,
    country: str = "RO",
    timezone: str | None = None,
    crs: crs_.CRSLike | None = None,
    parent: str | None = None,
    kind: str = "community",
    role: str = "admin",
    description: str | None = None,
    attribution: str | None = None,
    places_files: Iterable[str | Path] = (),
) -> AddResult:
    """Add a community (or update it, by slug) with its streets, places and stops.

    Every file is read and validated first; then the sources are copied to
    ``get_settings().communities_dir / slug`` and the database rows are written in one
    transaction.  Running it again with the same files changes no row count: the community is
    upserted by slug, its streets and places are replaced, and stops are keyed by ``row_hash``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        Database.
    name : str
        Display name, e.g. ``"Pata Rât"``.
    boundary_file : str or Path
        Polygon GeoJSON (or any vector file GDAL reads); repaired with ``make_valid``.
    osm_file : str or Path, optional
        OSM XML street network; the streets near the boundary (:data:`STREET_BUFFER_M`) are loaded.
    stops_file : str or Path, optional
        Stops GeoJSON (``stop_id``, ``name``, ``routes``) or a GTFS zip; the stops near the
        boundary (:data:`STOP_BUFFER_M`) become ``facilities`` of kind ``bus_stop``.
    slug : str, optional
        Identifier; default derived from ``name``.
    county, country : str
        County name and ISO 3166 alpha-2 country code.
    timezone : str, optional
        IANA timezone; default by country (``Europe/Bucharest`` for RO).
    crs : int, str or pyproj.CRS, optional
        The community's metric CRS (anything :func:`geo.crs.to_crs` takes; it must be projected
        in metres and have an EPSG code, which is what is stored); default the UTM zone of the
        boundary's centroid (:func:`geo.crs.utm_crs`).
    parent : str, optional
        Slug of the parent community (must already be in the database).
    kind : {"community", "settlement"}
        A settlement belongs to a parent community.
    role : str
        Application role recorded by the audit trail and in ``created_by_role``.
    description, attribution : str, optional
        Shown to users; say where the boundary comes from and how reliable it is.
    places_files : iterable of paths
        GeoJSON files of named places for context (neighbourhoods, the city boundary).

    Returns
    -------
    AddResult

    Raises
    ------
    CommunityDataError
        For an invalid field or file (the message names it); nothing is written.
    """
    slug = slug or slugify(name)
    metric_crs = _metric_epsg(crs)
    if role not in (SYSTEM, *ROLES):
        raise CommunityDataError(
            f"field 'role': {role!r} must be one of {', '.join((SYSTEM, *ROLES))}"
        )
    timezone = _check_metadata(
        slug=slug,
        name=name,
        country=country,
        timezone=timezone,
        kind=kind,
        parent=parent,
        metric_crs=metric_crs,
    )
    prepared = _prepare(
        slug,
        Path(boundary_file),
        Path(osm_file) if osm_file else None,
        Path(stops_file) if stops_file else None,
        [Path(p) for p in places_files],
        metric_crs,
        timezone,
    )
    row = {
        "slug": slug,
        "name": name.strip(),
        "county": county,
        "country": country,
        "timezone": prepared.timezone,
        "metric_crs": prepared.metric_crs,
        "kind": kind,
        "description": description,
        "attribution": attribution,
        # By content, not path: re-adding from the copied folder is the same source.
        "source_ref": f"boundary.geojson sha256:{_sha256(Path(boundary_file))[:16]}",
        "created_by_role": role,
        "wkt": prepared.boundary.wkt,
    }
    config = {
        key: row[key]
        for key in ("name", "slug", "county", "country", "timezone", "metric_crs", "kind")
    }
    config.update(parent=parent, description=description, attribution=attribution)
    target = get_settings().communities_dir / slug
    staged = _stage_files(target, prepared.files, config)
    try:
        with engine.begin() as conn:
            set_app_role(conn, role)
            # One add per slug at a time (two app processes bootstrapping together).
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"c:{slug}"})
            parent_id = _parent_id(conn, parent)
            community_id, created = _upsert_community(conn, row, parent_id, str(target))
            streets = _replace_streets(conn, community_id, prepared.streets)
            places = _replace_places(conn, community_id, prepared.places)
            stops, added = _sync_stops(conn, community_id, prepared.stops, role, slug)
        _swap_into_place(staged, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return AddResult(community_id, slug, created, streets, places, stops, added, target)


def _metric_epsg(crs: crs_.CRSLike | None) -> int | None:
    if crs is None:
        return None
    try:
        return crs_.epsg(crs_.metric_crs(crs))
    except crs_.CRSInputError as exc:
        raise CommunityDataError(f"field 'metric_crs': {exc}") from exc


def add_community_from_source(
    engine: Engine, source: CommunitySource, *, role: str = "admin"
) -> AddResult:
    """:func:`add_community` with the metadata and files of a :class:`CommunitySource`.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database to write to.
    source : CommunitySource
        The community's metadata and file paths.
    role : str
        Role recorded for the write (passed to :func:`add_community`).

    Returns
    -------
    AddResult
        What :func:`add_community` returns.
    """
    return add_community(
        engine,
        source.name,
        source.boundary_file,
        source.osm_file,
        source.stops_file,
        slug=source.slug,
        county=source.county,
        country=source.country,
        timezone=source.timezone,
        crs=source.metric_crs,
        parent=source.parent,
        kind=source.kind,
        role=role,
        description=source.description,
        attribution=source.attribution,
        places_files=source.places_files,
    )


def _prepare(
    slug: str,
    boundary_file: Path,
    osm_file: Path | None,
    stops_file: Path | None,
    places_files: list[Path],
    metric_crs: int | None,
    timezone: str,
) -> _Prepared:
    boundary = read_boundary(boundary_file)
    centroid = boundary.centroid
    crs = metric_crs or crs_.epsg(crs_.utm_crs(centroid.x, centroid.y))
    files: dict[str, Any] = {"boundary": (boundary_file, "boundary.geojson")}
    streets = None
    if osm_file is not None:
        streets = _streets_near(osm_file, boundary, crs)
        files["streets"] = (osm_file, "streets.osm")
    stops = None
    if stops_file is not None:
        stops = read_stops_file(stops_file, _buffered(boundary, crs, STOP_BUFFER_M))
        # A GTFS zip is large: keep only the extracted stops next to the community.
        files["stops"] = (
            (stops_file, "stops.geojson") if stops_file.suffix.lower() != ".zip" else stops
        )
    places_frames = []
    for index, place_file in enumerate(places_files):
        places_frames.append(read_places_file(place_file))
        files.setdefault("places", []).append((place_file, f"places-{index}-{place_file.name}"))
    places = (
        pd.concat(places_frames, ignore_index=True)
        if places_frames
        else gpd.GeoDataFrame(
            {"osm_type": [], "osm_id": [], "name": [], "place": []},
            geometry=[],
            crs="EPSG:4326",
        )
    )
    return _Prepared(slug, boundary, crs, timezone, streets, places, stops, files)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _buffered(boundary: BaseGeometry, metric_crs: int, metres: float) -> BaseGeometry:
    """``boundary`` (EPSG:4326) grown by ``metres`` measured in ``metric_crs``."""
    grown = crs_.project(boundary, crs_.STORAGE, metric_crs).buffer(metres)
    return crs_.project(grown, metric_crs, crs_.STORAGE)


_STREETS_MEMO: dict[str, gpd.GeoDataFrame] = {}


def _streets_near(osm_file: Path, boundary: MultiPolygon, metric_crs: int) -> gpd.GeoDataFrame:
    # Imported here: reading streets needs osmnx, which most users of this package never load.
    from geo.network.graph import cached_graph
    from geo.network.osm import streets_gdf

    try:
        digest = _sha256(osm_file)
        streets = _STREETS_MEMO.get(digest)
        if streets is None:
            streets = streets_gdf(cached_graph(osm_file, "drive"))
            # Settlements share their parent's OSM file: read its graph once per process.
            _STREETS_MEMO.clear()
            _STREETS_MEMO[digest] = streets
    except (ValueError, OSError) as exc:
        raise CommunityDataError(f"{osm_file}: field 'streets': {exc}") from exc
    # Whole edges that touch the buffered area, not clipped pieces: they stay routable.
    area = _buffered(boundary, metric_crs, STREET_BUFFER_M)
    return streets[streets.intersects(area)].reset_index(drop=True)


def _stage_files(target: Path, files: dict[str, Any], config: dict[str, Any]) -> Path:
    """Copy the sources into a fresh folder next to ``target`` and write its community.json."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    listed: dict[str, Any] = {}
    for key, value in files.items():
        if key == "places":
            for source, name in value:
                shutil.copyfile(source, staged / name)
            listed["places"] = [name for _, name in value]
        elif isinstance(value, gpd.GeoDataFrame):
            value.to_file(staged / "stops.geojson", driver="GeoJSON")
            listed[key] = "stops.geojson"
        else:
            source, name = value
            shutil.copyfile(source, staged / name)
            listed[key] = name
    config = dict(config, files=listed)
    (staged / CONFIG_FILE).write_text(
        json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return staged


def _swap_into_place(staged: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def bootstrap(
    engine: Engine, folder: str | Path = BUNDLED_DIR, *, role: str = "system"
) -> list[str]:
    """Add every bundled community missing from the database, parents first.

    Cheap when everything is there already (one query and reading the small community.json
    files).  Returns the slugs added.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database to write to.
    folder : str or Path
        Folder holding one sub-folder per community (default: the bundled ones).
    role : str
        Role recorded for the writes.

    Returns
    -------
    list of str
        Slugs of the communities added, in the order added; empty when none was missing.
    """
    with engine.connect() as conn:
        present = set(conn.execute(text("SELECT slug FROM communities")).scalars())
    added = []
    for source in bundled_sources(folder):
        if source.slug not in present:
            add_community_from_source(engine, source, role=role)
            added.append(source.slug)
    return added
