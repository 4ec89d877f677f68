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
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from geo import escape, roles, views, websessions
from geo.accounts import (
    SignInThrottle,
    User,
    account_state,
    may_access_community,
    session_expired,
)
from geo.communities import Community
from geo.i18n import DEFAULT_LANGUAGE, LANGUAGES, community_name, number, t
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
#: Session-state keys of the chosen language and community.  Plain values, not widget keys:
#: Streamlit forgets a page's widget state when another page opens, so the pickers write here
#: (``on_change``) and every page reads from here.
LANG_KEY = "lang"
COMMUNITY_KEY = "community"
#: The pickers' own widget keys.
_LANG_WIDGET = "_harta_lang_picker"
_COMMUNITY_WIDGET = "_harta_community_picker"
#: Query parameters that carry the choices in the address (``?lang=hu&community=dallas``): a
#: reload, a bookmark or a shared link opens with them.  Never anything secret.
URL_LANG = "lang"
URL_COMMUNITY = "community"


def db_down(error: BaseException) -> bool:
    """Whether ``error`` means "the database is not there" (refused, dropped, shutting down),
    as opposed to a refused query (permission denied is a bug or an attack, not an outage)."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


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


def _database_url() -> str:
    from geo.db.engine import database_url

    return database_url()


@st.cache_resource(show_spinner=False)
def owner_engine(url: str) -> Engine:
    """The owner's engine: only for the password check (``authenticate`` switches to
    ``harta_auth`` itself) and single sign-on lookups."""
    from geo.db.engine import get_engine

    return get_engine(url)


@st.cache_resource(show_spinner=False)
def _role_engine(url: str, role: str, user_id: int | None = None) -> Engine:
    from geo.db.security import role_engine

    if user_id is None:
        return role_engine(url, role)
    # One small pool per signed-in account: the database reads ``harta.user_id`` per connection.
    return role_engine(url, role, user_id, pool_size=2, max_overflow=3)


def role_engine(role: str, user_id: int | None = None) -> Engine:
    """The cached engine acting as ``role`` (and account ``user_id``) on the app's database."""
    return _role_engine(_database_url(), role, user_id)


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


def reset_engines() -> None:
    """Forget the cached engines and communities (after the database went away); the next
    page load connects afresh."""
    _role_engine.clear()
    owner_engine.clear()
    _communities.clear()


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
@st.cache_data(ttl=60, show_spinner=False)
def _communities(url: str) -> list[tuple[int, str, str, int | None]]:
    frame = views.communities(_role_engine(url, "public"))
    ids = dict(zip(frame["slug"], frame["id"], strict=True))
    return [
        (int(row.id), row.slug, row.name, ids.get(row.parent_slug))
        for row in frame.itertuples(index=False)
    ]


@st.cache_resource(ttl=60, show_spinner=False)
def _community(url: str, slug: str) -> Community:
    # Read-only and frozen: safe to share between sessions.
    return Community.load(_role_engine(url, "public"), slug)


def _url_param(name: str) -> str | None:
    try:
        value = st.query_params.get(name)
    except Exception:  # noqa: BLE001 - no script context (bare import)
        return None
    return value if isinstance(value, str) else None


def chosen_language() -> str:
    """The session's language: the one picked in this session, else the address's ``?lang=``,
    else ``HARTA_LANGUAGE``.  Remembered in the session, so every page opens in it.

    Returns
    -------
    str
        A code of :data:`geo.i18n.LANGUAGES`.
    """
    remembered = st.session_state.get(LANG_KEY)
    if remembered in LANGUAGES:
        return remembered
    for candidate in (_url_param(URL_LANG), get_settings().language, DEFAULT_LANGUAGE):
        if candidate in LANGUAGES:
            st.session_state[LANG_KEY] = candidate
            return candidate
    raise AssertionError("DEFAULT_LANGUAGE is not in LANGUAGES")  # pragma: no cover


def _remember(widget_key: str, key: str) -> None:
    # on_change runs before the rerun, so Home.py's menu titles already use the new choice.
    st.session_state[key] = st.session_state[widget_key]


def _show_choice(widget_key: str, value: str) -> None:
    """Make a picker show ``value``: drop a widget value left over from another page."""
    if widget_key in st.session_state and st.session_state[widget_key] != value:
        del st.session_state[widget_key]


