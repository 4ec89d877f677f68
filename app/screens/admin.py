"""Accounts, for administrators: list, create, change role and communities, deactivate or
reactivate, unlock, reset a password.

Everything runs on the page's engine, which acts as ``harta_admin``: the database itself allows
these writes only to that role, and even it cannot read password hashes.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo import accounts, escape, views
from geo.i18n import community_name, date
from geo.roles import ACCOUNT_ROLES
from harta_ui import Context, context, sign_in_throttle


def _error(ctx: Context, error: accounts.AccountError) -> None:
    st.error(ctx.t(error.key, **{k: escape.markdown(v) for k, v in error.params.items()}))


def _community_names(ctx: Context) -> dict[int, str]:
    frame = views.communities(ctx.engine)
    return {
        int(row.id): community_name(row.slug, row.name, ctx.lang)
        for row in frame.itertuples(index=False)
    }


def _users_table(ctx: Context, users: list[accounts.User], names: dict[int, str]) -> None:
    def when(value) -> str:  # noqa: ANN001
        return date(value.astimezone(), ctx.lang, with_time=True) if value is not None else ""

    st.dataframe(
        pd.DataFrame(
            {
                ctx.t("account.username"): [u.username for u in users],
                ctx.t("account.admin.role"): [ctx.t(f"app.roles.{u.role}") for u in users],
                ctx.t("account.admin.communities"): [
                    ", ".join(names.get(c, str(c)) for c in u.communities) for u in users
                ],
                ctx.t("account.admin.active"): [u.active for u in users],
                ctx.t("account.admin.last_login"): [when(u.last_login_at) for u in users],
                ctx.t("account.admin.locked_until"): [when(u.locked_until) for u in users],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _passwords(ctx: Context, prefix: str) -> str | None:
    first = st.text_input(ctx.t("account.password"), type="password", key=f"{prefix}_pw")
    second = st.text_input(ctx.t("account.password_again"), type="password", key=f"{prefix}_pw2")
    if first != second:
        st.error(ctx.t("account.admin.mismatch"))
        return None
    return first


def _create(ctx: Context, names: dict[int, str]) -> None:
    with st.form("create_user", clear_on_submit=True):
        username = st.text_input(ctx.t("account.username"), key="new_user", max_chars=64)
        role = st.selectbox(
            ctx.t("account.admin.role"),
            ACCOUNT_ROLES,
            format_func=lambda r: ctx.t(f"app.roles.{r}"),
            key="new_role",
        )
        communities = st.multiselect(
            ctx.t("account.admin.communities"),
            list(names),
            format_func=names.get,
            placeholder=ctx.t("account.admin.pick_communities"),
            key="new_comm",
        )
        password = _passwords(ctx, "new")
        submitted = st.form_submit_button(ctx.t("account.admin.create"), type="primary")
    if not submitted or password is None:
        return
    try:
        accounts.create_user(ctx.engine, username, password, role, communities)
    except accounts.AccountError as error:
        _error(ctx, error)
    else:
        created = accounts.normalise_username(username)
        st.session_state["admin_done"] = ctx.t(
            "account.admin.created", user=escape.markdown(created)
        )
        st.session_state["manage_user"] = created
        st.rerun()


def _manage(ctx: Context, users: list[accounts.User], names: dict[int, str]) -> None:
    by_name = {u.username: u for u in users}
    name = st.selectbox(ctx.t("account.admin.pick"), list(by_name), key="manage_user")
    if name is None:
        return
    user = by_name[name]
    self_edit = name == ctx.username
    if self_edit:
        st.caption(ctx.t("account.admin.self"))
    left, right = st.columns(2)
    with left:
        role = st.selectbox(
            ctx.t("account.admin.role"),
            ACCOUNT_ROLES,
            index=ACCOUNT_ROLES.index(user.role) if user.role in ACCOUNT_ROLES else 0,
            format_func=lambda r: ctx.t(f"app.roles.{r}"),
            key=f"role_{name}",
            disabled=self_edit,
        )
        communities = st.multiselect(
            ctx.t("account.admin.communities"),
            list(names),
            default=[c for c in user.communities if c in names],
            format_func=names.get,
            placeholder=ctx.t("account.admin.pick_communities"),
            key=f"comm_{name}",
        )
        if st.button(ctx.t("account.admin.save"), key=f"save_{name}"):
            _apply(ctx, name, lambda: _save(ctx, user, role, communities, self_edit))
        if user.active:
            if st.button(ctx.t("account.admin.deactivate"), key=f"off_{name}", disabled=self_edit):
                _apply(ctx, name, lambda: accounts.deactivate(ctx.engine, name))
        elif st.button(ctx.t("account.admin.reactivate"), key=f"on_{name}"):
            _apply(ctx, name, lambda: accounts.reactivate(ctx.engine, name))
        if st.button(ctx.t("account.admin.unlock"), key=f"unlock_{name}"):
            _apply(ctx, name, lambda: _unlock(ctx, name))
    with right:
        password = _passwords(ctx, f"reset_{name}")
        if st.button(ctx.t("account.admin.reset"), key=f"reset_{name}") and password is not None:
            _apply(ctx, name, lambda: accounts.set_password(ctx.engine, name, password))


def _save(ctx: Context, user: accounts.User, role: str, communities, self_edit: bool) -> None:  # noqa: ANN001
    if not self_edit and role != user.role:
        accounts.set_role(ctx.engine, user.username, role)
    accounts.set_communities(ctx.engine, user.username, communities)


def _unlock(ctx: Context, name: str) -> None:
    """Clear the account's lock and failures, and every address's sign-in delay for it."""
    accounts.unlock(ctx.engine, name)
    sign_in_throttle().clear(name)


def _apply(ctx: Context, name: str, action) -> None:  # noqa: ANN001
    try:
        action()
    except accounts.AccountError as error:
        _error(ctx, error)
    else:
        st.session_state["admin_done"] = ctx.t("account.admin.done", user=escape.markdown(name))
        st.rerun()


ctx = context()
st.title(ctx.t("account.admin.title"))
if ctx.role != "admin":
    st.info(ctx.t("account.admin.not_allowed"))
    st.stop()
done = st.session_state.pop("admin_done", None)
if done:
    st.success(done)
names = _community_names(ctx)
users = accounts.list_users(ctx.engine)
_users_table(ctx, users, names)
st.subheader(ctx.t("account.admin.create_title"))
_create(ctx, names)
if users:
    st.subheader(ctx.t("account.admin.manage_title"))
    _manage(ctx, users, names)
