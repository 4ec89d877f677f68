"""Check every row of a file against a layer before anything is written.

Columns are first renamed through the layer's aliases (:func:`normalise_columns`), then each
row is checked (:func:`validate_rows`): geometry present, valid, of an allowed type and inside
the community's area; required fields; known codes; severity 1–5; dates; text lengths.

Invalid geometries
    A geometry that is not valid (self-intersecting polygon, "bow-tie") is repaired with
    :func:`shapely.make_valid` **only** when the repair stays in the same family (a polygon
    becomes a polygon or multipolygon, a line a line): the row is written and the report
    carries a warning ``ingest.problem.geometry_repaired``.  A repair that changes the family
    (a polygon collapsing to a line, a mixed collection) is refused with
    ``ingest.problem.geometry_invalid``.

Personal data
    Incident files must not carry names.  A column whose header means a person (``name``,
    ``nume``, ``név``, ``victim``, ``suspect``, ``CNP`` …, see
    :data:`geo.layers.PERSONAL_HEADER_WORDS`) and holds any value refuses the whole file, even
    with ``skip_invalid``; an empty one (KML and GPX always have a ``name``) is dropped.

Dates
    ISO 8601 (``2025-03-14T21:30``, with or without offset), ``14.03.2025 21:30``,
    ``14/03/2025 21:30`` (day first, as written in Romania and Hungary) and ``2025.03.14``
    (Hungarian) are read.  Times without an offset are local time of the community
    (``communities.timezone``, e.g. Europe/Bucharest), summer time included.  Dates more than
    a day in the future are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo import crs as crs_
from geo import taxonomy
from geo.communities.model import AREA_TOLERANCE_M, Community
from geo.ingest.report import ImportReport, Problem
from geo.layers import (
    EXPORT_ONLY_COLUMNS,
    LINE_TYPES,
    POINT_TYPES,
    POLYGON_TYPES,
    Field,
    Layer,
    alias_map,
    known_codes,
    normalise_header,
    personal_header,
)

#: Longest cell value quoted back in a message.
_QUOTE_LIMIT = 40
#: Accepted clock skew for "in the future".
_FUTURE_SLACK = dt.timedelta(days=1)

_FAMILIES = (POINT_TYPES, LINE_TYPES, POLYGON_TYPES)

_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y.%m.%d.",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)


@dataclass(frozen=True)
class CommunityArea:
    """The target community of an import, as validation needs it.

    Attributes
    ----------
    id, slug : int, str
        Database id and slug.
    timezone : str
        IANA zone naive times are read in.
    metric_crs : int
        EPSG code of a metric CRS for distances.
    geom : shapely geometry
        The community's area in EPSG:4326.
    tolerance_m : float
        Margin accepted around ``geom``.
    """

    id: int
    slug: str
    timezone: str
    metric_crs: int
    geom: BaseGeometry
    tolerance_m: float = AREA_TOLERANCE_M

    @classmethod
    def of(cls, community: Community) -> CommunityArea:
        """The area of ``community`` as validation needs it.

        Parameters
        ----------
        community : Community

        Returns
        -------
        CommunityArea
        """
        return cls(
            id=community.id,
            slug=community.slug,
            timezone=community.timezone,
            metric_crs=community.epsg,
            geom=community.geometry,
        )

    @cached_property
    def to_metric(self) -> Transformer:
        """EPSG:4326 → the community's metric CRS."""
        return crs_.transformer(crs_.STORAGE, self.metric_crs)

    @cached_property
    def metric_geom(self) -> BaseGeometry:
        """The area in the metric CRS."""
        return shapely.transform(self.geom, self.to_metric.transform, interleaved=False)

    @cached_property
    def accepted(self) -> BaseGeometry:
        """The area plus the tolerance, back in EPSG:4326, prepared for fast tests."""
        back = crs_.transformer(self.metric_crs, crs_.STORAGE)
        grown = shapely.transform(
            self.metric_geom.buffer(self.tolerance_m), back.transform, interleaved=False
        )
        shapely.prepare(grown)
        return grown

    def distance_outside_m(self, geom: BaseGeometry) -> float:
        """Metres between ``geom`` and the area (0 when they touch).

        Parameters
        ----------
        geom : shapely geometry
            Geometry in EPSG:4326.

        Returns
        -------
        float
            Distance in metres in the community's metric CRS; 0 inside or touching.
        """
        metric = shapely.transform(geom, self.to_metric.transform, interleaved=False)
        return float(self.metric_geom.distance(metric))


