"""Workshop sessions: opened for a community, closed when the workshop ends.

A facilitator (a social worker or mediator) opens a *session* for a community: date, language,
number of participants, and nothing about who they are.  Every mark drawn, entered from paper or
imported during the session carries the session's id.

Who acts is read from the connection (``harta.role``, set by
:func:`geo.db.security.role_engine` / :func:`~geo.db.security.connect_as`), never passed beside
it: the role the audit trail records, the role checked here and the database role that enforces
the grants are one and the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo.communities.model import Community
from geo.i18n import LANGUAGES, t
from geo.roles import ROLES, holders
from geo.workshops.errors import SessionError

#: Roles that may open sessions and write, edit or delete marks (``workshops.draw``).
FACILITATOR_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r in holders("workshops.draw"))
MAX_PARTICIPANTS = 1000
SESSION_STATUSES = ("open", "closed")

_SESSION_SQL = (
    "SELECT w.id, w.community_id, c.slug, c.name, w.held_on, w.language, w.participants,"
    " w.facilitator_role, w.status, w.is_demo FROM workshops w"
    " JOIN communities c ON c.id = w.community_id"
)


@dataclass(frozen=True)
class Session:
    """A workshop session as stored in ``workshops``.

    Attributes
    ----------
    id, community_id : int
    community, community_name : str
        Slug and name of the session's community (a settlement is a community too).
    held_on : date
    language : str
    participants : int
    facilitator_role : str
    status : {"open", "closed"}
    is_demo : bool
    """

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
        """Short human label: ``#12 · 2026-11-23 · Pata Rât``.

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return t(
            "workshop.session.label",
            lang,
            id=self.id,
            date=self.held_on.isoformat(),
            community=self.community_name,
            language=LANGUAGES.get(self.language, self.language),
        )


def acting_role(conn: Connection) -> str:
    """The application role this connection acts in (``harta.role``), checked.

    Parameters
    ----------
    conn : Connection

    Returns
    -------
    str
        One of :data:`FACILITATOR_ROLES`.

    Raises
    ------
    SessionError
        ``workshop.error.role`` when the connection acts in no role (the owner's engine) or in
        one that may not run workshops.
    """
    role = conn.execute(text("SELECT current_setting('harta.role', true)")).scalar_one() or ""
    if role not in FACILITATOR_ROLES:
        raise SessionError("workshop.error.role", role=role)
    return role


def open_session(
    engine: Engine, community: Community, *, held_on: dt.date, language: str, participants: int
) -> Session:
    """Open a workshop session.  No participant names: only how many took part.

    Parameters
    ----------
    engine : Engine
        An engine acting as a facilitator's role (:func:`geo.db.security.role_engine`).
    community : Community
        The community (or settlement) the workshop is held for.
    held_on : date
        Day of the workshop.
    language : str
        ``ro``, ``hu`` or ``en``: labels of the projector view and the printed maps.
    participants : int
        Number of participants, 1 to :data:`MAX_PARTICIPANTS`.

    Returns
    -------
    Session

    Raises
    ------
    SessionError
        For an unknown language, a participant count out of range, or a connection whose role
        may not facilitate.  Nothing is written.
    """
    if language not in LANGUAGES:
        raise SessionError("workshop.error.language", language=language)
    try:
        participants = int(participants)
    except (TypeError, ValueError):
        raise SessionError("workshop.error.participants", max=MAX_PARTICIPANTS) from None
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise SessionError("workshop.error.participants", max=MAX_PARTICIPANTS)
    with engine.begin() as conn:
        role = acting_role(conn)
        workshop_id = conn.execute(
            text(
                "INSERT INTO workshops (community_id, held_on, language, facilitator_role,"
                " participants, status, source, created_by_role)"
                " VALUES (:c, :d, :l, :r, :n, 'open', 'workshop', :r) RETURNING id"
            ),
            {"c": community.id, "d": held_on, "l": language, "r": role, "n": participants},
        ).scalar_one()
    return get_session(engine, workshop_id)


