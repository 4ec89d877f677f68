"""Marks: the risk zones community members draw, copy from paper or import in a session.

Every write here runs in one transaction on an engine acting as the facilitator's role; the role
is read from the connection (:func:`geo.workshops.sessions.acting_role`), so the database's audit
triggers, its grants and the check here see the same role.  Nothing is ever half-saved: a mark is
checked, repaired if it can be, and written, or refused with a :class:`MarkError` (or
:class:`SessionError`) the facilitator can read out (``error.message(lang)``).

This module never imports Streamlit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo.communities.model import AREA_TOLERANCE_M, Community
from geo.workshops import paper
from geo.workshops.errors import MarkError
from geo.workshops.sessions import (
    Session,
    acting_role,
    get_session,
    session_community,
    writable_session,
)
from geo.workshops.validate import (
    MarkAttributes,
    Notice,
    _polygonal_part,
    prepare_geometry,
)

#: Sources of marks made in a session: drawn on screen, copied from paper, imported from a file.
MARK_SOURCES: tuple[str, ...] = ("workshop", "paper", "import")
#: Sources "Undo last mark" may take back (imports are undone as a whole by their importer).
UNDOABLE_SOURCES: tuple[str, ...] = ("workshop", "paper")


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


def _clip_to_area(conn: Connection, community_id: int, geom: BaseGeometry) -> BaseGeometry:
    """Cut a paper grid square to the community's area (refused when nothing is left).

    The area is the community's own outline together with its parent's, so a settlement's
    workshop may mark the landfill next to it.
    """
    row = conn.execute(
        text(_AREA_SQL), {"c": community_id, "g": geom.wkt, "tol": AREA_TOLERANCE_M}
    ).one()
    _covered, touches, clipped = row
    if not touches or clipped is None:
        raise MarkError("workshop.error.outside")
    clipped_geom = _polygonal_part(shapely.make_valid(shapely.from_wkt(clipped)))
    if clipped_geom is None or clipped_geom.is_empty:
        raise MarkError("workshop.error.outside")
    return clipped_geom


def overlaps_area(community: Community, parent: Community | None, geom: BaseGeometry) -> bool:
    """THE rule for where a mark may be: it overlaps the area (:meth:`Community.contains`).

    Workshop boundaries are sketches, so a mark that touches the community's area -- or its
    parent's, so a settlement's workshop may mark the landfill next to it -- within the one area
    tolerance (:data:`AREA_TOLERANCE_M`) is accepted whole; only a mark wholly outside is refused.

    Parameters
    ----------
    community : Community
        The session's community.
    parent : Community or None
        Its parent community, if any.
    geom : shapely geometry
        The mark, EPSG:4326.

    Returns
    -------
    bool
    """
    return community.contains(geom) or (parent is not None and parent.contains(geom))


def _check_in_area(conn: Connection, session: Session, geom: BaseGeometry) -> None:
    community = session_community(conn, session)
    parent = Community.load(conn, community.parent_slug) if community.parent_slug else None
    if not overlaps_area(community, parent, geom):
        raise MarkError("workshop.error.outside", tolerance=int(AREA_TOLERANCE_M))


def check_drawing(
    engine: Engine, workshop_id: int, drawing: BaseGeometry | dict | str
) -> tuple[BaseGeometry, tuple[Notice, ...]]:
    """Check a drawing as soon as it is drawn, before anyone describes it (nothing is written).

    The same checks :func:`save_mark` makes on the shape: it can be read and repaired, and it
    overlaps the session's area (:func:`overlaps_area`).

    Parameters
    ----------
    engine : Engine
        Any role that may read the session.
    workshop_id : int
    drawing : shapely geometry, GeoJSON dict (geometry or Feature) or WKT
        EPSG:4326.

    Returns
    -------
    (geometry, tuple of Notice)
        The repaired shape and what was done to it.

    Raises
    ------
    MarkError
        ``workshop.error.outside`` and the shape errors of :func:`prepare_geometry`.
    """
    geom, notices = prepare_geometry(drawing)
    with engine.connect() as conn:
        _check_in_area(conn, get_session(conn, workshop_id), geom)
    return geom, notices


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
) -> SaveResult:
    """Save a mark drawn on screen, at once, in one transaction.

    Parameters
    ----------
    engine : Engine
        An engine acting as a facilitator's role (:func:`geo.db.security.role_engine`); the
        role is read from its connection and recorded in the audit trail.
    workshop_id : int
        The open session the mark belongs to.
    drawing : shapely geometry, GeoJSON dict (geometry or Feature) or WKT
        The shape in degrees (EPSG:4326).
    attributes : MarkAttributes
        From :func:`mark_attributes`.

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
    geom, notices = prepare_geometry(drawing)
    with engine.begin() as conn:
        role = acting_role(conn)
        session = writable_session(conn, workshop_id)
        _check_in_area(conn, session, geom)
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
) -> SaveResult:
    """Save a mark copied back from a printed map, by grid square (``"C4"``).

    The mark is the square (cut to the community's area), tagged ``source = 'paper'`` with its
    ``grid_ref``.  The grid is the paper grid of the session's community
    (:func:`geo.workshops.paper.community_grid`).

    Parameters
    ----------
    engine : Engine
        Acting as a facilitator's role.
    workshop_id : int
        The open session.
    grid_ref : str
        The square as written (``"c4"``, ``"C-4"`` …).
    attributes : MarkAttributes

    Returns
    -------
    SaveResult

    Raises
    ------
    MarkError, SessionError
        For a malformed or unknown square, a square outside the area, or a closed session.
    """
    grid = paper.community_grid(session_community(engine, get_session(engine, workshop_id)))
    try:
        ref = paper.normalise_grid_ref(grid_ref, grid)
    except paper.GridRefError as exc:
        raise MarkError(exc.key, **exc.params) from None
    square = paper.cell_polygon(grid, ref, wgs84=True)
    with engine.begin() as conn:
        role = acting_role(conn)
        session = writable_session(conn, workshop_id)
        geom = _clip_to_area(conn, session.community_id, square)
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
    return writable_session(conn, int(workshop_id))