def _language_picker() -> str:
    lang = chosen_language()
    codes = list(LANGUAGES)
    _show_choice(_LANG_WIDGET, lang)
    st.sidebar.selectbox(
        # Readable whatever the current language is, and with no emoji font too.
        ":material/language: Limba · Nyelv · Language",
        codes,
        index=codes.index(lang),
        format_func=LANGUAGES.__getitem__,
        key=_LANG_WIDGET,
        on_change=_remember,
        args=(_LANG_WIDGET, LANG_KEY),
    )
    return st.session_state[LANG_KEY]


def _chosen_community(slugs: list[str]) -> str:
    """The community picked in this session, else the address's ``?community=``, else
    ``HARTA_COMMUNITY``, else the first one this role may see."""
    remembered = st.session_state.get(COMMUNITY_KEY)
    for candidate in (remembered, _url_param(URL_COMMUNITY), get_settings().community):
        if candidate in slugs:
            st.session_state[COMMUNITY_KEY] = candidate
            return candidate
    st.session_state[COMMUNITY_KEY] = slugs[0]
    return slugs[0]


def _community_picker(communities: list[tuple[int, str, str, int | None]], lang: str) -> str:
    slugs = [slug for _, slug, _, _ in communities]
    # Settlements are indented under their parent; names in the page's language where the
    # catalogue has one ("Rampa (groapa de gunoi)"), else as the data spells them.
    names = {
        slug: ("" if parent is None else "· ") + community_name(slug, name, lang)
        for _, slug, name, parent in communities
    }
    slug = _chosen_community(slugs)
    _show_choice(_COMMUNITY_WIDGET, slug)
    st.sidebar.selectbox(
        t("app.community", lang),
        slugs,
        index=slugs.index(slug),
        format_func=names.__getitem__,
        key=_COMMUNITY_WIDGET,
        on_change=_remember,
        args=(_COMMUNITY_WIDGET, COMMUNITY_KEY),
    )
    return st.session_state[COMMUNITY_KEY]


def _sync_address(lang: str, slug: str) -> None:
    """Write the choices into the address bar (``?lang=..&community=..``), so a reload or a
    shared link opens the same way.  Only these two public values ever go there."""
    try:
        params = st.query_params
        if params.get(URL_LANG) != lang:
            params[URL_LANG] = lang
        if params.get(URL_COMMUNITY) != slug:
            params[URL_COMMUNITY] = slug
    except Exception:  # noqa: BLE001 - no browser behind the run (bare script)
        pass


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and line breaks escaped)."""
    escaped = "".join(c if c.isalnum() or c in " .,;:()·–-" else f"\\{ord(c):06x}" for c in text)
    return f'"{escaped}"'


def _uploader_texts(lang: str) -> None:
    """Streamlit's file uploader in the page's language.

    ``st.file_uploader`` has no locale: its button ("Upload"), size note ("20MB per file") and
    drop hint are English words drawn by Streamlit's frontend.  This style sheet hides those
    words and draws the catalogue's instead (CSS ``content``: text only, no markup), on every
    uploader of the page.  The file types stay listed in each uploader's own caption."""
    zone = '[data-testid="stFileUploaderDropzone"]'
    limit = t("app.upload.limit", lang, limit=get_settings().max_upload_mb)
    rules = (
        f'{zone} button [data-testid="stMarkdownContainer"] p{{font-size:0}}'
        f'{zone} button [data-testid="stMarkdownContainer"] p::after'
        f"{{content:{_css_string(t('app.upload.button', lang))};font-size:.875rem}}"
        f'[data-testid="stFileUploaderDropzoneInstructions"] span{{font-size:0}}'
        f'[data-testid="stFileUploaderDropzoneInstructions"] span::after'
        f"{{content:{_css_string(limit)};font-size:.875rem}}"
        f"{zone} > div:not([data-testid]) span{{font-size:0}}"
        f"{zone} > div:not([data-testid]) span::after"
        f"{{content:{_css_string(t('app.upload.drop', lang))};font-size:1rem}}"
    )
    st.sidebar.html(f"<style>{rules}</style>")


def database_unavailable(lang: str) -> None:
    """Tell the person the database is away (the next rerun tries again) and stop the page."""
    reset_engines()
    st.error(t("app.db_unavailable", lang))
    if st.button(t("app.db_retry", lang), key="db_retry"):
        st.rerun()
    st.stop()


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