@dataclass
class ValidRow:
    """A row ready to write: database values, geometry and content hash."""

    row: int
    values: dict
    geom: BaseGeometry
    row_hash: str = ""
    #: The file says the row is synthetic demo data (Harta's own export of demo rows).
    demo: bool = False


def normalise_columns(
    frame: gpd.GeoDataFrame, layer: Layer, report: ImportReport
) -> gpd.GeoDataFrame:
    """Rename source columns to the layer's field names; report what cannot be used.

    A header equal to a field name wins over aliases of that field.  Columns that name a person
    in a layer that forbids them are a file error if they hold any value.  Other unknown
    columns with values are reported as ignored (a warning).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The frame as read, with a ``_row`` column.
    layer : Layer
        The target layer.
    report : ImportReport
        Receives the problems and warnings.

    Returns
    -------
    GeoDataFrame
        ``_row``, ``geometry`` and one column per field found.
    """
    aliases = alias_map(layer)
    chosen: dict[str, str] = {}
    ignored: list[str] = []
    for column in frame.columns:
        if column in ("_row", frame.geometry.name) or column.startswith("_"):
            continue
        has_values = _has_values(frame[column])
        if personal_header(column, layer):
            if has_values:
                report.add(
                    Problem(
                        report.file,
                        None,
                        column,
                        "ingest.problem.personal_column",
                        {"column": column},
                    )
                )
            continue
        target = aliases.get(normalise_header(column))
        if target is None:
            if has_values and normalise_header(column) not in EXPORT_ONLY_COLUMNS:
                ignored.append(column)
            continue
        previous = chosen.get(target)
        if previous is None:
            chosen[target] = column
        elif normalise_header(column) == target and normalise_header(previous) != target:
            ignored.append(previous)
            chosen[target] = column
        elif normalise_header(previous) == target:
            ignored.append(column)
        elif has_values and _has_values(frame[previous]):
            report.add(
                Problem(
                    report.file,
                    None,
                    target,
                    "ingest.problem.ambiguous_columns",
                    {"field": target, "first": previous, "second": column},
                )
            )
        elif has_values:
            chosen[target] = column
    for column in ignored:
        report.add(
            Problem(
                report.file,
                None,
                column,
                "ingest.problem.ignored_column",
                {"column": column},
                level="warning",
            )
        )
    renamed = frame[["_row", frame.geometry.name, *chosen.values()]].rename(
        columns={source: target for target, source in chosen.items()}
    )
    return renamed.rename_geometry("geometry") if renamed.geometry.name != "geometry" else renamed


