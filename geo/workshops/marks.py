"""Workshop sessions and the risk marks community members draw in them.

A facilitator (a social worker or mediator) opens a *session* for a community: date, language,
number of participants, and nothing about who they are.  Every mark drawn, entered from paper or
imported during the session carries the session's id.

Every write here runs in one transaction that records the app role
(:func:`geo.db.engine.set_app_role`), so the database's audit triggers log who changed what, and
nothing is ever half-saved: a mark is checked, repaired if it can be, and written, or refused
with a message the facilitator can read out.

Refusals are :class:`MarkError` (or :class:`SessionError`); their ``key`` and ``params`` go
through :func:`geo.i18n.t`, and :meth:`MarkError.message` does that for you.

This module never imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo import taxonomy
from geo.db.engine import set_app_role
from geo.i18n import LANGUAGES, t

#: Roles that may open sessions and write, edit or delete marks.
FACILITATOR_ROLES: tuple[str, ...] = ("community", "mediator", "planner", "admin")
#: Sources of marks made in a session: drawn on screen, copied from paper, imported from a file.
MARK_SOURCES: tuple[str, ...] = ("workshop", "paper", "import")
#: Sources "Undo last mark" may take back (imports are undone as a whole by their importer).
UNDOABLE_SOURCES: tuple[str, ...] = ("workshop", "paper")
#: How far (metres) a mark may stray outside the community's area before it is refused: a
#: finger on a projected map is not a surveyor.
OUTSIDE_TOLERANCE_M = 50.0
#: Longest note, in characters (also a database CHECK).
MAX_NOTE_LENGTH = 500
MAX_PARTICIPANTS = 1000
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


class WorkshopError(ValueError):
    """A refusal with a translatable message.

    Attributes
    ----------
    key : str
        Translation key (``workshop.error.*``).
    params : dict
        Values for the message's placeholders.
    """

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(t(key, "en", **params))
        self.key = key
        self.params = params

    def message(self, lang: str) -> str:
        """The refusal in ``lang``."""
        return t(self.key, lang, **self.params)


class SessionError(WorkshopError):
    """A session that cannot be opened, found or written to."""


class MarkError(WorkshopError):
    """A mark that cannot be saved, changed or deleted."""


@dataclass(frozen=True)
class Session:
    """A workshop session as stored in ``workshops``."""

    id: int
    community_id: int
    community: str
    community_name: str
    held_on: dt.date
    language: str
    participants: int
    facilitator_role: str
    status: str
    is_demo: bool

    def label(self, lang: str) -> str:
        """Short human label: ``#12 · 2026-11-23 · Pata Rât``."""
        return t(
            "workshop.session.label",
            lang,
            id=self.id,
            date=self.held_on.isoformat(),
            community=self.community_name,
            language=LANGUAGES.get(self.language, self.language),
        )


@dataclass(frozen=True)
class Notice:
    """Something the facilitator should be told (a repaired shape, a duplicate)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


@dataclass(frozen=True)
class SaveResult:
    """Outcome of saving a mark.

    Attributes
    ----------
    mark_id : int
        Id of the ``risk_zones`` row.
    duplicate : bool
        The very same mark was already saved in this session; nothing new was written.
    notices : tuple of Notice
        What was done to the mark on its way in (e.g. a crossing outline repaired).
    """

    mark_id: int
    duplicate: bool = False
    notices: tuple[Notice, ...] = ()


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


# --------------------------------------------------------------------------------------------
# Validation


def clean_note(note: str | None) -> str | None:
    """A note as plain text: control characters removed, whitespace trimmed, None if empty.

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


# --------------------------------------------------------------------------------------------
# Sessions


def _check_role(role: str) -> None:
    if role not in FACILITATOR_ROLES:
        raise SessionError("workshop.error.role", role=role)


