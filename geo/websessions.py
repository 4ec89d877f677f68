"""Web sessions: a reload of the tab keeps the sign-in, without a secret in the address.

A sign-in (``harta_ui.sign_in``) calls :func:`issue`: a random *token* (32 bytes, URL-safe) and
a one-time *nonce*.  The page then shows an invisible same-origin image
``/harta-session/set?n=NONCE``; :class:`SessionRoute` (ASGI, installed by ``app/serve.py``)
redeems the nonce (:func:`redeem_nonce`: once, within :data:`HANDOFF`) and answers with
``Set-Cookie: harta_session=TOKEN; HttpOnly; SameSite=Strict; Path=/``.  A new tab or a reload
reads the cookie from the websocket handshake (``st.context.cookies``) and :func:`resume`
checks it.  Sign-out :func:`revoke` s the session and ``/harta-session/clear`` expires the
cookie.

What the database holds (migration 0015): ``sha256(token)``, ``sha256(nonce)`` and, until the
nonce is redeemed, the token sealed with a pad derived from the nonce -- never the token.  No
Harta role may read ``web_sessions``; every access goes through ``SECURITY DEFINER`` functions
that only the narrow ``harta_auth`` role may call (the same role as
:func:`geo.accounts.account_state`, on the app's owner engine).

:func:`resume` refuses unknown, malformed, revoked, idle- or absolutely-expired tokens
(:func:`geo.signin.session_expired`, the same limits as a tab's session), accounts that are no
longer active or locked (:func:`geo.accounts.account_state`) and accounts whose role changed
since the sign-in.  A trigger on ``users`` also revokes every session of an account that is
deactivated, locked, given another role or a new password, whatever made the change.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from geo.accounts import User, account_state
from geo.db.security import AUTH_ROLE, connect_as
from geo.signin import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, session_expired

#: Name of the cookie that carries the token.
COOKIE = "harta_session"
#: URL folder of :class:`SessionRoute`.
PREFIX = "/harta-session"
SET_PATH = f"{PREFIX}/set"
CLEAR_PATH = f"{PREFIX}/clear"
#: How long a page has to hand its nonce to the cookie route.
HANDOFF = dt.timedelta(seconds=60)
#: Bytes of randomness of a token and of a nonce.
TOKEN_BYTES = 32
#: A token or nonce as it travels: 32 bytes, URL-safe base64 without padding.
_FORM = re.compile(r"^[A-Za-z0-9_-]{43}$")
_SEAL = b"harta-websession-seal\x00"


@dataclass(frozen=True)
class Issued:
    """What :func:`issue` hands the page: the token (kept in the tab's server-side session,
    never sent to the browser by the page) and the nonce (for the hand-off image)."""

    token: str
    nonce: str


@dataclass(frozen=True)
class Resumed:
    """A web session that :func:`resume` accepted.

    Attributes
    ----------
    user : User
        The account as it is now (:func:`geo.accounts.account_state`).
    signed_in_at : datetime
        When the session was opened (its absolute timeout counts from here).
    """

    user: User
    signed_in_at: dt.datetime

    @property
    def user_id(self) -> int:
        return self.user.id


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(value: object) -> bytes | None:
    """The 32 bytes of a token or nonce, or None for anything not of that exact form."""
    if not isinstance(value, str) or not _FORM.match(value):
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == TOKEN_BYTES and _encode(raw) == value else None


def digest(value: str) -> bytes | None:
    """``sha256`` of a well-formed token or nonce (what the database stores), else None.

    Parameters
    ----------
    value : str

    Returns
    -------
    bytes or None
    """
    return None if _decode(value) is None else hashlib.sha256(value.encode("ascii")).digest()


def _pad(nonce: str) -> bytes:
    # A pad only the nonce's holder can compute; independent of sha256(nonce), which is stored.
    return hashlib.sha256(_SEAL + nonce.encode("ascii")).digest()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def issue(engine: Engine, user_id: int, now: dt.datetime | None = None) -> Issued | None:
    """Open a web session for an account that was just signed in.

    Parameters
    ----------
    engine : Engine
        The app's owner engine (its login may assume ``harta_auth``).
    user_id : int
        ``users.id``; the session keeps the account's current role.
    now : datetime, optional
        Current time (UTC); for tests.

    Returns
    -------
    Issued or None
        The token and the one-time nonce; None when the account is not active (nothing stored).
    """
    now = _now(now)
    raw = secrets.token_bytes(TOKEN_BYTES)
    token, nonce = _encode(raw), _encode(secrets.token_bytes(TOKEN_BYTES))
    with connect_as(engine, AUTH_ROLE) as conn:
        made = conn.execute(
            text("SELECT harta_websession_issue(:t, :u, :n, :s, :now, :handoff, :keep)"),
            {
                "t": digest(token),
                "u": int(user_id),
                "n": digest(nonce),
                "s": _xor(raw, _pad(nonce)),
                "now": now,
                "handoff": HANDOFF,
                # Rows past the absolute timeout are of no use any more: swept at each issue.
                "keep": ABSOLUTE_TIMEOUT + dt.timedelta(days=1),
            },
        ).scalar_one()
    return Issued(token, nonce) if made else None


def redeem_nonce(engine: Engine, nonce: str, now: dt.datetime | None = None) -> str | None:
    """The token a nonce hands over: once, within :data:`HANDOFF`, for an open session.

    Parameters
    ----------
    engine : Engine
        The app's owner engine.
    nonce : str
        As the hand-off image's address carried it.
    now : datetime, optional
        Current time (UTC); for tests.

    Returns
    -------
    str or None
        The token; None for an unknown, spent, late or malformed nonce or a revoked session.
        The nonce is spent either way.
    """
    key = digest(nonce)
    if key is None:
        return None
    with connect_as(engine, AUTH_ROLE) as conn:
        row = conn.execute(
            text("SELECT * FROM harta_websession_redeem(:n, :now)"), {"n": key, "now": _now(now)}
        ).one_or_none()
    if row is None:
        return None
    token = _encode(_xor(bytes(row.sealed_token), _pad(nonce)))
    # The seal opens only with the right nonce; check that it opened to this very session.
    return token if digest(token) == bytes(row.token_sha256) else None


def _lookup(engine: Engine, key: bytes):  # noqa: ANN202
    with connect_as(engine, AUTH_ROLE) as conn:
        return conn.execute(
            text("SELECT * FROM harta_websession_lookup(:t)"), {"t": key}
        ).one_or_none()


def resume(engine: Engine, token: object, now: dt.datetime | None = None) -> Resumed | None:
    """The account a browser's cookie still signs in, after every check; else None.

    Refuses a malformed or unknown token, a revoked session, one idle or open too long
    (:func:`geo.signin.session_expired`), an account no longer active or locked
    (:func:`geo.accounts.account_state`) and an account whose role is not the session's.  A
    session refused for time or account is revoked; an accepted one is touched.

    Parameters
    ----------
    engine : Engine
        The app's owner engine.
    token : str
        The cookie's value (anything: it is checked).
    now : datetime, optional
        Current time (UTC); for tests.

    Returns
    -------
    Resumed or None
    """
    now = _now(now)
    key = digest(token) if isinstance(token, str) else None
    row = None if key is None else _lookup(engine, key)
    if row is None:
        return None
    if session_expired(row.created_at, row.last_seen_at, now, IDLE_TIMEOUT, ABSOLUTE_TIMEOUT):
        _revoke_key(engine, key, now)
        return None
    account = account_state(engine, row.user_id, now)
    if account is None or account.role != row.role:
        _revoke_key(engine, key, now)
        return None
    if not _touch_key(engine, key, now):
        return None  # revoked meanwhile
    return Resumed(account, row.created_at)


def _session_call(engine: Engine, function: str, key: bytes, now: dt.datetime) -> bool:
    """Call one of 0015's ``harta_websession_*(token_sha256, now)`` functions as ``harta_auth``."""
    with connect_as(engine, AUTH_ROLE) as conn:
        return bool(
            conn.execute(text(f"SELECT {function}(:t, :now)"), {"t": key, "now": now}).scalar_one()
        )


