"""Communities as data: a folder of files per community, loaded into PostGIS in one step.

Folder format (``data/communities/<slug>/`` for the bundled ones)::

    community.json     name, county, country (ISO2), timezone, metric_crs (EPSG), kind
                       ("community" or "settlement"), parent (slug), description, attribution,
                       and optionally "files" naming the files below (paths relative to the folder)
    boundary.geojson   the community's area (Polygon or MultiPolygon features, EPSG:4326)
    streets.osm        optional OSM XML street network (or "files": {"streets": "<path>"})
    stops.geojson      optional public-transport stops (stop_id, name, routes)
    places.geojson     optional named places for context (or "files": {"places": [...]})

:func:`add_community` validates every file first, copies the sources into
``get_settings().communities_dir / slug`` and writes the ``communities`` row, its streets, places
and stops in one transaction.  Running it twice changes nothing.  :func:`bootstrap` adds the
bundled communities that are missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas as gpd
import pandas as pd
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo.db.engine import set_app_role
from geo.db.models import ROLES
from geo.settings import DATA_SOURCES_DIR, get_settings

#: Folder holding the bundled communities.
BUNDLED_DIR = DATA_SOURCES_DIR / "communities"

#: Streets within this distance of a community's boundary are loaded with it (metres); keeps
#: the roads just outside an approximate boundary that people use to reach it.
STREET_BUFFER_M = 250.0

#: Stops within this distance of the boundary are loaded with it (metres): a short walk.
STOP_BUFFER_M = 400.0

KINDS = ("community", "settlement")
CONFIG_FILE = "community.json"

#: Timezone used when none is given, by country.
DEFAULT_TIMEZONES = {
    "RO": "Europe/Bucharest",
    "BG": "Europe/Sofia",
    "HU": "Europe/Budapest",
    "RS": "Europe/Belgrade",
    "MD": "Europe/Chisinau",
    "SK": "Europe/Bratislava",
    "CZ": "Europe/Prague",
    "UA": "Europe/Kyiv",
    "MK": "Europe/Skopje",
    "GR": "Europe/Athens",
}

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class CommunityDataError(ValueError):
    """A community file or field that cannot be used.  The message names the file and field."""


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommunitySource:
    """A community's metadata and source files, as read from its folder."""

    slug: str
    name: str
    country: str
    timezone: str
    boundary_file: Path
    kind: str = "community"
    parent: str | None = None
    county: str | None = None
    metric_crs: int | None = None
    description: str | None = None
    attribution: str | None = None
    osm_file: Path | None = None
    stops_file: Path | None = None
    places_files: tuple[Path, ...] = ()
    folder: Path | None = None

    @classmethod
    def from_folder(cls, path: str | Path) -> CommunitySource:
        """Read and validate ``<path>/community.json`` and check that its files exist.

        Raises
        ------
        CommunityDataError
            Naming the file and the field that is missing or wrong.
        """
        folder = Path(path)
        config_path = folder / CONFIG_FILE
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CommunityDataError(f"{config_path}: file not found") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommunityDataError(f"{config_path}: not valid JSON ({exc})") from exc
        if not isinstance(config, dict):
            raise CommunityDataError(f"{config_path}: must hold a JSON object")
        field = _FieldReader(config_path, config)
        files = field.mapping("files")
        file_field = _FieldReader(config_path, files, prefix="files.")

        def locate(key: str, default: str | None) -> Path | None:
            name = file_field.text(key, required=False) or default
            if name is None:
                return None
            located = (folder / name).resolve()
            if not located.is_file():
                if key in files:
                    raise CommunityDataError(
                        f"{config_path}: field 'files.{key}': {name} not found"
                    )
                return None
            return located

        boundary = locate("boundary", "boundary.geojson")
        if boundary is None:
            raise CommunityDataError(
                f"{config_path}: field 'files.boundary': boundary.geojson missing"
            )
        places = file_field.text_list("places")
        if places is None:
            default_places = folder / "places.geojson"
            places = [default_places.name] if default_places.is_file() else []
        places_files = []
        for name in places:
            located = (folder / name).resolve()
            if not located.is_file():
                raise CommunityDataError(f"{config_path}: field 'files.places': {name} not found")
            places_files.append(located)

        slug = field.text("slug", required=False) or folder.name
        country = field.text("country", required=False) or "RO"
        source = cls(
            slug=slug,
            name=field.text("name"),
            country=country,
            timezone=field.text("timezone", required=False) or "",
            boundary_file=boundary,
            kind=field.text("kind", required=False) or "community",
            parent=field.text("parent", required=False),
            county=field.text("county", required=False),
            metric_crs=field.integer("metric_crs"),
            description=field.text("description", required=False),
            attribution=field.text("attribution", required=False),
            osm_file=locate("streets", "streets.osm"),
            stops_file=locate("stops", "stops.geojson"),
            places_files=tuple(places_files),
            folder=folder.resolve(),
        )
        try:
            return source.validated()
        except CommunityDataError as exc:
            raise CommunityDataError(f"{config_path}: {exc}") from exc

    def validated(self) -> CommunitySource:
        """This source with defaults filled in; raises :class:`CommunityDataError` if invalid."""
        timezone = _check_metadata(
            slug=self.slug,
            name=self.name,
            country=self.country,
            timezone=self.timezone or None,
            kind=self.kind,
            parent=self.parent,
            metric_crs=self.metric_crs,
        )
        return dataclasses.replace(self, timezone=timezone)

    def boundary(self) -> MultiPolygon:
        """The boundary as a valid MultiPolygon in EPSG:4326."""
        return read_boundary(self.boundary_file)