def open_session(
    engine: Engine,
    community: str,
    *,
    held_on: dt.date,
    language: str,
    participants: int,
    role: str,
) -> Session:
    """Open a workshop session.  No participant names: only how many took part.

    Parameters
    ----------
    engine : Engine
        The Harta database.
    community : str
        Slug of the community (a settlement is a community too).
    held_on : date
        Day of the workshop.
    language : str
        ``ro``, ``hu`` or ``en``: labels of the projector view and the printed maps.
    participants : int
        Number of participants, 1 to 1000.
    role : str
        Facilitator's app role (one of :data:`FACILITATOR_ROLES`).

    Raises
    ------
    SessionError
        For an unknown community or language, a participant count out of range, or a role that
        may not facilitate.
    """
    _check_role(role)
    if language not in LANGUAGES:
        raise SessionError("workshop.error.language", language=language)
    try:
        participants = int(participants)
    except (TypeError, ValueError):
        raise SessionError("workshop.error.participants", max=MAX_PARTICIPANTS) from None
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise SessionError("workshop.error.participants", max=MAX_PARTICIPANTS)
    with engine.begin() as conn:
        set_app_role(conn, role)
        community_id = conn.execute(
            text("SELECT id FROM communities WHERE slug = :s"), {"s": community}
        ).scalar_one_or_none()
        if community_id is None:
            raise SessionError("workshop.error.community", community=community)
        workshop_id = conn.execute(
            text(
                "INSERT INTO workshops (community_id, held_on, language, facilitator_role,"
                " participants, status, source, created_by_role)"
                " VALUES (:c, :d, :l, :r, :n, 'open', 'workshop', :r) RETURNING id"
            ),
            {"c": community_id, "d": held_on, "l": language, "r": role, "n": participants},
        ).scalar_one()
    return get_session(engine, workshop_id)


_SESSION_SQL = (
    "SELECT w.id, w.community_id, c.slug, c.name, w.held_on, w.language, w.participants,"
    " w.facilitator_role, w.status, w.is_demo FROM workshops w"
    " JOIN communities c ON c.id = w.community_id"
)


def get_session(engine: Engine | Connection, workshop_id: int) -> Session:
    """The session ``workshop_id``.

    Raises
    ------
    SessionError
        ``workshop.error.no_session`` if it does not exist.
    """
    sql = text(_SESSION_SQL + " WHERE w.id = :w")
    if isinstance(engine, Connection):
        row = engine.execute(sql, {"w": workshop_id}).one_or_none()
    else:
        with engine.connect() as conn:
            row = conn.execute(sql, {"w": workshop_id}).one_or_none()
    if row is None:
        raise SessionError("workshop.error.no_session", id=workshop_id)
    return Session(*row)


def list_sessions(
    engine: Engine, community: str, *, status: str | None = None, include_demo: bool = True
) -> list[Session]:
    """Sessions of a community and of its settlements (or parent), newest first."""
    where = (
        " WHERE (c.slug = :s OR c.parent_id = (SELECT id FROM communities WHERE slug = :s)"
        " OR c.id = (SELECT parent_id FROM communities WHERE slug = :s))"
    )
    if status:
        where += " AND w.status = :status"
    if not include_demo:
        where += " AND NOT w.is_demo"
    with engine.connect() as conn:
        rows = conn.execute(
            text(_SESSION_SQL + where + " ORDER BY w.held_on DESC, w.id DESC"),
            {"s": community, "status": status},
        ).all()
    return [Session(*row) for row in rows]


def set_session_status(engine: Engine, workshop_id: int, status: str, *, role: str) -> Session:
    """Close (``"closed"``) or reopen (``"open"``) a session.  A closed session takes no marks."""
    _check_role(role)
    if status not in ("open", "closed"):
        raise SessionError("workshop.error.status", status=status)
    with engine.begin() as conn:
        set_app_role(conn, role)
        done = conn.execute(
            text("UPDATE workshops SET status = :st WHERE id = :w AND NOT is_demo"),
            {"st": status, "w": workshop_id},
        ).rowcount
        if not done:
            raise SessionError("workshop.error.no_session", id=workshop_id)
    return get_session(engine, workshop_id)


def _writable_session(conn: Connection, workshop_id: int) -> Session:
    # Lock the session row: a mark is never written into a session being closed.
    conn.execute(text("SELECT 1 FROM workshops WHERE id = :w FOR UPDATE"), {"w": workshop_id})
    session = get_session(conn, workshop_id)
    if session.is_demo:
        raise SessionError("workshop.error.demo_session", id=workshop_id)
    if session.status != "open":
        raise SessionError("workshop.error.closed", id=workshop_id)
    return session


