"""Start page: what Harta is, and what the chosen community holds."""

from __future__ import annotations

import streamlit as st

from geo import views
from geo.privacy import EXACT_POINT_ROLES
from harta_ui import context

ctx = context()
st.title(ctx.t("app.home.title"))
st.write(ctx.t("app.home.intro"))

row = views.community(ctx.engine, ctx.community)
st.subheader(row["name"])
if row["description"]:
    st.caption(row["description"])
# Roles that may not read incidents get the sum of the published hexagon counts.
counts = views.layer_counts(ctx.engine, ctx.community, exact=ctx.role in EXACT_POINT_ROLES)
cols = st.columns(4)
for col, layer in zip(cols, ("risk_zones", "incidents", "facilities", "streets"), strict=True):
    col.metric(ctx.t(f"app.layers.{layer}"), int(counts[layer]))
demo_rows = int(counts[["risk_zones_demo", "incidents_demo", "facilities_demo"]].sum())
if demo_rows:
    st.info(ctx.t("app.home.demo_notice", count=demo_rows))
