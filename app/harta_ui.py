"""What every page shares: the signed-in account, the database acting as its role, and the
language and community pickers.

Pages stay thin: they read the :class:`Context` returned by :func:`context` and call ``geo``.

Accounts
--------
Nobody signed in means the role ``public``.  :func:`sign_in` (called by the account page after
:func:`geo.accounts.authenticate`, or after single sign-on) keeps the account in the session --
account id, username, role, community scope and times, never the password -- and every page run
checks the session timeout (:func:`geo.accounts.session_expired`: 30 minutes idle, 8 hours in
all) and re-reads the account (:func:`geo.accounts.account_state`, one short transaction as
``harta_auth``): a deactivated, locked or removed account, or one given another role, is signed
out at once with a translated reason; a change of communities applies at once.  The database
refuses such an account by itself as well (migration 0004); this check makes the page say why.

A reload or a new tab is a new Streamlit session.  The sign-in survives it through a web session
(:mod:`geo.websessions`, migration 0015): :func:`sign_in` opens one and the next page run shows
an invisible same-origin image that makes the app server set an ``HttpOnly; SameSite=Strict``
cookie (the page never sees the token; the address never holds it).  A run with nobody signed in
reads that cookie from the websocket handshake (``st.context.cookies``) and resumes the account
after every check (:func:`geo.websessions.resume`); each later run touches the web session and
signs the tab out when it was revoked (signed out in another tab, account changed).
:func:`sign_out` revokes it and clears the cookie.

The database connection of a page acts as the signed-in role and account
(:func:`geo.db.security.role_engine`, one cached engine per database URL, role and account id,
which the database reads as ``harta.user_id``), so grants and row-level security decide what a
page can read, whatever the page's code does.  The owner's
engine serves only the password check (:func:`owner_engine`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st
from harta_db import (  # noqa: F401 - re-exported: pages import them from here
    _communities,
    _community,
    _database_url,
    _role_engine,
    database_unavailable,
    db_down,
    owner_engine,
    reset_engines,
    role_engine,
)
from harta_pickers import (  # noqa: F401 - re-exported: pages import them from here
    COMMUNITY_KEY,
    LANG_KEY,
    URL_COMMUNITY,
    URL_LANG,
    _community_picker,
    _language_picker,
    _sync_address,
    _uploader_texts,
    chosen_language,
)
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from geo import escape, roles, websessions
from geo.accounts import (
    SignInThrottle,
    User,
    account_state,
    may_access_community,
    session_expired,
)
from geo.communities import Community
from geo.i18n import number, t
from geo.settings import get_settings

ROLES = roles.ROLES
#: Session-state key of the signed-in account (a dict; see :func:`sign_in`).
AUTH_KEY = "harta_auth"
#: Set when a session ended by timeout, so the next page says why.
EXPIRED_KEY = "harta_auth_expired"
#: Set when the account changed under a session: i18n key of the notice the next page shows.
NOTICE_KEY = "harta_auth_notice"
#: The cookie hand-off the next page runs show (:func:`_cookie_image`): ``(path, until)``.
COOKIE_KEY = "harta_cookie"
#: sha256 of the cookie this Streamlit session already tried to resume (tried once only: the
#: websocket handshake's cookies stay the same for the session's whole life).
COOKIE_TRIED_KEY = "harta_cookie_tried"
#: Roles that see every community whatever their scope.
UNSCOPED_ROLES = frozenset(ROLES) - roles.SCOPED_ROLES


@dataclass(frozen=True)
class Context:
    """What a page needs, built once per run by :func:`context`.

    ``community`` is the :class:`~geo.communities.Community` picked in the sidebar, loaded once
    per run (cached for a minute): pages pass it down and never look it up by slug.
    """

    lang: str
    community: Community
    role: str
    engine: Engine
    online: bool
    username: str | None = None
    #: ``users.id`` of the signed-in account (None for the public); the role engine carries it
    #: as ``harta.user_id`` so the database applies the account's scope and state.
    user_id: int | None = None

    def t(self, key: str, **params: object) -> str:
        return t(key, self.lang, **params)


@st.cache_resource(show_spinner=False)
def sign_in_throttle() -> SignInThrottle:
    """The process's sign-in throttle (:class:`geo.accounts.SignInThrottle`)."""
    return SignInThrottle()


