"""Start page: what Harta is, and what the chosen community holds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo import escape, views
from geo.i18n import community_name, number
from geo.privacy import DEFAULT_THRESHOLD, EXACT_POINT_ROLES
from harta_ui import context


def _published_demo_caption(counts: pd.Series, demo_layers: int) -> str | None:
    """How many demo incidents the published count holds (database function
    ``harta_published_demo``: rounded to 5 like the count, suppressed below 5).  Suppressed
    cannot be told from none; it is said only where demo layers exist, so a real count is never
    passed off as demo and a seeded community never passes for real records."""
    about = counts.get("incidents_demo_published")
    if about is not None and about == about and about > 0:  # NaN: suppressed
        # Both are rounded (the total cell by cell, small cells left out): "of which" never
        # says more than the total it is part of.
        about = min(int(about), int(counts["incidents"]))
        return ctx.t("app.home.of_which_demo_about", count=number(about, ctx.lang))
    if demo_layers:
        return ctx.t("app.home.demo_below", count=number(DEFAULT_THRESHOLD, ctx.lang))
    return None


ctx = context()
st.title(ctx.t("app.home.title"))
st.write(ctx.t("app.home.intro"))

community = ctx.community
# Names and descriptions are data (an admin typed them): text, never Markdown or HTML.
st.subheader(escape.markdown(community_name(community.slug, community.name, ctx.lang)))
if community.description:
    # The description is data, written by whoever added the community, in their language.
    with st.expander(ctx.t("app.home.source_notes")):
        st.caption(escape.markdown(community.description))
# Roles that may not read incidents get the sum of the published hexagon counts.
exact = ctx.role in EXACT_POINT_ROLES
counts = views.layer_counts(ctx.engine, ctx.community, exact=exact)
demo_layers = int(counts["risk_zones_demo"] + counts["facilities_demo"])
# One row on a desktop; wrapped two by two on a tablet, where four columns cut the labels.
row = st.container(horizontal=True, gap="medium")
cols = [row.container(width=180) for _ in range(4)]
for col, layer in zip(cols, ("risk_zones", "incidents", "facilities", "streets"), strict=True):
    demo = int(counts.get(f"{layer}_demo", 0))
    col.metric(ctx.t(f"app.layers.{layer}"), number(int(counts[layer]) + demo, ctx.lang))
    if demo:
        col.caption(ctx.t("app.home.of_which_demo", count=number(demo, ctx.lang)))
    elif layer == "incidents" and not exact and counts[layer]:
        caption = _published_demo_caption(counts, demo_layers)
        if caption:
            col.caption(caption)
demo_rows = int(counts[["risk_zones_demo", "incidents_demo", "facilities_demo"]].sum())
if demo_rows:
    st.info(ctx.t("app.home.demo_notice", count=number(demo_rows, ctx.lang)))
