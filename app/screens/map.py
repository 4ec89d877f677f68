"""The community map: streets, settlements, workshop risk zones, incidents as the role may see
them, facilities and bus stops."""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from geo import maps, views
from geo.privacy import (
    DEFAULT_PRIVACY_CELL_M,
    EXACT_POINT_ROLES,
    VisibleIncidents,
    visible_incidents,
)
from geo.settings import get_settings
from harta_ui import Context, context, record_view_once
from map_frame import st_folium

ctx = context()
st.title(ctx.t("app.map.title"))

community = ctx.community
boundary = gpd.GeoDataFrame(
    {"name": [community.name]}, geometry=[community.geometry], crs=4326
)
crs = community.crs
streets = views.streets(ctx.engine, ctx.community)
zones = views.risk_zones(ctx.engine, ctx.community)
facilities = views.facilities(ctx.engine, ctx.community)


def _incidents(ctx: Context) -> VisibleIncidents:
    """Exact points for police and mediators (the database hides what a mediator may not
    read); for every other role the database's own hexagon counts -- they cannot read points."""
    threshold = get_settings().suppression_threshold
    if ctx.role not in EXACT_POINT_ROLES:
        cells = views.incident_hex_counts(
            ctx.engine, ctx.community, DEFAULT_PRIVACY_CELL_M, threshold
        )
        return VisibleIncidents(ctx.role, points=cells.iloc[0:0], cells=cells, n_withheld=1)
    incidents = views.incident_points(ctx.engine, ctx.community)
    seen = visible_incidents(incidents, ctx.role, boundary, crs, threshold=threshold)
    if len(seen.points):
        record_view_once(ctx, "view_exact", page="map", count=len(seen.points))
    return seen


seen = _incidents(ctx)

m = maps.base_map(community, online=ctx.online, streets=streets, lang=ctx.lang)
maps.add_boundary(m, community, ctx.lang, name=community.name)
settlements = views.settlements(ctx.engine, ctx.community)
if not settlements.empty:
    maps.add_settlements(m, settlements.rename_geometry("geometry"), ctx.lang)
if seen.cells is not None and not seen.cells.empty:
    maps.add_hex_counts(m, seen.cells, ctx.lang)
# Zones go on top of the incident counts: what residents marked must stay readable.
if not zones.empty:
    maps.add_risk_zones(m, zones, ctx.lang)
if not seen.points.empty:
    maps.add_incident_points(m, seen.points, ctx.lang, include_sensitive=ctx.role == "police")
stops = facilities[facilities["kind"] == "bus_stop"]
others = facilities[facilities["kind"] != "bus_stop"]
if not others.empty:
    maps.add_facilities(m, others, ctx.lang)
if not stops.empty:
    maps.add_bus_stops(m, stops, ctx.lang)
legend = maps.severity_legend_entries(ctx.lang)
if not zones.empty:
    legend += maps.icon_legend_entries("hazard", sorted(zones["hazard_code"].unique()), ctx.lang)
has_demo = bool(zones["is_demo"].any()) if len(zones) else False
# Collapsed so that it does not hide the settlements; one tap opens it.
maps.add_legend(m, legend, ctx.lang, demo=has_demo, collapsed=True)
maps.add_layer_control(m)

st_folium(m, height=640, use_container_width=True, returned_objects=[], key="community_map")

left, right = st.columns(2)
left.metric(ctx.t("app.layers.risk_zones"), len(zones))
if seen.n_withheld:
    right.caption(ctx.t("app.map.incidents_aggregated", count=get_settings().suppression_threshold))
else:
    right.metric(ctx.t("app.layers.incidents"), len(seen.points))
