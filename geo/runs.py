"""The run store: every stored analysis or plan is one row of ``analysis_runs``.

Hot spots today, and the planning capabilities (response network, Mobile Unit, housing sites)
next, store their runs here; ``kind`` names the analysis.  A run is started (:func:`start_run`:
its parameters and start time, so an interrupted run is never lost), then finished
(:func:`finish_run`: final parameters, input counts, exports and end time) or marked failed
(:func:`fail_run`).  Its exports live in :func:`run_dir` (``outputs_dir / f"run-{id}"``); the row
names them, and :func:`get_run`/:func:`list_runs` return only those that exist.

Who may see a run is decided by its **scope** -- what the inputs were:

``aggregated``  published counts only (anyone may see the run);
``exact``       exact points of non-sensitive incidents (mediators and police);
``all``         every incident, sensitive ones included (police).

The scope is a required argument of :func:`start_run`, stored as ``params["scope"]``, and the
database enforces it (migration 0004: row security on ``analysis_runs`` through
``harta_run_visible``, so a public connection neither reads nor writes an exact run).  A run that
reads no incident at all (a plan from street and facility data) is ``aggregated``.

The role a run was made in is read from the connection (``harta_acting_role()``, set by
:func:`geo.db.security.role_engine`), never passed beside it; the operator's own connection
(CLI, no role) is recorded as ``system``.

This module sits below analysis and planning (it imports only the database, settings and roles
layers), so both can store runs without importing each other.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo.roles import SYSTEM, analysis_scope
from geo.settings import get_settings


class Community(Protocol):
    """What the store reads of a :class:`geo.communities.Community`: its id (the store sits
    below the communities layer, so it names the attribute rather than importing the class)."""

    id: int


Scope = Literal["aggregated", "exact", "all"]
#: Every scope, widest last; a role may see runs whose scope ranks at most its own.
SCOPES: tuple[Scope, ...] = ("aggregated", "exact", "all")
SCOPE_RANK: dict[str, int] = {scope: rank for rank, scope in enumerate(SCOPES)}
#: A kind is a short lower-case name (the column is ``varchar(32)``).
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")

_INSERT = text(
    "INSERT INTO analysis_runs (kind, community_id, params, input_counts, outputs, started_at,"
    " created_by_role) VALUES (:kind, :community, CAST(:params AS jsonb), '{}'::jsonb,"
    " '{}'::jsonb, :started, COALESCE(harta_acting_role(), :system)) RETURNING id"
)
_FINISH = text(
    "UPDATE analysis_runs SET params = CAST(:params AS jsonb),"
    " input_counts = CAST(:counts AS jsonb), outputs = CAST(:outputs AS jsonb),"
    " finished_at = :finished WHERE id = :id AND finished_at IS NULL"
)
_COLUMNS = (
    "SELECT id, kind, community_id, params, input_counts, outputs, started_at, finished_at,"
    " created_by_role FROM analysis_runs"
)


class RunStoreError(ValueError):
    """A run the store refuses: unknown kind or scope, or a run already finished."""


@dataclass(frozen=True)
class StoredRun:
    """One row of ``analysis_runs`` as the store returns it.

    Attributes
    ----------
    id, kind, community_id : int, str, int
    scope : {"aggregated", "exact", "all"}
    params, input_counts : dict
    outputs : dict of str to Path
        Export name -> file, only those that exist.
    started_at, finished_at : datetime
        ``finished_at`` is None while the run is under way.
    created_by_role : str
        The role the run was made in (``system`` for the operator).
    """

    id: int
    kind: str
    community_id: int | None
    scope: str
    params: dict[str, Any]
    input_counts: dict[str, Any]
    outputs: dict[str, Path]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    created_by_role: str

    @property
    def seconds(self) -> float | None:
        """How long the run took (None while under way)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def failed(self) -> str | None:
        """The error that ended the run (see :func:`fail_run`), or None."""
        return self.params.get("failed")


