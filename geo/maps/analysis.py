"""Maps of the incident pages: analysis results, emerging hot spots, perceived vs recorded, and
the location picker of the incident form.

Built on :mod:`geo.maps` (offline assets, styles, escaped labels).  What reaches a map is what
the run's role may see (:class:`geo.analysis.runs.HotspotRun` is already limited to it): exact
incident points only for police and mediators, suppressed hexagon counts for everyone else.

This module never imports Streamlit.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from geo import escape, maps
from geo.analysis.compare import label_text as compare_label
from geo.analysis.runs import HotspotRun
from geo.analysis.trends import category_text
from geo.i18n import t
from geo.taxonomy import layer_styles

#: Colours of emerging hot spot categories (after ArcGIS's palette); no_pattern is not drawn.
EMERGING_COLOURS = {
    "new": "#67000d",
    "intensifying": "#cb181d",
    "persistent": "#fb6a4a",
    "diminishing": "#fcae91",
    "sporadic": "#fee08b",
}
COMPARE_COLOURS = {
    "perceived_and_recorded": "#762a83",
    "perceived_only": "#af8dc3",
    "recorded_only": "#1b7837",
    "not_compared": "#bdbdbd",
}


def _start(area: Any, streets: Any, lang: str, online: bool, height: int) -> folium.Map:
    m = maps.base_map(area, online=online, streets=streets, lang=lang, height=height)
    maps.add_boundary(m, area, lang)
    return m


def _cells_layer(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    *,
    key_column: str,
    colours: dict[str, str],
    labels: dict[str, str],
    name: str,
) -> folium.GeoJson:
    """Polygons coloured by a category; the GeoJSON carries only the category and its label."""
    cells = cells[cells[key_column].astype(str).isin(colours)]
    frame = gpd.GeoDataFrame(
        {
            "k": cells[key_column].astype(str).to_numpy(),
            "tip": [escape.html(labels[str(v)]) for v in cells[key_column]],
        },
        geometry=cells.geometry.to_crs(4326).values,
        crs=4326,
    )
    style = layer_styles()["hotspots"]["style"]
    layer = folium.GeoJson(
        frame.to_json(drop_id=True),
        name=escape.html(name),  # the layer control inserts names as HTML
        style_function=lambda f: {**style, "fillColor": colours[f["properties"]["k"]]},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )
    layer.add_to(m)
    return layer


def density_legend_text(run: HotspotRun, lang: str) -> str | None:
    """One line saying what the density colours mean (range and bandwidth)."""
    if run.overlay is None:
        return None
    return t(
        "incidents.hotspots.density_range",
        lang,
        low=f"{run.overlay.breakpoints[0]:.1f}",
        high=f"{run.overlay.breakpoints[-1]:.1f}",
        bandwidth=round(run.density.bandwidth_m),
    )


def analysis_map(
    run: HotspotRun,
    area: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    online: bool = False,
    height: int = 620,
) -> folium.Map:
    """Density, Gi* hot and cold spots, and the incidents as the run's role may see them.

    Layers (bottom to top): density overlay, suppressed hexagon counts (roles without exact
    points), significant Gi* cells (left out when the analysis had too little data), incident
    pictograms (police and mediators; sensitive types only for police).
    """
    m = _start(area, streets, lang, online, height)
    if run.density is not None:
        overlay = run.density.to_overlay(colors=tuple(layer_styles()["density"]["ramp"]))
        maps.add_density_overlay(m, overlay.image, overlay.bounds, lang, opacity=0.8)
    if run.visible.cells is not None:
        maps.add_hex_counts(m, run.visible.cells, lang)
    if not run.hotspots.too_few:
        significant = run.hotspots.cells[run.hotspots.cells["gi_bin"] != 0]
        maps.add_hotspots(m, significant[["gi_bin", significant.geometry.name]], lang)
    points = run.visible.points
    if len(points):
        shown = gpd.GeoDataFrame(
            {
                "type": points["type_code"].to_numpy(),
                "occurred_at": points["occurred_at"].to_numpy(),
                "is_demo": points["is_demo"].to_numpy(),
            },
            geometry=points.geometry.values,
            crs=points.crs,
        )
        layer = maps.add_incident_points(m, shown, lang, include_sensitive=run.role == "police")
        layer.show = False  # hundreds of pictograms would hide the hot spots; one click away
    maps.add_layer_control(m)
    maps.add_legend(m, lang=lang)
    return m


def emerging_map(
    run: HotspotRun,
    area: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    online: bool = False,
    height: int = 480,
) -> folium.Map:
    """Cells by emerging hot spot category (cells without a pattern are not drawn)."""
    m = _start(area, streets, lang, online, height)
    labels = {c: category_text(c, lang) for c in EMERGING_COLOURS}
    name = t("incidents.hotspots.emerging_layer", lang)
    if not run.emerging.too_few:
        _cells_layer(
            m,
            run.emerging.cells,
            key_column="category",
            colours=EMERGING_COLOURS,
            labels=labels,
            name=name,
        )
    entries = [maps.LegendEntry(labels[c], colour=col) for c, col in EMERGING_COLOURS.items()]
    maps.add_legend(m, [maps.LegendSection(name, entries)], lang)
    return m


def comparison_map(
    run: HotspotRun,
    area: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    online: bool = False,
    height: int = 480,
) -> folium.Map:
    """Workshop zones and hot cells coloured by perceived / recorded."""
    m = _start(area, streets, lang, online, height)
    labels = {k: compare_label(k, lang) for k in COMPARE_COLOURS}
    name = t("incidents.hotspots.compare_layer", lang)
    comparison = run.comparison.copy()
    # Lines and points of workshop maps are compared with a buffer; draw that buffer.
    metric = comparison.geometry.to_crs(run.params["crs"])
    widths = comparison["buffer_m"].fillna(0.0).to_numpy()
    comparison = comparison.set_geometry(
        gpd.GeoSeries(
            [g.buffer(w) if w > 0 else g for g, w in zip(metric.values, widths, strict=True)],
            crs=run.params["crs"],
        )
        .to_crs(4326)
        .values
    )
    _cells_layer(
        m, comparison, key_column="label", colours=COMPARE_COLOURS, labels=labels, name=name
    )
    entries = [
        maps.LegendEntry(labels[k], colour=c)
        for k, c in COMPARE_COLOURS.items()
        if k in set(comparison["label"])
    ]
    maps.add_legend(m, [maps.LegendSection(name, entries)], lang)
    return m


def picker_map(
    area: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    picked: tuple[float, float] | None = None,
    online: bool = False,
    height: int = 460,
) -> folium.Map:
    """The incident form's map: click to place the incident; the chosen point is marked."""
    m = _start(area, streets, lang, online, height)
    if picked is not None:
        lon, lat = picked
        folium.CircleMarker(
            location=[lat, lon],
            radius=9,
            color="#b71c1c",
            weight=3,
            fill=True,
            fill_opacity=0.6,
            tooltip=escape.html(t("incidents.form.picked_here", lang)),
        ).add_to(m)
    return m