def sign_in_source() -> str:
    """Where this session's sign-in attempts come from, for the throttle: the client's network
    address, or ``"local"`` when Streamlit reports none (localhost, or a proxy on this host --
    then every client shares one bucket; see docs/security.md)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no client context (bare script run)
        address = None
    # Only a real address string counts (AppTest, for one, reports a mock object).
    return f"ip:{address}" if isinstance(address, str) and address else "local"


# --------------------------------------------------------------------------------------------
# The signed-in account
# --------------------------------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def session_record(user: User, method: str = "password", now: dt.datetime | None = None) -> dict:
    """What the session keeps of a signed-in account: never the password or its hash."""
    now = now or _now()
    return {
        "user_id": int(user.id),
        "username": user.username,
        "role": user.role,
        "communities": tuple(user.communities),
        "method": method,
        "signed_in_at": now,
        "last_seen_at": now,
    }


def sign_in(user: User, method: str = "password") -> None:
    """Keep ``user`` as the session's account (after a successful check), and open a web
    session so a reload or a new tab of this browser stays signed in (:mod:`geo.websessions`:
    the next page run hands the browser its ``HttpOnly`` cookie)."""
    record = session_record(user, method)
    issued = _owner_call(websessions.issue, user.id, record["signed_in_at"])
    if issued is not None:
        # The token stays on the server side of the session; the page only ever shows the
        # one-time nonce, which the cookie route exchanges for it.
        record["token"] = issued.token
        _hand_to_browser(f"{websessions.SET_PATH}?n={issued.nonce}")
    st.session_state[AUTH_KEY] = record
    st.session_state.pop(EXPIRED_KEY, None)
    st.session_state.pop(NOTICE_KEY, None)
    # Cached runs of the previous role must not survive into this one.  The community choice
    # stays: context() drops it when the new account may not see it.
    st.session_state.pop("hs_run", None)


def sign_out() -> None:
    """End the session's sign-in (the page falls back to the public role): its web session is
    revoked in the database and the browser's cookie cleared."""
    auth = st.session_state.pop(AUTH_KEY, None)
    if auth and auth.get("token"):
        _revoke(auth["token"])
    if auth:
        _hand_to_browser(websessions.CLEAR_PATH)
    if auth and auth.get("method") == "sso" and sso_configured():
        st.logout()
    st.session_state.pop("hs_run", None)


