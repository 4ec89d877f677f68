"""Projector view: the workshop map, large and high-contrast, for a room or a touch screen.

Labels follow the page's language (switchable above the map); the legend shows every hazard
with its pictogram.  With "agreement" on, overlapping marks are shown as consensus zones whose
darkness grows with the share of sessions that marked them (:mod:`geo.workshops.consensus`).
Widgets only.
"""

from __future__ import annotations

import folium
import streamlit as st
from workshop_ui.common import base, community_of

from geo import escape, maps, taxonomy
from geo import workshops as ws
from geo.i18n import LANGUAGES, t
from geo.workshops import consensus
from harta_ui import context
from map_frame import st_folium

CSS = """
<style>
.block-container{padding-top:1.2rem;max-width:100%}
h1{font-size:2.6rem!important}
.harta-proj-legend{background:#fff;color:#000;border:3px solid #000;border-radius:10px;
  padding:12px 14px;font:600 1.2rem/1.2 system-ui,sans-serif}
.harta-proj-legend h3{font-size:1.45rem;margin:0 0 8px;padding:0;color:#000}
.harta-proj-legend .row{display:flex;align-items:center;gap:14px;margin:8px 0}
.harta-proj-legend img{width:48px;height:48px;flex:none}
.harta-proj-legend .sev{display:flex;gap:6px;margin:6px 0 2px}
.harta-proj-legend .sev span{flex:1;text-align:center;font-size:1.5rem;font-weight:900;
  border:2px solid #000;border-radius:6px;padding:4px 0}
.harta-proj-legend .ends{display:flex;justify-content:space-between;font-size:1.05rem}
.harta-proj-legend .agree{height:26px;border:2px solid #000;border-radius:6px;margin-top:6px}
.harta-proj-count{font:800 1.6rem system-ui,sans-serif;color:#000}
</style>
"""

#: Big touch targets for Leaflet's own controls (zoom, full screen), inside the map frame.
MAP_CSS = (
    "<style>.leaflet-bar a,.leaflet-bar a:hover{width:54px!important;height:54px!important;"
    "line-height:54px!important;font-size:30px!important}"
    ".leaflet-control-scale-line{font-size:16px}</style>"
)


def _legend_html(hazards: list[str], lang: str, agreement: bool) -> str:
    title = escape.html(t("workshop.projector.dangers", lang))
    parts = [f'<div class="harta-proj-legend"><h3>{title}</h3>']
    for code in hazards:
        parts.append(
            f'<div class="row"><img alt="" src="{taxonomy.icon_data_uri("hazard", code)}">'
            f"<span>{escape.html(taxonomy.label('hazard', code, lang))}</span></div>"
        )
    parts.append(f"<h3>{escape.html(t('workshop.projector.severity', lang))}</h3><div class='sev'>")
    for n in taxonomy.severities():
        parts.append(
            f'<span style="background:{taxonomy.severity_colour(n)};'
            f'color:{taxonomy.severity_text_colour(n)}">{n}</span>'
        )
    low, high = taxonomy.label("severity", 1, lang), taxonomy.label("severity", 5, lang)
    parts.append(
        f"</div><div class='ends'><span>{escape.html(low)}</span>"
        f"<span>{escape.html(high)}</span></div>"
    )
    if agreement:
        style = taxonomy.layer_styles()["consensus_zones"]
        colour = style["fillColor"]
        parts.append(
            f"<h3 style='margin-top:14px'>{escape.html(t('workshop.tab.agreement', lang))}</h3>"
            f"<div class='agree' style='background:linear-gradient(to right,"
            f"{colour}26,{colour})'></div>"
            f"<div class='ends'><span>{escape.html(t('workshop.projector.agreement_legend', lang))}"
            "</span></div>"
        )
    parts.append("</div>")
    return "".join(parts)


# The sidebar starts folded on this page only: Home.py sets it (SIDEBAR_COLLAPSED) per page.
ctx = context()
st.markdown(CSS, unsafe_allow_html=True)
community = community_of(ctx)
sessions = ws.list_sessions(ctx.engine, community)
if not sessions:
    st.title(ctx.t("workshop.projector.title"))
    st.info(ctx.t("workshop.projector.no_sessions"))
    st.stop()
by_id = {s.id: s for s in sessions}
real = [s.id for s in sessions if not s.is_demo]
controls = st.columns([3, 2, 1.2], vertical_alignment="bottom")
chosen = controls[0].multiselect(
    ctx.t("workshop.projector.sessions"),
    list(by_id),
    default=real[:1] or list(by_id),
    format_func=lambda i: by_id[i].label(ctx.lang) + (" · DEMO" if by_id[i].is_demo else ""),
    key="pj_sessions",
) or list(by_id)
codes = list(LANGUAGES)
lang = (
    controls[1].segmented_control(
        ":material/language:",
        codes,
        # The page's language (picked once, kept on every page); the room can switch here.
        default=ctx.lang,
        format_func=LANGUAGES.__getitem__,
        key=f"pj_lang_{chosen[0]}",
    )
    or ctx.lang
)
agreement = controls[2].toggle(
    t("workshop.projector.agreement", lang), value=len(chosen) > 1, key="pj_agree"
)

first = by_id[chosen[0]]
st.title(t("workshop.pdf.title", lang, community=escape.markdown(first.community_name)))
marks = ws.session_marks(ctx.engine, chosen)
demo = bool(len(marks)) and bool(marks["is_demo"].all())
st.markdown(
    f"<div class='harta-proj-count'>"
    f"{escape.html(t('workshop.projector.counts', lang, marks=len(marks), sessions=len(chosen)))}"
    "</div>",
    unsafe_allow_html=True,
)

left, right = st.columns([3, 1.25], gap="medium")
with left:
    m = base(ctx, height=780, projector=True, lang=lang)
    m.get_root().header.add_child(folium.Element(MAP_CSS))
    if agreement and len(marks):
        zones = consensus.consensus_zones(ctx.engine, community, workshop_ids=chosen)
        maps.add_consensus_zones(m, consensus.for_map(zones), lang, demo=demo)
    elif len(marks):
        maps.add_risk_zones(m, marks.rename(columns={"hazard_code": "hazard"}), lang, demo=demo)
    maps.add_legend(m, lang=lang, large=True, position="bottomleft", collapsed=True)
    st_folium(m, height=780, width=None, returned_objects=[], key="pj_map")
with right:
    shown = [h for h in taxonomy.hazards() if h in set(marks["hazard_code"])] or taxonomy.hazards()
    st.markdown(_legend_html(shown, lang, agreement), unsafe_allow_html=True)
