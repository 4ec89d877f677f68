"""Rows the tests need, written once: communities, incidents, accounts acting in a role.

Every helper writes as the database owner (no ``SET ROLE``), exactly as ``harta community add``
and the importers' set-up do, so row security never hides the rows a test builds on.  Helpers take
an :class:`~sqlalchemy.Engine` (one transaction of their own) or a
:class:`~sqlalchemy.engine.Connection` (the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection

#: A 4 km x 3 km square south of Cluj (Pata Rât lies inside it).
SQUARE_WKT = "POLYGON((23.60 46.70,23.64 46.70,23.64 46.73,23.60 46.73,23.60 46.70))"
#: The same square as SQL.
SQUARE = f"ST_Multi(ST_GeomFromText('{SQUARE_WKT}',4326))"

_INSERT_COMMUNITY = (
    "INSERT INTO communities (slug, name, country, timezone, metric_crs, kind, parent_id, geom,"
    " source, created_by_role, is_demo) VALUES (:slug, :name, :country, :tz, :crs, :kind, :parent,"
    " ST_Multi(ST_GeomFromText(:wkt, 4326)), 'import', 'system', false) RETURNING id"
)

_INSERT_INCIDENT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, narrative, geom, source, created_by_role, is_demo)"
    " VALUES (:c, :at, :t, :sev, 'exact', :sens, 'police', 'reported', :n,"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'form', 'police', false) RETURNING id"
)

#: Incident types the database treats as sensitive (migration 0002's ``harta_is_sensitive``).
SENSITIVE_TYPES = frozenset({"domestic_violence", "sexual_violence", "child_protection"})


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as conn:
            yield conn


def insert_community(
    bind: Engine | Connection,
    slug: str = "t",
    *,
    name: str = "T",
    wkt: str = SQUARE_WKT,
    country: str = "RO",
    timezone: str = "Europe/Bucharest",
    metric_crs: int = 32634,
    kind: str = "community",
    parent_id: int | None = None,
) -> int:
    """Insert a community (default: ``t``, the :data:`SQUARE_WKT` square in Romania).

    Parameters
    ----------
    bind : Engine or Connection
        The owner's engine, or a connection in the caller's transaction.
    slug, name, wkt, country, timezone, metric_crs, kind, parent_id
        Its columns; ``wkt`` is a polygon in EPSG:4326 (stored as a multipolygon).

    Returns
    -------
    int
        ``communities.id``.
    """
    with _connection(bind) as conn:
        return conn.execute(
            text(_INSERT_COMMUNITY),
            {
                "slug": slug,
                "name": name,
                "country": country,
                "tz": timezone,
                "crs": metric_crs,
                "kind": kind,
                "parent": parent_id,
                "wkt": wkt,
            },
        ).scalar_one()


def insert_incident(
    bind: Engine | Connection,
    community_id: int,
    type_code: str,
    lon: float,
    lat: float,
    *,
    at: str = "2025-06-01",
    severity: int = 3,
    narrative: str | None = None,
) -> int:
    """Insert an exact-point incident recorded by the police (sensitivity from its type).

    Parameters
    ----------
    bind : Engine or Connection
    community_id : int
    type_code : str
    lon, lat : float
        Degrees (EPSG:4326).
    at : str
        When it occurred (ISO date or timestamp).
    severity : int
    narrative : str, optional
        Default ``"words <type_code>"``.

    Returns
    -------
    int
        ``incidents.id``.
    """
    with _connection(bind) as conn:
        return conn.execute(
            text(_INSERT_INCIDENT),
            {
                "c": community_id,
                "at": at,
                "t": type_code,
                "sev": severity,
                "sens": "sensitive" if type_code in SENSITIVE_TYPES else "normal",
                "n": f"words {type_code}" if narrative is None else narrative,
                "x": lon,
                "y": lat,
            },
        ).scalar_one()


# --- accounts the database checks (migration 0004) -------------------------------------------
#: A syntactically valid argon2id hash: database-level tests never sign in with a password.
TEST_HASH = "$argon2id$v=19$m=65536,t=3,p=4$dGVzdHNhbHQ$dGVzdGhhc2g"


def account_id(
    engine: Engine,
    role: str,
    communities: Iterable[int] | None = None,
    username: str | None = None,
) -> int | None:
    """``users.id`` of a test account of ``role``, created on first use (as the owner).

    The database applies an account's role, state and community scope only when the connection
    names it (``harta.user_id``); connections without one see no incident (migration 0004).

    Parameters
    ----------
    engine : Engine
        The owner's engine of the test database.
    role : str
        Application role; ``"public"`` has no account (returns None).
    communities : iterable of int, optional
        Community ids of the account's scope; default every top-level community.
    username : str, optional
        Default ``db-<role>``.

    Returns
    -------
    int or None
    """
    if role == "public":
        return None
    username = username or f"db-{role}"
    with engine.begin() as conn:
        found = conn.execute(
            text("SELECT id FROM users WHERE username = :u"), {"u": username}
        ).scalar_one_or_none()
        if found is not None:
            return found
        uid = conn.execute(
            text(
                "INSERT INTO users (username, password_hash, role) VALUES (:u, :h, :r) RETURNING id"
            ),
            {"u": username, "h": TEST_HASH, "r": role},
        ).scalar_one()
        if communities is None:
            communities = conn.execute(
                text("SELECT id FROM communities WHERE parent_id IS NULL")
            ).scalars()
        for cid in communities:
            conn.execute(
                text("INSERT INTO user_communities (user_id, community_id) VALUES (:u, :c)"),
                {"u": uid, "c": cid},
            )
    return uid


@contextmanager
def acting(
    engine: Engine,
    role: str,
    communities: Iterable[int] | None = None,
    username: str | None = None,
) -> Iterator[Connection]:
    """One transaction acting as ``role`` *and* as its test account (:func:`account_id`).

    Parameters
    ----------
    engine : Engine
    role : str
    communities : iterable of int, optional
    username : str, optional

    Yields
    ------
    Connection
    """
    from geo.db.security import connect_as

    uid = account_id(engine, role, communities, username)
    with connect_as(engine, role, uid) as conn:
        yield conn


def account_engine(
    url: str,
    role: str,
    communities: Iterable[int] | None = None,
    username: str | None = None,
    **kw: object,
) -> Engine:
    """A :func:`geo.db.security.role_engine` acting as ``role`` and its test account.

    Parameters
    ----------
    url : str
        The test database's URL.
    role : str
    communities : iterable of int, optional
    username : str, optional
    **kw
        Passed to :func:`geo.db.security.role_engine`.

    Returns
    -------
    Engine
    """
    from geo.db.security import role_engine

    owner = create_engine(url)
    try:
        uid = account_id(owner, role, communities, username)
    finally:
        owner.dispose()
    return role_engine(url, role, uid, **kw)
