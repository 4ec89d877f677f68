"""Database connections that act as one Harta role, so the database enforces what it may see.

Every application role maps to a NOLOGIN group role of the same name prefixed ``harta_``
(created by migration 0002).  A connection "acts as" a role by ``SET ROLE harta_<role>``; from
then on the grants and row-level security policies of that group role decide what it can read
and write.  The app never needs to filter sensitive rows itself for the database to be safe.

Trust model
-----------
The login user of the app (``DATABASE_URL``) must be a member of every group role it assumes
(the migration makes the migrating user a member; a superuser is implicitly one).  Switching
roles therefore protects against mistakes in the app's queries, not against someone who can run
arbitrary SQL as that login: they could ``SET ROLE`` back.  A deployment that wants the database
to hold even then creates one LOGIN role per Harta role, each a member of only its group role,
and gives :func:`role_engine` the matching URL; the code is the same.

Accounts (migration 0004)
-------------------------
A role alone no longer opens incident rows.  The connection also names the account it acts for
(``harta.user_id``, set by both helpers below), and the database's ``harta_current_user()``
accepts it only while that account is active, not locked and holds exactly the role the
connection acts as -- re-read on every statement, so deactivating, locking, demoting or
re-scoping an account takes effect on connections that are already open.  Incident policies of
police and mediators require the account's community scope (``harta_scope_ids()``: its
communities and their settlements); without a valid account they see no incident at all.  The
owner's own connection (no ``SET ROLE``) is the *operator*: migrations, cron purges, backups.
Within the trust model above, whoever runs SQL as the app's login can still name another
account of the same role: the account check protects against a stale session and a forgetful
page, not against a compromised login.

Two ways to act as a role:

* :func:`role_engine` -- an engine whose every pooled connection is switched to the role once,
  at connect time (``SET ROLE`` at session level survives the pool's rollback-on-return).
* :func:`connect_as` -- one transaction on any engine, switched with ``SET LOCAL ROLE``; the
  previous role comes back when the transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url

from geo.roles import ROLES, SYSTEM

__all__ = [
    "AUTH_ROLE",
    "INGEST_ROLE",
    "ROLES",
    "ROLE_PREFIX",
    "acting_role",
    "connect_as",
    "current_role",
    "db_role",
    "ensure_roles",
    "role_engine",
]
#: Internal role used only while checking a password (reads ``users.password_hash``).
AUTH_ROLE = "auth"
#: Internal role that owns the staging tables of bulk imports and writes their rows (migration
#: 0013: ``harta_ingest_begin``/``harta_ingest_finish``); nobody logs in as it or is given it.
INGEST_ROLE = "ingest"
#: Database role prefix: application role ``police`` acts as ``harta_police``.
ROLE_PREFIX = "harta_"


def db_role(role: str) -> str:
    """The database group role of application ``role``.

    Parameters
    ----------
    role : str
        One of :data:`ROLES` (or :data:`AUTH_ROLE`, :data:`INGEST_ROLE`).

    Returns
    -------
    str
        E.g. ``"harta_police"``.  Safe to splice into SQL: it comes from a fixed allow-list.

    Raises
    ------
    ValueError
        For any other value, so a typo can never widen access.
    """
    if role not in ROLES and role not in (AUTH_ROLE, INGEST_ROLE):
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    return ROLE_PREFIX + role


def _switch_sql(role: str, local: bool) -> str:
    scope = "LOCAL " if local else ""
    return f"SET {scope}ROLE {db_role(role)}"


def role_engine(base_url: str, role: str, user_id: int | None = None, **kwargs: Any) -> Engine:
    """An engine whose connections act as ``role`` (and, when given, as account ``user_id``).

    Parameters
    ----------
    base_url : str
        SQLAlchemy URL of the database (its user must be a member of ``harta_<role>``).
    role : str
        Application role, one of :data:`ROLES`.
    user_id : int, optional
        ``users.id`` of the signed-in account.  Recorded as ``harta.user_id``; the database's
        policies read it to apply the account's community scope and to refuse an account that
        was deactivated or given another role (migration 0004).  Without it a scoped role
        (police, mediator, community) sees no incident rows.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine` (``pool_pre_ping`` defaults to True).

    Returns
    -------
    Engine
        Every connection runs ``SET ROLE harta_<role>`` and records ``harta.role`` for the audit
        trail before it is first used.
    """
    switch = _switch_sql(role, local=False)
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(make_url(base_url), **kwargs)

    @event.listens_for(engine, "connect")
    def _act_as_role(dbapi_connection, connection_record) -> None:  # noqa: ANN001
        # Run outside a transaction so the pool's rollback cannot undo the switch.
        previous = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(switch)
                cursor.execute("SELECT set_config('harta.role', %s, false)", (role,))
                cursor.execute(
                    "SELECT set_config('harta.user_id', %s, false)",
                    ("" if user_id is None else str(int(user_id)),),
                )
        finally:
            dbapi_connection.autocommit = previous

    return engine


@contextmanager
def connect_as(engine: Engine, role: str, user_id: int | None = None) -> Iterator[Connection]:
    """One transaction on ``engine`` acting as ``role`` (and, when given, as ``user_id``).

    Parameters
    ----------
    engine : Engine
        Any engine whose login user is a member of ``harta_<role>``.
    role : str
        Application role, one of :data:`ROLES`.
    user_id : int, optional
        ``users.id`` of the account acting; see :func:`role_engine`.

    Yields
    ------
    Connection
        In a transaction that commits when the block ends without an error.
    """
    switch = _switch_sql(role, local=True)
    with engine.begin() as conn:
        conn.execute(text(switch))
        conn.execute(text("SELECT set_config('harta.role', :role, true)"), {"role": role})
        conn.execute(
            text("SELECT set_config('harta.user_id', :uid, true)"),
            {"uid": "" if user_id is None else str(int(user_id))},
        )
        yield conn


def current_role(conn: Connection) -> str:
    """The database role the connection currently acts as (``current_user``).

    Parameters
    ----------
    conn : Connection

    Returns
    -------
    str
        E.g. ``"harta_police"``, or the login's name when no role was assumed.
    """
    return conn.execute(text("SELECT current_user")).scalar_one()


def acting_role(bind: Engine | Connection) -> str:
    """The application role a connection acts in, as the database sees it.

    This is how a write learns who is writing: from the connection, never from a second
    ``role=`` argument that could disagree with it.  The answer comes from
    ``harta_acting_role()`` (migration 0004), which reads the ``SET ROLE`` of the session -- not
    the ``harta.role`` setting, which any caller may overwrite -- so it cannot be talked into a
    role the connection does not hold.

    Parameters
    ----------
    bind : Engine or Connection
        A connection acting as a role (:func:`role_engine`, :func:`connect_as`), or the owner's.

    Returns
    -------
    str
        One of :data:`geo.roles.ROLES`, or :data:`geo.roles.SYSTEM` for a connection that
        assumed no Harta role (the operator: migrations, bootstrap, CLI maintenance).
    """
    sql = text("SELECT harta_acting_role()")
    if isinstance(bind, Connection):
        role = bind.execute(sql).scalar_one()
    else:
        with bind.connect() as conn:
            role = conn.execute(sql).scalar_one()
    return role or SYSTEM


def ensure_roles(engine: Engine) -> None:
    """Create the group roles if missing (as migration 0002 does).

    Needed before restoring a backup into a new cluster, whose grants name these roles.

    Parameters
    ----------
    engine : Engine
        On a login allowed to create roles.
    """
    names = [db_role(r) for r in (*ROLES, AUTH_ROLE)]
    with engine.begin() as conn:
        existing = set(
            conn.execute(
                text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:n)"), {"n": names}
            ).scalars()
        )
        for name in names:
            if name not in existing:
                # ``name`` comes from the fixed allow-list above.
                conn.execute(text(f"CREATE ROLE {name} NOLOGIN"))
