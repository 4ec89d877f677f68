"""What the workshop modes share: the community, its base map, flash messages, icons."""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from geo import escape, maps, roles, views
from geo.communities.model import Community
from harta_ui import Context

#: Roles whose database role may open sessions and write marks (migrations 0002 and 0003);
#: planners see sessions read-only.
WRITE_ROLES = roles.holders("workshops.draw")
#: Roles the workshop page is for.
VIEW_ROLES = roles.holders("workshops.view")

TIME_ICONS = {
    "day": ":material/light_mode:",
    "night": ":material/dark_mode:",
    "always": ":material/schedule:",
}
SEASON_ICONS = {
    "all_year": ":material/calendar_month:",
    "spring": ":material/local_florist:",
    "summer": ":material/sunny:",
    "autumn": ":material/eco:",
    "winter": ":material/ac_unit:",
}


def community_of(ctx: Context) -> Community:
    """The page's :class:`Community` (the context's, or loaded once for this run)."""
    if isinstance(ctx.community, Community):
        return ctx.community
    return Community.load(ctx.engine, ctx.community)


@st.cache_data(ttl=300, show_spinner=False)
def _root_layers(_engine, root_slug: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    # Settlements share their parent's streets and settlement outlines.
    root = Community.load(_engine, root_slug)
    return views.streets(_engine, root), views.settlements(_engine, root)


def base(ctx: Context, *, height: int, projector: bool = False, lang: str | None = None):
    """The community's base map: streets, settlements and its outline."""
    community = community_of(ctx)
    lang = lang or ctx.lang
    streets, settlements = _root_layers(ctx.engine, community.parent_slug or community.slug)
    m = maps.base_map(
        community,
        online=ctx.online,
        streets=streets,
        lang=lang,
        height=height,
        projector=projector,
    )
    if len(settlements):
        maps.add_settlements(m, settlements, lang)
    maps.add_boundary(m, community, lang)
    return m


def flash(kind: str, text: str) -> None:
    st.session_state.setdefault("ws_flash", []).append((kind, text))


def show_flash() -> None:
    for kind, text in st.session_state.pop("ws_flash", []):
        # Messages may quote what someone typed or imported: shown as text, never Markdown.
        getattr(st, kind)(escape.markdown(text))


def refresh_map() -> None:
    st.session_state["ws_map_version"] = st.session_state.get("ws_map_version", 0) + 1
