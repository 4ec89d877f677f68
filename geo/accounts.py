"""User accounts: creation, passwords (argon2id), sign-in with lockout, community scope.

Passwords are hashed with argon2id (:mod:`argon2`) and never stored, logged, or put in an
exception message.  Sign-in takes about the same time whether the user exists or not (an unknown
name is checked against a dummy hash) and the hash comparison is constant-time.

After :data:`MAX_FAILED_LOGINS` consecutive wrong passwords the account is locked for
:data:`LOCKOUT` -- during which even the right password is refused, so the lock cannot be used
to test guesses -- and an administrator can unlock it with :func:`set_password` or
:func:`unlock`.

The functions take an :class:`~sqlalchemy.Engine`.  Account management (create, list,
deactivate, scope) must run with an engine that may write ``users``: the owner's, or one acting
as ``admin`` (:func:`geo.db.security.role_engine`).  :func:`authenticate` switches its own
transaction to the internal ``harta_auth`` role, which is the only role allowed to read password
hashes, so it works from any engine whose login may assume that role.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from geo.db.security import AUTH_ROLE, ROLES, connect_as

#: Consecutive failures after which an account is locked.
MAX_FAILED_LOGINS = 5
#: How long a locked account stays locked.
LOCKOUT = dt.timedelta(minutes=15)
#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 10
#: A session ends after this long without activity ...
IDLE_TIMEOUT = dt.timedelta(minutes=30)
#: ... and in any case this long after sign-in.
ABSOLUTE_TIMEOUT = dt.timedelta(hours=8)

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that case costs the same time.
_DUMMY_HASH = _hasher.hash("harta-dummy-password-never-valid")


class AccountError(ValueError):
    """An account operation was refused.  ``key`` is the i18n key of the reason."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class User:
    """An account, without its password hash.

    Attributes
    ----------
    id : int
    username : str
    role : str
        One of :data:`geo.db.security.ROLES`.
    active : bool
    communities : tuple of int
        Ids of the communities the account may work on; empty means none.
    """

    id: int
    username: str
    role: str
    active: bool
    communities: tuple[int, ...] = ()
    created_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None
    failed_logins: int = 0
    locked_until: dt.datetime | None = None


@dataclass(frozen=True)
class AuthResult:
    """Outcome of :func:`authenticate`.

    Attributes
    ----------
    ok : bool
    reason : {"ok", "invalid", "locked"}
        ``invalid`` covers unknown users, wrong passwords and deactivated accounts alike.
    user : User or None
        Set when ``ok``.
    message_key : str
        i18n key of what to tell the person (:mod:`geo.i18n`).
    """

    ok: bool
    reason: str
    user: User | None = None
    message_key: str = field(default="security.login.failed")


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored stripped and lower-case."""
    return username.strip().lower()


def _check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise AccountError("security.account.bad_username")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("security.account.bad_role", role=role)
    return role


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` after checking the password policy.

    Raises
    ------
    AccountError
        ``security.password.too_short`` when shorter than :data:`MIN_PASSWORD_LENGTH`.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("security.password.too_short", min=MIN_PASSWORD_LENGTH)
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    communities: Iterable[int] = (),
) -> User:
    """Create an account.

    Parameters
    ----------
    engine : Engine
        Allowed to write ``users`` (owner or ``admin``).
    username : str
        3-64 characters ``a-z 0-9 . _ -``; case-insensitive.
    password : str
        At least :data:`MIN_PASSWORD_LENGTH` characters.
    role : str
        One of :data:`geo.db.security.ROLES`.
    communities : iterable of int
        Community ids the account is scoped to.

    Returns
    -------
    User

    Raises
    ------
    AccountError
        Bad username, role or password, or the username is taken.
    """
    name = _check_username(username)
    _check_role(role)
    password_hash = hash_password(password)
    try:
        with engine.begin() as conn:
            user_id = conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role) VALUES (:u, :h, :r)"
                    " RETURNING id"
                ),
                {"u": name, "h": password_hash, "r": role},
            ).scalar_one()
            _replace_communities(conn, user_id, communities)
    except IntegrityError as exc:
        if "users_username_key" in str(exc.orig):
            raise AccountError("security.account.exists", username=name) from None
        raise
    return get_user(engine, name)


def _replace_communities(conn, user_id: int, communities: Iterable[int]) -> None:  # noqa: ANN001
    conn.execute(text("DELETE FROM user_communities WHERE user_id = :u"), {"u": user_id})
    rows = [{"u": user_id, "c": int(c)} for c in sorted(set(communities))]
    if rows:
        conn.execute(
            text("INSERT INTO user_communities (user_id, community_id) VALUES (:u, :c)"), rows
        )


_USER_COLUMNS = (
    "u.id, u.username, u.role, u.active, u.created_at, u.last_login_at, u.failed_logins,"
    " u.locked_until, COALESCE((SELECT array_agg(uc.community_id ORDER BY uc.community_id)"
    " FROM user_communities uc WHERE uc.user_id = u.id), '{}') AS communities"
)


def _user(row) -> User:  # noqa: ANN001
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        active=row.active,
        communities=tuple(row.communities),
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
    )


def get_user(engine: Engine, username: str) -> User:
    """One account by name.

    Raises
    ------
    AccountError
        ``security.account.unknown`` when there is none.
    """
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username = :u"),
            {"u": normalise_username(username)},
        ).one_or_none()
    if row is None:
        raise AccountError("security.account.unknown")
    return _user(row)


def list_users(engine: Engine, include_inactive: bool = True) -> list[User]:
    """Every account, ordered by username (never with password hashes)."""
    where = "" if include_inactive else " WHERE u.active"
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {_USER_COLUMNS} FROM users u{where} ORDER BY u.username"))
        return [_user(r) for r in rows]


def _update_one(engine: Engine, sql: str, params: dict) -> None:
    with engine.begin() as conn:
        done = conn.execute(text(sql), params)
        if done.rowcount != 1:
            raise AccountError("security.account.unknown")


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace a password; also clears failures and any lock."""
    _update_one(
        engine,
        "UPDATE users SET password_hash = :h, password_changed_at = now(), failed_logins = 0,"
        " locked_until = NULL WHERE username = :u",
        {"h": hash_password(password), "u": normalise_username(username)},
    )


