"""Paper mode: printable maps with a grid, and marks typed back in by grid square."""

from __future__ import annotations

import streamlit as st

from geo import escape, taxonomy
from geo import workshops as ws
from geo.reports import workshop_pdf
from geo.workshops import paper
from harta_ui import Context
from workshop_ui.common import SEASON_ICONS, TIME_ICONS


@st.cache_data(ttl=600, show_spinner=False)
def _map_pdf(_engine, workshop_id: int, size: str, lang: str) -> bytes:
    return workshop_pdf.workshop_map_pdf(_engine, workshop_id, paper_size=size, lang=lang)


def paper_mode(ctx: Context, session: ws.Session, writable: bool) -> None:
    st.subheader(ctx.t("workshop.paper.header"))
    st.caption(ctx.t("workshop.paper.help"))
    cols = st.columns(2)
    for col, size in zip(cols, ("A4", "A3"), strict=True):
        col.download_button(
            ctx.t(f"workshop.paper.download_{size.lower()}"),
            data=_map_pdf(ctx.engine, session.id, size, session.language),
            file_name=f"harta_workshop_{session.id}_{size}.pdf",
            mime="application/pdf",
            icon=":material/print:",
            key=f"ws_pdf_{size}",
            width="stretch",
        )
    grid = paper.session_grid(ctx.engine, session.id)
    st.caption(ctx.t("workshop.paper.grid_help", last=grid.last_ref, cell=int(grid.cell_m)))
    if not writable:
        return
    st.markdown(f"#### {ctx.t('workshop.paper.enter')}")
    with st.form("ws_paper", clear_on_submit=True):
        cols = st.columns([1, 3, 2])
        ref = cols[0].text_input(ctx.t("workshop.paper.grid_ref"), max_chars=4)
        hazard = cols[1].selectbox(
            ctx.t("workshop.col.hazard"),
            taxonomy.hazards(),
            format_func=lambda c: taxonomy.label("hazard", c, ctx.lang),
        )
        severity = cols[2].select_slider(
            ctx.t("workshop.col.severity"),
            taxonomy.severities(),
            value=3,
            format_func=lambda n: f"{n} · {taxonomy.label('severity', n, ctx.lang)}",
        )
        cols = st.columns(2)
        time_of_day = cols[0].segmented_control(
            ctx.t("workshop.picker.when"),
            taxonomy.times_of_day(),
            default="always",
            format_func=lambda c: f"{TIME_ICONS[c]} {taxonomy.label('time_of_day', c, ctx.lang)}",
        )
        season = cols[1].segmented_control(
            ctx.t("workshop.picker.season"),
            taxonomy.seasons(),
            default="all_year",
            format_func=lambda c: f"{SEASON_ICONS[c]} {taxonomy.label('season', c, ctx.lang)}",
        )
        note = st.text_input(ctx.t("workshop.picker.note"), max_chars=ws.MAX_NOTE_LENGTH)
        submitted = st.form_submit_button(ctx.t("workshop.paper.save"), type="primary")
    if submitted:
        try:
            attributes = ws.mark_attributes(hazard, severity, time_of_day, season, note)
            result = ws.save_paper_mark(ctx.engine, session.id, ref, attributes)
        except ws.WorkshopError as exc:
            st.error(escape.markdown(exc.message(ctx.lang)))
        else:
            st.success(ctx.t("workshop.saved", id=result.mark_id))
            for notice in result.notices:
                st.warning(escape.markdown(notice.message(ctx.lang)))
