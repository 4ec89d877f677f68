"""User accounts: creation, passwords (argon2id), sign-in with throttling, community scope.

Passwords are hashed with argon2id (:mod:`argon2`) and never stored, logged, or put in an
exception message.

Sign-in that cannot be used to enumerate or to lock people out
--------------------------------------------------------------
:func:`authenticate` answers every refusal -- unknown name, wrong password, deactivated or
locked account, too many attempts -- with the same :class:`AuthResult` (reason ``refused``, one
message key) after the same work: exactly one argon2 verification (against a dummy hash when
there is no account) and the same ``UPDATE`` statement (which touches no row for an unknown
name).  Nothing in the answer or its timing class says whether the name exists.

Guessing is slowed by :class:`geo.signin.SignInThrottle`, keyed by *(source, username)*: the first
:data:`FREE_FAILURES` failures from a source cost nothing; after that each further attempt from
that source for that name is checked only once a growing delay (doubling from
:data:`FIRST_DELAY`, at most :data:`MAX_DELAY`) has passed, and attempts inside the delay are
refused unchecked (same answer).  There is no account-wide lock any more: wrong passwords typed
elsewhere never keep the real user out, and the right password after the delay always opens.
``users.locked_until`` is honoured (an administrator can set it) but never set by failures;
``users.failed_logins`` counts failures for the administrator to see.

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

from geo.db.security import AUTH_ROLE, connect_as
from geo.errors import HartaError
from geo.roles import ROLES

# The in-memory half of signing in lives in geo.signin; these names stay importable from here.
from geo.signin import (  # noqa: F401
    ABSOLUTE_TIMEOUT,
    FIRST_DELAY,
    FREE_FAILURES,
    IDLE_TIMEOUT,
    MAX_DELAY,
    MAX_THROTTLE_ENTRIES,
    SignInThrottle,
    session_expired,
)

#: The one message of every refused sign-in.
REFUSED_KEY = "account.sign_in_failed"
#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 10

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that case costs the same time.
_DUMMY_HASH = _hasher.hash("harta-dummy-password-never-valid")


class AccountError(HartaError, ValueError):
    """An account operation was refused; ``message(lang)`` says why (``key``, ``params``)."""


@dataclass(frozen=True)
class User:
    """An account, without its password hash.

    Attributes
    ----------
    id : int
    username : str
    role : str
        One of :data:`geo.roles.ROLES`.
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
    reason : {"ok", "refused"}
        ``refused`` covers unknown users, wrong passwords, deactivated or locked accounts and
        throttled attempts alike: the caller cannot tell them apart, nor can the person.
    user : User or None
        Set when ``ok``.
    message_key : str
        i18n key of what to tell the person (:mod:`geo.i18n`).
    """

    ok: bool
    reason: str
    user: User | None = None
    message_key: str = field(default=REFUSED_KEY)


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored stripped and lower-case.

    Parameters
    ----------
    username : str

    Returns
    -------
    str
    """
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

    Parameters
    ----------
    password : str

    Returns
    -------
    str
        ``$argon2id$...`` (the only form ``users.password_hash`` accepts).

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
        One of :data:`geo.roles.ROLES`.
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

    Parameters
    ----------
    engine : Engine
        One that may read ``users`` (the owner's, or acting as ``admin``).
    username : str
        Compared case-insensitively.

    Returns
    -------
    User
        Without its password hash.

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
    """Every account, ordered by username (never with password hashes).

    Parameters
    ----------
    engine : Engine
        One that may read ``users`` (the owner's, or acting as ``admin``).
    include_inactive : bool
        Also deactivated accounts.

    Returns
    -------
    list of User
    """
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
    """Replace a password; also clears failures and any lock.

    Parameters
    ----------
    engine : Engine
        One that may write ``users``.
    username : str
    password : str
        Checked against the policy (:func:`hash_password`) and stored hashed.

    Raises
    ------
    AccountError
        Too short, or no such account.
    """
    _update_one(
        engine,
        "UPDATE users SET password_hash = :h, password_changed_at = now(), failed_logins = 0,"
        " locked_until = NULL WHERE username = :u",
        {"h": hash_password(password), "u": normalise_username(username)},
    )


def unlock(engine: Engine, username: str) -> None:
    """Clear the failure count and lock of an account.

    Parameters
    ----------
    engine : Engine
        One that may write ``users``.
    username : str

    Raises
    ------
    AccountError
        ``security.account.unknown`` when there is no such account.
    """
    _update_one(
        engine,
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = :u",
        {"u": normalise_username(username)},
    )


def deactivate(engine: Engine, username: str) -> None:
    """Disable an account (kept for the record; it can no longer sign in).

    Connections already open for it lose its scope at their next statement (migration 0004).

    Parameters
    ----------
    engine : Engine
        One that may write ``users``.
    username : str

    Raises
    ------
    AccountError
        ``security.account.unknown`` when there is no such account.
    """
    _update_one(
        engine,
        "UPDATE users SET active = false WHERE username = :u",
        {"u": normalise_username(username)},
    )


def reactivate(engine: Engine, username: str) -> None:
    """Enable a deactivated account again.

    Parameters
    ----------
    engine : Engine
        One that may write ``users``.
    username : str

    Raises
    ------
    AccountError
        ``security.account.unknown`` when there is no such account.
    """
    _update_one(
        engine,
        "UPDATE users SET active = true WHERE username = :u",
        {"u": normalise_username(username)},
    )


def set_role(engine: Engine, username: str, role: str) -> None:
    """Change the role of an account.

    Parameters
    ----------
    engine : Engine
        One that may write ``users``.
    username : str
    role : str
        One of :data:`geo.roles.ROLES`.

    Raises
    ------
    AccountError
        Unknown role, or no such account.
    """
    _update_one(
        engine,
        "UPDATE users SET role = :r WHERE username = :u",
        {"r": _check_role(role), "u": normalise_username(username)},
    )


def set_communities(engine: Engine, username: str, communities: Iterable[int]) -> None:
    """Scope an account to exactly ``communities`` (ids); their settlements follow.

    Parameters
    ----------
    engine : Engine
        One that may write ``user_communities``.
    username : str
    communities : iterable of int
        ``communities.id`` values; the previous scope is replaced whole.

    Raises
    ------
    AccountError
        ``security.account.unknown`` when there is no such account.
    """
    user = get_user(engine, username)
    with engine.begin() as conn:
        _replace_communities(conn, user.id, communities)


def may_access_community(user: User, community_id: int, parent_id: int | None = None) -> bool:
    """Whether ``user`` is scoped to a community (or to its parent, for a settlement).

    Pure function; the app applies it before offering a community.  The database applies the
    same scope to incident rows whatever the app decides (``harta_scope_ids()``).

    Parameters
    ----------
    user : User
    community_id : int
    parent_id : int, optional
        The community's parent, when it is a settlement.

    Returns
    -------
    bool
    """
    scope = set(user.communities)
    return community_id in scope or (parent_id is not None and parent_id in scope)


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    now: dt.datetime | None = None,
    source: str = "local",
    throttle: SignInThrottle | None = None,
) -> AuthResult:
    """Check a username and password, answering every refusal identically.

    Parameters
    ----------
    engine : Engine
        Its login must be able to assume ``harta_auth``.
    username, password : str
        As typed.  Neither is logged; the password is not kept.
    now : datetime, optional
        Current time (UTC); for tests.
    source : str
        Where the attempt comes from (network address or bucket), for ``throttle``.
    throttle : SignInThrottle, optional
        Delays between attempts per (source, username); without it nothing is throttled.

    Returns
    -------
    AuthResult
        ``ok`` with the :class:`User` on success; otherwise reason ``refused`` with
        :data:`REFUSED_KEY`, whatever the cause.
    """
    now = now or dt.datetime.now(dt.UTC)
    name = normalise_username(username)
    throttled = throttle is not None and throttle.wait(source, name, now) > dt.timedelta(0)
    with connect_as(engine, AUTH_ROLE) as conn:
        row = conn.execute(
            text(
                "SELECT id, password_hash, role, active, locked_until FROM users"
                " WHERE username = :u FOR UPDATE"
            ),
            {"u": name},
        ).one_or_none()
        # Exactly one verification on every path: the timing class never depends on the name.
        matches = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
        locked = row is not None and row.locked_until is not None and row.locked_until > now
        if row is None or not matches or not row.active or locked or throttled:
            # The same statement whether or not the name exists (it then touches no row).
            conn.execute(
                text("UPDATE users SET failed_logins = failed_logins + 1 WHERE username = :u"),
                {"u": name},
            )
            if throttle is not None and not throttled:
                throttle.failed(source, name, now)
            return AuthResult(False, "refused")
        user = _signed_in(conn, row, name, password, now)
    if throttle is not None:
        throttle.succeeded(source, name)
    return AuthResult(True, "ok", user=user, message_key="security.login.ok")


