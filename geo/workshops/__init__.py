"""Workshops: sessions, the risk marks drawn in them, paper grids and where participants agree.

One concern per module:

* :mod:`~geo.workshops.errors` -- :class:`WorkshopError`, :class:`SessionError`,
  :class:`MarkError` (all :class:`geo.errors.HartaError`).
* :mod:`~geo.workshops.validate` -- a mark's attributes and shape, checked and repaired.
* :mod:`~geo.workshops.sessions` -- opening, listing, closing sessions; the acting role.
* :mod:`~geo.workshops.marks` -- saving, editing, deleting and undoing marks.
* :mod:`~geo.workshops.read` -- a session's marks, table, audit trail and counts.
* :mod:`~geo.workshops.io` -- import into a session, export to GeoJSON/GeoPackage/KML.
* :mod:`~geo.workshops.paper` -- the printed grid (``"C4"``) and the QR payload.
* :mod:`~geo.workshops.consensus` -- overlapping marks merged into consensus zones.

Writes read the acting role from the connection (an engine from
:func:`geo.db.security.role_engine`); public functions take a :class:`~geo.communities.Community`
where they need a community.  The printed maps are :mod:`geo.reports.workshop_pdf` (reports sit
above workshops in the layers).  This package never imports Streamlit.
"""

from __future__ import annotations

from geo.communities.model import AREA_TOLERANCE_M
from geo.workshops import consensus, paper
from geo.workshops.errors import MarkError, SessionError, WorkshopError
from geo.workshops.io import (
    EXPORT_FORMATS,
    export_bytes,
    export_frame,
    export_session,
    import_into_session,
)
from geo.workshops.marks import (
    MARK_SOURCES,
    UNDOABLE_SOURCES,
    SaveResult,
    check_drawing,
    delete_mark,
    overlaps_area,
    save_mark,
    save_paper_mark,
    undo_last_mark,
    update_mark,
)
from geo.workshops.read import (
    MARK_COLUMNS,
    marks_table,
    session_history,
    session_marks,
    session_summary,
)
from geo.workshops.sessions import (
    FACILITATOR_ROLES,
    MAX_PARTICIPANTS,
    Session,
    acting_role,
    get_session,
    list_sessions,
    open_session,
    session_community,
    set_session_status,
    writable_session,
)
from geo.workshops.validate import (
    MAX_NOTE_LENGTH,
    MIN_POLYGON_AREA_DEG2,
    MarkAttributes,
    Notice,
    as_geometry,
    clean_note,
    drawing_key,
    mark_attributes,
    prepare_geometry,
)

__all__ = [
    "AREA_TOLERANCE_M",
    "EXPORT_FORMATS",
    "FACILITATOR_ROLES",
    "MARK_COLUMNS",
    "MARK_SOURCES",
    "MAX_NOTE_LENGTH",
    "MAX_PARTICIPANTS",
    "MIN_POLYGON_AREA_DEG2",
    "UNDOABLE_SOURCES",
    "MarkAttributes",
    "MarkError",
    "Notice",
    "SaveResult",
    "Session",
    "SessionError",
    "WorkshopError",
    "acting_role",
    "as_geometry",
    "check_drawing",
    "clean_note",
    "consensus",
    "delete_mark",
    "drawing_key",
    "export_bytes",
    "export_frame",
    "export_session",
    "get_session",
    "import_into_session",
    "list_sessions",
    "mark_attributes",
    "marks_table",
    "open_session",
    "overlaps_area",
    "paper",
    "prepare_geometry",
    "save_mark",
    "save_paper_mark",
    "session_community",
    "session_history",
    "session_marks",
    "session_summary",
    "set_session_status",
    "undo_last_mark",
    "update_mark",
    "writable_session",
]