class _FieldReader:
    """Typed access to a JSON object's fields, with errors naming the file and field."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def _fail(self, key: str, problem: str) -> CommunityDataError:
        return CommunityDataError(f"{self.path}: field '{self.prefix}{key}': {problem}")

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise self._fail(key, "required")
            return None
        if not isinstance(value, str):
            raise self._fail(key, f"must be a string, not {type(value).__name__}")
        return value.strip()

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and re.fullmatch(r"(?i)(epsg:)?\d+", value.strip()):
            value = int(value.strip().split(":")[-1])
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "must be an EPSG code (integer)")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise self._fail(key, "must be an object")
        return value

    def text_list(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "must be a file name or a list of file names")
        return value


def _check_metadata(
    *,
    slug: str,
    name: str,
    country: str,
    timezone: str | None,
    kind: str,
    parent: str | None,
    metric_crs: int | None,
) -> str:
    """Validate a community's scalar fields; return the timezone (default from the country)."""
    if not name or not name.strip():
        raise CommunityDataError("field 'name': required")
    if not _SLUG.match(slug or ""):
        raise CommunityDataError(
            f"field 'slug': {slug!r} must be lowercase letters, digits and single hyphens"
        )
    if not _COUNTRY.match(country or ""):
        raise CommunityDataError(f"field 'country': {country!r} is not an ISO 3166 alpha-2 code")
    if kind not in KINDS:
        raise CommunityDataError(f"field 'kind': {kind!r} must be one of {', '.join(KINDS)}")
    if parent is not None and parent == slug:
        raise CommunityDataError("field 'parent': a community cannot be its own parent")
    if kind == "settlement" and parent is None:
        raise CommunityDataError("field 'parent': a settlement needs a parent community")
    timezone = timezone or DEFAULT_TIMEZONES.get(country)
    if timezone is None:
        raise CommunityDataError(f"field 'timezone': required (no default for country {country})")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CommunityDataError(f"field 'timezone': unknown timezone {timezone!r}") from exc
    if metric_crs is not None:
        _check_metric_crs(metric_crs)
    return timezone


def _check_metric_crs(epsg: int) -> None:
    try:
        crs = pyproj.CRS.from_epsg(epsg)
    except pyproj.exceptions.CRSError as exc:
        raise CommunityDataError(f"field 'metric_crs': EPSG:{epsg} is unknown") from exc
    if not crs.is_projected or crs.axis_info[0].unit_name not in {"metre", "meter"}:
        raise CommunityDataError(f"field 'metric_crs': EPSG:{epsg} is not a projected metric CRS")


