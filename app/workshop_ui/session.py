"""Choosing, opening, closing and reopening a workshop session."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from geo import escape
from geo import workshops as ws
from geo.i18n import LANGUAGES
from harta_ui import Context
from workshop_ui.common import WRITE_ROLES, community_of, flash


def new_session_form(ctx: Context, expanded: bool) -> None:
    """The form that opens a session: inline while there is no real session, else one tap away
    (a popover beside the session picker), so the map starts near the top of the screen."""
    holder = (
        st.expander(ctx.t("workshop.session.new"), expanded=True)
        if expanded
        else st.popover(ctx.t("workshop.session.new"), icon=":material/add:", width="stretch")
    )
    with holder:
        with st.form("ws_new_session", border=False):
            cols = st.columns(3)
            held_on = cols[0].date_input(ctx.t("workshop.session.date"), value=dt.date.today())
            codes = list(LANGUAGES)
            language = cols[1].selectbox(
                ctx.t("workshop.session.language"),
                codes,
                index=codes.index(ctx.lang),
                format_func=LANGUAGES.__getitem__,
            )
            participants = cols[2].number_input(
                ctx.t("workshop.session.participants"),
                min_value=1,
                max_value=ws.MAX_PARTICIPANTS,
                value=10,
                step=1,
                help=ctx.t("workshop.session.no_names"),
            )
            st.caption(ctx.t("workshop.session.no_names"))
            if st.form_submit_button(ctx.t("workshop.session.open_button"), type="primary"):
                try:
                    session = ws.open_session(
                        ctx.engine,
                        community_of(ctx),
                        held_on=held_on,
                        language=language,
                        participants=int(participants),
                    )
                except ws.WorkshopError as exc:
                    st.error(escape.markdown(exc.message(ctx.lang)))
                else:
                    st.session_state["ws_session"] = session.id
                    flash("success", ctx.t("workshop.session.opened", id=session.id))
                    st.rerun()


def session_picker(ctx: Context) -> ws.Session | None:
    """The session row: which session (and a new one, for facilitators)."""
    sessions = ws.list_sessions(ctx.engine, community_of(ctx))
    real = [s for s in sessions if not s.is_demo]
    writer = ctx.role in WRITE_ROLES
    if writer and not real:
        new_session_form(ctx, expanded=True)
    elif not writer:
        st.caption(ctx.t("account.workshop_read_only"))
    if not sessions:
        st.info(ctx.t("workshop.session.none"))
        return None
    by_id = {s.id: s for s in sessions}
    if st.session_state.get("ws_session") not in by_id:
        st.session_state["ws_session"] = (real or sessions)[0].id
    pick_col, new_col = (
        st.columns([3, 1], vertical_alignment="bottom")
        if writer and real
        else (
            st.container(),
            None,
        )
    )
    chosen = pick_col.selectbox(
        ctx.t("workshop.session.choose"),
        list(by_id),
        format_func=lambda i: by_id[i].label(ctx.lang) + ("  · DEMO" if by_id[i].is_demo else ""),
        key="ws_session",
        on_change=lambda: st.session_state.pop("ws_pending", None),
        label_visibility="collapsed",  # "nr. 4 · 2026-11-23 · Pata Rât" says what it is
    )
    if new_col is not None:
        with new_col:
            new_session_form(ctx, expanded=False)
    return by_id[chosen]


def session_status(ctx: Context, session: ws.Session) -> bool:
    """Show the session's state; return whether it takes marks."""
    if ctx.role not in WRITE_ROLES:
        return False
    if session.is_demo:
        st.warning(ctx.t("workshop.session.demo"))
        return False
    if session.status != "open":
        st.warning(ctx.t("workshop.session.closed_notice"))
        if st.button(ctx.t("workshop.session.reopen_button"), key="ws_reopen"):
            ws.set_session_status(ctx.engine, session.id, "open")
            st.rerun()
        return False
    return True