def unlock(engine: Engine, username: str) -> None:
    """Clear the failure count and lock of an account."""
    _update_one(
        engine,
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = :u",
        {"u": normalise_username(username)},
    )


def deactivate(engine: Engine, username: str) -> None:
    """Disable an account (kept for the record; it can no longer sign in)."""
    _update_one(
        engine,
        "UPDATE users SET active = false WHERE username = :u",
        {"u": normalise_username(username)},
    )


def reactivate(engine: Engine, username: str) -> None:
    """Enable a deactivated account again."""
    _update_one(
        engine,
        "UPDATE users SET active = true WHERE username = :u",
        {"u": normalise_username(username)},
    )


def set_role(engine: Engine, username: str, role: str) -> None:
    """Change the role of an account."""
    _update_one(
        engine,
        "UPDATE users SET role = :r WHERE username = :u",
        {"r": _check_role(role), "u": normalise_username(username)},
    )


def set_communities(engine: Engine, username: str, communities: Iterable[int]) -> None:
    """Scope an account to exactly ``communities`` (ids)."""
    user = get_user(engine, username)
    with engine.begin() as conn:
        _replace_communities(conn, user.id, communities)


def may_access_community(user: User, community_id: int, parent_id: int | None = None) -> bool:
    """Whether ``user`` is scoped to a community (or to its parent, for a settlement).

    Pure function; the app applies it before showing any layer of a community.
    """
    scope = set(user.communities)
    return community_id in scope or (parent_id is not None and parent_id in scope)


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    now: dt.datetime | None = None,
    max_failures: int = MAX_FAILED_LOGINS,
    lockout: dt.timedelta = LOCKOUT,
) -> AuthResult:
    """Check a username and password.

    Parameters
    ----------
    engine : Engine
        Its login must be able to assume ``harta_auth``.
    username, password : str
        As typed.  Neither is logged; the password is not kept.
    now : datetime, optional
        Current time (UTC); for tests.
    max_failures : int
        Consecutive failures that lock the account.
    lockout : timedelta
        How long it stays locked.

    Returns
    -------
    AuthResult
        ``ok`` with the :class:`User` on success; otherwise ``invalid`` or ``locked``.
    """
    now = now or dt.datetime.now(dt.UTC)
    name = normalise_username(username)
    with connect_as(engine, AUTH_ROLE) as conn:
        row = conn.execute(
            text(
                "SELECT id, password_hash, role, active, failed_logins, locked_until FROM users"
                " WHERE username = :u FOR UPDATE"
            ),
            {"u": name},
        ).one_or_none()
        if row is None:
            _verify(_DUMMY_HASH, password)
            return AuthResult(False, "invalid")
        if row.locked_until is not None and row.locked_until > now:
            _verify(_DUMMY_HASH, password)
            return AuthResult(False, "locked", message_key="security.login.locked")
        if not _verify(row.password_hash, password) or not row.active:
            failures = row.failed_logins + 1
            locked_until = now + lockout if failures >= max_failures else None
            conn.execute(
                text("UPDATE users SET failed_logins = :f, locked_until = :l WHERE id = :i"),
                {"f": failures, "l": locked_until, "i": row.id},
            )
            if locked_until is not None:
                return AuthResult(False, "locked", message_key="security.login.locked")
            return AuthResult(False, "invalid")
        params = {"i": row.id, "now": now}
        rehash = ""
        if _hasher.check_needs_rehash(row.password_hash):
            rehash = ", password_hash = :h"
            params["h"] = _hasher.hash(password)
        conn.execute(
            text(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = :now"
                f"{rehash} WHERE id = :i"
            ),
            params,
        )
        communities = conn.execute(
            text(
                "SELECT community_id FROM user_communities WHERE user_id = :i ORDER BY community_id"
            ),
            {"i": row.id},
        ).scalars()
        user = User(
            id=row.id,
            username=name,
            role=row.role,
            active=True,
            communities=tuple(communities),
            last_login_at=now,
        )
    return AuthResult(True, "ok", user=user, message_key="security.login.ok")


def session_expired(
    signed_in_at: dt.datetime,
    last_seen_at: dt.datetime,
    now: dt.datetime,
    idle: dt.timedelta = IDLE_TIMEOUT,
    absolute: dt.timedelta = ABSOLUTE_TIMEOUT,
) -> bool:
    """Whether a session must end: idle too long, or signed in too long ago.

    Pure function on timestamps (all timezone-aware, or all naive).

    Parameters
    ----------
    signed_in_at : datetime
        When the person signed in.
    last_seen_at : datetime
        Their last request.
    now : datetime
        Current time.
    idle, absolute : timedelta
        Limits (:data:`IDLE_TIMEOUT`, :data:`ABSOLUTE_TIMEOUT`).

    Returns
    -------
    bool
        True when ``now - last_seen_at >= idle`` or ``now - signed_in_at >= absolute``, or when
        the timestamps are inconsistent (in the future).
    """
    if last_seen_at > now or signed_in_at > now or last_seen_at < signed_in_at:
        return True
    return now - last_seen_at >= idle or now - signed_in_at >= absolute