# --------------------------------------------------------------------------------------------
# Marks

_AREA_SQL = """
WITH area AS (
    SELECT ST_Transform(ST_Union(geom), c0.metric_crs) AS g, c0.metric_crs AS crs
    FROM communities, (SELECT metric_crs, parent_id FROM communities WHERE id = :c) c0
    WHERE communities.id = :c OR communities.id = c0.parent_id
    GROUP BY c0.metric_crs
), mark AS (
    SELECT ST_Transform(ST_GeomFromText(:g, 4326), (SELECT crs FROM area)) AS g
)
SELECT ST_CoveredBy(mark.g, ST_Buffer(area.g, :tol)),
       ST_Intersects(mark.g, area.g),
       ST_AsText(ST_Transform(ST_Intersection(mark.g, area.g), 4326))
FROM area, mark
"""


def _fit_to_area(
    conn: Connection, community_id: int, geom: BaseGeometry, *, clip: bool
) -> BaseGeometry:
    """Refuse a mark outside the community's area (or, with ``clip``, cut it to the area).

    The area is the community's own outline together with its parent's, so a settlement's
    workshop may mark the landfill next to it.
    """
    row = conn.execute(
        text(_AREA_SQL), {"c": community_id, "g": geom.wkt, "tol": OUTSIDE_TOLERANCE_M}
    ).one()
    covered, touches, clipped = row
    if clip:
        if not touches or clipped is None:
            raise MarkError("workshop.error.outside")
        clipped_geom = _polygonal_part(shapely.make_valid(shapely.from_wkt(clipped)))
        if clipped_geom is None or clipped_geom.is_empty:
            raise MarkError("workshop.error.outside")
        return clipped_geom
    if not covered:
        raise MarkError("workshop.error.outside", tolerance=int(OUTSIDE_TOLERANCE_M))
    return geom


def _row_hash(workshop_id: int, geom: BaseGeometry, attrs: MarkAttributes, source: str) -> str:
    parts = [
        str(workshop_id),
        shapely.to_wkt(geom, rounding_precision=7),
        attrs.hazard_code,
        str(attrs.severity),
        attrs.time_of_day,
        attrs.season,
        attrs.note or "",
        source,
    ]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def _insert_mark(
    conn: Connection,
    session: Session,
    geom: BaseGeometry,
    attrs: MarkAttributes,
    *,
    role: str,
    source: str,
    grid_ref: str | None = None,
    source_ref: str | None = None,
) -> tuple[int, bool]:
    row_hash = _row_hash(session.id, geom, attrs, source)
    inserted = conn.execute(
        text(
            "INSERT INTO risk_zones (community_id, workshop_id, hazard_code, severity,"
            " time_of_day, season, note, grid_ref, geom, source, source_ref, row_hash,"
            " created_by_role) VALUES (:c, :w, :h, :s, :t, :se, :n, :gr,"
            " ST_GeomFromText(:g, 4326), :src, :sref, :rh, :role)"
            " ON CONFLICT (community_id, row_hash) DO NOTHING RETURNING id"
        ),
        {
            "c": session.community_id,
            "w": session.id,
            "h": attrs.hazard_code,
            "s": attrs.severity,
            "t": attrs.time_of_day,
            "se": attrs.season,
            "n": attrs.note,
            "gr": grid_ref,
            "g": geom.wkt,
            "src": source,
            "sref": source_ref,
            "rh": row_hash,
            "role": role,
        },
    ).scalar_one_or_none()
    if inserted is not None:
        return int(inserted), False
    existing = conn.execute(
        text("SELECT id FROM risk_zones WHERE community_id = :c AND row_hash = :rh"),
        {"c": session.community_id, "rh": row_hash},
    ).scalar_one()
    return int(existing), True