def update_mark(
    engine: Engine,
    mark_id: int,
    attributes: MarkAttributes,
    *,
    drawing: BaseGeometry | dict | str | None = None,
) -> SaveResult:
    """Change what a mark says (and optionally its shape).  The audit trail keeps the old row.

    Parameters
    ----------
    engine : Engine
        Acting as a facilitator's role.
    mark_id : int
    attributes : MarkAttributes
        The new attributes.
    drawing : shapely geometry, GeoJSON dict or WKT, optional
        A new shape; the shape is kept when omitted.

    Returns
    -------
    SaveResult

    Raises
    ------
    MarkError, SessionError
        For an unknown mark, a mark of a closed session, or a refused shape.
    """
    notices: tuple[Notice, ...] = ()
    geom = None
    if drawing is not None:
        geom, notices = prepare_geometry(drawing)
    with engine.begin() as conn:
        acting_role(conn)
        session = _session_of_mark(conn, mark_id)
        if geom is not None:
            _check_in_area(conn, session, geom)
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


def delete_mark(engine: Engine, mark_id: int) -> int:
    """Delete one mark of an open session; the audit trail keeps the deleted row.

    Parameters
    ----------
    engine : Engine
        Acting as a facilitator's role.
    mark_id : int

    Returns
    -------
    int
        The deleted mark's id.
    """
    with engine.begin() as conn:
        acting_role(conn)
        _session_of_mark(conn, mark_id)
        conn.execute(text("DELETE FROM risk_zones WHERE id = :m"), {"m": mark_id})
    return mark_id


def undo_last_mark(engine: Engine, workshop_id: int) -> int | None:
    """Take back the most recent mark drawn or copied from paper in this session.

    Parameters
    ----------
    engine : Engine
        Acting as a facilitator's role.
    workshop_id : int

    Returns
    -------
    int or None
        The id of the deleted mark, or None if the session has no mark to undo.
    """
    with engine.begin() as conn:
        acting_role(conn)
        writable_session(conn, workshop_id)
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