def sso_configured() -> bool:
    """Whether single sign-on (Streamlit's OIDC, ``st.login``) is set up in the secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def sso_username(email: str | None) -> str | None:
    """The Harta username an OIDC email maps to (``[harta_sso]`` in the secrets), if any.

    The identity provider only proves who someone is; role and communities always come from the
    Harta account."""
    if not email:
        return None
    try:
        mapping = {k.lower(): v for k, v in dict(st.secrets.get("harta_sso", {})).items()}
    except Exception:  # noqa: BLE001
        return None
    return mapping.get(email.strip().lower())


def signed_in() -> dict | None:
    """The signed-in account after the timeout check and a fresh read of the account, or None
    (public).  Stops the page with a message if the database cannot be reached (fail closed)."""
    auth = st.session_state.get(AUTH_KEY) or _resume_from_cookie()
    if not auth:
        return None
    now = _now()
    if session_expired(auth["signed_in_at"], auth["last_seen_at"], now):
        sign_out()
        st.session_state[EXPIRED_KEY] = True
        return None
    if not _follow_account(auth, now):
        return None
    if auth.get("token") and not _owner_call(websessions.touch, auth["token"], now):
        # Revoked elsewhere: signed out in another tab of this browser, or by the database.
        sign_out()
        st.session_state[EXPIRED_KEY] = True
        return None
    auth["last_seen_at"] = now
    return auth


def _browser_cookie() -> str | None:
    try:
        value = st.context.cookies.get(websessions.COOKIE)
    except Exception:  # noqa: BLE001 - no browser behind the run (bare script, AppTest)
        return None
    return value if isinstance(value, str) and value else None


def _resume_from_cookie() -> dict | None:
    """The account this browser's cookie still signs in (a reload, a new tab), or None.

    Tried once per Streamlit session and cookie; a refused cookie is cleared in the browser."""
    token = _browser_cookie()
    if token is None:
        return None
    tried = websessions.digest(token) or b"malformed"
    if st.session_state.get(COOKIE_TRIED_KEY) == tried:
        return None
    st.session_state[COOKIE_TRIED_KEY] = tried
    resumed = _owner_call(websessions.resume, token, _now())
    if resumed is None:
        _hand_to_browser(websessions.CLEAR_PATH)
        return None
    record = session_record(resumed.user, "cookie")
    record.update(token=token, signed_in_at=resumed.signed_in_at)
    st.session_state[AUTH_KEY] = record
    return record


def _owner_call(function, *args):  # noqa: ANN001, ANN202
    """``function(owner_engine, *args)``; stops the page when the database is away."""
    try:
        return function(owner_engine(_database_url()), *args)
    except DBAPIError as error:
        if not db_down(error):
            raise
        database_unavailable(chosen_language())
        raise  # not reached: database_unavailable stops the page


def _revoke(token: str) -> None:
    try:
        websessions.revoke(owner_engine(_database_url()), token)
    except DBAPIError as error:
        # Signing out must work with the database away: the cookie route revokes again.
        if not db_down(error):
            raise


def _hand_to_browser(path: str) -> None:
    """Have the next page runs load ``path`` (a cookie route) once, for up to a minute."""
    st.session_state[COOKIE_KEY] = (path, _now() + websessions.HANDOFF)


def _cookie_image() -> None:
    """The pending cookie hand-off as an invisible same-origin image (the policy's
    ``img-src 'self'``: no script).  Shown on every run until it is a minute old, so a rerun
    cannot drop it before the browser fetched it; fetched once (same element, same address)."""
    pending = st.session_state.get(COOKIE_KEY)
    if not pending:
        return
    path, until = pending
    if _now() >= until:
        st.session_state.pop(COOKIE_KEY, None)
        return
    # An <img> is fetched even when not displayed: its element box is hidden (no gap).
    hide = f'.stElementContainer:has(img[src^="{websessions.PREFIX}/"]){{display:none}}'
    st.sidebar.html(f'<style>{hide}</style><img src="{escape.html(path)}" alt="">')


def _current_account(user_id: int, now: dt.datetime) -> User | None:
    return _owner_call(account_state, user_id, now)


def _follow_account(auth: dict, now: dt.datetime) -> bool:
    """Bring the session in line with the account as it is now; False when it was signed out.

    Deactivated, locked, removed or given another role: signed out (a new role means a new
    sign-in, which also drops the previous role's cached runs).  New communities: applied."""
    if auth.get("user_id") is None:  # a session kept from before accounts were followed
        current = None
    else:
        current = _current_account(auth["user_id"], now)
    if current is None or current.role != auth["role"]:
        sign_out()
        st.session_state[NOTICE_KEY] = (
            "account.revoked.inactive" if current is None else "account.revoked.role"
        )
        return False
    if tuple(current.communities) != tuple(auth["communities"]):
        auth["communities"] = tuple(current.communities)
        st.session_state[NOTICE_KEY] = "account.revoked.scope"
    return True


def current_role() -> str:
    """Role of this session: the signed-in account's, else ``public``."""
    auth = signed_in()
    return auth["role"] if auth else "public"


def _scope_user(auth: dict | None) -> User | None:
    if auth is None or auth["role"] in UNSCOPED_ROLES:
        return None
    return User(
        id=auth["user_id"],
        username=auth["username"],
        role=auth["role"],
        active=True,
        communities=tuple(auth["communities"]),
    )


# --------------------------------------------------------------------------------------------
# Pickers
# --------------------------------------------------------------------------------------------


def _account_box(auth: dict | None, lang: str) -> None:
    box = st.sidebar.container(border=True)
    if auth is None:
        box.caption(t("account.sidebar.public", lang))
        box.page_link(
            "screens/account.py", label=t("account.sidebar.sign_in", lang), icon=":material/person:"
        )
        return
    box.markdown(
        t(
            "account.sidebar.signed_in",
            lang,
            user=escape.markdown(auth["username"]),
            role=t(f"app.roles.{auth['role']}", lang),
        )
    )
    if box.button(t("account.sign_out", lang), key="sidebar_sign_out"):
        sign_out()
        st.rerun()


def context() -> Context:
    """Check the session, draw the shared sidebar and return what the page needs.

    Stops the page with a clear, translated message when the database cannot be reached; the
    next rerun tries again, so the app recovers by itself when the database returns.
    """
    lang = _language_picker()
    _uploader_texts(lang)
    auth = signed_in()
    if st.session_state.get(EXPIRED_KEY):
        st.warning(t("security.session.expired", lang))
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.warning(t(notice, lang))
    role = auth["role"] if auth else "public"
    url = _database_url()
    try:
        communities = _communities(url)
    except DBAPIError as error:
        if not db_down(error):
            raise
        database_unavailable(lang)
    scope = _scope_user(auth)
    if scope is not None:
        communities = [c for c in communities if may_access_community(scope, c[0], c[3])]
    _account_box(auth, lang)
    _cookie_image()
    if not communities:
        st.warning(t("app.no_communities" if scope is None else "account.no_scope", lang))
        st.stop()
    slug = _community_picker(communities, lang)
    _sync_address(lang, slug)
    st.sidebar.caption(t("app.attribution", lang))
    user_id = auth["user_id"] if auth else None
    try:
        community = _community(url, slug)
    except DBAPIError as error:
        if not db_down(error):
            raise
        database_unavailable(lang)
    return Context(
        lang,
        community,
        role,
        _role_engine(url, role, user_id),
        get_settings().online,
        auth["username"] if auth else None,
        user_id,
    )


def record_view(ctx: Context, action: str, **detail: object) -> None:
    """Write who saw exact locations (or exported) to ``access_log`` (ids and counts only)."""
    from geo.lifecycle import record_access

    detail = {"community": ctx.community.slug, **detail}
    record_access(ctx.engine, action, detail)


def record_view_once(ctx: Context, action: str, **detail: object) -> None:
    """:func:`record_view`, once per session, page, community and detail: a page's reruns (each
    click on a widget) are the same view, not new ones."""
    key = (ctx.username, ctx.role, action, ctx.community.slug, tuple(sorted(detail.items())))
    logged = st.session_state.setdefault("harta_logged_views", set())
    if key in logged:
        return
    record_view(ctx, action, **detail)
    logged.add(key)


def upload_too_large(ctx: Context, upload) -> bool:  # noqa: ANN001
    """Refuse (with a translated message) an upload above ``HARTA_MAX_UPLOAD_MB``.

    Streamlit's ``--server.maxUploadSize`` already stops larger files at the server; this check
    holds when the app runs without that flag (tests, another launcher)."""
    limit = get_settings().max_upload_mb
    if upload.size <= limit * 1024 * 1024:
        return False
    size = number(upload.size / 1024 / 1024, ctx.lang, 1)
    st.error(ctx.t("app.upload_too_large", limit=limit, size=size))
    return True