def get_session(bind: Engine | Connection, workshop_id: int) -> Session:
    """The session ``workshop_id``.

    Parameters
    ----------
    bind : Engine or Connection
    workshop_id : int

    Returns
    -------
    Session

    Raises
    ------
    SessionError
        ``workshop.error.no_session`` if it does not exist.
    """
    sql = text(_SESSION_SQL + " WHERE w.id = :w")
    if isinstance(bind, Connection):
        row = bind.execute(sql, {"w": workshop_id}).one_or_none()
    else:
        with bind.connect() as conn:
            row = conn.execute(sql, {"w": workshop_id}).one_or_none()
    if row is None:
        raise SessionError("workshop.error.no_session", id=workshop_id)
    return Session(*row)


def session_community(bind: Engine | Connection, session: Session) -> Community:
    """The :class:`Community` a session was held for (one read of ``communities``).

    Parameters
    ----------
    bind : Engine or Connection
    session : Session

    Returns
    -------
    Community
    """
    return Community.load(bind, session.community)


def list_sessions(
    bind: Engine | Connection,
    community: Community,
    *,
    status: str | None = None,
    include_demo: bool = True,
) -> list[Session]:
    """Sessions of a community and of its settlements, newest first.

    Which communities' sessions belong is :attr:`Community.family_ids` (itself and its
    settlements) -- a session has no location, so the location part of the membership rule
    (migration 0007) does not apply to it.

    Parameters
    ----------
    bind : Engine or Connection
    community : Community
    status : {"open", "closed"}, optional
        Only sessions in this state.
    include_demo : bool
        Include the DEMO sessions.

    Returns
    -------
    list of Session
    """
    where = " WHERE w.community_id = ANY(:ids)"
    if status:
        where += " AND w.status = :status"
    if not include_demo:
        where += " AND NOT w.is_demo"
    sql = text(_SESSION_SQL + where + " ORDER BY w.held_on DESC, w.id DESC")
    params = {"ids": list(community.family_ids), "status": status}
    if isinstance(bind, Connection):
        rows = bind.execute(sql, params).all()
    else:
        with bind.connect() as conn:
            rows = conn.execute(sql, params).all()
    return [Session(*row) for row in rows]


def set_session_status(engine: Engine, workshop_id: int, status: str) -> Session:
    """Close (``"closed"``) or reopen (``"open"``) a session.  A closed session takes no marks.

    Parameters
    ----------
    engine : Engine
        Acting as a facilitator's role.
    workshop_id : int
    status : {"open", "closed"}

    Returns
    -------
    Session
        The session after the change.

    Raises
    ------
    SessionError
        For another status, an unknown or DEMO session, or a role that may not facilitate.
    """
    if status not in SESSION_STATUSES:
        raise SessionError("workshop.error.status", status=status)
    with engine.begin() as conn:
        acting_role(conn)
        done = conn.execute(
            text("UPDATE workshops SET status = :st WHERE id = :w AND NOT is_demo"),
            {"st": status, "w": workshop_id},
        ).rowcount
        if not done:
            raise SessionError("workshop.error.no_session", id=workshop_id)
    return get_session(engine, workshop_id)


def writable_session(conn: Connection, workshop_id: int) -> Session:
    """The session ``workshop_id``, locked, after checking that it takes marks.

    Parameters
    ----------
    conn : Connection
        In the transaction that writes the mark.
    workshop_id : int

    Returns
    -------
    Session

    Raises
    ------
    SessionError
        ``no_session``, ``demo_session`` or ``closed``.
    """
    # Lock the session row: a mark is never written into a session being closed.
    conn.execute(text("SELECT 1 FROM workshops WHERE id = :w FOR UPDATE"), {"w": workshop_id})
    session = get_session(conn, workshop_id)
    if session.is_demo:
        raise SessionError("workshop.error.demo_session", id=workshop_id)
    if session.status != "open":
        raise SessionError("workshop.error.closed", id=workshop_id)
    return session