def _signed_in(conn, row, name: str, password: str, now: dt.datetime) -> User:  # noqa: ANN001
    """Record a successful sign-in (clears the failure count) and return the account."""
    params = {"i": row.id, "now": now}
    rehash = ""
    if _hasher.check_needs_rehash(row.password_hash):
        rehash = ", password_hash = :h"
        params["h"] = _hasher.hash(password)
    conn.execute(
        text(f"UPDATE users SET failed_logins = 0, last_login_at = :now{rehash} WHERE id = :i"),
        params,
    )
    return User(
        id=row.id,
        username=name,
        role=row.role,
        active=True,
        communities=_communities_of(conn, row.id),
        last_login_at=now,
    )


def _communities_of(conn, user_id: int) -> tuple[int, ...]:  # noqa: ANN001
    return tuple(
        conn.execute(
            text(
                "SELECT community_id FROM user_communities WHERE user_id = :i ORDER BY community_id"
            ),
            {"i": user_id},
        ).scalars()
    )


def account_state(engine: Engine, user_id: int, now: dt.datetime | None = None) -> User | None:
    """The account ``user_id`` as it is now, if it may still act; for a check on every page run.

    Reads through the narrow ``harta_auth`` role (one short transaction: the account's row,
    without its hash, and its communities), so the page's own role needs no access to ``users``.

    Parameters
    ----------
    engine : Engine
        Its login must be able to assume ``harta_auth`` (the app's owner engine).
    user_id : int
        ``users.id`` kept in the session at sign-in.
    now : datetime, optional
        Current time (UTC), to compare with ``locked_until``; for tests.

    Returns
    -------
    User or None
        None when the account no longer exists, is deactivated or is locked; otherwise its
        current role and communities (the caller compares them with the session's).
    """
    now = now or dt.datetime.now(dt.UTC)
    with connect_as(engine, AUTH_ROLE) as conn:
        row = conn.execute(
            text("SELECT id, username, role, active, locked_until FROM users WHERE id = :i"),
            {"i": int(user_id)},
        ).one_or_none()
        if row is None or not row.active:
            return None
        if row.locked_until is not None and row.locked_until > now:
            return None
        return User(
            id=row.id,
            username=row.username,
            role=row.role,
            active=True,
            communities=_communities_of(conn, row.id),
            locked_until=row.locked_until,
        )
