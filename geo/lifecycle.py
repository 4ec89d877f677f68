"""What happens to personal data over time: access records, consent withdrawal, retention,
backups.

* :func:`record_access` writes who looked at exact locations or narratives, and who exported,
  to the append-only ``access_log``.
* :func:`withdraw_contribution` removes a risk zone or an incident whose contributor withdrew
  consent: the row is deleted (so it vanishes from every map, analysis and export that reads the
  layer) and its audit history is redacted to ``{"id", "community_id", "redacted": true}`` --
  the trail still shows *that* a row existed and was removed, by which role and when, but no
  longer what it said or where it was.
* :func:`purge_incidents` deletes incidents older than the retention period, redacts their
  audit history the same way and records the purge (counts only) in ``purge_log``.
* :func:`backup` / :func:`restore` run ``pg_dump -Fc`` / ``pg_restore``.  A backup holds every
  incident in clear: it is written with mode 0600 and must be stored encrypted.

Withdrawal and purge run in the database as SECURITY DEFINER functions that only ``harta_admin``
may execute; these functions act as ``role`` (default ``admin``), so the database, not this
module, decides whether the caller may.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ProgrammingError

from geo.db.security import ROLES, connect_as, ensure_roles

#: What ``access_log.action`` may say.
ACTIONS = ("view_exact", "view_narrative", "export", "withdraw", "purge", "backup", "restore")
#: Layers a contributor can withdraw from.
WITHDRAWABLE = ("risk_zones", "incidents")
#: Keys allowed in an access record's ``detail``: identifiers and counts, never content,
#: coordinates, free text or credentials.
DETAIL_KEYS = frozenset(
    {
        "community",
        "community_id",
        "layer",
        "format",
        "rows",
        "count",
        "table",
        "row_id",
        "row_ids",
        "file",
        "page",
        "cell_m",
        "threshold",
        "date_from",
        "date_to",
        "types",
        "reason",
    }
)
MAX_DETAIL_TEXT = 200
MAX_DETAIL_ITEMS = 5000
PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


class LifecycleError(RuntimeError):
    """A lifecycle operation failed.  ``key`` is the i18n key of the reason."""

    def __init__(self, key: str, detail: str = "", **params: object) -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.params = params


def _check_scalar(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) > MAX_DETAIL_TEXT:
            raise ValueError(f"access detail {key!r} is too long")
        return value
    raise ValueError(f"access detail {key!r} has an unsupported type")


def clean_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Validate an access record's ``detail``: allowed keys, small scalar values only.

    ``file`` keeps only the file name (directories may carry personal paths).

    Raises
    ------
    ValueError
        For a key outside :data:`DETAIL_KEYS` or a value that is not a scalar or a short list of
        scalars.
    """
    out: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if key not in DETAIL_KEYS:
            raise ValueError(f"access detail key {key!r} is not allowed")
        if isinstance(value, list | tuple | set | frozenset):
            if len(value) > MAX_DETAIL_ITEMS:
                raise ValueError(f"access detail {key!r} has too many items")
            out[key] = [_check_scalar(key, v) for v in value]
        elif key == "file" and isinstance(value, str | os.PathLike):
            out[key] = _check_scalar(key, Path(value).name)
        else:
            out[key] = _check_scalar(key, value)
    return out


def _insert_access(
    conn: Connection, user: str | None, role: str, action: str, detail: dict[str, Any]
) -> None:
    # No RETURNING: only admin may read access_log, and writing must not need reading.
    conn.execute(
        text(
            "INSERT INTO access_log (username, role, action, detail)"
            " VALUES (:u, :r, :a, CAST(:d AS jsonb))"
        ),
        {"u": user, "r": role, "a": action, "d": json.dumps(detail)},
    )


