"""The community map: streets, settlements, workshop risk zones, incidents as the role may see
them, facilities and bus stops."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from geo import maps, views
from geo.analysis.map_data import MapView, map_incidents
from geo.maps.aggregates import add_incident_clusters
from geo.privacy import (
    DEFAULT_PRIVACY_CELL_M,
    EXACT_POINT_ROLES,
    VisibleIncidents,
)
from geo.settings import get_settings
from harta_ui import Context, context, record_view_once
from map_frame import st_folium

ctx = context()
st.title(ctx.t("app.map.title"))

community = ctx.community
boundary = gpd.GeoDataFrame({"name": [community.name]}, geometry=[community.geometry], crs=4326)
crs = community.crs
zones = views.risk_zones(ctx.engine, ctx.community)
facilities = views.facilities(ctx.engine, ctx.community)


def _incidents(ctx: Context) -> tuple[VisibleIncidents, pd.DataFrame | None]:
    """Exact points for police and mediators (the database hides what a mediator may not
    read); for every other role the database's own hexagon counts -- they cannot read points."""
    threshold = get_settings().suppression_threshold
    if ctx.role not in EXACT_POINT_ROLES:
        cells = views.incident_hex_counts(
            ctx.engine, ctx.community, DEFAULT_PRIVACY_CELL_M, threshold
        )
        return VisibleIncidents(ctx.role, points=cells.iloc[0:0], cells=cells, n_withheld=1), None
    # At most MAX_MAP_POINTS points reach the page; beyond, clusters counted in the database.
    seen, clusters = map_incidents(ctx.engine, ctx.community, ctx.role, threshold, view=view)
    shown = len(seen.points) if clusters is None else int(clusters["n"].sum())
    if shown:
        record_view_once(ctx, "view_exact", page="map", count=shown)
    return seen, clusters


# Police and mediators send back where their map looks: points only at street zoom.
exact = ctx.role in EXACT_POINT_ROLES
view = MapView.from_frame(st.session_state.get("community_map")) if exact else None
seen, clusters = _incidents(ctx)

# The offline basemap (streets with names, places, land cover) comes as tiles from the app.
m = maps.base_map(community, online=ctx.online, lang=ctx.lang)
maps.add_boundary(m, community, ctx.lang, name=community.name)
settlements = views.settlements(ctx.engine, ctx.community)
if not settlements.empty:
    maps.add_settlements(m, settlements.rename_geometry("geometry"), ctx.lang)
if seen.cells is not None and not seen.cells.empty:
    # Aggregated roles: DEMO on the hexagons when the published counts hold demo incidents
    # (harta_published_demo, migration 0016: published like the counts themselves).
    demo = not exact and bool(views.published_demo(ctx.engine, ctx.community))
    maps.add_hex_counts(m, seen.cells, ctx.lang, demo=demo)
# Zones go on top of the incident counts: what residents marked must stay readable.
if not zones.empty:
    maps.add_risk_zones(m, zones, ctx.lang)
if not seen.points.empty:
    maps.add_incident_points(m, seen.points, ctx.lang, include_sensitive=ctx.role == "police")
if clusters is not None:
    add_incident_clusters(m, clusters, ctx.lang)
stops = facilities[facilities["kind"] == "bus_stop"]
others = facilities[facilities["kind"] != "bus_stop"]
if not others.empty:
    maps.add_facilities(m, others, ctx.lang)
if not stops.empty:
    maps.add_bus_stops(m, stops, ctx.lang)
# Exactly what the layers above drew (each registered its section); it starts closed on a
# narrow screen and closes itself when a popup opens.
maps.add_legend(m, lang=ctx.lang)
maps.add_layer_control(m)

st_folium(
    m,
    height=640,
    width=None,
    # Only at scale (clusters drawn, or zoomed in from them): a returned view reruns the page.
    returned_objects=["zoom", "bounds"] if clusters is not None or view is not None else [],
    key="community_map",
    **({"zoom": view.zoom, "center": view.center} if view is not None else {}),
)

left, right = st.columns(2)
left.metric(ctx.t("app.layers.risk_zones"), len(zones))
if seen.n_withheld:
    right.caption(ctx.t("app.map.incidents_aggregated", count=get_settings().suppression_threshold))
else:
    right.metric(
        ctx.t("app.layers.incidents"),
        len(seen.points) if clusters is None else int(clusters["n"].sum()),
    )