def slugify(name: str) -> str:
    """``"Pata Rât"`` → ``"pata-rat"``: ASCII, lowercase, hyphen-separated."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone containing (lon, lat), e.g. 32634 for Cluj and Pernik."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def bundled_sources(folder: str | Path = BUNDLED_DIR) -> list[CommunitySource]:
    """Every community folder under ``folder``, parents before their settlements."""
    sources = [
        CommunitySource.from_folder(child)
        for child in sorted(Path(folder).iterdir())
        if (child / CONFIG_FILE).is_file()
    ]
    return _parents_first(sources)


def _parents_first(sources: Sequence[CommunitySource]) -> list[CommunitySource]:
    by_slug = {source.slug: source for source in sources}
    ordered: list[CommunitySource] = []
    seen: set[str] = set()

    def visit(source: CommunitySource, path: tuple[str, ...]) -> None:
        if source.slug in seen:
            return
        if source.slug in path:
            raise CommunityDataError(f"parent cycle: {' -> '.join((*path, source.slug))}")
        if source.parent in by_slug:
            visit(by_slug[source.parent], (*path, source.slug))
        seen.add(source.slug)
        ordered.append(source)

    for source in sources:
        visit(source, ())
    return ordered


def find_source(slug: str) -> CommunitySource:
    """The source folder of a community: an added one first, then a bundled one."""
    for folder in (get_settings().communities_dir / slug, BUNDLED_DIR / slug):
        if (folder / CONFIG_FILE).is_file():
            return CommunitySource.from_folder(folder)
    raise KeyError(f"no community folder for {slug!r}")


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def read_boundary(path: str | Path) -> MultiPolygon:
    """Read a boundary file as one valid MultiPolygon in EPSG:4326.

    All features are merged; invalid polygons are repaired with ``make_valid``; non-polygon
    parts left by the repair are dropped.

    Raises
    ------
    CommunityDataError
        When the file cannot be read or holds no polygon.
    """
    path = Path(path)
    frame = _read_vector(path)
    if frame.empty:
        raise CommunityDataError(f"{path}: field 'geometry': the file has no features")
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds & {"Polygon", "MultiPolygon", "GeometryCollection"}:
        found = ", ".join(sorted(kinds)) or "no geometry"
        raise CommunityDataError(f"{path}: field 'geometry': not a polygon (found {found})")
    merged = shapely.union_all(shapely.make_valid(frame.geometry.dropna().to_numpy()))
    polygons = _polygon_parts(merged)
    if polygons is None:
        raise CommunityDataError(f"{path}: field 'geometry': no polygonal area after repair")
    return polygons


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise CommunityDataError(f"{path}: file not found")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types for bad files
        raise CommunityDataError(f"{path}: not a readable vector file ({exc})") from exc
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")  # GeoJSON without a crs member is WGS 84
    elif not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    bounds = frame.total_bounds
    if len(frame) and not (
        -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    ):
        raise CommunityDataError(f"{path}: field 'geometry': coordinates outside lon/lat range")
    return frame


def _polygon_parts(geometry: BaseGeometry) -> MultiPolygon | None:
    parts = [
        part
        for part in shapely.get_parts(geometry)
        for part in (shapely.get_parts(part) if part.geom_type == "GeometryCollection" else [part])
        if isinstance(part, Polygon | MultiPolygon) and not part.is_empty
    ]
    polygons: list[Polygon] = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    if not polygons:
        return None
    multi = MultiPolygon(polygons)
    return multi if multi.is_valid else _polygon_parts(shapely.make_valid(multi))


def read_stops_file(path: str | Path, area: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Stops (``stop_id``, ``name``, ``routes``) from a GeoJSON or a GTFS zip, within ``area``."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        from geo.gtfs import GtfsError, read_stops

        try:
            return read_stops(path, area)
        except GtfsError as exc:
            raise CommunityDataError(str(exc)) from exc
    frame = _read_vector(path)
    for column in ("stop_id", "name"):
        if column not in frame.columns:
            raise CommunityDataError(f"{path}: field '{column}': missing")
    if "routes" not in frame.columns:
        frame["routes"] = ""
    if not frame.empty and set(frame.geometry.geom_type.dropna()) != {"Point"}:
        raise CommunityDataError(f"{path}: field 'geometry': stops must be Points")
    frame["stop_id"] = frame["stop_id"].astype(str)
    frame["routes"] = frame["routes"].fillna("").astype(str)
    if area is not None:
        frame = frame[frame.geometry.covered_by(area)]
    return frame[["stop_id", "name", "routes", "geometry"]].reset_index(drop=True)


def read_places_file(path: str | Path) -> gpd.GeoDataFrame:
    """Named places (``osm_type``, ``osm_id``, ``name``, ``place``, geometry) from a GeoJSON."""
    path = Path(path)
    frame = _read_vector(path)
    out = gpd.GeoDataFrame(
        {
            "osm_type": _optional(frame, "osm_type"),
            "osm_id": pd.to_numeric(_optional(frame, "osm_id"), errors="coerce").astype("Int64"),
            "name": _optional(frame, "name"),
            # The city boundary (a Nominatim result) has no place tag, only its address type.
            "place": _optional(frame, "place").fillna(_optional(frame, "addresstype")),
        },
        geometry=shapely.make_valid(frame.geometry.to_numpy()),
        crs="EPSG:4326",
    )
    return out[~out.geometry.is_empty & out.geometry.notna()].reset_index(drop=True)


def _optional(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column].astype(object).where(frame[column].notna(), None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


# --------------------------------------------------------------------------------------------
# Adding to the database
# --------------------------------------------------------------------------------------------


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
    metric_crs: int | None = None,
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
    metric_crs : int, optional
        EPSG code for metric work; default the UTM zone of the boundary's centroid.
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
    if role not in ROLES:
        raise CommunityDataError(f"field 'role': {role!r} must be one of {', '.join(ROLES)}")
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


def add_community_from_source(
    engine: Engine, source: CommunitySource, *, role: str = "admin"
) -> AddResult:
    """:func:`add_community` with the metadata and files of a :class:`CommunitySource`."""
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
        metric_crs=source.metric_crs,
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
    crs = metric_crs or utm_epsg(centroid.x, centroid.y)
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
    series = gpd.GeoSeries([boundary], crs="EPSG:4326").to_crs(metric_crs)
    return series.buffer(metres).to_crs("EPSG:4326").iloc[0]


_STREETS_MEMO: dict[str, gpd.GeoDataFrame] = {}


def _streets_near(osm_file: Path, boundary: MultiPolygon, metric_crs: int) -> gpd.GeoDataFrame:
    from geo.osm import cached_graph, streets_gdf

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


def _parent_id(conn: Connection, parent: str | None) -> int | None:
    if parent is None:
        return None
    found = conn.execute(text("SELECT id FROM communities WHERE slug = :s"), {"s": parent})
    parent_id = found.scalar_one_or_none()
    if parent_id is None:
        raise CommunityDataError(f"field 'parent': community {parent!r} is not in the database")
    return parent_id


_UPSERT_COMMUNITY = text(
    """
    INSERT INTO communities (slug, name, county, country, timezone, metric_crs, parent_id, kind,
        description, source_dir, attribution, geom, source, source_ref, created_by_role, is_demo)
    VALUES (:slug, :name, :county, :country, :timezone, :metric_crs, :parent_id, :kind,
        :description, :source_dir, :attribution, ST_Multi(ST_GeomFromText(:wkt, 4326)),
        'import', :source_ref, :created_by_role, false)
    ON CONFLICT (slug) DO UPDATE SET
        name = excluded.name, county = excluded.county, country = excluded.country,
        kind = excluded.kind,
        description = excluded.description, source_dir = excluded.source_dir,
        attribution = excluded.attribution,
        source_ref = excluded.source_ref
    -- Only a real change writes (and audits) an update.  Area, CRS, time zone and parent go
    -- through harta_change_community_frame (migration 0005, logged): _CHANGE_FRAME.
    WHERE (communities.name, communities.county, communities.country, communities.kind,
           communities.description, communities.source_dir, communities.attribution,
           communities.source_ref)
        IS DISTINCT FROM
          (excluded.name, excluded.county, excluded.country, excluded.kind,
           excluded.description, excluded.source_dir, excluded.attribution,
           excluded.source_ref)
    RETURNING id, (xmax = 0) AS created
    """
)


_CHANGE_FRAME = text(
    """
    SELECT harta_change_community_frame(c.id, :reason, ST_GeomFromText(:wkt, 4326),
        :metric_crs, :timezone, :parent_id, true)
      FROM communities c
     WHERE c.slug = :slug
       AND (c.timezone, c.metric_crs, c.parent_id, ST_AsEWKB(c.geom)) IS DISTINCT FROM
           (CAST(:timezone AS text), CAST(:metric_crs AS integer), CAST(:parent_id AS integer),
            ST_AsEWKB(ST_Multi(ST_GeomFromText(:wkt, 4326))))
    """
)


def _upsert_community(
    conn: Connection, row: dict[str, Any], parent_id: int | None, source_dir: str
) -> tuple[int, bool]:
    params = dict(row, parent_id=parent_id, source_dir=source_dir)
    written = conn.execute(_UPSERT_COMMUNITY, params).one_or_none()
    if written is not None and written.created:
        return int(written.id), True
    # An existing community's area, CRS, time zone or parent change only through the logged
    # path: they decide what its published aggregates count.
    conn.execute(_CHANGE_FRAME, dict(params, reason=f"community add: {row['source_ref']}"))
    if written is not None:
        return int(written.id), False
    unchanged = conn.execute(text("SELECT id FROM communities WHERE slug = :slug"), params)
    return int(unchanged.scalar_one()), False


def _replace_streets(conn: Connection, community_id: int, streets: gpd.GeoDataFrame | None) -> int:
    conn.execute(text("DELETE FROM streets WHERE community_id = :c"), {"c": community_id})
    if streets is None or streets.empty:
        return 0
    rows = [
        {
            "c": community_id,
            "u": int(r.u),
            "v": int(r.v),
            "key": int(r.key),
            "osm_id": None if pd.isna(r.osm_id) else int(r.osm_id),
            "name": _text_or_none(r.name),
            "highway": _text_or_none(r.highway),
            "oneway": None if r.oneway is None or pd.isna(r.oneway) else bool(r.oneway),
            "maxspeed_kph": _float_or_none(r.maxspeed_kph),
            "length_m": float(r.length_m),
            "drive_time_s": _float_or_none(r.drive_time_s),
            "walk_time_s": _float_or_none(r.walk_time_s),
            "wkt": r.geometry.wkt,
        }
        for r in streets.itertuples(index=False)
    ]
    conn.execute(
        text(
            "INSERT INTO streets (community_id, u, v, key, osm_id, name, highway, oneway,"
            " maxspeed_kph, length_m, drive_time_s, walk_time_s, source, geom)"
            " VALUES (:c, :u, :v, :key, :osm_id, :name, :highway, :oneway, :maxspeed_kph,"
            " :length_m, :drive_time_s, :walk_time_s, 'osm', ST_GeomFromText(:wkt, 4326))"
        ),
        rows,
    )
    return len(rows)


def _replace_places(conn: Connection, community_id: int, places: gpd.GeoDataFrame) -> int:
    conn.execute(text("DELETE FROM places WHERE community_id = :c"), {"c": community_id})
    if places.empty:
        return 0
    rows = [
        {
            "c": community_id,
            "osm_type": _text_or_none(r.osm_type),
            "osm_id": None if pd.isna(r.osm_id) else int(r.osm_id),
            "name": _text_or_none(r.name),
            "place": _text_or_none(r.place),
            "wkt": r.geometry.wkt,
        }
        for r in places.itertuples(index=False)
    ]
    conn.execute(
        text(
            "INSERT INTO places (community_id, osm_type, osm_id, name, place, source, geom)"
            " VALUES (:c, :osm_type, :osm_id, :name, :place, 'osm',"
            " ST_GeomFromText(:wkt, 4326))"
        ),
        rows,
    )
    return len(rows)


def stop_row_hash(stop_id: str, name: str, routes: str, lon: float, lat: float) -> str:
    """Content hash of a stop as imported (a changed name, route list or position is new)."""
    key = f"gtfs|{stop_id}|{name}|{routes}|{lon:.7f}|{lat:.7f}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _sync_stops(
    conn: Connection, community_id: int, stops: gpd.GeoDataFrame | None, role: str, slug: str
) -> tuple[int, int]:
    """Insert new stops, keep unchanged ones, delete this community's stops no longer listed."""
    if stops is None:
        return 0, 0
    rows = []
    for r in stops.itertuples(index=False):
        name, routes = str(r.name or ""), str(r.routes or "")
        rows.append(
            {
                "c": community_id,
                "name": name or None,
                "routes": routes or None,
                "ref": str(r.stop_id),
                "source_ref": f"gtfs:{slug}/stops.geojson",
                "row_hash": stop_row_hash(str(r.stop_id), name, routes, r.geometry.x, r.geometry.y),
                "role": role,
                "wkt": r.geometry.wkt,
            }
        )
    added = 0
    if rows:
        result = conn.execute(
            text(
                "INSERT INTO facilities (community_id, kind, name, routes, external_ref, source,"
                " source_ref, row_hash, created_by_role, is_demo, geom)"
                " VALUES (:c, 'bus_stop', :name, :routes, :ref, 'gtfs', :source_ref, :row_hash,"
                " :role, false, ST_GeomFromText(:wkt, 4326))"
                " ON CONFLICT ON CONSTRAINT facilities_row_once DO NOTHING"
            ),
            rows,
        )
        added = max(result.rowcount, 0)
    conn.execute(
        text(
            "DELETE FROM facilities WHERE community_id = :c AND source = 'gtfs'"
            " AND kind = 'bus_stop' AND NOT (row_hash = ANY(:hashes))"
        ),
        {"c": community_id, "hashes": [row["row_hash"] for row in rows]},
    )
    return len(rows), added


