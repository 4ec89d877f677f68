"""Agreement and history modes: consensus zones across sessions, and the audit trail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo import maps, taxonomy
from geo import workshops as ws
from geo.workshops import consensus
from harta_ui import Context
from map_frame import st_folium
from workshop_ui.common import WRITE_ROLES, base, community_of


def agreement_mode(ctx: Context, session: ws.Session) -> None:
    st.subheader(ctx.t("workshop.agreement.header"))
    st.caption(
        ctx.t(
            "workshop.agreement.help",
            line=int(consensus.LINE_BUFFER_M),
            point=int(consensus.POINT_BUFFER_M),
        )
    )
    scope = st.segmented_control(
        ctx.t("workshop.agreement.scope"),
        ["session", "all"],
        default="all",
        format_func=lambda s: ctx.t(
            "workshop.agreement.this_session"
            if s == "session"
            else "workshop.agreement.all_sessions"
        ),
        key="ws_scope",
    )
    one = scope == "session"
    zones = consensus.consensus_zones(
        ctx.engine,
        community_of(ctx),
        workshop_ids=[session.id] if one else None,
        include_demo=session.is_demo,  # a real session is never compared with demo ones
    )
    if zones.empty:
        st.info(ctx.t("workshop.agreement.none"))
        return
    m = base(ctx, height=560)
    maps.add_consensus_zones(
        m, consensus.for_map(zones, by="relative_marks" if one else "agreement"), ctx.lang
    )
    maps.add_legend(m, lang=ctx.lang)
    st_folium(m, height=560, width=None, returned_objects=[], key="ws_consensus")
    st.dataframe(consensus.consensus_table(zones, ctx.lang), hide_index=True, width="stretch")


def history_mode(ctx: Context, session: ws.Session) -> None:
    st.subheader(ctx.t("workshop.history.header"))
    if ctx.role not in WRITE_ROLES:  # the audit trail is for those who run sessions
        st.caption(ctx.t("account.workshop_read_only"))
        return
    history = ws.session_history(ctx.engine, session.id)
    if history.empty:
        st.caption(ctx.t("workshop.history.none"))
        return
    table = pd.DataFrame(
        {
            ctx.t("workshop.history.col.when"): history["changed_at"],
            ctx.t("workshop.history.col.table"): [
                ctx.t(f"workshop.history.table.{n}") for n in history["table_name"]
            ],
            ctx.t("workshop.history.col.row"): history["row_id"],
            ctx.t("workshop.history.col.what"): [
                ctx.t(f"workshop.op.{op}") for op in history["operation"]
            ],
            ctx.t("workshop.history.col.hazard"): [
                taxonomy.label("hazard", h, ctx.lang) if isinstance(h, str) else ""
                for h in history["hazard_code"]
            ],
            ctx.t("workshop.history.col.role"): [
                ctx.t(f"app.roles.{r}") if isinstance(r, str) else "" for r in history["app_role"]
            ],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