def validate_rows(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    community: CommunityArea,
    report: ImportReport,
    *,
    role: str,
    now: dt.datetime | None = None,
    missing: set[str] | frozenset[str] = frozenset(),
) -> list[ValidRow]:
    """Validate every row of a normalised frame.

    Parameters
    ----------
    frame : GeoDataFrame
        Output of :func:`normalise_columns`.
    layer : Layer
        Target layer.
    community : CommunityArea
        Target community (area, timezone).
    report : ImportReport
        Receives one :class:`Problem` per issue.
    role : str
        Importing role, the default ``reporting_role`` of incidents.
    now : datetime, optional
        "Now" for the future-date check (tests).
    missing : set of str
        Required fields no column provides, already reported once for the file: their rows
        are not reported one by one.

    Returns
    -------
    list of ValidRow
        Rows without errors, with their hash, in file order.
    """
    now = now or dt.datetime.now(dt.UTC)
    rows = frame["_row"].to_numpy()
    geometries, geometry_errors = check_geometries(
        frame.geometry.to_numpy(), layer, community, rows, report
    )
    columns = {name: frame[name].tolist() for name in layer.field_names if name in frame}
    tz = ZoneInfo(community.timezone)
    parsers = {
        f.name: _parser_for(
            f,
            tz,
            now,
            role,
            bulk=_bulk_dates(columns[f.name])
            if f.type == "datetime" and f.name in columns
            else None,
        )
        for f in layer.fields
    }
    valid: list[ValidRow] = []
    for index, row in enumerate(rows.tolist()):
        values: dict = {}
        row_ok = not geometry_errors[index]
        for fld in layer.fields:
            raw = columns[fld.name][index] if fld.name in columns else None
            value, problem = parsers[fld.name](raw)
            if problem is not None and fld.name in missing:
                row_ok = False
            elif problem is not None:
                key, params = problem
                report.add(Problem(report.file, row, fld.name, key, params))
                row_ok = False
            values[fld.name] = value
        if row_ok:
            valid.append(ValidRow(row, values, geometries[index]))
    report.rows_valid = len(valid)
    hash_rows(valid, layer)
    return valid


def check_geometries(
    geometries: np.ndarray,
    layer: Layer,
    community: CommunityArea,
    rows: np.ndarray,
    report: ImportReport,
) -> tuple[np.ndarray, np.ndarray]:
    """Check presence, validity, type and position of every geometry.

    Parameters
    ----------
    geometries : numpy.ndarray
        Shapely geometries in EPSG:4326, one per row.
    layer : Layer
        The target layer (its allowed geometry types).
    community : CommunityArea
        The area rows must lie in (with its tolerance).
    rows : numpy.ndarray
        Source row number of each geometry, for the report.
    report : ImportReport
        Receives one problem per refused or repaired geometry.

    Returns
    -------
    geometries : ndarray
        Geometries to write (repaired ones replaced, single-part multipoints unwrapped).
    errors : ndarray of bool
        Whether the row's geometry was refused.
    """
    geometries = geometries.copy()
    errors = np.zeros(len(geometries), dtype=bool)
    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    for i in np.flatnonzero(missing):
        report.add(
            Problem(report.file, int(rows[i]), "geometry", "ingest.problem.geometry_missing")
        )
        errors[i] = True
    invalid = ~missing & ~shapely.is_valid(geometries)
    for i in np.flatnonzero(invalid):
        repaired = _repair(geometries[i])
        if repaired is None:
            report.add(
                Problem(
                    report.file,
                    int(rows[i]),
                    "geometry",
                    "ingest.problem.geometry_invalid",
                    {"reason": shapely.is_valid_reason(geometries[i])},
                )
            )
            errors[i] = True
        else:
            report.add(
                Problem(
                    report.file,
                    int(rows[i]),
                    "geometry",
                    "ingest.problem.geometry_repaired",
                    {"reason": shapely.is_valid_reason(geometries[i])},
                    level="warning",
                )
            )
            geometries[i] = repaired
    unchecked = ~errors
    single_multipoint = (
        unchecked
        & (shapely.get_type_id(geometries) == 4)
        & (shapely.get_num_geometries(geometries) == 1)
    )
    if single_multipoint.any() and "MultiPoint" not in layer.geometry_types:
        geometries[single_multipoint] = shapely.get_geometry(geometries[single_multipoint], 0)
    _surface_points(geometries, layer, rows, report, unchecked)
    types = np.array([g.geom_type if g is not None else "" for g in geometries], dtype=object)
    for i in np.flatnonzero(unchecked & ~np.isin(types, layer.geometry_types)):
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.geometry_type",
                {"found": types[i], "allowed": ", ".join(layer.geometry_types)},
            )
        )
        errors[i] = True
    candidates = np.flatnonzero(~errors)
    inside = shapely.within(geometries[candidates], community.accepted)
    crossing = _crossing_boundary(geometries, candidates[~inside], layer, community)
    for i in crossing:
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.crosses_boundary",
                {"community": community.slug},
                level="warning",
            )
        )
    for i in np.setdiff1d(candidates[~inside], crossing):
        distance = community.distance_outside_m(geometries[i])
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.outside_area",
                {"community": community.slug, "distance_m": round(distance)},
            )
        )
        errors[i] = True
    return geometries, errors