def _touch_key(engine: Engine, key: bytes, now: dt.datetime) -> bool:
    return _session_call(engine, "harta_websession_touch", key, now)


def touch(engine: Engine, token: str, now: dt.datetime | None = None) -> bool:
    """Record activity on an open session (its idle timeout starts again).

    Parameters
    ----------
    engine : Engine
        The app's owner engine.
    token : str
    now : datetime, optional

    Returns
    -------
    bool
        False when the session is unknown or revoked (signed out elsewhere, or its account
        changed): the tab should sign out too.
    """
    key = digest(token)
    return key is not None and _touch_key(engine, key, _now(now))


def _revoke_key(engine: Engine, key: bytes, now: dt.datetime) -> bool:
    return _session_call(engine, "harta_websession_revoke", key, now)


def revoke(engine: Engine, token: str, now: dt.datetime | None = None) -> bool:
    """End one session (sign-out).

    Parameters
    ----------
    engine : Engine
        The app's owner engine.
    token : str
    now : datetime, optional

    Returns
    -------
    bool
        Whether an open session was ended.
    """
    key = digest(token)
    return key is not None and _revoke_key(engine, key, _now(now))


def revoke_all(engine: Engine, user_id: int, now: dt.datetime | None = None) -> int:
    """End every session of an account ("sign out everywhere").

    Account changes (deactivated, locked, new role or password) already do this in the
    database (trigger of migration 0015), whichever way they are made.

    Parameters
    ----------
    engine : Engine
        The app's owner engine.
    user_id : int
    now : datetime, optional

    Returns
    -------
    int
        Sessions ended.
    """
    with connect_as(engine, AUTH_ROLE) as conn:
        return int(
            conn.execute(
                text("SELECT harta_websession_revoke_all(:u, :now)"),
                {"u": int(user_id), "now": _now(now)},
            ).scalar_one()
        )


