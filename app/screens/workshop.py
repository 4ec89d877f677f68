"""Workshop mode: residents mark dangerous places on the community map, with a facilitator.

The page picks the session and the mode; each mode is a module of :mod:`workshop_ui` (draw,
paper, files (import/export), agreement and history).  Widgets only: sessions, marks, paper grids,
consensus and exports live in :mod:`geo.workshops` and :mod:`geo.reports.workshop_pdf`.
"""

from __future__ import annotations

import streamlit as st
from workshop_ui import agreement, draw, files, paper
from workshop_ui.common import VIEW_ROLES, show_flash
from workshop_ui.session import session_picker, session_status

from geo import workshops as ws
from harta_ui import context

MODES = ("draw", "paper", "import", "agreement", "export", "history")
MODE_ICONS = {
    "draw": ":material/draw:",
    "paper": ":material/print:",
    "import": ":material/upload_file:",
    "agreement": ":material/groups:",
    "export": ":material/download:",
    "history": ":material/history:",
}

# Participants draw with a finger on a tablet: the top padding is small and the introduction is
# one tap away, so the map starts near the top; the drawing map folds the sidebar away on narrow
# screens up to a landscape tablet's 1280 px (geo.maps.draw.FoldSidebar: Streamlit's "auto"
# folds it only below 768 px).
st.set_page_config(layout="wide")
st.html(  # only a <style>: Streamlit puts it outside the layout (no empty row)
    "<style>[data-testid='stMainBlockContainer']{padding:3.3rem 1.5rem 2rem 1.5rem}"
    "[data-testid='stMainBlockContainer'] h1{padding-top:0;padding-bottom:.1rem;"
    "font-size:2.1rem}[data-testid='stButtonGroup']>div{flex-wrap:wrap;row-gap:4px}"
    "[data-testid='stPopover'] button p{white-space:normal!important;overflow:visible!important;"
    f"text-overflow:clip!important;line-height:1.2}}{draw.touch_css()}</style>"
)
ctx = context()
st.title(ctx.t("workshop.title"), help=ctx.t("workshop.intro"))
if ctx.role not in VIEW_ROLES:
    st.info(ctx.t("workshop.role_needed"))
    st.stop()
show_flash()
session = session_picker(ctx)
if session is None:
    st.stop()
writable = session_status(ctx, session)
mode_col, action_col = st.columns([3, 1], vertical_alignment="center")
with mode_col:
    mode = (
        st.segmented_control(
            ctx.t("workshop.session.header"),
            MODES,
            default="draw",
            format_func=lambda m: f"{MODE_ICONS[m]} {ctx.t(f'workshop.tab.{m}')}",
            key="ws_mode",
            label_visibility="collapsed",
        )
        or "draw"
    )
if mode == "draw":
    draw.draw_mode(ctx, session, writable, actions=action_col)
elif mode == "paper":
    paper.paper_mode(ctx, session, writable)
elif mode == "import":
    files.import_mode(ctx, session, writable)
elif mode == "agreement":
    agreement.agreement_mode(ctx, session)
elif mode == "export":
    files.export_mode(ctx, session)
else:
    agreement.history_mode(ctx, session)
if writable and st.sidebar.button(ctx.t("workshop.session.close_button"), key="ws_close"):
    ws.set_session_status(ctx.engine, session.id, "closed")
    st.rerun()