def _text_or_none(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _float_or_none(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --------------------------------------------------------------------------------------------
# Bootstrap and queries
# --------------------------------------------------------------------------------------------


def bootstrap(
    engine: Engine, folder: str | Path = BUNDLED_DIR, *, role: str = "system"
) -> list[str]:
    """Add every bundled community missing from the database, parents first.

    Cheap when everything is there already (one query and reading the small community.json
    files).  Returns the slugs added.
    """
    with engine.connect() as conn:
        present = set(conn.execute(text("SELECT slug FROM communities")).scalars())
    added = []
    for source in bundled_sources(folder):
        if source.slug not in present:
            add_community_from_source(engine, source, role=role)
            added.append(source.slug)
    return added


_LIST_SQL = """
    SELECT c.id, c.slug, c.name, c.kind, p.slug AS parent_slug, c.county, c.country,
           c.timezone, c.metric_crs, c.description, c.attribution, c.source_dir, c.geom
    FROM communities c LEFT JOIN communities p ON p.id = c.parent_id
"""


def list_communities(engine: Engine) -> gpd.GeoDataFrame:
    """All communities: ``id``, ``slug``, ``name``, ``kind``, ``parent_slug``, ``county``,
    ``country``, ``timezone``, ``metric_crs``, ``bounds`` (min lon, min lat, max lon, max lat),
    ``description``, ``attribution``, ``source_dir`` and the boundary ``geometry`` (EPSG:4326).

    Top-level communities come first, each followed by its settlements.
    """
    order = " ORDER BY COALESCE(p.slug, c.slug), c.parent_id NULLS FIRST, c.slug"
    with engine.connect() as conn:
        frame = gpd.read_postgis(text(_LIST_SQL + order), conn, geom_col="geom", crs="EPSG:4326")
    frame = frame.rename_geometry("geometry")
    frame["bounds"] = [tuple(float(v) for v in g.bounds) for g in frame.geometry]
    for column in ("parent_slug", "county", "description", "attribution", "source_dir"):
        frame[column] = _optional(frame, column)
    columns = [
        "id",
        "slug",
        "name",
        "kind",
        "parent_slug",
        "county",
        "country",
        "timezone",
        "metric_crs",
        "bounds",
        "description",
        "attribution",
        "source_dir",
        "geometry",
    ]
    return frame[columns]


@dataclass(frozen=True)
class CommunityInfo:
    """One row of ``communities``, with its parent's slug."""

    id: int
    slug: str
    name: str
    kind: str
    parent_slug: str | None
    county: str | None
    country: str
    timezone: str
    metric_crs: int
    bounds: tuple[float, float, float, float]
    description: str | None
    attribution: str | None
    source_dir: str | None
    geometry: MultiPolygon


def get_community(engine: Engine, slug: str) -> CommunityInfo:
    """The community with this slug; raises ``KeyError`` when there is none."""
    with engine.connect() as conn:
        frame = gpd.read_postgis(
            text(_LIST_SQL + " WHERE c.slug = :slug"),
            conn,
            geom_col="geom",
            params={"slug": slug},
            crs="EPSG:4326",
        )
    if frame.empty:
        raise KeyError(f"no community {slug!r}")
    row = frame.iloc[0]
    geometry = row["geom"]
    return CommunityInfo(
        id=int(row["id"]),
        slug=row["slug"],
        name=row["name"],
        kind=row["kind"],
        parent_slug=_text_or_none(row["parent_slug"]),
        county=_text_or_none(row["county"]),
        country=row["country"],
        timezone=row["timezone"],
        metric_crs=int(row["metric_crs"]),
        bounds=tuple(float(v) for v in geometry.bounds),
        description=_text_or_none(row["description"]),
        attribution=_text_or_none(row["attribution"]),
        source_dir=_text_or_none(row["source_dir"]),
        geometry=geometry,
    )


# The Community object (loaded once, passed down) lives in its own module.
from geo.communities.model import AREA_TOLERANCE_M, Community, UnknownCommunity  # noqa: E402, F401
