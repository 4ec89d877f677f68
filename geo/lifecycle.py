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

Withdrawal and purge run in the database as SECURITY DEFINER functions (migration 0004) that
check the connection's role *and account* themselves -- admin, police or mediators in their
communities, or the operator (the owner's own connection) -- so the database, not this module,
decides whether the caller may.  Withdrawn and purged rows leave a tombstone: re-importing the
source file never brings them back.
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

from geo.db.security import ensure_roles

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

    Parameters
    ----------
    detail : dict or None
        The detail to record; None records an empty one.

    Returns
    -------
    dict
        A new dict with the same keys.

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


def _log(conn: Connection, action: str, detail: dict[str, Any]) -> None:
    # harta_log_access stamps the time, the account and the role from the connection itself;
    # app roles cannot INSERT into access_log directly (migration 0004).
    conn.execute(
        text("SELECT harta_log_access(:a, CAST(:d AS jsonb))"),
        {"a": action, "d": json.dumps(detail)},
    )


def record_access(
    bind: Engine | Connection, action: str, detail: dict[str, Any] | None = None
) -> None:
    """Append one record to ``access_log``, as whoever the connection acts for.

    Parameters
    ----------
    bind : Engine or Connection
        A role engine (:func:`geo.db.security.role_engine`) or a connection from
        :func:`geo.db.security.connect_as`: the database records its role and its account (the
        username of a valid ``harta.user_id``, none for ``public``).  The owner's own engine is
        recorded as ``system`` (the operator's command line, backups).
    action : str
        One of :data:`ACTIONS`.
    detail : dict, optional
        What was viewed or exported: ids and counts (see :func:`clean_detail`).

    Raises
    ------
    ValueError
        Unknown action, or a detail that could carry content (:func:`clean_detail`).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
    cleaned = clean_detail(detail)
    if isinstance(bind, Connection):
        _log(bind, action, cleaned)
        return
    with bind.begin() as conn:
        _log(conn, action, cleaned)


def _denied(exc: ProgrammingError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "42501"


def withdraw_contribution(engine: Engine, table: str, row_id: int) -> bool:
    """Remove a contribution whose contributor withdrew consent; it can never come back.

    The database function ``harta_withdraw`` deletes the row, keeps a tombstone of it (so
    re-importing the source file skips it), redacts its audit history and writes the
    ``withdraw`` access record with the caller's account.  Who may: admin (any risk zone or
    incident), police (incidents in their communities), mediators (non-sensitive incidents in
    their communities), and the operator (the owner's engine).

    Parameters
    ----------
    engine : Engine
        A role engine acting for the signed-in account
        (``geo.db.security.role_engine(url, role, user_id)``), or the owner's engine (operator).
        The role and the account come from the connection, never from arguments.
    table : {"risk_zones", "incidents"}
        Layer of the contribution.
    row_id : int
        Its id.

    Returns
    -------
    bool
        True when a row was removed; False when it does not exist or is outside what the caller
        may see (the database answers both the same way, so ids cannot be probed).

    Raises
    ------
    PermissionError
        When the caller may not withdraw from ``table`` (wrong role, or no valid account).
    """
    if table not in WITHDRAWABLE:
        raise ValueError(f"cannot withdraw from {table!r}; expected one of {WITHDRAWABLE}")
    try:
        with engine.begin() as conn:
            removed = conn.execute(
                text("SELECT harta_withdraw(:t, :i)"), {"t": table, "i": int(row_id)}
            ).scalar_one()
    except ProgrammingError as exc:
        if _denied(exc):
            raise PermissionError("this account may not withdraw contributions") from None
        raise
    return bool(removed)


@dataclass(frozen=True)
class PurgeResult:
    """Outcome of :func:`purge_incidents`: ``purge_log`` id, rows deleted and the cutoff."""

    log_id: int
    rows_deleted: int
    cutoff: dt.datetime


def purge_incidents(engine: Engine, older_than_days: int) -> PurgeResult:
    """Delete incidents that occurred more than ``older_than_days`` days ago.

    The database derives the cutoff from the days (``harta_purge_incidents(days)``), so the
    ``purge_log`` record always says what was actually deleted; purged rows are tombstoned and
    their audit history redacted.

    Parameters
    ----------
    engine : Engine
        The owner's engine (operator, e.g. cron) or a role engine of a valid admin account.
    older_than_days : int
        Retention period in days (at least 1).

    Returns
    -------
    PurgeResult

    Raises
    ------
    PermissionError
        When the caller is neither the operator nor a valid admin account.
    """
    if int(older_than_days) != older_than_days or older_than_days < 1:
        raise ValueError("older_than_days must be a whole number of days, at least 1")
    try:
        with engine.begin() as conn:
            log_id = conn.execute(
                text("SELECT harta_purge_incidents(:d)"), {"d": int(older_than_days)}
            ).scalar_one()
            deleted, cutoff = conn.execute(
                text("SELECT rows_deleted, cutoff FROM purge_log WHERE id = :i"), {"i": log_id}
            ).one()
    except ProgrammingError as exc:
        if _denied(exc):
            raise PermissionError("this account may not purge incidents") from None
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

    Parameters
    ----------
    engine_url : str
        SQLAlchemy URL of the database to dump.
    path : str or os.PathLike
        Backup file to write; its folder is created if missing.

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
        record_access(engine, action, detail)
    finally:
        engine.dispose()
