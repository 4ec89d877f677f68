"""Sign in, see who you are signed in as, sign out.

The password is checked by :func:`geo.accounts.authenticate` on the owner's engine (it switches
to the internal ``harta_auth`` role itself), throttled per network address and username; every
refusal reads the same.  The password is never shown again, logged or kept in the session.
Single sign-on (Streamlit's ``st.login``) appears only when ``[auth]`` is configured in the
secrets, and only maps the provider's email to an existing, active Harta account.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from geo import escape
from geo.accounts import AccountError, authenticate, get_user
from geo.i18n import date
from harta_ui import (
    Context,
    _database_url,
    context,
    owner_engine,
    sign_in,
    sign_in_source,
    sign_in_throttle,
    sign_out,
    signed_in,
    sso_configured,
    sso_username,
)


def _password_form(ctx: Context) -> None:
    with st.form("signin", clear_on_submit=True):
        username = st.text_input(ctx.t("account.username"), key="signin_user", max_chars=64)
        password = st.text_input(
            ctx.t("account.password"), type="password", key="signin_password", max_chars=1024
        )
        submitted = st.form_submit_button(ctx.t("account.sign_in"), type="primary")
        # Said before anyone signs in: the browser keeps the sign-in across reloads (an
        # HttpOnly cookie, geo.websessions), so on a shared device one signs out.
        st.caption(ctx.t("app.signin.reload"))
    if not submitted:
        return
    if not username.strip() or not password:
        st.error(ctx.t("account.missing"))
        return
    result = authenticate(
        owner_engine(_database_url()),
        username,
        password,
        source=sign_in_source(),
        throttle=sign_in_throttle(),
    )
    del password
    if result.ok:
        sign_in(result.user)
        st.rerun()
    st.error(ctx.t(result.message_key))


def _sso(ctx: Context) -> None:
    """Single sign-on: a button, and on return from the provider, the mapping to an account."""
    if not sso_configured():
        return
    st.divider()
    if not st.user.is_logged_in:
        if st.button(ctx.t("account.sso.button"), key="sso_login"):
            st.login()
        return
    name = sso_username(st.user.get("email"))
    try:
        user = get_user(owner_engine(_database_url()), name) if name else None
    except AccountError:
        user = None
    now = dt.datetime.now(dt.UTC)
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    if user is None or not user.active or locked:
        st.error(ctx.t("account.sso.unknown"))
        if st.button(ctx.t("account.sign_out"), key="sso_logout"):
            st.logout()
        return
    sign_in(user, method="sso")
    st.rerun()


def _who(ctx: Context, auth: dict) -> None:
    st.success(
        ctx.t(
            "account.signed_in_as",
            user=escape.markdown(auth["username"]),
            role=ctx.t(f"app.roles.{auth['role']}"),
        )
    )
    st.caption(ctx.t(f"account.role_help.{auth['role']}"))
    since = date(auth["signed_in_at"].astimezone(), ctx.lang, with_time=True)
    st.caption(ctx.t("account.session_info", since=since, idle=30, hours=8))
    st.caption(ctx.t("app.signin.reload"))
    if st.button(ctx.t("account.sign_out"), type="primary", key="sign_out"):
        sign_out()
        st.rerun()


ctx = context()
st.title(ctx.t("account.title"))
auth = signed_in()
if auth is None:
    st.write(ctx.t("account.intro"))
    st.caption(ctx.t("account.role_help.public"))
    _password_form(ctx)
    _sso(ctx)
else:
    _who(ctx, auth)