def save_mark(
    engine: Engine,
    workshop_id: int,
    drawing: BaseGeometry | dict | str,
    attributes: MarkAttributes,
    *,
    role: str,
) -> SaveResult:
    """Save a mark drawn on screen, at once, in one transaction.

    Parameters
    ----------
    engine : Engine
        The Harta database.
    workshop_id : int
        The open session the mark belongs to.
    drawing : shapely geometry, GeoJSON dict (geometry or Feature) or WKT
        The shape in degrees (EPSG:4326).
    attributes : MarkAttributes
        From :func:`mark_attributes`.
    role : str
        The facilitator's app role, recorded in the audit trail.

    Returns
    -------
    SaveResult
        The new row's id, or the existing row's id when this exact mark was already saved in
        this session (a double click, a page rerun).

    Raises
    ------
    MarkError, SessionError
        Nothing is written when either is raised.
    """
    _check_role(role)
    geom, notices = prepare_geometry(drawing)
    with engine.begin() as conn:
        set_app_role(conn, role)
        session = _writable_session(conn, workshop_id)
        geom = _fit_to_area(conn, session.community_id, geom, clip=False)
        mark_id, duplicate = _insert_mark(
            conn, session, geom, attributes, role=role, source="workshop"
        )
    if duplicate:
        notices = (*notices, Notice("workshop.notice.duplicate", {"id": mark_id}))
    return SaveResult(mark_id, duplicate, notices)


def save_paper_mark(
    engine: Engine,
    workshop_id: int,
    grid_ref: str,
    attributes: MarkAttributes,
    *,
    role: str,
) -> SaveResult:
    """Save a mark copied back from a printed map, by grid square (``"C4"``).

    The mark is the square (cut to the community's area), tagged ``source = 'paper'`` with its
    ``grid_ref``.  The grid is the session's paper grid (:func:`geo.paper.session_grid`).

    Raises
    ------
    MarkError, SessionError
        For a malformed or unknown square, a square outside the area, or a closed session.
    """
    from geo import paper

    _check_role(role)
    grid = paper.session_grid(engine, workshop_id)
    try:
        ref = paper.normalise_grid_ref(grid_ref, grid)
    except paper.GridRefError as exc:
        raise MarkError(exc.key, **exc.params) from None
    square = paper.cell_polygon(grid, ref, wgs84=True)
    with engine.begin() as conn:
        set_app_role(conn, role)
        session = _writable_session(conn, workshop_id)
        geom = _fit_to_area(conn, session.community_id, square, clip=True)
        mark_id, duplicate = _insert_mark(
            conn, session, geom, attributes, role=role, source="paper", grid_ref=ref
        )
    notices = (Notice("workshop.notice.duplicate", {"id": mark_id}),) if duplicate else ()
    return SaveResult(mark_id, duplicate, notices)


def _session_of_mark(conn: Connection, mark_id: int) -> Session:
    workshop_id = conn.execute(
        text("SELECT workshop_id FROM risk_zones WHERE id = :m FOR UPDATE"), {"m": mark_id}
    ).scalar_one_or_none()
    if workshop_id is None:
        raise MarkError("workshop.error.no_mark", id=mark_id)
    return _writable_session(conn, int(workshop_id))


def update_mark(
    engine: Engine,
    mark_id: int,
    attributes: MarkAttributes,
    *,
    role: str,
    drawing: BaseGeometry | dict | str | None = None,
) -> SaveResult:
    """Change what a mark says (and optionally its shape).  The audit trail keeps the old row.

    Raises
    ------
    MarkError, SessionError
        For an unknown mark, a mark of a closed session, or a refused shape.
    """
    _check_role(role)
    notices: tuple[Notice, ...] = ()
    geom = None
    if drawing is not None:
        geom, notices = prepare_geometry(drawing)
    with engine.begin() as conn:
        set_app_role(conn, role)
        session = _session_of_mark(conn, mark_id)
        if geom is not None:
            geom = _fit_to_area(conn, session.community_id, geom, clip=False)
        conn.execute(
            text(
                "UPDATE risk_zones SET hazard_code = :h, severity = :s, time_of_day = :t,"
                " season = :se, note = :n,"
                " geom = COALESCE(ST_GeomFromText(:g, 4326), geom) WHERE id = :m"
            ),
            {
                "h": attributes.hazard_code,
                "s": attributes.severity,
                "t": attributes.time_of_day,
                "se": attributes.season,
                "n": attributes.note,
                "g": None if geom is None else geom.wkt,
                "m": mark_id,
            },
        )
    return SaveResult(mark_id, False, notices)