def record_access(
    engine: Engine,
    user: str | None,
    role: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one record to ``access_log``.

    Parameters
    ----------
    engine : Engine
        Database; the record is written acting as ``role`` (every role may append, only
        ``admin`` may read the log).
    user : str or None
        Username of the person, None for the system.
    role : str
        Role they acted as (:data:`geo.db.security.ROLES`, or ``"system"``).
    action : str
        One of :data:`ACTIONS`.
    detail : dict, optional
        What was viewed or exported: ids and counts (see :func:`clean_detail`).

    Raises
    ------
    ValueError
        Unknown action or role, or a detail that could carry content (:func:`clean_detail`).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
    cleaned = clean_detail(detail)
    if role == "system":
        with engine.begin() as conn:
            _insert_access(conn, user, role, action, cleaned)
        return
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    with connect_as(engine, role) as conn:
        _insert_access(conn, user, role, action, cleaned)


def _denied(exc: ProgrammingError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "42501"


def withdraw_contribution(
    engine: Engine, table: str, row_id: int, role: str = "admin", user: str | None = None
) -> bool:
    """Remove a contribution whose contributor withdrew consent.

    Parameters
    ----------
    engine : Engine
        Database.
    table : {"risk_zones", "incidents"}
        Layer of the contribution.
    row_id : int
        Its id.
    role : str
        Role carrying out the withdrawal (only ``admin`` is allowed by the database).
    user : str, optional
        Username recorded in ``access_log``.

    Returns
    -------
    bool
        True when a row was removed, False when it no longer existed (its history is redacted
        either way).

    Raises
    ------
    PermissionError
        When ``role`` may not withdraw contributions.
    """
    if table not in WITHDRAWABLE:
        raise ValueError(f"cannot withdraw from {table!r}; expected one of {WITHDRAWABLE}")
    try:
        with connect_as(engine, role) as conn:
            removed = conn.execute(
                text("SELECT harta_withdraw(:t, :i)"), {"t": table, "i": int(row_id)}
            ).scalar_one()
            _insert_access(conn, user, role, "withdraw", {"table": table, "row_id": int(row_id)})
    except ProgrammingError as exc:
        if _denied(exc):
            raise PermissionError(f"role {role!r} may not withdraw contributions") from None
        raise
    return bool(removed)


@dataclass(frozen=True)
class PurgeResult:
    """Outcome of :func:`purge_incidents`: ``purge_log`` id, rows deleted and the cutoff."""

    log_id: int
    rows_deleted: int
    cutoff: dt.datetime


def purge_incidents(
    engine: Engine,
    older_than_days: int,
    now: dt.datetime | None = None,
    role: str = "admin",
) -> PurgeResult:
    """Delete incidents that occurred more than ``older_than_days`` days before ``now``.

    Parameters
    ----------
    engine : Engine
        Database.
    older_than_days : int
        Retention period in days (at least 1).
    now : datetime, optional
        Reference time (timezone-aware); default the current time.
    role : str
        Role running the purge (only ``admin`` is allowed by the database).

    Returns
    -------
    PurgeResult
    """
    if int(older_than_days) != older_than_days or older_than_days < 1:
        raise ValueError("older_than_days must be a whole number of days, at least 1")
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cutoff = now - dt.timedelta(days=int(older_than_days))
    try:
        with connect_as(engine, role) as conn:
            log_id = conn.execute(
                text("SELECT harta_purge_incidents(:c, :d)"),
                {"c": cutoff, "d": int(older_than_days)},
            ).scalar_one()
            deleted = conn.execute(
                text("SELECT rows_deleted FROM purge_log WHERE id = :i"), {"i": log_id}
            ).scalar_one()
    except ProgrammingError as exc:
        if _denied(exc):
            raise PermissionError(f"role {role!r} may not purge incidents") from None
        raise
    return PurgeResult(log_id=log_id, rows_deleted=deleted, cutoff=cutoff)


def _pg_tool(name: str) -> str:
    for folder in PG_BIN_CANDIDATES:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise LifecycleError("security.backup.tool_missing", tool=name)
    return found


def _libpq_args(engine_url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes in the environment."""
    url = make_url(engine_url)
    args: list[str] = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", url.database or "postgres"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    sslmode = url.query.get("sslmode")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    return args, env


def _run(cmd: list[str], env: dict[str, str], key: str, **kwargs: Any) -> None:
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    done = subprocess.run(cmd, env=env, stderr=subprocess.PIPE, check=False, **kwargs)
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace") if done.stderr else ""
        raise LifecycleError(key, stderr.strip()[-2000:])


def backup(engine_url: str, path: str | os.PathLike) -> Path:
    """Dump the whole database to ``path`` in pg_dump's custom format.

    The file is written beside ``path`` first and renamed when complete, with mode 0600.
    The backup is recorded in ``access_log`` (file name only).

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    args, env = _libpq_args(engine_url)
    fd, partial = tempfile.mkstemp(prefix=".harta-backup-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            _run(
                [_pg_tool("pg_dump"), "--format=custom", "--no-password", *args],
                env,
                "security.backup.failed",
                stdout=out,
            )
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    _record_system(engine_url, "backup", {"file": target.name})
    return target


def restore(engine_url: str, path: str | os.PathLike, clean: bool = False) -> None:
    """Restore a :func:`backup` into the database at ``engine_url``, all or nothing.

    Parameters
    ----------
    engine_url : str
        Target database: empty, or holding a Harta schema when ``clean`` is True.
    path : path-like
        File written by :func:`backup`.
    clean : bool
        Drop the objects in the backup from the target before recreating them.

    Notes
    -----
    The group roles are created first if the cluster lacks them (grants name them).  The restore
    runs in a single transaction and stops at the first error, leaving the target unchanged.
    """
    source = Path(path)
    if not source.is_file():
        raise LifecycleError("security.backup.missing", file=source.name)
    engine = create_engine(engine_url)
    try:
        ensure_roles(engine)
    finally:
        engine.dispose()
    args, env = _libpq_args(engine_url)
    cmd = [
        _pg_tool("pg_restore"),
        "--no-password",
        "--single-transaction",
        "--exit-on-error",
        *(["--clean", "--if-exists"] if clean else []),
        *args,
        str(source),
    ]
    _run(cmd, env, "security.restore.failed")
    _record_system(engine_url, "restore", {"file": source.name})


def _record_system(engine_url: str, action: str, detail: dict[str, Any]) -> None:
    engine = create_engine(engine_url)
    try:
        record_access(engine, None, "system", action, detail)
    finally:
        engine.dispose()
