"""Engines and connections: the embedded cluster by default, ``DATABASE_URL`` when set."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection

from geo.db.local import LocalCluster
from geo.roles import SYSTEM, check_role
from geo.settings import get_settings


def database_url(start_local: bool = True) -> str:
    """URL of the database Harta uses.

    Parameters
    ----------
    start_local : bool
        Start the embedded cluster when no ``DATABASE_URL`` is configured.

    Returns
    -------
    str
        The URL, password included (the embedded cluster's comes from its 0600 password
        file): pass it to engines and tools, never print or log it.
    """
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    cluster = LocalCluster.from_settings(settings)
    if start_local:
        cluster.start()
    return cluster.url()


@cache
def _engine_for(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, future=True)


def get_engine(url: str | None = None) -> Engine:
    """A cached engine (the owner's login: no role assumed) for ``url`` or the configured database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default :func:`database_url` (starting the embedded cluster if needed).

    Returns
    -------
    Engine
        One per URL for the life of the process, with ``pool_pre_ping``.
    """
    return _engine_for(url or database_url())


def set_app_role(conn: Connection, role: str) -> None:
    """Record the application role on this transaction (read by the audit triggers).

    For the operator's own connections only (``system``: bootstrap, demo data, CLI maintenance).
    A connection acting as a role (:func:`geo.db.security.role_engine`,
    :func:`geo.db.security.connect_as`) already records its role; code writing through one reads
    it back with :func:`geo.db.security.acting_role` instead of taking a ``role=`` argument.

    Parameters
    ----------
    conn : Connection
        In a transaction (the setting lasts until it ends).
    role : str
        :data:`geo.roles.SYSTEM` or one of :data:`geo.roles.ROLES`.

    Raises
    ------
    ValueError
        For any other value.
    """
    if role != SYSTEM:
        check_role(role)
    conn.execute(text("SELECT set_config('harta.role', :role, true)"), {"role": role})


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent read-only database calls at the same time; return their results in order.

    Each call takes its own connection from its engine's pool, so the server works on them in
    parallel (a published hot spot run's four aggregate reads: 1.8-2.1 s one after another,
    1.1-1.2 s together at 100,000 incidents on two cores).  Only for calls that read and
    share nothing: each is its own transaction, so they must not depend on each other's
    writes or on one snapshot.

    Parameters
    ----------
    *calls : callable
        Taking no argument.

    Returns
    -------
    list
        ``[call() for call in calls]``.  If calls raise, the exception of the first of them
        (in the order given) is raised here, once every call has ended.
    """
    if len(calls) < 2:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="harta-db") as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]