def check_scope(scope: str) -> Scope:
    """``scope`` if it is one of :data:`SCOPES`.

    Parameters
    ----------
    scope : str

    Returns
    -------
    str

    Raises
    ------
    RunStoreError
        For anything else (an unknown scope would be visible to nobody, or to everybody).
    """
    if scope not in SCOPE_RANK:
        raise RunStoreError(f"unknown scope {scope!r}; expected one of {SCOPES}")
    return scope  # type: ignore[return-value]


def may_see(role: str, scope: str) -> bool:
    """Whether ``role`` may see a run of ``scope`` (the rule the database enforces).

    Parameters
    ----------
    role : str
        One of :data:`geo.roles.ROLES`, or ``system`` (the operator sees every run).
    scope : str

    Returns
    -------
    bool
    """
    if role == SYSTEM:
        return True
    return SCOPE_RANK.get(scope, len(SCOPES)) <= SCOPE_RANK[analysis_scope(role)]


def acting_role(bind: Engine | Connection) -> str:
    """The role a connection acts in (``harta.role`` via ``harta_acting_role()``).

    Parameters
    ----------
    bind : Engine or Connection

    Returns
    -------
    str
        One of :data:`geo.roles.ROLES`, or ``system`` for the operator's own connection.
    """
    sql = text("SELECT harta_acting_role()")
    if isinstance(bind, Connection):
        role = bind.execute(sql).scalar_one()
    else:
        with bind.connect() as conn:
            role = conn.execute(sql).scalar_one()
    return role or SYSTEM


def run_dir(run_id: int) -> Path:
    """Folder of a run's exports (created by whoever writes them).

    Parameters
    ----------
    run_id : int

    Returns
    -------
    Path
        ``get_settings().outputs_dir / f"run-{run_id}"``.
    """
    return get_settings().outputs_dir / f"run-{int(run_id)}"


def start_run(
    engine: Engine,
    kind: str,
    community: Community,
    *,
    scope: Scope,
    params: dict[str, Any],
    started_at: dt.datetime | None = None,
) -> int:
    """Record that a run began; returns its id.

    Parameters
    ----------
    engine : Engine
        Acting as the role that runs it (the database checks that the role may store ``scope``).
    kind : str
        What ran, e.g. ``"hotspots"``, ``"response_network"``.
    community : Community
        The community analysed.
    scope : {"aggregated", "exact", "all"}
        What the inputs were; decides who may see the run (module docstring).
    params : dict
        Parameters known at the start (JSON-serialisable; others are stored as text).
        ``params["scope"]`` is set to ``scope``.
    started_at : datetime, optional
        Default now (UTC).

    Returns
    -------
    int
        ``analysis_runs.id``.

    Raises
    ------
    RunStoreError
        For a malformed kind, an unknown scope, or ``params["scope"]`` disagreeing with it.
    """
    if not _KIND.fullmatch(kind):
        raise RunStoreError(f"kind must be a short lower-case name, not {kind!r}")
    check_scope(scope)
    if params.get("scope", scope) != scope:
        raise RunStoreError(f"params say scope {params['scope']!r}, the run {scope!r}")
    with engine.begin() as conn:
        return int(
            conn.execute(
                _INSERT,
                {
                    "kind": kind,
                    "community": int(community.id),
                    "params": _json({**params, "scope": scope}),
                    "started": started_at or dt.datetime.now(dt.UTC),
                    "system": SYSTEM,
                },
            ).scalar_one()
        )


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    params: dict[str, Any],
    input_counts: dict[str, Any],
    outputs: dict[str, Path] | None = None,
) -> dt.datetime:
    """Record the end of a run: final parameters, input counts, exports, end time.

    Parameters
    ----------
    engine : Engine
        Acting as the role that started it.
    run_id : int
    params : dict
        Final parameters (the scope cannot change: it is taken from the stored row's).
    input_counts : dict
        How many rows each step kept.
    outputs : dict of str to Path, optional
        Export name -> file inside :func:`run_dir`; stored as file names.

    Returns
    -------
    datetime
        The end time (UTC).

    Raises
    ------
    RunStoreError
        When the run does not exist, is not visible to the connection, or already ended.
    """
    finished = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        scope = conn.execute(
            text("SELECT params ->> 'scope' FROM analysis_runs WHERE id = :id"), {"id": run_id}
        ).scalar_one_or_none()
        done = conn.execute(
            _FINISH,
            {
                "id": int(run_id),
                "params": _json({**params, "scope": scope}),
                "counts": _json(input_counts),
                "outputs": json.dumps({k: Path(p).name for k, p in (outputs or {}).items()}),
                "finished": finished,
            },
        ).rowcount
    if done != 1:
        raise RunStoreError(f"run {run_id} does not exist, is not yours or has already ended")
    return finished