def delete_mark(engine: Engine, mark_id: int, *, role: str) -> int:
    """Delete one mark of an open session; the audit trail keeps the deleted row.

    Returns
    -------
    int
        The deleted mark's id.
    """
    _check_role(role)
    with engine.begin() as conn:
        set_app_role(conn, role)
        _session_of_mark(conn, mark_id)
        conn.execute(text("DELETE FROM risk_zones WHERE id = :m"), {"m": mark_id})
    return mark_id


def undo_last_mark(engine: Engine, workshop_id: int, *, role: str) -> int | None:
    """Take back the most recent mark drawn or copied from paper in this session.

    Returns
    -------
    int or None
        The id of the deleted mark, or None if the session has no mark to undo.
    """
    _check_role(role)
    with engine.begin() as conn:
        set_app_role(conn, role)
        _writable_session(conn, workshop_id)
        mark_id = conn.execute(
            text(
                "SELECT id FROM risk_zones WHERE workshop_id = :w AND source = ANY(:src)"
                " ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE"
            ),
            {"w": workshop_id, "src": list(UNDOABLE_SOURCES)},
        ).scalar_one_or_none()
        if mark_id is None:
            return None
        conn.execute(text("DELETE FROM risk_zones WHERE id = :m"), {"m": mark_id})
    return int(mark_id)


# --------------------------------------------------------------------------------------------
# Reading

MARK_COLUMNS = (
    "id, workshop_id, hazard_code, severity, time_of_day, season, note, grid_ref, source,"
    " created_by_role, created_at, is_demo, geom"
)


def session_marks(engine: Engine, workshop_ids: int | list[int]) -> gpd.GeoDataFrame:
    """Marks of one or more sessions, oldest first, in EPSG:4326."""
    ids = [workshop_ids] if isinstance(workshop_ids, int) else list(workshop_ids)
    with engine.connect() as conn:
        return gpd.read_postgis(
            text(f"SELECT {MARK_COLUMNS} FROM risk_zones WHERE workshop_id = ANY(:w) ORDER BY id"),
            conn,
            geom_col="geom",
            params={"w": ids},
        )


def marks_table(marks: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The marks as a table a person reads: translated headers and labels, no geometry.

    Notes stay plain text; whoever renders the table as HTML must escape them (Streamlit's
    dataframe does).
    """
    rows = []
    for mark in marks.itertuples():
        rows.append(
            {
                t("workshop.col.id", lang): int(mark.id),
                t("workshop.col.hazard", lang): taxonomy.label("hazard", mark.hazard_code, lang),
                t("workshop.col.severity", lang): (
                    f"{int(mark.severity)} · {taxonomy.label('severity', int(mark.severity), lang)}"
                ),
                t("workshop.col.time", lang): taxonomy.label("time_of_day", mark.time_of_day, lang),
                t("workshop.col.season", lang): taxonomy.label("season", mark.season, lang),
                t("workshop.col.source", lang): t(f"workshop.source.{mark.source}", lang),
                t("workshop.col.grid_ref", lang): _text(mark.grid_ref),
                t("workshop.col.note", lang): _text(mark.note),
            }
        )
    if not rows:
        return pd.DataFrame(
            columns=[
                t(f"workshop.col.{c}", lang)
                for c in (
                    "id",
                    "hazard",
                    "severity",
                    "time",
                    "season",
                    "source",
                    "grid_ref",
                    "note",
                )
            ]
        )
    return pd.DataFrame(rows)


def _text(value: Any) -> str:
    """A cell as text: missing values (None, NaN) become an empty string."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def session_history(engine: Engine, workshop_id: int) -> pd.DataFrame:
    """The audit trail of a session: every insert, update and delete of its marks, and of the
    session itself, oldest first.

    Returns
    -------
    DataFrame
        ``changed_at``, ``table_name``, ``operation``, ``row_id``, ``app_role``,
        ``hazard_code`` (of the row after the change, or before a delete).
    """
    with engine.connect() as conn:
        return pd.read_sql(
            text(
                "SELECT changed_at, table_name, operation, row_id, app_role,"
                " COALESCE(new_row ->> 'hazard_code', old_row ->> 'hazard_code') AS hazard_code"
                " FROM audit_log WHERE (table_name = 'risk_zones' AND"
                " (new_row ->> 'workshop_id' = :w OR old_row ->> 'workshop_id' = :w))"
                " OR (table_name = 'workshops' AND row_id = :wid) ORDER BY id"
            ),
            conn,
            params={"w": str(workshop_id), "wid": workshop_id},
        )


def session_summary(engine: Engine, workshop_id: int) -> dict[str, Any]:
    """Counts of a session: marks by source and by hazard, sessions' participants."""
    marks = session_marks(engine, workshop_id)
    session = get_session(engine, workshop_id)
    return {
        "session": session,
        "marks": len(marks),
        "by_source": marks["source"].value_counts().to_dict() if len(marks) else {},
        "by_hazard": marks["hazard_code"].value_counts().to_dict() if len(marks) else {},
    }


# --------------------------------------------------------------------------------------------
# Files in and out


def import_into_session(
    engine: Engine, workshop_id: int, path: str | Path, *, role: str, **options: Any
) -> Any:
    """Bring zones drawn elsewhere (QGIS GeoPackage, KoBo/ODK geoshape, CoMapeo GeoJSON) into a
    session through the foundation importer (:func:`geo.ingest.import_file`).

    Returns whatever the importer returns (its import report).
    """
    _check_role(role)
    with engine.connect() as conn:
        session = _writable_session(conn, workshop_id)
    from geo.ingest import import_file  # the importers are optional until they land

    return import_file(
        engine,
        layer="risk_zones",
        path=path,
        community=session.community,
        workshop_id=workshop_id,
        source="import",
        role=role,
        **options,
    )


#: Export formats: file suffix and OGR driver.
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "geojson": (".geojson", "GeoJSON"),
    "gpkg": (".gpkg", "GPKG"),
    "kml": (".kml", "KML"),
}


