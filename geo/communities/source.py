"""A community's folder: ``community.json`` read and validated into a :class:`CommunitySource`.

Folder format (``data/communities/<slug>/`` for the bundled ones)::

    community.json     name, county, country (ISO2), timezone, metric_crs (EPSG), kind
                       ("community" or "settlement"), parent (slug), description, attribution,
                       and optionally "files" naming the files below (paths relative to the folder)
    boundary.geojson   the community's area (Polygon or MultiPolygon features, EPSG:4326)
    streets.osm        optional OSM XML street network (or "files": {"streets": "<path>"})
    stops.geojson      optional public-transport stops (stop_id, name, routes)
    places.geojson     optional named places for context (or "files": {"places": [...]})
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shapely.geometry import MultiPolygon

from geo import crs as crs_
from geo.communities.errors import CommunityDataError
from geo.communities.files import read_boundary
from geo.settings import DATA_SOURCES_DIR, get_settings

#: Folder holding the bundled communities.
BUNDLED_DIR = DATA_SOURCES_DIR / "communities"


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

        Parameters
        ----------
        path : str or Path
            The community's folder.

        Returns
        -------
        CommunitySource
            The source, with absolute paths to the files that exist.

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
        """This source with defaults filled in; raises :class:`CommunityDataError` if invalid.

        Returns
        -------
        CommunitySource
            A copy with ``timezone`` filled in.
        """
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
        """The boundary as a valid MultiPolygon in EPSG:4326.

        Returns
        -------
        shapely.MultiPolygon
            Read from ``boundary_file`` each time it is called.
        """
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
        crs_.metric_crs(crs_.to_crs(epsg))
    except crs_.CRSInputError as exc:
        unknown = "unknown" in str(exc)
        problem = "is unknown" if unknown else "is not a projected metric CRS"
        raise CommunityDataError(f"field 'metric_crs': EPSG:{epsg} {problem}") from exc


def slugify(name: str) -> str:
    """``"Pata Rât"`` → ``"pata-rat"``: ASCII, lowercase, hyphen-separated.

    Parameters
    ----------
    name : str
        Any name, with diacritics or not.

    Returns
    -------
    str
        The slug; empty when ``name`` has no ASCII letter or digit.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def bundled_sources(folder: str | Path = BUNDLED_DIR) -> list[CommunitySource]:
    """Every community folder under ``folder``, parents before their settlements.

    Parameters
    ----------
    folder : str or Path
        Folder whose sub-folders hold a ``community.json`` (others are skipped).

    Returns
    -------
    list of CommunitySource
        Parents before their settlements.
    """
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
    """The source folder of a community: an added one first, then a bundled one.

    Parameters
    ----------
    slug : str
        The community's slug.

    Returns
    -------
    CommunitySource
        From the data folder's ``communities/<slug>``, else the bundled one; raises KeyError
        when neither exists.
    """
    for folder in (get_settings().communities_dir / slug, BUNDLED_DIR / slug):
        if (folder / CONFIG_FILE).is_file():
            return CommunitySource.from_folder(folder)
    raise KeyError(f"no community folder for {slug!r}")