def fail_run(
    engine: Engine,
    run_id: int,
    error: BaseException,
    *,
    params: dict[str, Any],
    input_counts: dict[str, Any] | None = None,
) -> dt.datetime:
    """Finish a run that raised: ``params["failed"]`` names the error, no exports.

    Parameters
    ----------
    engine : Engine
    run_id : int
    error : BaseException
        What ended the run (only its type name is stored: messages may quote data).
    params : dict
    input_counts : dict, optional

    Returns
    -------
    datetime
    """
    return finish_run(
        engine,
        run_id,
        params={**params, "failed": type(error).__name__},
        input_counts=input_counts or {},
    )


def get_run(bind: Engine | Connection, run_id: int) -> StoredRun | None:
    """The run ``run_id``, if the connection may see it.

    Parameters
    ----------
    bind : Engine or Connection
    run_id : int

    Returns
    -------
    StoredRun or None
        None when it does not exist or row security hides it.
    """
    rows = _select(bind, f"{_COLUMNS} WHERE id = :id", {"id": int(run_id)})
    return rows[0] if rows else None


def list_runs(
    bind: Engine | Connection,
    community: Community,
    kind: str,
    *,
    limit: int = 20,
    finished_only: bool = True,
) -> list[StoredRun]:
    """Runs of ``kind`` for ``community`` that the connection may see, newest first.

    Parameters
    ----------
    bind : Engine or Connection
        Acting as the reader's role: the database hides runs it may not see, and so does this
        function (:func:`may_see`), should it be given the operator's connection by mistake
        and a role in the connection's settings.
    community : Community
    kind : str
    limit : int
    finished_only : bool
        Leave out runs still under way.

    Returns
    -------
    list of StoredRun
    """
    sql = f"{_COLUMNS} WHERE community_id = :c AND kind = :kind"
    if finished_only:
        sql += " AND finished_at IS NOT NULL"
    sql += " ORDER BY started_at DESC, id DESC"
    role = acting_role(bind)
    rows = _select(bind, sql, {"c": int(community.id), "kind": kind})
    return [run for run in rows if may_see(role, run.scope)][: int(limit)]


def _select(bind: Engine | Connection, sql: str, params: dict[str, Any]) -> list[StoredRun]:
    if isinstance(bind, Connection):
        rows = bind.execute(text(sql), params).mappings().all()
    else:
        with bind.connect() as conn:
            rows = conn.execute(text(sql), params).mappings().all()
    return [_stored(row) for row in rows]


def _stored(row: Any) -> StoredRun:
    folder = run_dir(row["id"])
    outputs = {
        # Only a file name is ever stored; .name again so a forged row cannot point elsewhere.
        name: folder / Path(filename).name
        for name, filename in (row["outputs"] or {}).items()
        if (folder / Path(filename).name).is_file()
    }
    params = dict(row["params"] or {})
    return StoredRun(
        id=int(row["id"]),
        kind=row["kind"],
        community_id=row["community_id"],
        scope=params.get("scope", "all"),
        params=params,
        input_counts=dict(row["input_counts"] or {}),
        outputs=outputs,
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        created_by_role=row["created_by_role"],
    )


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
