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

Guessing is slowed by :class:`SignInThrottle`, keyed by *(source, username)*: the first
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
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from geo.db.security import AUTH_ROLE, connect_as
from geo.errors import HartaError
from geo.roles import ROLES

#: Failures per (source, username) that are not slowed down.
FREE_FAILURES = 5
#: Delay after the first failure beyond :data:`FREE_FAILURES`; it doubles with each further one.
FIRST_DELAY = dt.timedelta(seconds=2)
#: Longest delay between two checked attempts from one source for one name.
MAX_DELAY = dt.timedelta(minutes=5)
#: Sources remembered at most (oldest forgotten first), so a flood cannot exhaust memory.
MAX_THROTTLE_ENTRIES = 10_000
#: The one message of every refused sign-in.
REFUSED_KEY = "account.sign_in_failed"
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


class SignInThrottle:
    """Growing delays between sign-in attempts per (source, username), kept in memory.

    A *source* is whatever identifies where attempts come from: the client's network address
    when known, else a fixed bucket (see the app's :func:`harta_ui.sign_in_source`).  Only
    checked failures count and grow the delay; an attempt inside the delay is refused without
    being checked and without growing it, so someone hammering the form cannot push the delay
    further.  A success clears the entry.

    Parameters
    ----------
    free : int
        Failures that are not slowed down.
    first, cap : timedelta
        First delay (doubling afterwards) and its upper bound.
    max_entries : int
        Entries kept at most; the least recently failed are forgotten first.
    """

    def __init__(
        self,
        free: int = FREE_FAILURES,
        first: dt.timedelta = FIRST_DELAY,
        cap: dt.timedelta = MAX_DELAY,
        max_entries: int = MAX_THROTTLE_ENTRIES,
    ) -> None:
        self.free, self.first, self.cap, self.max_entries = free, first, cap, max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[int, dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _delay(self, failures: int) -> dt.timedelta:
        if failures < self.free:
            return dt.timedelta(0)
        return min(self.cap, self.first * 2 ** min(failures - self.free, 30))

    def wait(self, source: str, username: str, now: dt.datetime) -> dt.timedelta:
        """How long ``source`` must still wait before an attempt for ``username`` is checked.

        Returns
        -------
        timedelta
            Zero when the next attempt will be checked.
        """
        with self._lock:
            entry = self._entries.get((source, username))
        if entry is None:
            return dt.timedelta(0)
        failures, last = entry
        return max(dt.timedelta(0), last + self._delay(failures) - now)

    def failed(self, source: str, username: str, now: dt.datetime) -> None:
        """Count a checked failure."""
        key = (source, username)
        with self._lock:
            failures = self._entries.pop(key, (0, now))[0] + 1
            self._entries[key] = (failures, now)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def succeeded(self, source: str, username: str) -> None:
        """Forget the failures of ``source`` for ``username`` (the right password was given)."""
        with self._lock:
            self._entries.pop((source, username), None)

    def clear(self, username: str) -> None:
        """Forget every source's failures for ``username`` (an administrator unlocked it)."""
        with self._lock:
            for key in [k for k in self._entries if k[1] == username]:
                del self._entries[key]


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