def _surface_points(
    geometries: np.ndarray,
    layer: Layer,
    rows: np.ndarray,
    report: ImportReport,
    unchecked: np.ndarray,
) -> None:
    """In a layer of points (facilities), a polygon (an OSM hospital is a building) becomes a
    point on its surface -- inside it, unlike a centroid -- and the report says so."""
    if any(t in layer.geometry_types for t in POLYGON_TYPES) or "Point" not in layer.geometry_types:
        return
    polygons = unchecked & np.isin(shapely.get_type_id(geometries), (3, 6))
    for i in np.flatnonzero(polygons):
        geometries[i] = shapely.point_on_surface(geometries[i])
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.polygon_to_point",
                level="info",
            )
        )


def _crossing_boundary(
    geometries: np.ndarray, outside: np.ndarray, layer: Layer, community: CommunityArea
) -> np.ndarray:
    """Lines and polygons of a layer that allows them which overlap the area but are not
    within it (a zone drawn across the boundary): kept as drawn, with a warning."""
    if not len(outside) or not any(t in layer.geometry_types for t in POLYGON_TYPES):
        return np.array([], dtype=int)
    shaped = np.isin(shapely.get_type_id(geometries[outside]), (1, 2, 3, 5, 6))
    overlapping = shapely.intersects(geometries[outside], community.geom)
    return outside[shaped & overlapping]


def _repair(geometry: BaseGeometry) -> BaseGeometry | None:
    """``make_valid`` when the result stays in the geometry's family, else ``None``."""
    family = next((f for f in _FAMILIES if geometry.geom_type in f), None)
    repaired = shapely.make_valid(geometry)
    if family is None or repaired.is_empty or repaired.geom_type not in family:
        return None
    return repaired


# --- field parsing --------------------------------------------------------------------------

Parsed = tuple[object, tuple[str, dict] | None]


def _parser_for(fld: Field, tz: ZoneInfo, now: dt.datetime, role: str, bulk: dict | None = None):
    """A function cell → (value, problem) for one field, with lookups prepared once.

    ``bulk`` maps date cells already read column-wise (:func:`_bulk_dates`) to naive times.
    """
    default = role if fld.name == "reporting_role" and fld.default is None else fld.default

    def blank(raw: object) -> Parsed:
        if fld.required:
            return None, ("ingest.problem.required", {"field": fld.name})
        return default, None

    if fld.type == "int":

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            number = _to_int(raw)
            if number is None:
                return None, ("ingest.problem.not_integer", {"value": _quote(raw)})
            if (fld.minimum is not None and number < fld.minimum) or (
                fld.maximum is not None and number > fld.maximum
            ):
                return None, (
                    "ingest.problem.out_of_range",
                    {"value": number, "min": fld.minimum, "max": fld.maximum},
                )
            return number, None

    elif fld.type == "code" and (fld.codes or fld.name) in taxonomy.KINDS.values():
        kind = fld.codes or fld.name
        allowed_codes = taxonomy.codes(kind)

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            code = taxonomy.match(kind, raw)
            if code is None:
                return None, (
                    "ingest.problem.unknown_value",
                    {
                        "value": _quote(raw),
                        "kind": kind,
                        "allowed": allowed_codes,
                        "suggest": taxonomy.suggest(kind, raw),
                    },
                )
            return code, None

    elif fld.type == "code":
        spellings = known_codes(fld.codes or fld.name)
        allowed = ", ".join(sorted(set(spellings.values())))

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            code = spellings.get(normalise_header(raw))
            if code is None:
                return None, (
                    "ingest.problem.unknown_code",
                    {"value": _quote(raw), "allowed": allowed},
                )
            return code, None

    elif fld.type == "datetime":
        known = bulk or {}

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            naive = known.get(raw.strip()) if isinstance(raw, str) else None
            moment = naive.replace(tzinfo=tz) if naive is not None else parse_datetime(raw, tz)
            if moment is None:
                return None, ("ingest.problem.bad_date", {"value": _quote(raw)})
            if moment > now + _FUTURE_SLACK:
                return None, ("ingest.problem.future_date", {"value": _quote(raw)})
            return moment, None

    else:

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            # PostgreSQL text cannot hold NUL; other control characters are kept as typed.
            text = str(raw).replace("\x00", "").strip()
            if fld.max_length is not None and len(text) > fld.max_length:
                return None, (
                    "ingest.problem.too_long",
                    {"length": len(text), "max": fld.max_length},
                )
            return text, None

        return parse
    return _memoised(parse)