def export_frame(engine: Engine, workshop_id: int) -> gpd.GeoDataFrame:
    """The session's marks as written to files: codes, labels in the session language, no
    audit-only columns."""
    session = get_session(engine, workshop_id)
    marks = session_marks(engine, workshop_id)
    frame = marks[
        ["id", "workshop_id", "hazard_code", "severity", "time_of_day", "season", "note"]
        + ["grid_ref", "source", "created_at", "geom"]
    ].copy()
    frame["hazard"] = [
        taxonomy.label("hazard", code, session.language) for code in frame["hazard_code"]
    ]
    frame["community"] = session.community
    frame["held_on"] = session.held_on.isoformat()
    frame["created_at"] = frame["created_at"].astype(str)
    frame["id"] = frame["id"].astype("int64")
    return frame.set_geometry("geom").rename_geometry("geometry")


def export_session(engine: Engine, workshop_id: int, fmt: str, path: str | Path) -> Path:
    """Write a session's marks to GeoJSON, GeoPackage or KML.

    Parameters
    ----------
    fmt : {"geojson", "gpkg", "kml"}
        File format.
    path : path
        Output file; the format's suffix is added when missing.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(EXPORT_FORMATS)}")
    suffix, driver = EXPORT_FORMATS[fmt]
    path = Path(path)
    if path.suffix.lower() != suffix:
        path = path.with_suffix(suffix)
    frame = export_frame(engine, workshop_id)
    if path.exists():
        path.unlink()
    options: dict[str, Any] = {}
    if fmt == "kml":
        frame = frame.rename(columns={"hazard": "Name", "note": "Description"})
    if fmt == "gpkg":
        options["layer"] = f"workshop_{workshop_id}"
    frame.to_file(path, driver=driver, engine="pyogrio", **options)
    return path


def export_bytes(engine: Engine, workshop_id: int, fmt: str) -> bytes:
    """:func:`export_session` into memory (for download buttons)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        written = export_session(engine, workshop_id, fmt, Path(tmp) / f"workshop_{workshop_id}")
        return written.read_bytes()


def drawing_key(drawing: dict | None) -> str | None:
    """A stable fingerprint of a Leaflet.draw feature, to recognise one already handled."""
    if not drawing:
        return None
    geometry = drawing.get("geometry", drawing)
    return hashlib.sha1(json.dumps(geometry, sort_keys=True).encode("utf-8")).hexdigest()
