"""What a mark is before it reaches the database: its attributes and its shape, checked.

:func:`mark_attributes` checks what a mark says against the taxonomy; :func:`prepare_geometry`
checks what was drawn and repairs what can be repaired (a polygon whose outline crosses itself),
telling the facilitator through a :class:`Notice`.  Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo import taxonomy
from geo.i18n import t
from geo.workshops.errors import MarkError

#: Longest note, in characters (also a database CHECK).
MAX_NOTE_LENGTH = 500
#: Smallest polygon kept, in square degrees (about 1 m² at Cluj's latitude): anything smaller
#: is a click, not an area.
MIN_POLYGON_AREA_DEG2 = 1e-10

_FAMILIES = {
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
    "LineString": "line",
    "MultiLineString": "line",
    "Point": "point",
    "MultiPoint": "point",
}


@dataclass(frozen=True)
class Notice:
    """Something the facilitator should be told (a repaired shape, a duplicate)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        """The notice in ``lang``.

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return t(self.key, lang, **self.params)


@dataclass(frozen=True)
class MarkAttributes:
    """What a mark says: what, how bad, when, and an optional note.

    Build it with :func:`mark_attributes`, which validates every field.
    """

    hazard_code: str
    severity: int
    time_of_day: str = "always"
    season: str = "all_year"
    note: str | None = None


def clean_note(note: str | None) -> str | None:
    """A note as plain text: control characters removed, whitespace trimmed, None if empty.

    Parameters
    ----------
    note : str or None
        The note as typed.

    Returns
    -------
    str or None
        The cleaned note, NFC-normalised; None when empty.

    Raises
    ------
    MarkError
        If the note is longer than :data:`MAX_NOTE_LENGTH` characters.
    """
    if note is None:
        return None
    cleaned = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in unicodedata.normalize("NFC", str(note))
        if ch in "\t\r\n" or unicodedata.category(ch)[0] != "C"
    )
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise MarkError("workshop.error.note_too_long", max=MAX_NOTE_LENGTH, length=len(cleaned))
    return cleaned or None


def mark_attributes(
    hazard_code: str | None,
    severity: int | str | None,
    time_of_day: str | None = "always",
    season: str | None = "all_year",
    note: str | None = None,
) -> MarkAttributes:
    """Check a mark's attributes against the taxonomy.

    Parameters
    ----------
    hazard_code : str or None
        Hazard code from the taxonomy.
    severity : int, str or None
        Severity, 1 to 5 (text digits accepted).
    time_of_day : str or None
        Time-of-day code; None means ``"always"``.
    season : str or None
        Season code; None means ``"all_year"``.
    note : str or None
        Free text, cleaned by :func:`clean_note`.

    Returns
    -------
    MarkAttributes
        The checked attributes, severity as an int.

    Raises
    ------
    MarkError
        ``workshop.error.no_hazard``, ``no_severity``, ``bad_time``, ``bad_season`` or
        ``note_too_long``.
    """
    if not hazard_code or hazard_code not in taxonomy.hazards():
        raise MarkError("workshop.error.no_hazard")
    try:
        level = int(severity)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MarkError("workshop.error.no_severity") from None
    if level not in taxonomy.severities():
        raise MarkError("workshop.error.no_severity")
    time_of_day = time_of_day or "always"
    if time_of_day not in taxonomy.times_of_day():
        raise MarkError("workshop.error.bad_time", value=time_of_day)
    season = season or "all_year"
    if season not in taxonomy.seasons():
        raise MarkError("workshop.error.bad_season", value=season)
    return MarkAttributes(hazard_code, level, time_of_day, season, clean_note(note))


def as_geometry(drawing: BaseGeometry | dict | str) -> BaseGeometry:
    """A shapely geometry from a shapely object, a GeoJSON geometry or Feature dict, or WKT.

    Leaflet.draw hands over GeoJSON Features; their ``geometry`` is used.

    Parameters
    ----------
    drawing : shapely geometry, dict or str
        What was drawn, in EPSG:4326.

    Returns
    -------
    shapely geometry
        A non-empty 2-D geometry.

    Raises
    ------
    MarkError
        ``workshop.error.no_shape`` if nothing usable was drawn.
    """
    try:
        if isinstance(drawing, BaseGeometry):
            geom = drawing
        elif isinstance(drawing, dict):
            geom = shape(drawing["geometry"] if drawing.get("type") == "Feature" else drawing)
        elif isinstance(drawing, str):
            geom = shapely.from_wkt(drawing)
        else:
            raise TypeError(type(drawing).__name__)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError):
        raise MarkError("workshop.error.no_shape") from None
    if geom is None or geom.is_empty:
        raise MarkError("workshop.error.no_shape")
    return shapely.force_2d(geom)


def prepare_geometry(drawing: BaseGeometry | dict | str) -> tuple[BaseGeometry, tuple[Notice, ...]]:
    """Check a drawn shape and repair what can be repaired.

    A polygon whose outline crosses itself is repaired with ``shapely.make_valid`` into the
    polygons it encloses, and the facilitator is told; a shape that cannot be repaired into the
    same kind (a polygon folded flat into a line) is refused.

    Parameters
    ----------
    drawing : shapely geometry, dict or str
        What was drawn (see :func:`as_geometry`), in EPSG:4326.

    Returns
    -------
    geometry, notices
        A valid polygon, line or point geometry in degrees, and what was done to it.

    Raises
    ------
    MarkError
        ``no_shape``, ``bad_kind``, ``bad_coordinates`` or ``unrepairable``.
    """
    geom = as_geometry(drawing)
    family = _FAMILIES.get(geom.geom_type)
    if family is None:
        raise MarkError("workshop.error.bad_kind", kind=geom.geom_type)
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise MarkError("workshop.error.bad_coordinates")
    notices: list[Notice] = []
    if family == "polygon" and not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        repaired = _polygonal_part(shapely.make_valid(geom))
        if repaired is None or repaired.area <= 0:
            raise MarkError("workshop.error.unrepairable", reason=reason)
        geom = repaired
        notices.append(Notice("workshop.notice.repaired", {"parts": _part_count(geom)}))
    if family == "polygon" and geom.area < MIN_POLYGON_AREA_DEG2:
        raise MarkError("workshop.error.unrepairable", reason="no area")
    if family == "line" and geom.length == 0:
        raise MarkError("workshop.error.unrepairable", reason="zero length")
    elif not geom.is_valid:
        raise MarkError("workshop.error.unrepairable", reason=shapely.is_valid_reason(geom))
    return geom, tuple(notices)


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry | None:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polygons = [
            g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")
        ]
        if polygons:
            return shapely.union_all(polygons)
    return None


def _part_count(geom: BaseGeometry) -> int:
    return int(shapely.get_num_geometries(geom))


def drawing_key(drawing: dict | None) -> str | None:
    """A stable fingerprint of a Leaflet.draw feature, to recognise one already handled.

    Parameters
    ----------
    drawing : dict or None
        A GeoJSON Feature or geometry dict.

    Returns
    -------
    str or None
        SHA-1 hex digest of the geometry; None for an empty drawing.
    """
    if not drawing:
        return None
    geometry = drawing.get("geometry", drawing)
    return hashlib.sha1(json.dumps(geometry, sort_keys=True).encode("utf-8")).hexdigest()