def _memoised(parse):
    """Cache a parser per distinct cell: files repeat the same codes and numbers many times."""
    seen: dict = {}

    def cached(raw: object) -> Parsed:
        try:
            return seen[raw]
        except KeyError:
            result = seen[raw] = parse(raw)
            return result
        except TypeError:  # unhashable cell
            return parse(raw)

    return cached


#: Formats read column-wise by pandas (C speed) before the cell-by-cell fallback.
_BULK_FORMATS = (
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


def _bulk_dates(cells: list) -> dict[str, dt.datetime]:
    """Naive datetimes of the distinct text cells that one of :data:`_BULK_FORMATS` reads
    exactly; the others (offsets, Hungarian dots, odd spacing) go through
    :func:`parse_datetime` one by one, with the same result."""
    texts = pd.Series(sorted({c.strip() for c in cells if isinstance(c, str) and c.strip()}))
    found: dict[str, dt.datetime] = {}
    for fmt in _BULK_FORMATS:
        if texts.empty:
            break
        parsed = pd.to_datetime(texts, format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy()
        found.update(zip(texts[ok].tolist(), parsed[ok].dt.to_pydatetime().tolist(), strict=True))
        texts = texts[~ok]
    return found


def parse_datetime(value: object, tz: ZoneInfo | str) -> dt.datetime | None:
    """Parse a date/time cell into an aware datetime; naive values are local time in ``tz``.

    Parameters
    ----------
    value : object
        A cell: Timestamp, datetime, date or text.
    tz : ZoneInfo or str
        Zone of naive values.

    Returns
    -------
    datetime or None
        ``None`` when the value is not a recognisable date.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        moment = _parse_text_datetime(str(value).strip())
        if moment is None:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _parse_text_datetime(text: str) -> dt.datetime | None:
    # GDAL writes "2025/03/14 21:30:00+02"; KoBo "2025-03-14T21:30:00.000+02:00".
    candidate = re.sub(r"^(\d{4})/(\d{2})/(\d{2})", r"\1-\2-\3", text)
    candidate = re.sub(r"([+-]\d{2})$", r"\1:00", candidate)
    candidate = candidate.replace("Z", "+00:00") if candidate.endswith("Z") else candidate
    try:
        return dt.datetime.fromisoformat(candidate)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _to_int(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    try:
        number = float(str(raw).strip().replace(",", "."))
    except ValueError:
        return None
    if not np.isfinite(number) or number != int(number):
        return None
    return int(number)


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _has_values(column: pd.Series) -> bool:
    return any(not _is_blank(v) for v in column.tolist())


def _quote(raw: object) -> str:
    text = str(raw).strip()
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1] + "…"


# Hashing and near duplicates live in geo/ingest/dedupe.py; re-exported for callers.
from geo.ingest.dedupe import (  # noqa: E402
    HASH_GRID_DEG,
    find_near_duplicates,
    hash_rows,
    row_hash_of,
)

__all__ = [
    "HASH_GRID_DEG",
    "CommunityArea",
    "ValidRow",
    "check_geometries",
    "find_near_duplicates",
    "hash_rows",
    "normalise_columns",
    "parse_datetime",
    "row_hash_of",
    "validate_rows",
]