# --------------------------------------------------------------------------------------------
# The cookie route
# --------------------------------------------------------------------------------------------
def set_cookie_header(token: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value that stores ``token`` in the browser.

    Parameters
    ----------
    token : str
    secure : bool
        Add ``Secure`` (the request came over https).

    Returns
    -------
    str
    """
    age = int(ABSOLUTE_TIMEOUT.total_seconds())
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={token}; Max-Age={age}; Path=/; HttpOnly; SameSite=Strict{flags}"


def clear_cookie_header(*, secure: bool) -> str:
    """The ``Set-Cookie`` value that removes the cookie."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict{flags}"


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _cookie(scope: dict) -> str | None:
    for part in _header(scope, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def _secure(scope: dict) -> bool:
    # Only ever adds a restriction, so a forwarded header may decide it.
    forwarded = _header(scope, b"x-forwarded-proto").split(",")[0].strip().lower()
    return scope.get("scheme") == "https" or forwarded == "https"


def _engine() -> Engine:
    from geo.db.engine import database_url, get_engine

    return get_engine(database_url())  # cached per URL by geo.db.engine


class SessionRoute:
    """ASGI middleware answering ``GET /harta-session/set?n=NONCE`` and
    ``GET /harta-session/clear``; everything else goes to the wrapped app.

    Both answer with a transparent 1x1 GIF (they are requested as images) and
    ``Cache-Control: no-store``; a refused hand-off is a bodiless 404, a foreign request 403.
    Only a request the browser marks as coming from the app's own pages
    (``Sec-Fetch-Site: same-origin``) is served: another site cannot plant its own account's
    session in a visitor's browser (login cross-site request forgery) nor sign a visitor out.
    ``clear`` also revokes the session its cookie names.
    """

    def __init__(self, app: Any, engine: Engine | None = None):
        self.app = app
        self._given = engine

    def engine(self) -> Engine:
        """The owner engine (given, or the app's database)."""
        return self._given or _engine()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI entry point.

        Parameters
        ----------
        scope : dict
        receive, send : callable
        """
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if path not in (SET_PATH, CLEAR_PATH):
            await self.app(scope, receive, send)
            return
        if scope.get("method") != "GET" or _header(scope, b"sec-fetch-site") != "same-origin":
            await _reply(send, 403, None)
            return
        from anyio import to_thread

        cookie = await to_thread.run_sync(self._answer, path, scope)
        await _reply(send, 200 if cookie else 404, cookie)

    def _answer(self, path: str, scope: dict) -> str | None:
        secure = _secure(scope)
        if path == CLEAR_PATH:
            token = _cookie(scope)
            try:
                if token:
                    revoke(self.engine(), token)
            except DBAPIError:
                pass  # the browser forgets the cookie all the same (the page revoked it too)
            return clear_cookie_header(secure=secure)
        nonce = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("n", [""])[0]
        try:
            token = redeem_nonce(self.engine(), nonce)
        except DBAPIError:
            token = None  # no database, no cookie: the tab stays signed in by itself
        return None if token is None else set_cookie_header(token, secure=secure)


#: A transparent 1x1 GIF: the hand-off is an image, and a broken-image icon must not show.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


async def _reply(send: Any, status: int, cookie: str | None) -> None:
    body = PIXEL if cookie is not None else b""
    headers = [(b"cache-control", b"no-store"), (b"content-length", str(len(body)).encode())]
    if cookie is not None:
        headers += [(b"content-type", b"image/gif"), (b"set-cookie", cookie.encode("latin-1"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
